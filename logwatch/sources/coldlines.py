"""Bytes -> the spans worth framing: pass over runs of records no rule can alert on.

A line no rule can alert on, in a buffer of ``logging`` output, is part of a
record that starts with the usual header (``YYYY-MM-DD HH:MM:SS[,mmm] LEVEL ``),
ends before the next such header, and has no line that could belong to a
traceback or hold one of the rules' literals (``rules.literals``). The
assembler would make such a record an event of its own that no rule takes;
leaving it out changes no other event, because a header closes whatever the
assembler held before it just the same.

Finding them takes a few C-level scans per buffer, not a Python step per line:

- one regex match per run of lines that do not start with a digit, or start
  like an ISO date with its "T" (a traceback is one run). Every traceback
  line, JSON record, exception line, blank line starts with something else,
  every header with a digit, and every envelope (a container runtime's,
  syslog's) the assembler unwraps with something else or an ISO date;
- the literals: one ``bytes.find`` each, or one pass for all with the optional
  accelerator (``literalscan``).

Each line found, and the last line of the buffer (its successor is unknown),
is then widened to its whole record: back to the header that opens it and on
to the next header, with the full header regex, a few steps per record. Lines
that start with a digit but are no header (``404 Not Found`` under a record)
are left out with their record when nothing around them matters; they then
count as plain events of their own, which is all that differs. The worst case
frames every line, as without this filter.
"""

from __future__ import annotations

import codecs
import re
import sys
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from logwatch.multiline.blocks import RECORD_HEADER, RECORD_HEADER_BYTES
from logwatch.rules.literals import Literals, RuleLike, rule_literals
from logwatch.sources.framing import DEFAULT_MAX_LINE_BYTES, KeepSpans
from logwatch.sources.literalscan import literal_scan

__all__ = ["RECORD_HEADER", "ColdLines", "ColdPlan", "cold_lines_for", "cold_plan_for"]

_HEADER_AT = re.compile(RECORD_HEADER_BYTES)  # a logging header; pipeline also checks decoded lines
# What a line that may be a plain record starts with: a digit, and no "T" where
# an ISO date would have one (CRI and ISO syslog envelopes, whose lines belong
# to streams of their own, start "2026-03-01T"). Two bytes looked at, where
# checking the whole header would cost three times as much.
_PLAIN = rb"[0-9](?![^\n]{9}T)"
# Lines of other shapes, one match per run of them. It starts with a literal
# newline, which ``re`` searches for at C speed.
# Possessive, where ``re`` reads that right (CPython 3.11.5 on: gh-100061,
# gh-106052): a line's rest never gives a character back, and the engine need
# not keep the places it could, a tenth of the search.
_ONCE = b"+" if sys.version_info >= (3, 11, 5) else b""
_REST = rb"[^\n]*" + _ONCE
_OTHER_RUN = re.compile(
    rb"\n(?!" + _PLAIN + rb")" + _REST + rb"(?:\n(?!" + _PLAIN + rb")" + _REST + rb")*" + _ONCE
)
# the same, from a line start
_OTHER_LINES = re.compile(rb"(?:(?!" + _PLAIN + rb")" + _REST + rb"\n)*" + _ONCE)
# More spans than one per this many bytes: frame the whole buffer, which is cheaper.
DENSE_BYTES = 256
# the encodings rules' literals are in already
_UTF8 = frozenset(codecs.lookup(name).name for name in ("utf-8", "utf-8-sig"))
# A record longer than this many lines that start with a digit is no ``logging``
# output as we know it: frame the whole buffer rather than walk it line by line.
_MAX_WALK = 100


