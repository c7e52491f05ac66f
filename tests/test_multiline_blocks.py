"""Replayed blocks: a record seen before gives exactly the events stepping through it gives."""

from __future__ import annotations

import logging
import tracemalloc
from io import StringIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.model import Event, Origin
from logwatch.multiline import Assembler, blocks
from logwatch.sources.framing import LineFramer
from tests.corpus import Corpus


def _events(
    data: bytes, *, memo: bool, cuts: tuple[int, ...] = (), max_lines: int = 1000,
    max_bytes: int = 1 << 20,
) -> list[Event]:
    """Every event of ``data``, fed in batches cut at ``cuts`` (line indices), then flushed."""
    assembler = Assembler(Origin("test", "test.log"), max_lines=max_lines, max_bytes=max_bytes)
    if not memo:
        assembler._blocks = None  # the plain path: every line stepped through the machine
    lines = LineFramer().feed(data)
    events: list[Event] = []
    start = 0
    for cut in (*sorted(cuts), len(lines)):
        events += assembler.feed(lines[start:cut])
        start = max(start, cut)
    return events + assembler.flush()


def _logged() -> bytes:
    """Real records from `logging`: chained, grouped, noted and plain, warnings with exc_info."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log = logging.getLogger("tests.blocks")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
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
    finally:
        log.removeHandler(handler)
    return stream.getvalue().encode()


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

    def test_every_corpus_log_twice_over_gives_the_same_events(self, corpus: Corpus) -> None:
        """Each log of every CPython, read twice in one file: the second read is replayed."""
        differ = []
        for case in corpus.cases:
            data = case.log_path.read_bytes()
            if not data.endswith(b"\n"):
                data += b"\n"
            doubled = data + data
            if _events(doubled, memo=True) != _events(doubled, memo=False):
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

    @pytest.mark.parametrize("max_bytes", range(60, 300, 7))
    def test_a_longer_header_over_a_known_block_is_cut_as_stepping_cuts_it(
        self, max_bytes: int
    ) -> None:
        """Where a long event is cut depends on the header's size, which the key leaves out."""
        body = b"".join(b"Traceback (most recent call last):\n" if n == 0 else
                        b'  File "a.py", line %d, in f\n' % n for n in range(7))
        short = b"2026-03-01 10:00:00 ERROR a b\n"
        long_ = b"2026-03-01 10:00:00 ERROR a " + b"b" * 40 + b"\n"
        end = b"2026-03-01 10:00:01 INFO z\n"
        data = short + body + long_ + body + end
        assert _events(data, memo=True, max_lines=8, max_bytes=max_bytes) == _events(
            data, memo=False, max_lines=8, max_bytes=max_bytes
        )

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
