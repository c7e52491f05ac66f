"""Bytes -> the spans worth framing: pass over runs of lines no rule can alert on.

A "cold" line is a one-line record in logging's usual shape (a
``YYYY-MM-DD HH:MM:SS[,mmm] LEVEL `` header) followed by another such header,
holding none of the rules' literals (``rules.literals``). The assembler would
make it an event of its own, closing whatever it held before, and no rule
would take that event; leaving it out changes no other event, because the
header after it closes the held event just the same. Everything else (lines
of other shapes, their neighbours, any line with a literal, the last line of
the buffer, whose successor is unknown) is kept, so the worst case is to
frame every line, as without this filter.

The work is a handful of C-level scans per buffer (one regex for the runs of
lines that are not such headers, and the literals: one ``bytes.find`` each, or
one pass for all with the optional accelerator, ``literalscan``), not a
Python step per line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from logwatch.multiline.blocks import RECORD_HEADER, RECORD_HEADER_BYTES
from logwatch.rules.literals import Literals, RuleLike, rule_literals
from logwatch.sources.literalscan import literal_scan

__all__ = ["RECORD_HEADER", "ColdLines", "cold_lines_for"]

_HEADER = RECORD_HEADER_BYTES  # a logging header; pipeline also checks decoded lines with it
_HEADER_AT = re.compile(_HEADER)
# A run of lines of other shapes (a traceback, say), each line after a newline
# that is not followed by a header: one match per run, not one per line.
# (It starts with a literal newline, which ``re`` searches for at C speed.)
_OTHER_RUN = re.compile(
    rb"\n(?!" + _HEADER + rb")[^\n]*(?:\n(?!" + _HEADER + rb")[^\n]*)*"
)
# The same run where the buffer starts with a line of another shape.
_FIRST_RUN = re.compile(rb"(?!" + _HEADER + rb")[^\n]*(?:\n(?!" + _HEADER + rb")[^\n]*)*")
# More spans than one per this many bytes: frame the whole buffer, which is cheaper.
_DENSE_BYTES = 256


class ColdLines:
    """A callable: spans of a buffer of complete lines to frame, in order, disjoint."""

    def __init__(self, literals: Literals, *, accelerate: bool = True) -> None:
        self._folded = bool(literals.folded)
        self._scan = literal_scan(literals.exact, literals.folded, accelerate=accelerate)

    def __call__(self, body: bytes) -> list[tuple[int, int]]:
        size = len(body)
        whole = [(0, size)] if size else []
        # ANSI codes vanish before matching, so a literal may be split in the bytes;
        # and lower-casing finds case-insensitive literals in ASCII only
        if size == 0 or b"\x1b" in body or (self._folded and not body.isascii()):
            return whole
        # a run of other lines, with the record line before it that it may continue
        spans: list[tuple[int, int]] = []
        if _HEADER_AT.match(body) is None:
            first = _FIRST_RUN.match(body, 0, size - 1)
            spans.append((0, first.end() + 1 if first else size))
        for run in _OTHER_RUN.finditer(body, 0, size - 1):
            newline = run.start()
            spans.append((body.rfind(b"\n", 0, newline) + 1, run.end() + 1))
        starts: list[int] = []
        self._scan(body, starts)
        starts.append(body.rfind(b"\n", 0, size - 1) + 1)  # its successor is unknown
        for start in starts:
            spans.append((start, body.find(b"\n", start) + 1 or size))
        if len(spans) * _DENSE_BYTES > size:
            return whole  # nearly every line matters: framing them all is cheaper
        spans.sort()
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and merged[-1][1] >= start:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged


def cold_lines_for(
    rules: Sequence[RuleLike], *, format: str, header_set: bool, context_lines: int
) -> ColdLines | None:
    """The filter for one source, or None where every line must be framed.

    Not for JSON sources or a user's header pattern (other header shapes),
    nor when events carry the lines before them (``context_lines``).
    """
    if format == "json" or header_set or context_lines > 0:
        return None
    literals = rule_literals(rules).literals
    return ColdLines(literals) if literals is not None else None