class ColdLines:
    """A callable: spans of a buffer of complete lines to frame, in order, disjoint."""

    def __init__(
        self,
        literals: Literals,
        *,
        accelerate: bool = True,
        dense_bytes: int = DENSE_BYTES,
        context: int = 0,
    ) -> None:
        """``context``: the lines before each kept record are kept too (``context_lines``)."""
        self._folded = bool(literals.folded)
        self._dense_bytes = dense_bytes
        self._context = context
        self._scan = literal_scan(literals.exact, literals.folded, accelerate=accelerate)
        # The accelerator's pass finds the runs too; without it they are found
        # first, and the literals looked for only around them (``_find_outside``).
        self._runs_first = self._scan(b"0\n", []) is None

    def __call__(self, body: bytes) -> list[tuple[int, int]]:
        size = len(body)
        whole = [(0, size)] if size else []
        # ANSI codes vanish before matching, so a literal may be split in the bytes;
        # and lower-casing finds case-insensitive literals in ASCII only
        if size == 0 or b"\x1b" in body or (self._folded and not body.isascii()):
            return whole
        starts = [body.rfind(b"\n", 0, size - 1) + 1]  # its successor is unknown
        if _HEADER_AT.match(body) is None:
            starts.append(0)  # it may continue a record begun in an earlier buffer
        if self._runs_first:
            found = [(run.start() + 1, run.end() + 1)
                     for run in _OTHER_RUN.finditer(body, 0, size - 1)]
            self._find_outside(body, found, starts)
        else:
            found = self._scan(body, starts) or []
        found.extend((start, body.find(b"\n", start) + 1 or size) for start in starts)
        if len(found) * self._dense_bytes > size:
            return whole  # nearly every line matters: framing them all is cheaper
        found.sort()
        context = self._context
        spans: list[tuple[int, int]] = []
        for start, end in found:
            floor = spans[-1][1] if spans else 0
            if start > floor and (start := _record_start(body, start, floor)) < 0:
                return whole
            if context and start > floor:
                # An event's context is the lines right before it, which a record
                # passed over would take from it: they and their record are kept.
                # (The buffer's last lines are, as the last line's record is: the
                # next buffer's first event may need them.)
                start = lines_back(body, start, context, floor)
                if start > floor and (start := _record_start(body, start, floor)) < 0:
                    return whole
            if spans and start <= floor:
                if end <= floor:
                    continue
                start = spans.pop()[0]
            if (end := _record_end(body, end)) < 0:
                return whole
            spans.append((start, end))
        return spans


    def _find_outside(self, body: bytes, runs: list[tuple[int, int]], starts: list[int]) -> None:
        """The literals' lines, as ``_scan`` finds them, but not within ``runs``.

        A line in a run is kept with it whatever it holds, so where runs are
        much of the buffer (a storm's tracebacks) the literals are looked for
        only in the lines between, copied together: a pass over the buffer for
        each literal cost more than all else the filter does.
        """
        size = len(body)
        if sum(end - start for start, end in runs) * 4 < size:
            self._scan(body, starts)
            return
        gaps: list[tuple[int, int]] = []
        done = 0
        for start, end in runs:
            if start > done:
                gaps.append((done, start))
            done = end
        if done < size:
            gaps.append((done, size))
        # each gap is whole lines: a line start between them is one in the buffer
        hits: list[int] = []
        self._scan(b"".join([body[start:end] for start, end in gaps]), hits)
        if hits:
            at = list(accumulate((end - start for start, end in gaps), initial=0))
            for hit in hits:
                gap = bisect_right(at, hit) - 1
                starts.append(gaps[gap][0] + hit - at[gap])


def _record_start(body: bytes, start: int, floor: int) -> int:
    """Where the record holding the line at ``start`` begins (not before ``floor``); -1: too far."""
    for _ in range(_MAX_WALK):
        if start <= floor or _HEADER_AT.match(body, start) is not None:
            return start
        start = body.rfind(b"\n", 0, start - 1) + 1
    return -1


def lines_back(body: bytes, start: int, count: int, floor: int) -> int:
    """The start of the line ``count`` lines before the one at ``start``; once at or
    before ``floor``, where it got to (the caller joins such a span to the one before)."""
    for _ in range(count):
        if start <= floor:
            break
        start = body.rfind(b"\n", 0, start - 1) + 1
    return start


