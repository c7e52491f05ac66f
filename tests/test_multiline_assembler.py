"""The assembler's contract: latency, what it holds back, limits, formats, patterns."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from logwatch.model import Event, Line, Origin
from logwatch.multiline import Assembler
from tests.multiline_support import (
    Samples,
    assemble,
    expected_specs,
    find_interpreters,
    frame,
    generate_samples,
    spec,
)

NEWEST = find_interpreters()[-1].version


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return generate_samples(tmp_path_factory)


def lines_of(samples: Samples, scenario: str, version: str = NEWEST) -> list[Line]:
    return frame(samples.log(version, scenario).read_bytes())


def new_assembler(**options: object) -> Assembler:
    return Assembler(Origin("test", "test.log"), **options)  # type: ignore[arg-type]


@pytest.fixture
def basic(samples: Samples) -> tuple[list[Line], tuple[int, int]]:
    """logged_basic: an INFO record, a logged exception, a WARNING record."""
    lines = lines_of(samples, "logged_basic")
    traceback = samples.events(NEWEST, "logged_basic")[1]
    return lines, (traceback["first_line"], traceback["last_line"])


class TestLatency:
    def test_a_record_header_is_held_as_tail(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """A header alone may still get continuation lines or a traceback: held, as "tail"."""
        lines, _ = basic
        assembler = new_assembler()
        assert assembler.feed(lines[:1]) == []
        assert assembler.pending == "tail"
        assert assembler.pending_offset() == 0

    def test_the_next_header_releases_it_at_once(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """When the next record starts, the held one is emitted in the same call."""
        lines, _ = basic
        assembler = new_assembler()
        assembler.feed(lines[:1])
        [event] = assembler.feed(lines[1:2])
        assert (event.first_line, event.last_line, event.level) == (1, 1, "INFO")

    def test_a_traceback_is_open_until_its_exception_line(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """Between the Traceback line and the final exception line nothing can be complete."""
        lines, (first, last) = basic
        assembler = new_assembler()
        assembler.feed(lines[:first])  # the INFO record and the ERROR header
        for line in lines[first : last - 1]:
            assert assembler.feed([line]) == []
            assert assembler.pending == "open"
        assert assembler.pending_offset() == lines[first - 1].offset

    def test_after_the_exception_line_it_is_a_tail(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """After the final exception line, only notes or a chain may follow: "tail"."""
        lines, (_, last) = basic
        assembler = new_assembler()
        assembler.feed(lines[:last])
        assert assembler.pending == "tail"

    def test_the_next_line_decides_without_waiting(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """The line after the exception line settles the event in the same feed."""
        lines, (first, last) = basic
        assembler = new_assembler()
        events = assembler.feed(lines[: last + 1])
        assert [(e.first_line, e.last_line) for e in events] == [(1, 1), (first, last)]
        assert assembler.pending == "tail"  # the WARNING record, which may go on

    def test_flushing_a_complete_tail_is_not_partial(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """An event whose grammar was complete is flushed without the partial flag."""
        lines, (_, last) = basic
        assembler = new_assembler()
        assembler.feed(lines[:last])
        [event] = assembler.flush()
        assert event.exc_type == "ConnectionError"
        assert "partial" not in event.flags
        assert assembler.pending == "none"
        assert assembler.pending_offset() is None

    def test_flushing_an_unfinished_traceback_marks_it_partial(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """A traceback cut off before its exception line is flushed flagged "partial"."""
        lines, (first, last) = basic
        assembler = new_assembler()
        assembler.feed(lines[: last - 2])
        [event] = assembler.flush()
        assert (event.first_line, event.last_line) == (first, last - 2)
        assert "partial" in event.flags
        assert event.level == "ERROR"

    def test_a_killed_traceback_ends_at_the_next_record(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """A writer killed mid-traceback: the next record closes it as partial and stands alone."""
        lines, (first, last) = basic
        cut = [*lines[: last - 2], lines[last]]  # the exception line never came
        renumbered = [
            Line(line.text, line.offset, line.end, number)
            for number, line in enumerate(cut, start=1)
        ]
        events = assemble(b"".join(line.text.encode() + b"\n" for line in renumbered))
        assert [(e.first_line, e.last_line, "partial" in e.flags) for e in events] == [
            (1, 1, False),
            (first, last - 2, True),
            (last - 1, last - 1, False),
        ]

    def test_a_chain_waits_for_its_separator(self, samples: Samples) -> None:
        """Blank lines after an exception line hold the event: a chain separator may follow."""
        lines = lines_of(samples, "chains_std")
        implicit = samples.events(NEWEST, "chains_std")[1]
        first_block_end = next(
            index
            for index, line in enumerate(lines)
            if index >= implicit["first_line"] and line.text == ""
        )
        assembler = new_assembler()
        assert len(assembler.feed(lines[: first_block_end + 1])) == 1  # only the INFO record
        assert assembler.pending == "tail"
        [*_, event] = assembler.feed(lines) + assembler.flush()
        assert event.level == "INFO"


def without_line(data: bytes, lineno: int) -> bytes:
    """The file as if line ``lineno`` (1-based) had never been written."""
    lines = data.split(b"\n")
    return b"\n".join(lines[: lineno - 1] + lines[lineno:])


class TestCutTracebacks:
    def test_an_uncaught_traceback_killed_before_its_exception_line_is_cut(
        self, samples: Samples
    ) -> None:
        """Closed by the next record or by the file's end, it is a traceback flagged "cut"."""
        for version in samples.versions:
            data = samples.log(version, "uncaught").read_bytes()
            truth = samples.events(version, "uncaught")[1]
            first, last = truth["first_line"], truth["last_line"]
            killed = without_line(data, last)
            for cut_data in (killed, b"\n".join(killed.split(b"\n")[: last - 1]) + b"\n"):
                event = next(e for e in assemble(cut_data) if e.first_line == first)
                assert (event.last_line, event.exc_type, event.level) == (last - 1, None, None)
                assert event.flags == {"cut", "partial"}, version
                assert event.has_traceback

    def test_a_logged_traceback_killed_before_its_exception_line_is_cut(
        self, basic: tuple[list[Line], tuple[int, int]]
    ) -> None:
        """Under its record header it keeps the record's level and message, and is cut."""
        lines, (first, last) = basic
        data = b"".join(line.text.encode() + b"\n" for line in lines)
        event = next(e for e in assemble(without_line(data, last)) if e.first_line == first)
        assert (event.last_line, event.level, event.message) == (
            last - 1, "ERROR", "payment failed for order 42",
        )
        assert event.flags == {"cut", "partial"}
        assert event.has_traceback

    def test_stacks_printed_on_purpose_are_no_tracebacks_but_faulthandler_dumps_are(
        self, samples: Samples
    ) -> None:
        """print_stack() and stack_info show frames of a program going on; faulthandler
        reports a crash, a hang or a signal."""
        misc = {e.first_line: e for e in assemble(samples.log(NEWEST, "stderr_misc").read_bytes())}
        kinds = [(t["kind"], t["first_line"]) for t in samples.events(NEWEST, "stderr_misc")]
        [printed] = [misc[first] for kind, first in kinds if kind == "stack"]
        crash, dump = [misc[first] for kind, first in kinds if kind == "crash"]
        assert (printed.flags, printed.has_traceback) == (frozenset({"stack"}), False)
        assert (crash.flags, crash.level, crash.has_traceback) == (
            frozenset({"crash", "faulthandler"}), "CRITICAL", True,
        )
        assert (dump.flags, dump.level, dump.has_traceback) == (
            frozenset({"faulthandler", "stack"}), None, True,
        )
        [logged, *_] = assemble(samples.log(NEWEST, "stack_info").read_bytes())
        assert "Stack (most recent call last):" in logged.text
        assert (logged.flags, logged.has_traceback) == (frozenset(), False)


