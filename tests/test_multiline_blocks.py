"""Replayed blocks: a record seen before gives exactly the events stepping through it gives."""

from __future__ import annotations

import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.model import Event, Line, Lines, Origin
from logwatch.multiline import Assembler, blocks
from logwatch.multiline.kinds import Kind
from logwatch.sources.framing import LineFramer
from tests.corpus import Corpus
from tests.multiline_support import logging_to_text
from tests.test_sources_coldlines import TRACEBACK


def _events(
    data: bytes, *, memo: bool, cuts: tuple[int, ...] = (), max_lines: int = 1000,
    max_bytes: int = 1 << 20, max_line_bytes: int = 1 << 20,
    header: re.Pattern[str] | None = None,
) -> list[Event]:
    """Every event of ``data``, fed in batches cut at ``cuts`` (line indices), then flushed."""
    return _run(data, memo=memo, cuts=cuts, max_lines=max_lines, max_bytes=max_bytes,
                max_line_bytes=max_line_bytes, header=header)[0]


def _run(
    data: bytes, *, memo: bool, cuts: tuple[int, ...] = (), max_lines: int = 1000,
    max_bytes: int = 1 << 20, max_line_bytes: int = 1 << 20, columns: bool = False,
    header: re.Pattern[str] | None = None,
) -> tuple[list[Event], list[tuple[str, int | None]]]:
    """``_events``, and what the assembler held back after each batch.

    ``columns``: each batch is fed as ``Lines`` (as replay feeds it), not a list.
    ``header``: the source's own header pattern.
    """
    assembler = Assembler(Origin("test", "test.log"), max_lines=max_lines, max_bytes=max_bytes,
                          header_pattern=header)
    if not memo:
        assembler._blocks = None  # the plain path: every line stepped through the machine
    lines = LineFramer(max_line_bytes=max_line_bytes).feed(data)
    events: list[Event] = []
    held: list[tuple[str, int | None]] = []
    start = 0
    for cut in (*sorted(cuts), len(lines)):
        batch = lines[start:cut]
        events += assembler.feed(_columns(batch) if columns else batch)
        held.append((assembler.pending, assembler.pending_offset()))
        start = max(start, cut)
    return events + assembler.flush(), held


def _columns(lines: list[Line]) -> Lines:
    batch = Lines()
    for line in lines:
        batch.append(line)
    return batch


def _under_two_headers(*, longer_by: int) -> bytes:
    """One block under a short header, then under one ``longer_by`` bytes longer."""
    body = b"".join(b"Traceback (most recent call last):\n" if n == 0 else
                    b'  File "a.py", line %d, in f\n' % n for n in range(7))
    short = b"2026-03-01 10:00:00 ERROR a b\n"
    long_ = b"2026-03-01 10:00:00 ERROR a " + b"b" * (longer_by + 1) + b"\n"
    end = b"2026-03-01 10:00:01 INFO z\n"
    return short + body + long_ + body + end


def _logged() -> bytes:
    """Real records from `logging`: chained, grouped, noted and plain, warnings with exc_info."""
    with logging_to_text("tests.blocks") as (log, stream):
        for round_ in range(3):
            log.info("request %d served", round_)
            try:
                try:
                    int("not a number")
                except ValueError as exc:
                    raise RuntimeError("lookup failed:") from exc
            except RuntimeError:
                log.exception("handler failed")
            try:
                error = ValueError("bad value")
                error.add_note("while parsing the order")
                raise error
            except ValueError:
                log.warning("retrying", exc_info=True)
            try:
                raise ExceptionGroup("many", [OSError("disk"), TypeError("type")])
            except ExceptionGroup:
                log.exception("group failed")
            log.error("a record that ends in a colon:\nand goes on\n\nafter a blank line")
            log.debug("done %d", round_)
    return stream.getvalue().encode()


# logging's usual header as a source's own pattern would spell it
OWN_HEADER = re.compile(
    r"(?P<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)?) (?P<level>[A-Z]+) "
    r"(?P<logger>\S+)"
)


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    blocks.SHARED._templates.clear()
    blocks.SHARED._text = 0


