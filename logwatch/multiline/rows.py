"""What the grammar works on and hands back: rows, drafts, and the bounded held buffer.

A row is one logical line (several physical ones when a runtime split it); a
draft is one event's rows before the assembler turns them into an ``Event``.
The held buffer keeps an event's head and tail and drops its middle past
``max_lines``/``max_bytes``, so memory stays bounded and the final exception
line, which Python prints last, is never lost.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from logwatch.multiline.headers import Header
from logwatch.multiline.kinds import Kind


# Row and Draft are never changed once built, but are not declared frozen: a
# frozen dataclass's __init__ sets each field through object.__setattr__, which
# costs microseconds for every line. Build a new one (dataclasses.replace) instead.
@dataclass(slots=True)
class Row:
    """One logical line: a physical line, or several a runtime split (CRI "P")."""

    text: str  # clean: envelope and ANSI codes stripped
    raw: str  # as in the file (joined by "\n" when several physical lines)
    first_lineno: int
    last_lineno: int
    offset: int
    end: int
    kind: Kind
    header: Header | None = None
    timestamp: datetime | None = None  # from the envelope
    truncated: bool = False
    doc: Mapping[str, Any] | None = None  # the parsed object of a JSON row

    @property
    def size(self) -> int:
        return self.end - self.offset


@dataclass(slots=True)
class Draft:
    """One event's rows and what the grammar learnt about them."""

    rows: tuple[Row, ...]  # first and last always present; middle elided past the limits
    record_rows: int  # leading rows that are the record (header + continuation), not traceback
    elided: int  # rows dropped from the middle
    elided_at: int  # index in ``rows`` where they were
    header: Header | None
    partial: bool = False  # closed before the grammar said it was complete
    fault: bool = False  # a faulthandler dump
    json: bool = False
    # Every row's text (raw and clean alike), when ``rows`` holds only the
    # first and last: a block replayed from memory builds no rows in between.
    texts: tuple[str, ...] | None = None


class Held:
    """The rows of the event being built: head and tail kept, middle dropped past limits."""

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self._head_lines, self._tail_lines, self._head_bytes, self._tail_bytes = limits(
            max_lines, max_bytes
        )
        self.head: list[Row] = []
        self.tail: deque[Row] = deque()
        self.head_size = 0
        self.tail_size = 0
        self.count = 0
        self.elided = 0
        self.elided_record = 0  # elided rows that belonged to the record part

    def append(self, row: Row, *, record: bool) -> None:
        self.count += 1
        size = row.size
        if not self.tail and (
            not self.head
            or (len(self.head) < self._head_lines and self.head_size + size <= self._head_bytes)
        ):
            self.head.append(row)
            self.head_size += size
            return
        self.tail.append(row)
        self.tail_size += size
        while len(self.tail) > 1 and (
            len(self.tail) > self._tail_lines or self.tail_size > self._tail_bytes
        ):
            dropped = self.tail.popleft()
            self.tail_size -= dropped.size
            self.elided += 1
            if record:
                self.elided_record += 1

    def rows(self) -> tuple[Row, ...]:
        return (*self.head, *self.tail)


@functools.lru_cache(maxsize=64)  # one Held per event: work the split out once per setting
def limits(max_lines: int, max_bytes: int) -> tuple[int, int, int, int]:
    """Head and tail shares of the line and byte limits."""
    head_lines = max(max_lines // 4, 1)
    head_bytes = max(max_bytes // 4, 1)
    return (
        head_lines,
        max(max_lines - head_lines, 1),
        head_bytes,
        max(max_bytes - head_bytes, 1),
    )
