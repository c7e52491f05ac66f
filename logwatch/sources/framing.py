"""Bytes -> Line: split what a reader got into lines, keeping exact byte offsets.

A partial last line stays buffered until its newline arrives, so a line is
never cut by the chunking of reads. Splitting on b"\\n" is safe for UTF-8: the
byte 0x0A never occurs inside a multi-byte sequence.
"""

from __future__ import annotations

from logwatch.model import Line

DEFAULT_MAX_LINE_BYTES = 1 << 20


class LineFramer:
    """Turn successive chunks of one file into ``Line`` values."""

    def __init__(
        self, *, offset: int = 0, lineno: int = 1, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    ) -> None:
        self._buffer = bytearray()
        self._buffer_offset = offset  # file offset of the first buffered byte
        self._lineno = lineno  # number of the next line to be framed
        self._max_line_bytes = max_line_bytes
        self._overlong = False  # the buffered line is past the cap; its rest is discarded
        self.nul_bytes_skipped = 0

    @property
    def offset(self) -> int:
        """File offset just past the last complete line: the safe resume point."""
        return self._buffer_offset

    @property
    def lineno(self) -> int:
        return self._lineno

    @property
    def has_partial(self) -> bool:
        return bool(self._buffer) or self._overlong

    def feed(self, chunk: bytes) -> list[Line]:
        lines: list[Line] = []
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            if newline < 0:
                self._hold(chunk[start:])
                return lines
            piece = chunk[start:newline]
            line_end = newline + 1
            if self._buffer or self._overlong:
                self._hold(piece)
                raw = bytes(self._buffer)
                consumed = self._consumed + 1
            else:
                raw = piece
                consumed = len(piece) + 1
            lines.append(self._make_line(raw, consumed))
            self._buffer.clear()
            self._consumed = 0
            truncated = self._overlong
            self._overlong = False
            if truncated:
                lines[-1] = Line(
                    lines[-1].text, lines[-1].offset, lines[-1].end, lines[-1].lineno, True
                )
            start = line_end

    _consumed = 0  # bytes of the current line seen so far, kept or discarded

    def _hold(self, piece: bytes) -> None:
        self._consumed += len(piece)
        room = self._max_line_bytes - len(self._buffer)
        if len(piece) > room:
            self._buffer += piece[: max(room, 0)]
            self._overlong = True
        else:
            self._buffer += piece

    def _make_line(self, raw: bytes, consumed: int) -> Line:
        if raw.startswith(b"\0"):
            # sparse file after copytruncate: the hole reads as NULs, not as log text
            stripped = raw.lstrip(b"\0")
            self.nul_bytes_skipped += len(raw) - len(stripped)
            raw = stripped
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        line = Line(
            text=raw.decode("utf-8", errors="replace"),
            offset=self._buffer_offset,
            end=self._buffer_offset + consumed,
            lineno=self._lineno,
        )
        self._buffer_offset += consumed
        self._lineno += 1
        return line