class TestLimits:
    def test_a_long_traceback_keeps_its_head_and_its_tail(self, samples: Samples) -> None:
        """Past max_lines the middle is elided; the final exception line is never lost."""
        truth = samples.events(NEWEST, "mutual_recursion")[0]
        events = assemble(samples.log(NEWEST, "mutual_recursion").read_bytes(), max_lines=60)
        event = events[0]
        assert (event.first_line, event.last_line) == (truth["first_line"], truth["last_line"])
        assert event.exc_type == "RecursionError"
        assert "truncated" in event.flags
        text = event.text.split("\n")
        assert len(text) == 61
        assert text[-1].startswith("RecursionError")
        assert re.fullmatch(r"\.\.\. logwatch: \d+ lines elided \.\.\.", text[15])
        assert event.chain[-1].frames[0].function == "s_mutual_recursion"
        assert {frame.function for frame in event.chain[-1].frames[-4:]} == {"ping", "pong"}

    def test_max_bytes_cuts_the_same_way(self, samples: Samples) -> None:
        """A byte budget elides the middle too, keeping the exception line."""
        events = assemble(samples.log(NEWEST, "mutual_recursion").read_bytes(), max_bytes=4096)
        assert "truncated" in events[0].flags
        assert len(events[0].text) < 4096 + 200
        assert events[0].exc_type == "RecursionError"

    def test_a_long_line_within_the_limits_is_kept_whole(self, samples: Samples) -> None:
        """A 20 KB exception message is one line of the event, not cut."""
        [event, _] = assemble(samples.log(NEWEST, "long_message").read_bytes())
        assert "truncated" not in event.flags
        assert event.exc_message is not None
        assert event.exc_message.startswith("rejected ids: 0,1,2")
        assert event.exc_message.endswith(",3999")

    def test_limits_must_be_positive(self) -> None:
        """A zero limit is refused at construction, not at the first event."""
        with pytest.raises(ValueError, match="must be positive"):
            new_assembler(max_lines=0)


