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

The work is a handful of C-level scans per buffer (one regex for the line
starts that are not such headers, one ``bytes.find`` per literal), not a
Python step per line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from logwatch.rules.literals import Literals, RuleLike, rule_literals

_HEADER = rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d{1,9})? (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) "
_HEADER_AT = re.compile(_HEADER)
RECORD_HEADER = re.compile(_HEADER.decode())  # the same shape, on decoded text
# a newline not followed by one: a line of another shape starts after it
_OTHER_START = re.compile(rb"\n(?!" + _HEADER + rb")")
_DENSE_BYTES = 128  # one line to keep in fewer bytes than this: frame the whole buffer


class ColdLines:
    """A callable: spans of a buffer of complete lines to frame, in order, disjoint."""

    def __init__(self, literals: Literals) -> None:
        self._exact = tuple(literals.exact)
        self._folded = tuple(literals.folded)

    def __call__(self, body: bytes) -> list[tuple[int, int]]:
        size = len(body)
        whole = [(0, size)] if size else []
        # ANSI codes vanish before matching, so a literal may be split in the bytes;
        # and lower-casing finds case-insensitive literals in ASCII only
        if size == 0 or b"\x1b" in body or (self._folded and not body.isascii()):
            return whole
        starts: list[int] = []
        if _HEADER_AT.match(body) is None:
            starts.append(0)
        for found in _OTHER_START.finditer(body, 0, size - 1):
            newline = found.start()
            starts.append(newline + 1)
            starts.append(body.rfind(b"\n", 0, newline) + 1)  # the record it may continue
        _hits(body, self._exact, starts)
        if self._folded:
            _hits(body.lower(), self._folded, starts)
        starts.append(body.rfind(b"\n", 0, size - 1) + 1)
        if len(starts) * _DENSE_BYTES > size:
            return whole  # nearly every line matters: framing them all is cheaper
        spans: list[tuple[int, int]] = []
        for start in sorted(set(starts)):
            end = body.find(b"\n", start) + 1 or size
            if spans and spans[-1][1] >= start:
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        return spans


def _hits(body: bytes, literals: tuple[bytes, ...], starts: list[int]) -> None:
    for literal in literals:
        at = body.find(literal)
        while at >= 0:
            start = body.rfind(b"\n", 0, at) + 1
            starts.append(start)
            at = body.find(b"\n", at)  # one hit per line is enough
            if at < 0:
                break
            at = body.find(literal, at)


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
