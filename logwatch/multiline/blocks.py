"""Lines -> drafts, for a record seen before: replay what the grammar made of it.

A storm is one bug logged again and again: the same header shape, the same
traceback under it, only the time differs. Stepping the state machine through
every line of every copy is most of what assembling costs, and it always
comes out the same way, because the machine's path through a block depends
on nothing but the block:

- the record header that opens it closes whatever was held (a header starts
  something new in every phase), so the machine starts from a known state,
  set only by the header's level and whether its text ends with a colon;
- the next header closes the block, so the block's drafts are complete;
- the lines in between are taken by their text alone.

So the first copy is stepped through as usual and its drafts are recorded as
row positions (``learn``); later copies with the same text get rows and
drafts built from that record, without classifying a line or stepping the
machine (``Template.replay``). Anything unusual (a cut-off line, an envelope,
ANSI codes, an elided middle, JSON) is never recorded and goes the long way.
Where the blocks of a batch start and end is found for all of them at once
(``Boundaries``), not by looking at each line in Python.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress, count
from typing import NamedTuple

from logwatch.model import Line, Lines
from logwatch.multiline.headerlines import header_flags, reads_as_header
from logwatch.multiline.headers import Header, HeaderParser
from logwatch.multiline.kinds import Kind
from logwatch.multiline.machine import Machine
from logwatch.multiline.rows import Draft, Row, limits

# logging's usual record header: what a block starts and ends with.
RECORD_HEADER_BYTES = (
    rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d{1,9})? (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)
RECORD_HEADER = re.compile(RECORD_HEADER_BYTES.decode())
_HEADER_AFTER_NEWLINE = re.compile("\n" + RECORD_HEADER.pattern)

_MAX_LINES = 400  # a longer block is rare and costs its own stepping anyway
# What the recorded blocks may hold (all files), roughly in bytes: each line's
# characters plus what a str and a tuple slot cost, and each template's own
# objects (its shapes, kinds and key tuples); past it, start afresh.
_MAX_TEXT = 2 << 20
_LINE_COST = 64
_ENTRY_COST = 660

Key = tuple[tuple[int, int], bool, str | None, bool, re.Pattern[str] | None, tuple[str, ...]]


# A NamedTuple, not a frozen dataclass: ~0.4 ms less to make at import.
class _DraftShape(NamedTuple):
    rows: tuple[int, ...]  # positions in the block: 0 is the header, 1.. the lines under it
    record_rows: int
    headed: bool  # the draft's header is the block's
    partial: bool
    fault: bool
    whole: bool  # the draft is every line of the block, in order


@dataclass(frozen=True, slots=True)
class Template:
    """What the machine made of one block: the kind of each line and the drafts."""

    kinds: tuple[Kind, ...]  # of the lines under the header (the first and last of a draft)
    drafts: tuple[_DraftShape, ...]

    def whole_record_rows(self) -> int | None:
        """The record's rows of the one event the block makes of all its lines, the
        header's record (not cut short); None: it makes another shape of drafts."""
        if len(self.drafts) != 1:
            return None
        shape = self.drafts[0]
        if not shape.whole or not shape.headed or shape.partial or shape.fault:
            return None
        return shape.record_rows

    def replay(
        self, head: Row, texts: tuple[str, ...], row: Callable[[int, Kind], Row],
        out: list[Draft],
    ) -> None:
        """The drafts of the block ``texts`` under ``head``.

        ``row(at, kind)``: the block's line ``at`` (1: the first under the header).
        """
        header = head.header
        every = (head.text, *texts)
        kinds = self.kinds
        for shape in self.drafts:
            at = shape.rows
            first = head if at[0] == 0 else row(at[0], kinds[at[0] - 1])
            if len(at) == 1:
                rows: tuple[Row, ...] = (first,)
            else:
                rows = (first, row(at[-1], kinds[at[-1] - 1]))
            out.append(
                Draft(
                    rows,
                    shape.record_rows,
                    0,
                    len(at),  # where an elision would be: there is none
                    header if shape.headed else None,
                    partial=shape.partial,
                    fault=shape.fault,
                    texts=every if shape.whole else tuple([every[index] for index in at]),
                )
            )