class TestReplayedBlocks:
    def test_repeated_logged_records_give_the_same_events_as_stepping(self) -> None:
        data = _logged()
        plain = _events(data, memo=False)
        assert _events(data, memo=True) == plain
        assert blocks.SHARED._templates, "the second copy of a record was not replayed"
        assert sum(1 for event in plain if event.chain) == 9

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.integers(min_value=0, max_value=120), max_size=6))
    def test_any_batching_gives_the_same_events(self, cuts: list[int]) -> None:
        data = _logged()
        assert _events(data, memo=True, cuts=tuple(cuts)) == _events(data, memo=False)

    @pytest.mark.parametrize("header", [None, OWN_HEADER], ids=["built-in", "own pattern"])
    def test_every_corpus_log_twice_over_gives_the_same_events(
        self, corpus: Corpus, header: re.Pattern[str] | None
    ) -> None:
        """Each log of every CPython, read twice in one file: the second read is replayed."""
        differ = []
        for case in corpus.cases:
            data = case.log_path.read_bytes()
            if not data.endswith(b"\n"):
                data += b"\n"
            doubled = data + data
            if (_events(doubled, memo=True, header=header)
                    != _events(doubled, memo=False, header=header)):
                differ.append(case.name)
        assert not differ
        assert blocks.SHARED._templates

    def test_blocks_with_cut_off_lines_ansi_or_envelopes_are_not_learnt(self) -> None:
        header = "2026-03-01 10:00:00,000 ERROR app failed"
        body = ["Traceback (most recent call last):", '  File "a.py", line 1, in <module>',
                "    boom()", "\x1b[31mValueError: bad\x1b[0m"]
        text = "\n".join([header, *body, header, *body, "2026-03-01 10:00:01,000 INFO ok", ""])
        data = text.encode()
        assert _events(data, memo=True) == _events(data, memo=False)
        assert not blocks.SHARED._templates

        framer = LineFramer(max_line_bytes=20)
        lines = framer.feed(data.replace(b"\x1b[31m", b"").replace(b"\x1b[0m", b""))
        assert any(line.truncated for line in lines)
        assembler = Assembler(Origin("test", "test.log"))
        assembler.feed(lines)
        assert not blocks.SHARED._templates

    def test_a_header_with_ansi_codes_under_a_known_block_is_not_replayed(self) -> None:
        body = ["Traceback (most recent call last):", '  File "a.py", line 1, in <module>',
                "    boom()", "ValueError: bad"]
        plain = "2026-03-01 10:00:00,000 ERROR app failed"
        coloured = "2026-03-01 10:00:01,000 ERROR app \x1b[31mfailed\x1b[0m"
        end = "2026-03-01 10:00:02,000 INFO ok"
        data = "\n".join([plain, *body, coloured, *body, end, ""]).encode()
        events = _events(data, memo=True)
        assert events == _events(data, memo=False)
        assert blocks.SHARED._templates  # the first copy was learnt
        assert "\x1b[31m" in events[1].text  # the second kept its line as written

    @pytest.mark.parametrize("columns", [False, True])
    @pytest.mark.parametrize("max_bytes", range(60, 300, 7))
    def test_a_longer_header_over_a_known_block_is_cut_as_stepping_cuts_it(
        self, max_bytes: int, columns: bool
    ) -> None:
        """Where a long event is cut depends on the header's size, which the key leaves out."""
        data = _under_two_headers(longer_by=39)
        replayed = _run(data, memo=True, max_lines=8, max_bytes=max_bytes, columns=columns)[0]
        assert replayed == _events(data, memo=False, max_lines=8, max_bytes=max_bytes)

    @pytest.mark.parametrize("columns", [False, True])
    @pytest.mark.parametrize("max_bytes", [*range(200, 290, 3), *range(930, 1100, 20)])
    def test_a_known_block_under_a_longer_header_is_cut_by_bytes_as_stepping_cuts_it(
        self, max_bytes: int, columns: bool
    ) -> None:
        """Under the short header the block is whole; under the long one, for some of
        these limits (260 to 269), stepping cuts it: a replay must not make it whole.

        A block is replayed only when it fits the head of the held buffer (a
        quarter of ``max_bytes``), header included, so there is nothing to learn
        at those limits: counting the header alone would learn and replay it.
        """
        data = _under_two_headers(longer_by=20)
        replayed = _run(data, memo=True, max_bytes=max_bytes, columns=columns)[0]
        assert replayed == _events(data, memo=False, max_bytes=max_bytes)

    def test_many_small_distinct_blocks_stay_within_a_few_mib(self) -> None:
        """The bound counts what entries cost, not only their characters."""
        assembler = Assembler(Origin("test", "test.log"))
        many = "".join(
            f"2026-03-01 10:00:00,000 ERROR app n\nValueError: id={n}\n" for n in range(60_000)
        )
        lines = LineFramer().feed(many.encode() + b"2026-03-01 10:00:00,000 INFO end\n")
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            assembler.feed(lines[: len(lines) // 2])
            assembler.feed(lines[len(lines) // 2 :])
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert blocks.SHARED._templates
        assert held < 6 << 20  # events were returned and dropped: what stays is the memo

    def test_a_block_is_replayed_only_when_its_closing_header_is_in_the_batch(self) -> None:
        data = _logged()
        lines = LineFramer().feed(data)
        assert lines[-2].text == "after a blank line"  # the closing header is the last line
        assert blocks.BlockMemo.end(lines, len(lines) - 2) == len(lines) - 1
        assert blocks.BlockMemo.end(lines[:-1], len(lines) - 2) is None
        first_header = next(i for i, line in enumerate(lines) if "handler failed" in line.text)
        end = blocks.BlockMemo.end(lines, first_header + 1)
        assert end is not None
        assert lines[end].text.endswith("retrying")

    def test_the_memo_stays_bounded(self) -> None:
        memo = blocks.BlockMemo()
        assembler = Assembler(Origin("test", "test.log"))
        assembler._blocks = memo
        big = "x" * 5000
        many = "".join(
            f"2026-03-01 10:00:00,000 ERROR app n{n}\nValueError: {big}{n}\n" for n in range(400)
        )
        assembler.feed(LineFramer().feed(many.encode() + b"2026-03-01 10:00:00,000 INFO end\n"))
        assert 0 < memo._text <= blocks._MAX_TEXT
        assert len(memo._templates) < 400


_MAIN = ["Traceback (most recent call last):", '  File "job.py", line 3, in <module>',
         "    main()", "KeyError: 'x'"]
# Records as loggers, runtimes and accidents write them; {t} is the time.
_RECORDS: list[list[str]] = [
    ["{t} ERROR app.db query failed", *TRACEBACK],
    ["{t} ERROR app.db query failed:", *TRACEBACK],
    ["{t} ERROR app.db other query failed", *TRACEBACK[:4]],
    ["{t} WARNING app.job retrying", *_MAIN],
    ["{t} WARNING app.job retrying", *TRACEBACK[:4]],
    ["{t} INFO app.api served", *_MAIN],
    ["{t} INFO app.api served"],
    ["{t} INFO app.api multi-line", "  second line", "third line"],
    ["{t} CRITICAL app \x1b[31mcoloured\x1b[0m", *TRACEBACK[:4]],
    ["{t} ERROR app a lone \x1b escape", *TRACEBACK[:4]],
    ["{t} ERROR app " + "long " * 30, *TRACEBACK[:4]],
    ["\u0662\u0660\u0662\u0666-\u0660\u0663-\u0660\u0661 \u0661\u0660:\u0660\u0660:"
     "\u0660\u0660 ERROR app other digits", *TRACEBACK[:4]],
    ["2026-03-01T10:00:00 ERROR app an ISO time", *TRACEBACK[:4]],
    ["{t}", *TRACEBACK[:4]],
    ["2026-03-01T10:00:00.000000000Z stderr F {t} ERROR app in a CRI envelope",
     "2026-03-01T10:00:00.000000000Z stderr F Traceback (most recent call last):"],
    ["", ""],
    [*_MAIN],
    ["{\"level\": \"error\", \"msg\": \"json\"}"],
    ["404 a line that starts with digits"],
    # under a traceback: a coloured line, and one that starts like a separator
    ["{t} ERROR app.db query failed", *TRACEBACK[:4],
     "\x1b[33m    hint: set WARNING level for app.db\x1b[0m"],
    ["{t} ERROR app.db query failed", *TRACEBACK[:4],
     "The above exception was the direct cause of the outage below"],
]


# the built-in headers, logging's as a pattern, and patterns that read other lines as
# headers too (a traceback's, an exception line, an envelope, JSON)
HEADERS = [None, OWN_HEADER, re.compile(r"\S+"), re.compile(r".*"),
           re.compile(r"(?i)[\d\-]+ [\d:,]+ (?:error|info)"),
           re.compile(r".*?\b(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\b"),
           re.compile(r"(?P<level>\w+) (?P<logger>\S+) ")]


def _log(picks: list[int]) -> bytes:
    lines = [line.replace("{t}", f"2026-03-01 10:00:{n % 60:02d},{n % 1000:03d}")
             for n, pick in enumerate(picks) for line in _RECORDS[pick]]
    return "".join(line + "\n" for line in lines).encode()


class TestReplayAgainstStepping:
    @pytest.mark.parametrize("header", HEADERS, ids=lambda p: p and p.pattern)
    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(st.integers(min_value=0, max_value=len(_RECORDS) - 1), max_size=40),
        st.lists(st.integers(min_value=0, max_value=200), max_size=4),
        st.sampled_from([(1000, 1 << 20, 1 << 20), (6, 1 << 20, 1 << 20), (1000, 300, 64)]),
        st.booleans(),
    )
    def test_mixed_records_in_any_batching_give_what_stepping_gives(
        self, header: re.Pattern[str] | None, picks: list[int], cuts: list[int],
        limits: tuple[int, int, int], columns: bool,
    ) -> None:
        """Repeats of every shape, side by side, cut anywhere: events and what is held back.

        Fed as a list of lines (the daemon) or as columns (replay): replay makes
        rows from either without a ``Line`` in between. Read by the built-in
        headers or by a source's own pattern.
        """
        max_lines, max_bytes, max_line_bytes = limits
        data = _log(picks + picks)  # the second half repeats the first: blocks are replayed
        replayed = _run(data, memo=True, cuts=tuple(cuts), max_lines=max_lines,
                        max_bytes=max_bytes, max_line_bytes=max_line_bytes, columns=columns,
                        header=header)
        assert replayed == _run(data, memo=False, cuts=tuple(cuts), max_lines=max_lines,
                                max_bytes=max_bytes, max_line_bytes=max_line_bytes,
                                header=header)

    def test_a_run_of_replayed_blocks_leaves_the_last_header_held(self) -> None:
        data = _log([0] * 6)
        lines = LineFramer().feed(data)
        last_header = max(at for at, line in enumerate(lines) if "ERROR" in line.text)
        for memo in (True, False):
            assembler = Assembler(Origin("test", "test.log"))
            if not memo:
                assembler._blocks = None
            events = assembler.feed(lines[: last_header + 1])
            assert len(events) == 5
            assert assembler.pending_offset() == lines[last_header].offset
        assert len(blocks.SHARED._templates) == 1


_TEXTS = [
    "2026-03-01 10:00:00,000 ERROR app failed",
    "2026-03-01 10:00:00 INFO ok",
    "2026-03-01 10:00:00.123456789 DEBUG nanoseconds",
    "2026-03-01T10:00:00 ERROR not the usual header",
    "2026-03-01 10:00:00,000 ERROR",
    "\u0662\u0660\u0662\u0666-\u0660\u0663-\u0660\u0661 \u0661\u0660:\u0660\u0660:"
    "\u0660\u0660 INFO other digits",
    "Traceback (most recent call last):",
    '  File "a.py", line 1, in f',
    "ValueError: bad",
    "",
    "12345 no header",
    " 2026-03-01 10:00:00 INFO indented",
    "x\n2026-03-01 10:00:00 INFO a newline inside the text",
]


class TestBoundaries:
    @pytest.mark.parametrize("header", HEADERS, ids=lambda p: p and p.pattern)
    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(_TEXTS), st.booleans()), max_size=30))
    def test_found_at_once_as_line_by_line(
        self, header: re.Pattern[str] | None, picked: list[tuple[str, bool]]
    ) -> None:
        lines = [Line(text, n, n + 1, n + 1, cut) for n, (text, cut) in enumerate(picked)]
        bounds = blocks.Boundaries(lines, header)
        starts = {at for at, line in enumerate(lines) if blocks.BlockMemo.starts(line, header)}
        assert bounds.starts == starts
        assert bounds.texts == [line.text for line in lines]
        for start in range(len(lines) + 1):
            assert bounds.end(start) == blocks.BlockMemo.end(lines, start, header)

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.sampled_from([
            b"2026-03-01 10:00:00,000 ERROR app failed", b"ValueError: bad \xc3\xa9t\xc3\xa9",
            b'  File "a.py", line 1, in f\r', b"", b"invalid \xff utf-8", b"x" * 90,
        ]), max_size=25),
        st.integers(min_value=1, max_value=7),
    )
    def test_columns_and_lines_answer_alike(self, picked: list[bytes], chunks: int) -> None:
        """Replay's rows come from the columns, the daemon's from ``Line`` objects:
        the same answers for every line, cut (over 64 bytes), CRLF or not UTF-8."""
        data = b"".join(raw + b"\n" for raw in picked)
        framer = LineFramer(max_line_bytes=64)
        size = max(1, len(data) // chunks)
        columns = Lines()
        for at in range(0, len(data), size):
            columns.extend(framer.feed_lines(data[at : at + size]))
        listed = list(columns)
        by_columns, by_lines = blocks.Boundaries(columns), blocks.Boundaries(listed)
        assert len(listed) == len(picked)
        assert by_columns.starts == by_lines.starts
        for at, line in enumerate(listed):
            row = by_columns.row(at, Kind.FRAME)
            assert (row.first_lineno, row.offset, row.end) == (line.lineno, line.offset, line.end)
            assert row == by_lines.row(at, Kind.FRAME)
            assert by_columns.end(at) == by_lines.end(at)
            for end in range(at + 1, len(listed) + 1):
                assert by_columns.size(at, end) == by_lines.size(at, end) == (
                    listed[end - 1].end - line.offset)

    @pytest.mark.parametrize("under", [blocks._MAX_LINES, blocks._MAX_LINES + 1])
    def test_a_block_ends_within_the_longest_one_looked_at(self, under: int) -> None:
        texts = [_TEXTS[0], *["  source line"] * under, _TEXTS[1]]
        lines = [Line(text, n, n + 1, n + 1) for n, text in enumerate(texts)]
        assert blocks.Boundaries(lines).end(1) == blocks.BlockMemo.end(lines, 1)
        assert (blocks.BlockMemo.end(lines, 1) is None) == (under > blocks._MAX_LINES)


def test_a_block_learnt_under_a_header_pattern_is_not_replayed_under_another() -> None:
    """The lines under a header are read by the source's header pattern too: one that is
    a header to the built-in ones ("ERROR:app:..." of basicConfig) is text to a pattern."""
    data = _log([0, 0]).replace(b"Traceback (most recent",
                                b"ERROR:app:lost\nTraceback (most recent")
    own = _events(data, memo=True, header=OWN_HEADER)
    assert blocks.SHARED._templates, "the pattern's block was not learnt"
    assert own == _events(data, memo=False, header=OWN_HEADER)
    assert _events(data, memo=True) == _events(data, memo=False)
