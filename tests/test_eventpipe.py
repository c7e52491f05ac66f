"""Replay's deciding and printing in a forked process: the same bytes out, failures seen."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from logwatch import eventpipe
from logwatch.eventpipe import Batches, EventPipe, received
from logwatch.jobs import cpus
from logwatch.model import Event, Origin
from logwatch.multiline import Assembler
from logwatch.sources.framing import LineFramer
from tests.test_sources_coldlines import RULES, _config, _text


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
        stream = io.BytesIO()
        batches = Batches(stream)
        for event in events:
            batches.add(event)
        batches.send()
        stream.seek(0)
        assert list(received(stream)) == events

    def test_a_batch_goes_when_it_holds_enough_text(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(eventpipe, "_BATCH_CHARS", 1000)
        stream = io.BytesIO()
        batches = Batches(stream)
        event = _events()[0]
        batches.add(dataclasses.replace(event, text="x" * 999))
        assert stream.getvalue() == b""
        batches.add(dataclasses.replace(event, text="x"))
        assert stream.getvalue() != b""


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
        def consume(got: Iterator[Event]) -> None:
            sys.stdout.write(f"{len(list(got))}\n")

        def failing() -> Iterator[Event]:
            yield from _events()[:3]
            raise OSError("the disk went away")

        with pytest.raises(OSError, match="disk went away"):
            EventPipe(consume).run(failing())
        assert capfd.readouterr().out == "3\n"  # printed before run() let the error go

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
def spy(self, consume):
    forked(self, consume)
    print("forked", file=sys.stderr)
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
        config = _config(tmp_path, RULES)
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

    def test_a_reader_that_stops_early_ends_replay_quietly(
        self, tmp_path: Path, big_log: Path
    ) -> None:
        """`logwatch replay ... | head -1`: exit 0, no traceback, nothing left running."""
        config = _config(tmp_path, RULES)
        read, write = os.pipe()
        with os.fdopen(read, "rb") as reader:
            process = subprocess.Popen(
                [sys.executable, "-c", _SPY, "replay", "-c", str(config), "--json", "--events",
                 str(big_log)],
                stdout=write, stderr=subprocess.PIPE,
                env=_env(),
            )
            os.close(write)
            assert reader.readline().startswith(b"{")
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0
        assert b"Traceback" not in err
        assert b"forked" in err