class Boundaries:
    """Where the blocks of one batch of lines may start and must end, found at once.

    One regex search over the batch's texts joined by newlines finds every
    record header at C speed; matching each line on its own costs a Python
    step per traceback line. The header pattern cannot match a newline, so a
    match after one lies within a single line. A source's own ``header``
    pattern is asked of each line in C instead (``headerlines``): a block
    starts and ends at a line the assembler reads as a header.
    """

    def __init__(
        self,
        lines: Sequence[Line],
        header: re.Pattern[str] | None = None,
        *,
        json_records: bool = True,
    ) -> None:
        """``json_records``: a line that is a JSON object is a record (format ``auto``)."""
        # Lines keep their columns: a replayed block's rows are made from them,
        # with no ``Line`` made in between
        self._lines = lines
        self._columns = lines if isinstance(lines, Lines) else None
        texts: list[str]
        if isinstance(lines, Lines):
            texts, cut = lines.texts, lines.cut
        else:
            texts = [line.text for line in lines]
            cut = {at for at, line in enumerate(lines) if line.truncated}
        self.texts = texts
        if header is not None:
            flags = header_flags(texts, header, json_records=json_records)
            heads = list(compress(count(), flags))
        else:
            heads = _record_headers(texts)
        self.starts = set(heads)  # the lines a block may start at (``BlockMemo.starts``)
        self._stops = heads
        self._cut = cut
        if cut:
            # a cut-off line starts no block and ends any that reaches it
            self.starts -= cut
            self._stops = sorted(self.starts | cut)

    def end(self, start: int) -> int | None:
        """``BlockMemo.end(lines, start)``, by the headers found."""
        stops = self._stops
        at = bisect_left(stops, start)
        if at == len(stops):
            return None
        end = stops[at]
        if end == start or end > start + _MAX_LINES or end in self._cut:
            return None
        return end

    def size(self, start: int, end: int) -> int:
        """The bytes of lines ``start`` to ``end - 1``, newlines included."""
        if (columns := self._columns) is not None:
            return columns.ends[end - 1] - columns.offsets[start]
        return self._lines[end - 1].end - self._lines[start].offset

    def rows_from(self, start: int) -> Callable[[int, Kind], Row]:
        """``Template.replay``'s rows of the block whose first line under the header is
        line ``start``."""
        row = self.row
        return lambda at, kind: row(start + at - 1, kind)

    def row(self, at: int, kind: Kind, header: Header | None = None) -> Row:
        """Line ``at`` (not a cut one) as a row of ``kind``."""
        if (columns := self._columns) is not None:
            text, lineno = columns.texts[at], columns.linenos[at]
            return Row(
                text, text, lineno, lineno, columns.offsets[at], columns.ends[at], kind, header
            )
        line = self._lines[at]
        return Row(
            line.text, line.text, line.lineno, line.lineno, line.offset, line.end, kind, header
        )


def _record_headers(texts: list[str]) -> list[int]:
    """The lines that start with logging's usual record header, in order."""
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:  # a text holds a newline (not the framer's)
        return [at for at, text in enumerate(texts) if RECORD_HEADER.match(text) is not None]
    heads = [0] if texts and RECORD_HEADER.match(joined) is not None else []
    index = seen = 0
    newlines = joined.count
    for match in _HEADER_AFTER_NEWLINE.finditer(joined):
        at = match.start()
        index += newlines("\n", seen, at + 1)
        seen = at + 1
        heads.append(index)
    return heads


