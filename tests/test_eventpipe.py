"""Replay's deciding and printing in a forked process: the same bytes out, failures seen."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from logwatch import eventpipe
from logwatch.config import load_config_text
from logwatch.eventpipe import Batches, EventPipe, SenderGone, received
from logwatch.jobs import cpus
from logwatch.model import Event, Origin
from logwatch.multiline import Assembler
from logwatch.replay import decisions_read_texts
from logwatch.sources.framing import LineFramer
from tests.coldlines_support import RULES, write_config
from tests.test_sources_coldlines import _text


def _raised(number: int) -> str:
    """A real traceback, a different exception message each time."""
    try:
        int(f"{number}x")
    except ValueError as exc:
        return "".join(traceback.format_exception(exc))
    raise AssertionError("int() took it")


def _events() -> list[Event]:
    """Records, chained and bare tracebacks, JSON records with fields, two files."""
    pieces = [_text(seed=1, count=300).decode()]
    for number in range(12):
        pieces.append(f"2026-03-01 12:00:00,{number:03d} ERROR app failed {number}\n")
        pieces.append(_raised(number))
        record = {"level": "error", "message": "json", "user": number, "ok": True}
        pieces.append(json.dumps(record) + "\n")
    data = "".join(pieces).encode()
    events: list[Event] = []
    for name in ("a.log", "b.log"):
        framer = LineFramer()
        assembler = Assembler(Origin("app", name, f"uid:{name}"))
        events += assembler.feed(framer.feed(data))
        events += assembler.flush()
    # context is filled in by the reader; some events carry it
    return [dataclasses.replace(event, context=("before", str(at))) if at % 5 == 0 else event
            for at, event in enumerate(events)]


def _round_trip(batches_of: Sequence[Event | str]) -> bytes:
    stream = io.BytesIO()
    batches = Batches(stream.write)
    for item in batches_of:
        if isinstance(item, str):
            batches.note(item)
        else:
            batches.add(item)
    batches.end()
    return stream.getvalue()


class TestBatches:
    def test_events_sent_come_back_equal_and_in_order(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Over many small batches, and past the chains both ends remember (they start afresh)."""
        monkeypatch.setattr(eventpipe, "_BATCH_EVENTS", 7)
        monkeypatch.setattr(eventpipe, "_MAX_CHAINS", 3)
        events = _events()
        chains = {id(event.chain) for event in events}
        assert len(chains) > 10
        assert any(event.fields for event in events)
        assert list(received(io.BytesIO(_round_trip(events)))) == events

    def test_a_batch_goes_when_it_holds_enough_text(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(eventpipe, "_BATCH_CHARS", 1000)
        stream = io.BytesIO()
        batches = Batches(stream.write)
        event = _events()[0]
        batches.add(dataclasses.replace(event, text="x" * 999))
        assert stream.getvalue() == b""
        batches.add(dataclasses.replace(event, text="x"))
        assert stream.getvalue() != b""

    def test_without_texts_a_traceback_comes_without_its_text(self) -> None:
        """And nothing else changes: a record without a traceback keeps its text."""
        events = _events()
        stream = io.BytesIO()
        batches = Batches(stream.write, texts=False)
        for event in events:
            batches.add(event)
        batches.end()
        got = list(received(io.BytesIO(stream.getvalue())))
        tracebacks = sum(1 for event in events if event.chain)
        assert 0 < tracebacks < len(events)
        assert [event.text for event in got if event.chain] == [""] * tracebacks
        assert got == [
            dataclasses.replace(event, text="") if event.chain else event for event in events
        ]

    def test_without_texts_a_cut_traceback_still_comes_with_its_text(self) -> None:
        """Masking its exception types reads it: a secret's line may pass for the
        exception line an elided middle took (``redact.masked_type``)."""
        assembler = Assembler(Origin("app", "a.log", "uid:a.log"), max_lines=4)
        data = ("2026-03-01 12:00:00,000 ERROR app failed\n" + _raised(7)).encode()
        [event] = assembler.feed(LineFramer().feed(data)) + assembler.flush()
        assert event.chain
        assert "truncated" in event.flags
        stream = io.BytesIO()
        batches = Batches(stream.write, texts=False)
        batches.add(event)
        batches.end()
        assert list(received(io.BytesIO(stream.getvalue()))) == [event]

    def test_a_note_is_printed_in_its_place(self, capsys: pytest.CaptureFixture[str]) -> None:
        events = _events()[:3]
        sent = _round_trip([events[0], "logwatch: cannot read b.log", events[1], events[2]])
        got = received(io.BytesIO(sent))
        assert next(got) == events[0]
        assert capsys.readouterr().err == ""
        assert next(got) == events[1]
        assert capsys.readouterr().err == "logwatch: cannot read b.log\n"
        assert list(got) == events[2:]

    def test_a_failed_sender_stops_the_events_short_of_their_end(self) -> None:
        events = _events()[:5]
        stream = io.BytesIO()
        batches = Batches(stream.write)
        for event in events:
            batches.add(event)
        batches.end(failed=True)
        got: list[Event] = []
        with pytest.raises(SenderGone, match="reading failed"):
            got.extend(received(io.BytesIO(stream.getvalue())))
        assert got == events

    def test_events_cut_off_without_their_end_say_so(self) -> None:
        """A sender killed mid-way: the receiver must not take what came as all there is."""
        sent = _round_trip(_events()[:600])
        for cut in (len(sent) - len(pickle.dumps(eventpipe._END)), len(sent) // 2):
            with pytest.raises(SenderGone):
                list(received(io.BytesIO(sent[:cut])))


@pytest.mark.parametrize(
    ("extra", "read"),
    [
        ({}, False),
        ({"rule": {"labels": {"team": "db"}}}, True),  # a label is a template
        ({"rule": {"template": {"title": "{{ title }}"}}}, True),
        ({"notifier": {"template": {"body": "{{ lines }}"}}}, True),
        ({"labels": {"team": "db"}}, False),  # the config's own labels are no template
    ],
)
def test_templates_alone_read_the_texts_of_tracebacks(
    extra: dict[str, dict[str, object]], read: bool
) -> None:
    config = load_config_text(json.dumps({
        "rules": [{"name": "r", "match": {"traceback": True}, "notify": ["hook"],
                   **extra.get("rule", {})}],
        "notifiers": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/",
                               **extra.get("notifier", {})}},
        "labels": extra.get("labels", {}),
    }))
    assert decisions_read_texts(config) is read


