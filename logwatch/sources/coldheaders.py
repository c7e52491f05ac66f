"""Bytes -> the spans worth framing, for a source with a ``header`` pattern of its own.

``coldlines`` knows where a record starts from the shape ``logging`` gives
its headers. A user's pattern says it here instead: a line the assembler
would read as a record header (``multiline.headerlines``: the pattern
matches it, and it is no envelope, traceback line or other structure of its
own), with none of the rules' literals, and followed by another header, is
a record of one line no rule can take. Such lines are passed over; every
other line is kept with its whole record, from the header that opens it to
the next header.

Which lines are headers is found for the whole read in C but for a few
lines (``headerlines.header_flags``), on the texts the framer makes of them:
the read is decoded and split once.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from itertools import accumulate, compress, count, repeat
from operator import add, gt, not_

from logwatch.multiline.headerlines import header_flags
from logwatch.rules.literals import Literals
from logwatch.sources.coldlines import DENSE_BYTES
from logwatch.sources.literalscan import literal_scan


class ColdHeaderLines:
    """A callable: spans of a buffer of complete lines to frame, in order, disjoint."""

    def __init__(
        self,
        literals: Literals,
        header: re.Pattern[str],
        *,
        json_records: bool,
        max_line_bytes: int,
        context: int = 0,
        accelerate: bool = True,
        dense_bytes: int = DENSE_BYTES,
        encoding: str = "utf-8",
    ) -> None:
        """``json_records``: a line that is a JSON object is a record (format ``auto``).

        ``dense_bytes``: more spans than one per this many bytes, and the whole
        buffer is framed, which is cheaper.

        ``max_line_bytes``: the framer's cap; a longer line is cut, and what the
        pattern makes of its cut text is not looked at here. ``context``: the
        lines before each kept record are kept too (``context_lines``).
        ``encoding``: the framer's, one that ``framing.reads_ascii_as_ascii``.
        """
        self._header = header
        self._json_records = json_records
        self._cap = max_line_bytes
        self._context = context
        self._encoding = encoding
        self._utf8 = codecs.lookup(encoding).name == "utf-8"
        self._dense_bytes = dense_bytes
        self._folded = bool(literals.folded)
        self._scan = literal_scan(
            literals.exact, literals.folded, accelerate=accelerate, with_runs=False
        )

    def __call__(self, body: bytes) -> list[tuple[int, int]]:
        size = len(body)
        whole = [(0, size)] if size else []
        # ANSI codes vanish before matching, NULs of a hole before framing: the
        # assembler would see other texts than these. Lower-casing finds
        # case-insensitive literals in ASCII only.
        if (
            not body.endswith(b"\n")
            or b"\x1b" in body
            or b"\0" in body
            or (self._folded and not body.isascii())
        ):
            return whole
        hits: list[int] = []
        self._scan(body, hits)
        if len(hits) * self._dense_bytes > size:
            return whole
        texts, sizes = self._lines(body)
        # where each line starts, in bytes; one more: the end of the last
        starts = list(map(add, accumulate(sizes, initial=0), count()))
        heads = header_flags(texts, self._header, json_records=self._json_records)
        if max(sizes) > self._cap:
            # cut, a line may read otherwise than whole: no header, whatever it is
            for at in compress(count(), map(gt, sizes, repeat(self._cap))):
                heads[at] = False
        others = set(compress(count(), map(not_, heads)))  # the lines that are no headers

        kept = others.union(bisect_right(starts, at) - 1 for at in hits)
        kept.add(len(texts) - 1)  # its successor is unknown: its record may go on
        last = len(texts)
        context = self._context
        spans: list[tuple[int, int]] = []
        floor = 0
        for at in sorted(kept):
            if at < floor:
                continue  # in the record kept last
            start = _record_start(at, floor, heads)
            if context and start > floor:
                # An event's context is the lines right before it, which a record
                # passed over would take from it: they and their record are kept.
                start = _record_start(max(floor, start - context), floor, heads)
            end = at + 1
            while end < last and not heads[end]:
                end += 1
            if spans and start <= floor:
                start = spans.pop()[0]
            spans.append((start, end))
            floor = end
        if len(spans) * self._dense_bytes > size:
            return whole  # records that matter all over: framing them all is cheaper
        return [(starts[start], starts[end]) for start, end in spans]

    def _lines(self, body: bytes) -> tuple[list[str], list[int]]:
        """The texts the framer makes of ``body``'s lines (it ends with one), and their sizes."""
        if self._utf8:
            # A newline is never part of a UTF-8 sequence, nor of what replaces a
            # bad one: decoded at once, the lines are those the framer decodes one by one.
            text = body.decode("utf-8", errors="replace")
            texts = text.split("\n")
            texts.pop()  # after the last newline
            one_byte = len(text) == len(body)  # each character from one byte (ASCII, or a bad one)
            sizes = list(map(len, texts if one_byte else body.split(b"\n")[:-1]))
            crlf = "\r" in text
        else:
            # where a bad byte stands, another decoder may take the newline after it
            # for part of the same bad character (GB18030's four-byte ones)
            raws = body.split(b"\n")
            raws.pop()
            texts = [raw.decode(self._encoding, errors="replace") for raw in raws]
            sizes = list(map(len, raws))
            crlf = b"\r" in body
        if crlf:
            texts = [piece[:-1] if piece.endswith("\r") else piece for piece in texts]
        return texts, sizes


def _record_start(at: int, floor: int, heads: list[bool]) -> int:
    """The header opening the record of line ``at``; ``floor`` when it is not after it."""
    while at > floor and not heads[at]:
        at -= 1
    return at
