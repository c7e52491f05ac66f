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
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from logwatch.model import Line
from logwatch.multiline.headers import Header
from logwatch.multiline.kinds import Kind
from logwatch.multiline.machine import Machine
from logwatch.multiline.rows import Draft, Row, limits

# logging's usual record header: what a block starts and ends with.
RECORD_HEADER_BYTES = (
    rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d{1,9})? (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)
RECORD_HEADER = re.compile(RECORD_HEADER_BYTES.decode())

_MAX_LINES = 400  # a longer block is rare and costs its own stepping anyway
# What the recorded blocks may hold (all files), roughly in bytes: each line's
# characters plus what a str and a tuple slot cost, and each template's own
# objects; past it, start afresh.
_MAX_TEXT = 2 << 20
_LINE_COST = 64
_ENTRY_COST = 600

Key = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class _DraftShape:
    rows: tuple[int, ...]  # positions in the block: 0 is the header, 1.. the lines under it
    record_rows: int
    headed: bool  # the draft's header is the block's
    partial: bool
    fault: bool


@dataclass(frozen=True, slots=True)
class Template:
    """What the machine made of one block: the kind of each line and the drafts."""

    kinds: tuple[Kind, ...]  # of the lines under the header (the first and last of a draft)
    drafts: tuple[_DraftShape, ...]

    def replay(
        self, machine: Machine, lines: Sequence[Line], start: int, end: int, out: list[Draft]
    ) -> None:
        """The drafts of ``lines[start:end]``, under the header ``machine`` holds; closes it."""
        head = machine.opening_row()
        header = machine.record_header()
        texts = (head.text, *[line.text for line in lines[start:end]])
        kinds = self.kinds
        for shape in self.drafts:
            at = shape.rows
            first = head if at[0] == 0 else _row(lines[start + at[0] - 1], kinds[at[0] - 1])
            if len(at) == 1:
                rows: tuple[Row, ...] = (first,)
            else:
                rows = (first, _row(lines[start + at[-1] - 1], kinds[at[-1] - 1]))
            out.append(
                Draft(
                    rows,
                    shape.record_rows,
                    0,
                    len(at),  # where an elision would be: there is none
                    header if shape.headed else None,
                    partial=shape.partial,
                    fault=shape.fault,
                    texts=tuple([texts[index] for index in at]),
                )
            )
        machine.restart()


def _row(line: Line, kind: Kind) -> Row:
    return Row(line.text, line.text, line.lineno, line.lineno, line.offset, line.end, kind)


class BlockMemo:
    """Templates of the blocks seen lately, by their text (one memo for all files)."""

    def __init__(self) -> None:
        self._templates: dict[Key, Template] = {}
        self._text = 0

    @staticmethod
    def starts(line: Line) -> bool:
        return not line.truncated and RECORD_HEADER.match(line.text) is not None

    @staticmethod
    def end(lines: Sequence[Line], start: int) -> int | None:
        """Index of the header that closes the block from ``start``, if it is in ``lines``."""
        limit = min(len(lines), start + _MAX_LINES + 1)
        match = RECORD_HEADER.match
        for at in range(start, limit):
            line = lines[at]
            if line.truncated:
                return None
            if match(line.text) is not None:
                return at if at > start else None
        return None

    @staticmethod
    def fits(machine: Machine, head: Row, lines: Sequence[Line], start: int, end: int) -> bool:
        """Whether the block stays within the head of the held buffer, cut nowhere.

        Where a long event is cut depends on the sizes of all its rows, the
        header's too, which the key leaves out: a block is replayed (or
        learnt) only when nothing of it can be cut.
        """
        head_lines, _, head_bytes, _ = limits(*machine.limits)
        size = head.end - head.offset + lines[end - 1].end - lines[start].offset
        return end - start + 1 <= head_lines and size <= head_bytes

    @staticmethod
    def key(
        machine: Machine, json_records: bool, header: Line, lines: Sequence[Line], start: int,
        end: int,
    ) -> Key:
        record = machine.record_header()
        level = record.level if record is not None else None
        return (
            machine.limits,
            json_records,
            level,
            header.text.rstrip().endswith(":"),
            *[line.text for line in lines[start:end]],
        )

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
                    draft.partial, draft.fault,
                )
            )
        placed = {at for shape in shapes for at in shape.rows}
        if placed != set(range(end - header_at)):
            return  # a line went to no draft (a blank between records): keep it simple
        self._text += _ENTRY_COST + sum(
            len(text) + _LINE_COST for text in key if isinstance(text, str)
        )
        if self._text > _MAX_TEXT:
            self._templates.clear()
            self._text = 0
        self._templates[key] = Template(tuple(kinds), tuple(shapes))


SHARED = BlockMemo()