def _forkable(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in replay's own process: two CPUs, one thread (pytest may run others)."""
    monkeypatch.delenv("LOGWATCH_JOBS", raising=False)
    monkeypatch.setattr("logwatch.jobs.cpus", lambda: 2)
    monkeypatch.setattr(threading, "active_count", lambda: 1)


class TestEventPipe:
    def test_a_failing_consumer_stops_the_sending_and_fails_the_run(
        self, capfd: pytest.CaptureFixture[str]
    ) -> None:
        def consume(events: Iterator[Event]) -> None:
            next(events)
            raise RuntimeError("the rules broke")

        def endless() -> Iterator[Event]:
            event = _events()[0]
            while True:
                yield event

        pipe = EventPipe(consume)
        assert pipe.run(endless()) == 1  # returns: the sending stopped
        assert "RuntimeError: the rules broke" in capfd.readouterr().err

    def test_the_consumer_gets_every_event_and_its_output_is_kept(
        self, capfd: pytest.CaptureFixture[str]
    ) -> None:
        events = _events()

        def consume(got: Iterator[Event]) -> None:
            for event in got:
                sys.stdout.write(f"{event.first_line}\n")

        assert EventPipe(consume).run(events) == 0
        assert capfd.readouterr().out == "".join(f"{event.first_line}\n" for event in events)

    def test_a_reading_failure_still_waits_for_what_was_sent(
        self, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """What was read is printed, as in one process; what the input's end would
        bring (replay's end-of-input records) is not."""
        def consume(got: Iterator[Event]) -> None:
            for event in got:
                sys.stdout.write(f"{event.first_line}\n")
            sys.stdout.write("the input's end\n")

        events = _events()[:3]

        def failing() -> Iterator[Event]:
            yield from events
            raise OSError("the disk went away")

        with pytest.raises(OSError, match="disk went away"):
            EventPipe(consume).run(failing())
        # printed before run() let the error go
        assert capfd.readouterr().out == "".join(f"{event.first_line}\n" for event in events)

    def test_a_process_killed_is_reported_and_fails_the_run(
        self, capfd: pytest.CaptureFixture[str]
    ) -> None:
        def consume(events: Iterator[Event]) -> None:
            next(events)
            os.kill(os.getpid(), signal.SIGKILL)

        assert EventPipe(consume).run(_events()) == 128 + signal.SIGKILL
        assert "deciding process was stopped by SIGKILL" in capfd.readouterr().err

    def test_a_closed_stdout_ends_the_run_as_in_one_process(self) -> None:
        """BrokenPipeError, which `main` takes as the reader having had enough."""
        def consume(events: Iterator[Event]) -> None:
            next(events)
            raise BrokenPipeError

        with pytest.raises(BrokenPipeError):
            EventPipe(consume).run(_events())

    def test_an_interrupted_sender_stops_and_reaps_the_process(self) -> None:
        """Ctrl-C to the reading process alone: nothing more is printed, nothing left behind."""
        def consume(events: Iterator[Event]) -> None:
            for _ in events:
                pass

        def interrupted() -> Iterator[Event]:
            yield from _events()
            raise KeyboardInterrupt

        pipe = EventPipe(consume)
        with pytest.raises(KeyboardInterrupt):
            pipe.run(interrupted())
        with pytest.raises(ChildProcessError):
            os.waitpid(pipe._pid, os.WNOHANG)

    def test_started_only_for_big_files_with_a_second_core(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _forkable(monkeypatch)
        small, big = tmp_path / "small.log", tmp_path / "big.log"
        small.write_bytes(b"x\n" * 1000)
        big.write_bytes(b"x\n" * (3 << 20))

        def consume(events: Iterator[Event]) -> None:
            list(events)

        assert EventPipe.start(consume, [str(small)]) is None
        assert EventPipe.start(consume, [str(big), "-"]) is None  # stdin: its size is unknown
        pipe = EventPipe.start(consume, [str(big), str(tmp_path / "missing.log")])
        assert pipe is not None
        assert pipe.run([]) == 0
        monkeypatch.setenv("LOGWATCH_JOBS", "1")
        assert EventPipe.start(consume, [str(big)]) is None


_SPY = """
import sys
from logwatch import eventpipe
from logwatch.cli import main
forked = eventpipe.EventPipe.__init__
def spy(self, consume, **options):
    forked(self, consume, **options)
    print("forked", "texts" if options.get("texts", True) else "no texts", file=sys.stderr)
eventpipe.EventPipe.__init__ = spy
sys.exit(main(sys.argv[1:]))
"""


def _env() -> dict[str, str]:
    """Without LOGWATCH_JOBS, and with stdout buffered as it is for most users."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("LOGWATCH_JOBS", "PYTHONUNBUFFERED")}
    env["LOGWATCH_ACCELERATE"] = "0"
    return env


def _replay(
    args: list[str], *, jobs: str | None, stdout: int = subprocess.PIPE
) -> subprocess.CompletedProcess[bytes]:
    env = _env()
    if jobs:
        env["LOGWATCH_JOBS"] = jobs
    return subprocess.run([sys.executable, "-c", _SPY, "replay", *args], env=env,
                          stdout=stdout, stderr=subprocess.PIPE, check=False, timeout=120)


@pytest.fixture
def big_log(tmp_path: Path) -> Path:
    log = tmp_path / "app.log"
    log.write_bytes(_text(seed=11, count=30_000) * 2)
    assert log.stat().st_size > eventpipe._MIN_BYTES
    return log


@pytest.mark.skipif(
    cpus() < 2, reason="LOUD SKIP: one CPU here, so replay never forks: nothing to compare"
)
class TestReplayCommand:
    @pytest.mark.parametrize("flags", [["--json"], ["--json", "--events"], []])
    def test_prints_the_same_bytes_as_one_process(
        self, tmp_path: Path, big_log: Path, flags: list[str]
    ) -> None:
        config = write_config(tmp_path, RULES)
        args = ["-c", str(config), *flags, str(big_log), str(tmp_path / "missing.log")]
        alone = _replay(args, jobs="1")
        split = _replay(args, jobs=None)
        assert b"forked" not in alone.stderr
        assert b"forked" in split.stderr
        assert split.stdout == alone.stdout
        assert alone.stdout.count(b"\n") > 100
        # the missing file is reported and fails the run either way
        assert (split.returncode, alone.returncode) == (1, 1)
        assert b"cannot read" in split.stderr

    @pytest.mark.parametrize(
        ("rules", "texts"),
        [
            # the exception message masked on its own, not as part of the text
            (RULES, "no texts"),
            # a label from the traceback's text: the text is sent
            (RULES.replace("match: {traceback: true}",
                           "match: {traceback: true}\n    labels: {last: '{{ lines[-1] }}'}"),
             "texts"),
        ],
    )
    def test_tracebacks_texts_are_sent_where_a_template_reads_them(
        self, tmp_path: Path, big_log: Path, rules: str, texts: str
    ) -> None:
        config = write_config(tmp_path, rules)
        config.write_text(
            config.read_text(encoding="utf-8") + "redact: {patterns: ['could not (connect)']}\n",
            encoding="utf-8",
        )
        args = ["-c", str(config), "--json", str(big_log)]
        alone = _replay(args, jobs="1")
        split = _replay(args, jobs=None)
        assert f"forked {texts}\n".encode() in split.stderr
        assert split.stdout == alone.stdout
        records = [json.loads(line) for line in split.stdout.splitlines()]
        tracebacks = [record for record in records if record["exc_type"]]
        assert len(tracebacks) > 100
        assert {record["title"] for record in tracebacks} == {
            "DatabaseError: could not *** to database",  # chained
            "ConnectionRefusedError: [Errno 111] Connection refused",  # bare
        }
        labelled = [record for record in tracebacks if record["rule"] == "tracebacks"]
        assert labelled
        for record in labelled:
            if texts == "texts":
                assert record["labels"]["last"].endswith(record["title"])
            else:
                assert record["labels"] == {}

    def test_a_file_that_cannot_be_read_is_reported_in_its_place(
        self, tmp_path: Path, big_log: Path
    ) -> None:
        """stdout and stderr to one file, unbuffered: the same bytes in the same order."""
        config = write_config(tmp_path, RULES)
        args = [sys.executable, "-c", _SPY, "replay", "-c", str(config), "--json",
                str(big_log), str(tmp_path / "missing.log"), str(big_log)]
        merged = []
        for jobs in ("1", None):
            env = {**_env(), "PYTHONUNBUFFERED": "1", **({"LOGWATCH_JOBS": jobs} if jobs else {})}
            done = subprocess.run(args, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, check=False, timeout=120)
            assert done.returncode == 1
            merged.append(re.sub(rb"forked (no )?texts\n", b"", done.stdout))
        assert merged[0] == merged[1]
        before, note, after = merged[0].partition(b"logwatch: cannot read")
        assert note
        assert before.count(b"\n") > 100
        assert after.count(b"\n") > 100

    def test_a_closed_stdin_does_not_take_the_pipe(self, tmp_path: Path, big_log: Path) -> None:
        """Started with fd 0 closed, the pipe gets fd 0, which the child points at
        /dev/null: moved above 2 first, or nothing at all is printed."""
        config = write_config(tmp_path, RULES)
        args = ["-c", str(config), "--json", str(big_log)]
        closed = subprocess.run(
            ["sh", "-c", 'exec "$0" "$@" <&-', sys.executable, "-c", _SPY, "replay", *args],
            env=_env(), capture_output=True, check=False, timeout=120,
        )
        alone = _replay(args, jobs="1")
        assert b"forked" in closed.stderr
        assert closed.returncode == 0, closed.stderr
        assert closed.stdout == alone.stdout

    def test_an_ignored_sigchld_does_not_lose_the_exit_status(
        self, tmp_path: Path, big_log: Path
    ) -> None:
        """SIG_IGN survives exec: the kernel would reap the children before replay waits."""
        config = write_config(tmp_path, RULES)
        argv = [sys.executable, "-c", _SPY, "replay", "-c", str(config), "--json", str(big_log)]
        ignoring = ("import os, signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN);"
                    " os.execv(sys.argv[1], sys.argv[1:])")
        done = subprocess.run([sys.executable, "-c", ignoring, *argv], env=_env(),
                              capture_output=True, check=False, timeout=120)
        assert b"forked" in done.stderr
        assert done.returncode == 0, done.stderr
        assert done.stdout == _replay(argv[4:], jobs="1").stdout

    def test_a_reader_that_stops_early_ends_replay_quietly(
        self, tmp_path: Path, big_log: Path
    ) -> None:
        """`logwatch replay ... | head -1`: exit 0 as in one process (a file that could
        not be read notwithstanding), no traceback, nothing left running."""
        config = write_config(tmp_path, RULES)
        read, write = os.pipe()
        with os.fdopen(read, "rb") as reader:
            process = subprocess.Popen(
                [sys.executable, "-c", _SPY, "replay", "-c", str(config), "--json", "--events",
                 str(tmp_path / "missing.log"), str(big_log)],
                stdout=write, stderr=subprocess.PIPE,
                env=_env(),
            )
            os.close(write)
            assert reader.readline().startswith(b"{")
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0
        assert b"Traceback" not in err
        assert b"forked" in err
