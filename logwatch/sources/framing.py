"""Bytes -> Line: split what a reader got into lines, keeping exact byte offsets.

A partial last line stays buffered until its newline arrives, so a line is
never cut by the chunking of reads. Splitting on b"\\n" is safe for UTF-8 (the
byte 0x0A never occurs inside a multi-byte sequence) and for the other
encodings a source may name (``reads_ascii_as_ascii``).
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable
from itertools import accumulate
from operator import add
from typing import TYPE_CHECKING

from logwatch.model import Line, Lines

if TYPE_CHECKING:
    from logwatch.multiline.knownbodies import KnownBodies, KnownBody

DEFAULT_MAX_LINE_BYTES = 1 << 20

# Given complete lines, the spans of them to frame (in order, disjoint, on line
# boundaries); the lines between are counted and passed over (``coldlines``).
KeepSpans = Callable[[bytes], list[tuple[int, int]]]


class CountedSpans(list[tuple[int, int]]):
    """Spans whose gaps' lines were counted already (by ``forkscan``'s helper).

    ``gaps[i]``: the newlines before span ``i`` (after the one before it);
    ``gaps[-1]``: those after the last span.
    """

    def __init__(self, spans: list[tuple[int, int]], gaps: list[int]) -> None:
        super().__init__(spans)
        self.gaps = gaps


def kept_bounds(chunk: bytes, *, carried: bool) -> tuple[int, int] | None:
    """Where the buffer a ``keep`` filter is asked about lies in ``chunk``; None: it is not asked.

    The buffer is the chunk's whole lines, less the line an earlier chunk left
    open (``carried``); a chunk with no line end asks nothing. ``forkscan``
    works out the same buffers ahead of time from this.
    """
    first = chunk.find(b"\n") + 1
    if not first:
        return None
    return (first if carried else 0), chunk.rfind(b"\n") + 1


_ASCII = bytes(range(128))
_NOT_ASCII = bytes(range(128, 256))


@functools.cache
def reads_ascii_as_ascii(encoding: str) -> bool:
    """Whether ``encoding`` reads each ASCII byte as its character, alone or among others.

    The framer splits lines at the byte 0x0A, and the filters look for ASCII
    literals and record headers in the bytes: right for UTF-8, and for the
    encodings whose other characters never use a byte below 0x80 that could be
    taken for a newline (Latin-1, cp1252, GBK, Big5, Shift_JIS, EUC-JP...); not for
    UTF-16, nor for one that gives ASCII bytes other meanings (UTF-7, escapes).
    """
    try:
        name = codecs.lookup(encoding).name
        # byte by byte too: a decoder may read a byte otherwise after another
        return (
            not name.endswith("escape")
            and _ASCII.decode(name) == _ASCII.decode("ascii")
            and all(bytes((byte,)).decode(name) == chr(byte) for byte in _ASCII)
            and bool(_NOT_ASCII.decode(name, errors="replace"))  # raises where it cannot
        )
    except (LookupError, UnicodeError):  # LookupError: bytes-to-bytes codecs (base64)
        return False


class LineFramer:
    """Turn successive chunks of one file into ``Line`` values."""

    def __init__(
        self,
        *,
        offset: int = 0,
        lineno: int = 1,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        encoding: str = "utf-8",
        known: KnownBodies | None = None,
    ) -> None:
        """``encoding``: the file's, one that ``reads_ascii_as_ascii``; a byte it cannot
        read becomes U+FFFD. ``known``: in the spans a ``keep`` filter gives, a record
        whose lines under its header are among these is framed as its header line
        alone, marked (``Lines.known``); for an assembler that looks them up there."""
        self._known = known
        self._buffer = bytearray()  # kept bytes of the line in progress (<= max_line_bytes)
        self._consumed = 0  # bytes of the line in progress seen so far, kept or not
        self._overlong = False  # the line in progress is past the cap; its rest is discarded
        self._buffer_offset = offset  # file offset of the line in progress
        self._lineno = lineno  # number of the next line to be framed
        self._max_line_bytes = max_line_bytes
        self._encoding = encoding
        self.nul_bytes_skipped = 0
        self.lines_passed = 0  # left out by a ``keep`` filter, since ``take_passed``
        self.bytes_passed = 0

    @property
    def offset(self) -> int:
        """File offset just past the last complete line: the safe resume point."""
        return self._buffer_offset

    @property
    def lineno(self) -> int:
        return self._lineno

    @property
    def max_line_bytes(self) -> int:
        return self._max_line_bytes

    @property
    def encoding(self) -> str:
        return self._encoding

    @property
    def has_partial(self) -> bool:
        return self._consumed > 0

    def feed(self, chunk: bytes, keep: KeepSpans | None = None) -> list[Line]:
        """The lines ``chunk`` completes; with ``keep``, only those in the spans it returns."""
        lines = self.feed_lines(chunk, keep)
        # a list would lose the marks (``Lines.known``) and, with them, the lines under
        assert not lines.known, "lines marked with what lies under them: use feed_lines"
        return list(lines)

    def feed_lines(self, chunk: bytes, keep: KeepSpans | None = None) -> Lines:
        """``feed``, as columns: no ``Line`` is built until one is looked at."""
        if keep is not None:
            return self._feed_kept(chunk, keep)
        lines = Lines()
        start = 0
        if self._consumed:
            newline = chunk.find(b"\n")
            if newline < 0:
                self._hold(chunk)
                return lines
            self._hold(chunk[:newline])
            lines.append(self._take(self._consumed + 1))
            start = newline + 1
        end = chunk.rfind(b"\n") + 1
        if end > start:
            body = chunk[start : end - 1]
            if len(body) <= self._max_line_bytes and b"\0" not in body:
                self._frame_plain(body, lines)
            else:
                self._frame_each(chunk, start, lines)
            start = end
        self._hold(chunk[start:])
        return lines

    def _frame_plain(self, body: bytes, lines: Lines) -> None:
        """Whole lines (``body`` less its last newline), none cut or after a hole.

        Split, decoded and measured in C: no Python step per line for ASCII.
        """
        offset = self._buffer_offset
        texts: list[str]
        if body.isascii():
            texts = body.decode("ascii").split("\n")
            sizes = list(map(len, texts))
        else:
            raws = body.split(b"\n")
            encoding = self._encoding
            texts = [raw.decode(encoding, errors="replace") for raw in raws]
            sizes = list(map(len, raws))
        count = len(texts)
        # a line ends its own size and a newline after where the one before ended
        ends = list(map(add, accumulate(sizes), range(offset + 1, offset + count + 1)))
        if b"\r" in body:
            texts = [text[:-1] if text.endswith("\r") else text for text in texts]
        lines.texts += texts
        lines.offsets.append(offset)
        lines.offsets += ends[:-1]
        lines.ends += ends
        lines.linenos += range(self._lineno, self._lineno + count)
        self._buffer_offset = ends[-1]
        self._lineno += count

    def _frame_each(self, chunk: bytes, start: int, lines: Lines) -> None:
        """Whole lines from ``start`` to the last newline, one at a time (cut, holes)."""
        while (newline := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start:newline]
            raw = self._skip_hole(piece)
            overlong = len(raw) > self._max_line_bytes
            lines.append(self._make_line(raw[: self._max_line_bytes], len(piece) + 1, overlong))
            start = newline + 1

    def _feed_kept(self, chunk: bytes, keep: KeepSpans) -> Lines:
        bounds = kept_bounds(chunk, carried=self._consumed > 0)
        if bounds is None:
            return self.feed_lines(chunk)
        start, end = bounds
        lines = self.feed_lines(chunk[:start])  # the line carried in is completed the ordinary way
        # The buffer is looked at where it lies in the chunk: a filter answered
        # ahead (``forkscan``) needs no copy of it, only of the spans it keeps.
        in_place: Callable[[bytes, int, int], list[tuple[int, int]]] | None = getattr(
            keep, "spans_in", None)
        spans = in_place(chunk, start, end) if in_place else keep(chunk[start:end])
        done = start
        plain = chunk.find(b"\0", start, end) < 0
        cap = self._max_line_bytes
        gaps = spans.gaps if isinstance(spans, CountedSpans) else None
        for index, (span_start, span_end) in enumerate(spans):
            first, after = start + span_start, start + span_end  # in the chunk
            self._pass(chunk, done, first, gaps[index] if gaps else None)
            if plain and first < after <= first + cap + 1 and chunk[after - 1] == 10:
                # whole lines, none over the cap, no holes: what ``feed`` does with
                # them, less its set-up, which costs as much as a short span's framing
                if self._known is None or not self._known.sizes:  # (none known yet)
                    self._frame_plain(chunk[first : after - 1], lines)
                else:
                    closed = self._closes(self._known, chunk, start, spans, index)
                    self._frame_known(self._known, chunk, first, after, closed, lines)
            else:
                lines.extend(self.feed_lines(chunk[first:after]))
            done = after
        self._pass(chunk, done, end, gaps[-1] if gaps else None)
        self._hold(chunk[end:])
        return lines

    def _closes(
        self, known: KnownBodies, chunk: bytes, start: int, spans: list[tuple[int, int]],
        index: int,
    ) -> bool:
        """Whether the line framed after span ``index`` is a record header, whole.

        Then it closes the span's last record, as a header closes any (``blocks``):
        the lines passed over between are no concern of the assembler's.
        """
        if index + 1 >= len(spans):
            return False  # the next line is in the next read
        first = start + spans[index + 1][0]
        return (
            chunk.find(b"\n", first) - first <= self._max_line_bytes
            and known.header_at(chunk, first) is not None
        )

    def _frame_known(
        self,
        known: KnownBodies,
        chunk: bytes,
        first: int,
        after: int,
        closed: bool,
        lines: Lines,
    ) -> None:
        """``_frame_plain`` for ``chunk[first:after]``, but a record whose lines under its
        header are ``known`` is framed as its header line alone.

        A record runs from its header to the next; the span's last one is whole only
        where the line after the span is a header (``closed``).
        """
        done = first  # framed up to here
        head, found = first, known.header_at(chunk, first)
        if found is None and (found := known.next_header(chunk, first, after)) is not None:
            head = found.start() + 1
        while found is not None:
            newline = chunk.find(b"\n", head, after)
            # Most often the record is the span's last (a storm's tracebacks are
            # spans of one record each): where the rest of the span is known, it
            # holds no header, and need not be searched for one. (Only where it
            # is as long as a body kept: a long span of short records would
            # otherwise have its rest copied and hashed once a record.)
            rest = after - newline - 1
            body = known.get(chunk[newline + 1 : after]) if closed and rest in known.sizes else None
            if body is not None:
                following, stop = None, after
            else:
                following = known.next_header(chunk, newline, after)
                stop = following.start() + 1 if following else (after if closed else -1)
                body = known.get(chunk[newline + 1 : stop]) if stop > newline + 1 else None
            if body is not None and body.takes(found, chunk[head:newline]):
                if head > done:
                    self._frame_plain(chunk[done : head - 1], lines)
                self._frame_head(chunk[head:newline], body, lines)
                done = stop
            head, found = stop, following
        if after > done:
            self._frame_plain(chunk[done : after - 1], lines)

    def _frame_head(self, raw: bytes, body: KnownBody, lines: Lines) -> None:
        """A header line (``raw``, whole, within the cap), and ``body`` passed over after it."""
        text = raw.decode(self._encoding, errors="replace")
        if text.endswith("\r"):
            text = text[:-1]
        offset = self._buffer_offset
        end = offset + len(raw) + 1
        lines.known[len(lines.texts)] = body
        lines.texts.append(text)
        lines.offsets.append(offset)
        lines.ends.append(end)
        lines.linenos.append(self._lineno)
        self._buffer_offset = end + body.size
        self._lineno += 1 + len(body.texts)

    def take_passed(self) -> tuple[int, int]:
        """Lines and bytes a ``keep`` filter left out since the last call."""
        passed = (self.lines_passed, self.bytes_passed)
        self.lines_passed = self.bytes_passed = 0
        return passed

    def _pass(self, body: bytes, start: int, end: int, count: int | None = None) -> None:
        if end > start:
            if count is None:
                count = body.count(b"\n", start, end)
            self._buffer_offset += end - start
            self._lineno += count
            self.lines_passed += count
            self.bytes_passed += end - start

    def flush(self) -> list[Line]:
        """Frame the unterminated last line, for a file that will not grow any more."""
        if not self._consumed:
            return []
        return [self._take(self._consumed)]

    def _hold(self, piece: bytes) -> None:
        self._consumed += len(piece)
        if not self._buffer:
            piece = self._skip_hole(piece)
        room = self._max_line_bytes - len(self._buffer)
        if len(piece) > room:
            self._buffer += piece[: max(room, 0)]
            self._overlong = True
        else:
            self._buffer += piece

    def _take(self, consumed: int) -> Line:
        line = self._make_line(bytes(self._buffer), consumed, self._overlong)
        self._buffer.clear()
        self._consumed = 0
        self._overlong = False
        return line

    def _skip_hole(self, raw: bytes) -> bytes:
        # a sparse file after copytruncate reads as NULs up to the writer's old
        # offset: they are no log text, and may be far longer than any line
        if not raw.startswith(b"\0"):
            return raw
        stripped = raw.lstrip(b"\0")
        self.nul_bytes_skipped += len(raw) - len(stripped)
        return stripped

    def _make_line(self, raw: bytes, consumed: int, truncated: bool) -> Line:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        line = Line(
            text=raw.decode(self._encoding, errors="replace"),
            offset=self._buffer_offset,
            end=self._buffer_offset + consumed,
            lineno=self._lineno,
            truncated=truncated,
        )
        self._buffer_offset += consumed
        self._lineno += 1
        return line
