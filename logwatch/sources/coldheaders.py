"""Bytes -> the spans worth framing, for a source with a ``header`` pattern of its own.

``coldlines`` knows where a record starts from the shape ``logging`` gives
its headers. A user's pattern says it here instead: a line the assembler
would read as a record header (the pattern matches it, and it is no
envelope, traceback line or other structure of its own), with none of the
rules' literals, and followed by another header, is a record of one line no
rule can take. Such lines are passed over; every other line is kept with
its whole record, from the header that opens it to the next header.

The pattern is tried on every line, but in C: the buffer is decoded and
split once, and ``map`` runs the pattern's ``match`` over the lines, on the
very texts the assembler would match it against. (Run over the whole buffer
instead, a pattern could match across a line's end where it does not on the
line alone.) A Python step is taken only for the lines that may be
something else than the pattern says, which one scan of the buffer finds
by how they start: those are classified the assembler's way.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate, compress, count, repeat
from operator import add, gt, is_

from logwatch.multiline.assembler import reads_as_header
from logwatch.multiline.envelopes import MONTHS
from logwatch.multiline.headers import HeaderParser
from logwatch.multiline.kinds import (
    CONTEXT_PREFIXES,
    GROUP_TRACEBACK_LINE,
    SEPARATORS,
    TRACEBACK_LINE,
)
from logwatch.rules.literals import Literals
from logwatch.sources.literalscan import literal_scan

# How the lines start that may be no header whatever the pattern says: blank
# or indented (whitespace first, as ``\s`` and ``str.isspace`` agree), the
# first line of something ``kinds`` reads before any header, or an envelope
# (``envelopes.unwrap``). A few more lines than those match, never fewer:
# what matches is classified exactly.
_STRUCTURE = (
    TRACEBACK_LINE,
    GROUP_TRACEBACK_LINE,
    *SEPARATORS,
    *CONTEXT_PREFIXES,
    "Thread 0x",
    "Timeout (",
    "Stack (most recent call",
    "Call stack:",
    "Current thread 0x",
    "--- Logging error ---",
    "Fatal Python error: ",
    "Windows fatal exception: ",
    "Python runtime state: ",
    "Extension modules: ",
    "Process ",
    '> File "',
    "{",
    "<",
)
_SPECIAL = "|".join(
    [r"\s", r".{10}T", r"\[.{0,80}\] \[pid "]
    + [re.escape(prefix) for prefix in (*_STRUCTURE, *MONTHS)]
)
_SPECIAL_FIRST = re.compile(f"(?:{_SPECIAL})")
# only the newline taken: the next line's own newline may start the next match
_SPECIAL_AFTER_NEWLINE = re.compile(f"\n(?={_SPECIAL})")
# More kept lines than one per this many bytes: frame the whole buffer, which is cheaper.
DENSE_BYTES = 256


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
    ) -> None:
        """``json_records``: a line that is a JSON object is a record (format ``auto``).

        ``max_line_bytes``: the framer's cap; a longer line is cut, and what the
        pattern makes of its cut text is not looked at here. ``context``: the
        lines before each kept record are kept too (``context_lines``).
        """
        self._match = header.match
        self._parser = HeaderParser(header)
        self._json_records = json_records
        self._cap = max_line_bytes
        self._context = context
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
        # A newline is never part of a UTF-8 sequence, nor of what replaces a
        # bad one: these are the texts the framer decodes line by line.
        text = body.decode("utf-8", errors="replace")
        pieces = text.split("\n")
        pieces.pop()  # after the last newline
        one_byte = len(text) == size  # each character from one byte (ASCII, or a bad byte)
        sizes = list(map(len, pieces)) if one_byte else list(map(len, body.split(b"\n")))[:-1]
        # where each line starts, in bytes and in characters; one more: the end
        starts = _starts(sizes)
        chars = starts if one_byte else _starts(map(len, pieces))
        texts = pieces
        if "\r" in text:
            texts = [piece[:-1] if piece.endswith("\r") else piece for piece in pieces]
        heads = list(map(self._match, texts))

        # lines the assembler would not read as headers
        others = set(compress(count(), map(is_, heads, repeat(None))))
        if max(sizes) > self._cap:
            others.update(compress(count(), map(gt, sizes, repeat(self._cap))))
        specials = [] if _SPECIAL_FIRST.match(text) is None else [0]
        specials.extend(
            bisect_right(chars, found.start() + 1) - 1
            for found in _SPECIAL_AFTER_NEWLINE.finditer(text)
        )
        others.update(
            [at for at in specials if heads[at] is not None and not self._header_at(texts[at])]
        )

        kept = others.union(bisect_right(starts, at) - 1 for at in hits)
        kept.add(len(texts) - 1)  # its successor is unknown: its record may go on
        if len(kept) * self._dense_bytes > size:
            return whole  # nearly every line matters: framing them all is cheaper

        last = len(texts)
        context = self._context
        spans: list[tuple[int, int]] = []
        floor = 0
        for at in sorted(kept):
            if at < floor:
                continue  # in the record kept last
            start = self._record_start(at, floor, heads, others)
            if context and start > floor:
                # An event's context is the lines right before it, which a record
                # passed over would take from it: they and their record are kept.
                start = self._record_start(max(floor, start - context), floor, heads, others)
            end = at + 1
            while end < last and (heads[end] is None or end in others):
                end += 1
            if spans and start <= floor:
                start = spans.pop()[0]
            spans.append((start, end))
            floor = end
        return [(starts[start], starts[end]) for start, end in spans]

    @staticmethod
    def _record_start(
        at: int, floor: int, heads: list[re.Match[str] | None], others: set[int]
    ) -> int:
        """The header opening the record of line ``at``; ``floor`` when it is not after it."""
        while at > floor and (heads[at] is None or at in others):
            at -= 1
        return at

    def _header_at(self, text: str) -> bool:
        return reads_as_header(text, self._parser, json_records=self._json_records)


def _starts(sizes: Iterable[int]) -> list[int]:
    """Where each line of these sizes starts, and where the last one's newline ends."""
    return list(map(add, accumulate(sizes, initial=0), count()))