class TestFormats:
    def test_auto_reads_json_records(self, samples: Samples) -> None:
        """A JSON line is one record: level, logger, message, time, fields and exc_info."""
        events = assemble(samples.log(NEWEST, "json_records").read_bytes())
        hello, lookup, chained = events
        assert hello.flags == {"json"}
        assert (hello.level, hello.logger, hello.message) == ("INFO", "app.api", "hello")
        assert hello.fields == {"request_id": "r-17"}
        assert hello.timestamp is not None
        assert (lookup.exc_type, lookup.exc_message) == ("KeyError", "'port'")
        assert chained.exc_types == ("KeyError", "RuntimeError")

    def test_text_format_never_reads_json(self, samples: Samples) -> None:
        """format: text takes JSON lines as plain text."""
        events = assemble(samples.log(NEWEST, "json_records").read_bytes(), format="text")
        assert len(events) == 3
        assert all("json" not in event.flags and not event.chain for event in events)

    def test_json_format_makes_each_line_an_event(self, samples: Samples) -> None:
        """format: json reassembles nothing: a stray traceback is one event per line."""
        data = samples.log(NEWEST, "uncaught").read_bytes()
        events = assemble(data, format="json")
        assert len(events) == data.count(b"\n")
        assert all(not event.chain for event in events)

    def test_structlog_dict_tracebacks(self, samples: Samples) -> None:
        """structlog's exception dicts become the same chain as the printed traceback."""
        [event] = assemble(samples.log(NEWEST, "structlog_dicts").read_bytes())
        assert event.exc_types == ("KeyError", "RuntimeError")
        assert event.exc_message == "config broken"
        assert event.chain[-1].frames[-1].function == "s_structlog_dicts"