class BlockMemo:
    """Templates of the blocks seen lately, by their text (one memo for all files)."""

    def __init__(self) -> None:
        self._templates: dict[Key, Template] = {}
        self._text = 0

    @staticmethod
    def starts(
        line: Line, header: re.Pattern[str] | None = None, *, json_records: bool = True
    ) -> bool:
        """Whether a block may start at ``line``: the reference for ``Boundaries.starts``."""
        if line.truncated:
            return False
        if header is None:
            return RECORD_HEADER.match(line.text) is not None
        return reads_as_header(line.text, HeaderParser(header), json_records=json_records)

    @staticmethod
    def end(
        lines: Sequence[Line],
        start: int,
        header: re.Pattern[str] | None = None,
        *,
        json_records: bool = True,
    ) -> int | None:
        """Index of the header that closes the block from ``start``, if it is in ``lines``.

        The reference for ``Boundaries.end``, a line at a time.
        """
        limit = min(len(lines), start + _MAX_LINES + 1)
        for at in range(start, limit):
            line = lines[at]
            if line.truncated:
                return None
            if BlockMemo.starts(line, header, json_records=json_records):
                return at if at > start else None
        return None

    @staticmethod
    def fits(
        setting: tuple[int, int], head: Row, bounds: Boundaries, start: int, end: int
    ) -> bool:
        """Whether the block stays within the head of the held buffer, cut nowhere.

        Where a long event is cut depends on the sizes of all its rows, the
        header's too, which the key leaves out: a block is replayed (or
        learnt) only when nothing of it can be cut. ``setting``: the
        machine's ``limits``.
        """
        head_lines, _, head_bytes, _ = limits(*setting)
        size = head.end - head.offset + bounds.size(start, end)
        return end - start + 1 <= head_lines and size <= head_bytes

    @staticmethod
    def key(
        setting: tuple[int, int],
        json_records: bool,
        head: Row,
        texts: tuple[str, ...],
        header: re.Pattern[str] | None = None,
    ) -> Key:
        """What replaying the block ``texts`` under the record header ``head`` depends on.

        ``header``: the source's own pattern, which reads the lines under the
        head (none of them a header to it, a line may be one to another).
        """
        level = head.header.level if head.header is not None else None
        return (setting, json_records, level, head.text.rstrip().endswith(":"), header, texts)

    def get(self, key: Key) -> Template | None:
        return self._templates.get(key)

    def learn(
        self,
        key: Key,
        machine: Machine,
        lines: Sequence[Line],
        header_at: int,
        end: int,
        drafts: Sequence[Draft],
        first: int,
        header: Header | None,
    ) -> None:
        """Record what stepping through ``lines[header_at:end]`` gave: ``drafts[first:]``."""
        if not machine.opened_by_header() or machine.opening_row().offset != lines[end].offset:
            return  # the line after did not close the block the usual way
        position = {lines[at].offset: at - header_at for at in range(header_at, end)}
        kinds: list[Kind] = [Kind.BLANK] * (end - header_at - 1)
        shapes: list[_DraftShape] = []
        for draft in drafts[first:]:
            if draft.elided or draft.json:
                return
            if draft.header is not None and draft.header is not header:
                return
            at_rows: list[int] = []
            for row in draft.rows:
                at = position.get(row.offset)
                if at is None or row.doc is not None or row.text != row.raw:
                    return  # not a line of this block, or not one replay can rebuild
                if at > 0 and (row.header is not None or row.first_lineno != row.last_lineno):
                    return
                if at > 0:
                    kinds[at - 1] = row.kind
                at_rows.append(at)
            shapes.append(
                _DraftShape(
                    tuple(at_rows), draft.record_rows, draft.header is not None,
                    draft.partial, draft.fault, at_rows == list(range(end - header_at)),
                )
            )
        placed = {at for shape in shapes for at in shape.rows}
        if placed != set(range(end - header_at)):
            return  # a line went to no draft (a blank between records): keep it simple
        self._text += _ENTRY_COST + sum(len(text) + _LINE_COST for text in key[-1])
        if self._text > _MAX_TEXT:
            self._templates.clear()
            self._text = 0
        self._templates[key] = Template(tuple(kinds), tuple(shapes))


SHARED = BlockMemo()
