"""Bytes -> Line: exact offsets, whatever the chunking of reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.model import Line, Lines
from logwatch.sources.framing import LineFramer


def frame(*chunks: bytes, max_line_bytes: int = 1 << 20) -> list[Line]:
    framer = LineFramer(max_line_bytes=max_line_bytes)
    return [line for chunk in chunks for line in framer.feed(chunk)]


class TestLineFramer:
    def test_lines_carry_byte_offsets_and_numbers(self) -> None:
        assert frame(b"ab\n\ncd\n") == [
            Line("ab", 0, 3, 1), Line("", 3, 4, 2), Line("cd", 4, 7, 3),
        ]

    @pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
    def test_chunking_never_changes_the_lines(self, size: int) -> None:
        """A line split across reads comes out exactly as if read at once."""
        data = "héllo\nwörld\r\n\0\0tail\nlong " * 3
        raw = data.encode()
        chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert frame(*chunks, max_line_bytes=8) == frame(raw, max_line_bytes=8)

    def test_partial_last_line_waits_and_offset_stays_at_its_start(self) -> None:
        framer = LineFramer(offset=100, lineno=7)
        assert framer.feed(b"done\nhal") == [Line("done", 100, 105, 7)]
        assert (framer.offset, framer.lineno, framer.has_partial) == (105, 8, True)
        assert framer.feed(b"f\n") == [Line("half", 105, 110, 8)]
        assert framer.has_partial is False

    def test_flush_frames_an_unterminated_last_line(self) -> None:
        framer = LineFramer()
        framer.feed(b"a\nlast")
        assert framer.flush() == [Line("last", 2, 6, 2)]
        assert framer.offset == 6
        assert framer.flush() == []

    def test_long_line_in_one_chunk_is_cut_and_flagged(self) -> None:
        assert frame(b"x" * 20 + b"\nok\n", max_line_bytes=10) == [
            Line("x" * 10, 0, 21, 1, truncated=True), Line("ok", 21, 24, 2),
        ]

    def test_long_line_across_chunks_is_cut_and_flagged(self) -> None:
        assert frame(b"x" * 6, b"y" * 6, b"z\nok\n", max_line_bytes=10) == [
            Line("xxxxxxyyyy", 0, 14, 1, truncated=True), Line("ok", 14, 17, 2),
        ]

    def test_invalid_utf8_is_replaced_not_fatal(self) -> None:
        texts = [line.text for line in frame(b"caf\xc3\n\xff\xfe\n")]
        assert texts == ["caf\ufffd", "\ufffd\ufffd"]

    def test_crlf_loses_its_cr(self) -> None:
        assert frame(b"a\r\n") == [Line("a", 0, 3, 1)]

    def test_nul_hole_before_a_line_is_skipped_and_counted(self) -> None:
        """A sparse file after copytruncate: the hole is no text, however long."""
        framer = LineFramer(max_line_bytes=4)
        lines = framer.feed(b"\0" * 10) + framer.feed(b"\0" * 10 + b"next\n")
        assert lines == [Line("next", 0, 25, 1)]
        assert framer.nul_bytes_skipped == 20


def _one_at_a_time(data: bytes, max_line_bytes: int) -> list[Line]:
    """The reference: each line framed on its own, by the per-line path."""
    framer = LineFramer(max_line_bytes=max_line_bytes)
    lines = Lines()
    framer._frame_each(data, 0, lines)
    return list(lines)


_PIECES = st.sampled_from(
    [b"a", b"\n", b"\r", b"\r\n", b"\0", b"\xc3\xa9", b"\xe2\x82", b"\xff", b"\xf0\x9f\x98\x80",
     b"2026-03-01 10:00:00,000 INFO x", b"  File \"a.py\", line 1, in f"]
)


class TestWholeChunkFraming:
    @settings(max_examples=300, deadline=None)
    @given(st.lists(_PIECES, max_size=40), st.sampled_from([4, 64, 1 << 20]))
    def test_framing_a_chunk_at_once_equals_framing_each_line(
        self, pieces: list[bytes], max_line_bytes: int
    ) -> None:
        data = b"".join(pieces) + b"\n"
        framer = LineFramer(max_line_bytes=max_line_bytes)
        assert framer.feed(data) == _one_at_a_time(data, max_line_bytes)
        assert framer.offset == len(data)


def _kept_reference(data: bytes, spans: list[tuple[int, int]], max_line_bytes: int) -> list[Line]:
    """What framing only ``spans`` must give: the lines framing everything gives there."""
    everything = LineFramer(max_line_bytes=max_line_bytes).feed(data)
    return [line for line in everything if any(a <= line.offset < b for a, b in spans)]


@st.composite
def _data_and_spans(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]]]:
    """Lines of awkward bytes, and disjoint runs of whole lines to keep."""
    lines = draw(st.lists(st.lists(_PIECES, max_size=6).map(b"".join), min_size=1, max_size=30))
    data = b"".join(line.replace(b"\n", b"") + b"\n" for line in lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.replace(b"\n", b"")) + 1)
    cuts = sorted(set(draw(st.lists(st.sampled_from(starts), max_size=12))))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return data, [(a, b) for a, b in pairs if b > a]


class TestLinesAsColumns:
    @settings(max_examples=300, deadline=None)
    @given(_data_and_spans(), st.sampled_from([4, 64, 1 << 20]), st.integers(0, 40))
    def test_each_line_looked_at_is_the_line_framing_gives(
        self, data_spans: tuple[bytes, list[tuple[int, int]]], max_line_bytes: int, split: int,
    ) -> None:
        """By index (from either end), by slice and in order, over reads framed apart."""
        data, spans = data_spans
        expected = LineFramer(max_line_bytes=max_line_bytes).feed(data)
        framer = LineFramer(max_line_bytes=max_line_bytes)
        lines = framer.feed_lines(data[:split])
        lines.extend(framer.feed_lines(data[split:]))
        assert list(lines) == expected
        assert len(lines) == len(expected)
        assert [lines[at] for at in range(len(lines))] == expected
        assert [lines[-at] for at in range(1, len(lines) + 1)] == expected[::-1]
        assert lines[1:-1:2] == expected[1:-1:2]
        assert lines.texts == [line.text for line in expected]
        assert lines.cut == {at for at, line in enumerate(expected) if line.truncated}
        kept = LineFramer(max_line_bytes=max_line_bytes).feed_lines(data, lambda body: spans)
        assert [kept[at] for at in range(len(kept))] == list(kept)
        assert list(kept) == _kept_reference(data, spans, max_line_bytes)


class TestKeptSpans:
    @settings(max_examples=300, deadline=None)
    @given(_data_and_spans(), st.sampled_from([4, 64, 1 << 20]))
    def test_framing_kept_spans_equals_framing_all_and_keeping_theirs(
        self, data_spans: tuple[bytes, list[tuple[int, int]]], max_line_bytes: int
    ) -> None:
        """Holes, CRs, bad UTF-8 and cut lines in or around many small spans of one read."""
        data, spans = data_spans
        framer = LineFramer(max_line_bytes=max_line_bytes)
        assert framer.feed(data, lambda body: spans) == _kept_reference(data, spans, max_line_bytes)
        assert (framer.offset, framer.lineno) == (len(data), data.count(b"\n") + 1)
        kept = sum(data.count(b"\n", a, b) for a, b in spans)
        assert framer.take_passed() == (
            data.count(b"\n") - kept, len(data) - sum(b - a for a, b in spans)
        )

    def test_a_line_begun_in_the_read_before_is_completed_then_spans_follow(self) -> None:
        framer = LineFramer()
        assert framer.feed(b"head") == []
        lines = framer.feed(b"er\nskip\nkeep\r\ncaf\xc3\xa9\n", lambda body: [(5, 11), (11, 17)])
        assert lines == [
            Line("header", 0, 7, 1), Line("keep", 12, 18, 3), Line("caf\u00e9", 18, 24, 4),
        ]