def write_log(path: Path, fmt: str, *, level: int, message: str) -> bytes:
    """Log one exception through a real logging.FileHandler with ``fmt``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(fmt))
    logger = logging.getLogger(f"app.custom.{path.stem}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        logger.info("starting up")
        orders: dict[str, int] = {}
        try:
            orders["missing"] += 1
        except KeyError:
            logger.log(level, message, exc_info=True)
        logger.info("still up")
    finally:
        handler.close()
    return path.read_bytes()


class TestHeaderPattern:
    FORMAT = "%(name)s » %(levelname)s » %(message)s"
    PATTERN = re.compile(r"(?P<logger>\S+) » (?P<level>[A-Z]+) » (?P<message>.*)")

    def test_without_a_pattern_unknown_headers_are_plain_lines(self, tmp_path: Path) -> None:
        """A format the heuristics cannot read: plain lines, level unknown."""
        data = write_log(tmp_path / "a.log", self.FORMAT, level=logging.ERROR, message="declined")
        events = assemble(data)
        # the ERROR line still takes the traceback: a header-less line that reads
        # like an error report introduces the traceback under it
        assert [(e.first_line, e.exc_type, e.level, e.logger) for e in events] == [
            (1, None, None, None),
            (2, "KeyError", None, None),
            (events[-1].first_line, None, None, None),
        ]

    def test_a_user_pattern_recognises_headers(self, tmp_path: Path) -> None:
        """With header_pattern, level, logger and message come from its groups."""
        data = write_log(tmp_path / "b.log", self.FORMAT, level=logging.ERROR, message="declined")
        events = assemble(data, header_pattern=self.PATTERN)
        assert [(e.first_line, e.exc_type, e.level) for e in events] == [
            (1, None, "INFO"),
            (2, "KeyError", "ERROR"),
            (events[-1].first_line, None, "INFO"),
        ]
        assert (events[1].logger, events[1].message) == ("app.custom.b", "declined")

    def test_a_user_pattern_keeps_the_level_rule(self, tmp_path: Path) -> None:
        """An INFO header found by the pattern does not take the traceback under it."""
        data = write_log(tmp_path / "c.log", self.FORMAT, level=logging.INFO, message="retry")
        events = assemble(data, header_pattern=self.PATTERN)
        assert [(e.exc_type, e.level) for e in events] == [
            (None, "INFO"),
            (None, "INFO"),
            ("KeyError", None),
            (None, "INFO"),
        ]


class TestPublicSurface:
    def test_everything_listed_is_importable_and_nothing_else_is_promised(self) -> None:
        """__all__ names the stage, the fingerprint and the grammar, and they exist."""
        import logwatch.multiline as multiline

        assert sorted(multiline.__all__) == [
            "Assembler",
            "Format",
            "fingerprint",
            "fingerprint_record",
            "parse_traceback",
        ]
        assert all(hasattr(multiline, name) for name in multiline.__all__)


def cri(stream: str, tag: str, text: str) -> str:
    return f"2026-01-01T12:00:00.5Z {stream} {tag} {text}"


class TestSplitLines:
    def test_a_partial_runtime_line_is_held_open(self, samples: Samples) -> None:
        """A CRI "P" piece waits for its "F" end; the commit point stays before it."""
        message = samples.log(NEWEST, "long_message").read_text().split("\n")[0]
        data = f"{cri('stderr', 'P', message[:100])}\n{cri('stderr', 'F', message[100:])}\n"
        lines = frame(data.encode())
        assembler = new_assembler()
        assert assembler.feed(lines[:1]) == []
        assert assembler.pending == "open"
        assert assembler.pending_offset() == 0
        assembler.feed(lines[1:])
        [event] = assembler.flush()
        assert (event.first_line, event.last_line) == (1, 2)
        assert event.message == message.split(" ", 4)[-1]

    def test_a_line_that_never_ends_is_cut_at_max_bytes(self, samples: Samples) -> None:
        """Endless "P" pieces are emitted, flagged truncated, once past max_bytes."""
        message = max(samples.log(NEWEST, "long_message").read_text().split("\n"), key=len)
        pieces = [cri("stderr", "P", message[i : i + 1000]) for i in range(0, 8000, 1000)]
        assembler = new_assembler(max_bytes=2500)
        events = assembler.feed(frame(("\n".join(pieces) + "\n").encode()))
        events += assembler.flush()
        assert len(events) == 3
        assert all("truncated" in event.flags for event in events)
        assert events[0].first_line == 1

    def test_streams_of_one_container_are_assembled_apart(self, samples: Samples) -> None:
        """stdout lines landing inside a stderr traceback do not break it."""
        raw = samples.log(NEWEST, "uncaught").read_text().split("\n")[:-1]
        mixed: list[str] = []
        for text in raw:
            mixed.append(cri("stderr", "F", text))
            mixed.append(cri("stdout", "F", "GET /health 200"))
        events = assemble(("\n".join(mixed) + "\n").encode())
        stderr = [spec(e) for e in events if e.first_line % 2 == 1]
        expected = expected_specs(samples.events(NEWEST, "uncaught"))
        assert sorted(stderr) == sorted(
            (2 * first - 1, 2 * last - 1, t, m, c) for first, last, t, m, c in expected
        )
        assert sum(1 for e in events if e.first_line % 2 == 0) == len(raw)


class TestPlainLines:
    def test_blank_lines_between_records_are_nobodys(self, samples: Samples) -> None:
        """Blank lines between records make no events of their own."""
        data = samples.log(NEWEST, "logged_basic").read_bytes().replace(b"\n", b"\n\n\n")
        events = assemble(data)
        assert len(events) == 3
        assert all(event.text.strip() == event.text for event in events)

    def test_events_carry_their_exact_text_and_offsets(self, samples: Samples) -> None:
        """text is the event's lines as in the file; offsets cut exactly those bytes."""
        data = samples.log(NEWEST, "cpython_headers").read_bytes()
        for event in assemble(data):
            assert data[event.start_offset : event.end_offset].decode() == event.text + "\n"


def _json_lines(events: list[Event]) -> Iterator[dict[str, object]]:
    for event in events:
        yield json.loads(event.text)


class TestDockerRecords:
    def test_docker_records_in_another_key_order_are_envelopes(self, samples: Samples) -> None:
        """Docker json-file records are unwrapped whatever the order of their keys."""
        raw = samples.log(NEWEST, "logged_basic").read_text().split("\n")[:-1]
        docs = [{"stream": "stderr", "time": "2026-01-01T12:00:00Z", "log": t + "\n"} for t in raw]
        events = assemble(("\n".join(json.dumps(d) for d in docs) + "\n").encode())
        assert [spec(e) for e in events] == expected_specs(samples.events(NEWEST, "logged_basic"))
        assert [doc["stream"] for doc in _json_lines(events[:1])] == ["stderr"]