def _record_end(body: bytes, end: int) -> int:
    """Where the next record begins, for a record seen up to ``end``; -1: too far."""
    size = len(body)
    for _ in range(_MAX_WALK):
        if end >= size or _HEADER_AT.match(body, end) is not None:
            return end
        run = _OTHER_LINES.match(body, end)  # a traceback at once, not line by line
        end = run.end() if run and run.end() > end else body.find(b"\n", end) + 1 or size
    return -1


@dataclass(frozen=True, slots=True)
class ColdPlan:
    """What a source's filter looks for: equal plans build filters with equal answers."""

    literals: Literals
    json: bool  # line by line (``coldjson``), not record by record
    context: int  # lines kept before each kept record
    header: re.Pattern[str] | None = None  # the source's own (``coldheaders``)
    json_records: bool = True  # with ``header``: a line that is a JSON object is a record
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # with ``header``: the framer's cap
    encoding: str = "utf-8"  # with ``header``: the framer's (the literals are in it already)

    def build(self) -> KeepSpans:
        if self.json:
            from logwatch.sources.coldjson import ColdJsonLines  # here: it imports this module

            return ColdJsonLines(self.literals, context=self.context)
        if self.header is not None:
            from logwatch.sources.coldheaders import ColdHeaderLines

            return ColdHeaderLines(
                self.literals,
                self.header,
                json_records=self.json_records,
                max_line_bytes=self.max_line_bytes,
                context=self.context,
                encoding=self.encoding,
            )
        return ColdLines(self.literals, context=self.context)


def cold_plan_for(
    rules: Sequence[RuleLike],
    *,
    format: str,
    header: re.Pattern[str] | None,
    context_lines: int,
    source: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    encoding: str = "utf-8",
) -> ColdPlan | None:
    """The plan of one source's filter, or None where every line must be framed.

    ``header``: the source's own header pattern, if it has one. (JSON sources
    have a filter of their own, ``coldjson``, where each line is a record
    whatever reads its header.) ``context_lines``: how many lines before each
    event it carries. ``source``: its name, which rules for other sources
    never take. ``max_line_bytes``, ``encoding``: its framer's cap and encoding.
    """
    json = format == "json"
    literals = rule_literals(rules, json=json, source=source).literals
    if literals is None:
        return None
    literals = _written_in(literals, encoding)
    if header is None or json:
        return ColdPlan(literals, json, context_lines)
    return ColdPlan(
        literals,
        json,
        context_lines,
        header=header,
        json_records=format != "text",
        max_line_bytes=max_line_bytes,
        encoding=encoding,
    )


def _written_in(literals: Literals, encoding: str) -> Literals:
    """``literals`` (UTF-8) as a file in ``encoding`` holds them.

    One that ``encoding`` cannot write is in no line of such a file, so no rule
    finds it there. (Folded literals are ASCII, the same in every encoding a
    source may have: ``framing.reads_ascii_as_ascii``.)
    """
    if codecs.lookup(encoding).name in _UTF8:
        return literals
    exact = set()
    for literal in literals.exact:
        try:
            exact.add(literal.decode("utf-8").encode(encoding))
        except UnicodeEncodeError:
            continue
    return Literals(frozenset(exact), literals.folded)


def cold_lines_for(
    rules: Sequence[RuleLike],
    *,
    format: str,
    header: re.Pattern[str] | None,
    context_lines: int,
    source: str | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    encoding: str = "utf-8",
) -> KeepSpans | None:
    """The filter of ``cold_plan_for``'s plan, or None where every line must be framed."""
    plan = cold_plan_for(
        rules,
        format=format,
        header=header,
        context_lines=context_lines,
        source=source,
        max_line_bytes=max_line_bytes,
        encoding=encoding,
    )
    return plan.build() if plan is not None else None
