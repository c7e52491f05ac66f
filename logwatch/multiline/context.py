"""Lines -> the few lines before each event (``context_lines``), kept per stream by the reader.

The assembler emits an event only once a later line proves it complete, so
by then the lines before it may be far back in the chunk. ``RecentLines``
keeps what could still be needed: ``keep`` lines before the oldest event not
yet emitted, and nothing at all when ``keep`` is 0.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from logwatch.model import Event, Line, Lines

if TYPE_CHECKING:
    from logwatch.config import Config, SourceConfig


def context_lines(config: Config, source: SourceConfig | None) -> int:
    """How many lines before each event a stream must keep: the most any rule or source asks."""
    own = source.context_lines if source is not None else 0
    return max([own, *(rule.context_lines or 0 for rule in config.rules)])


class RecentLines:
    """The tail of one stream, for the context of the events it gives."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._offsets: list[int] = []
        self._texts: list[str] = []

    def add(self, lines: Sequence[Line]) -> None:
        if not self.keep:
            return
        if isinstance(lines, Lines):  # replay's columns: no ``Line`` made for them
            self._texts += lines.texts
            self._offsets += lines.offsets
        else:
            self._texts.extend(line.text for line in lines)
            self._offsets.extend(line.offset for line in lines)

    def attach(self, event: Event) -> Event:
        """``event`` with up to ``keep`` lines that came right before it."""
        if not self.keep:
            return event
        start = bisect.bisect_left(self._offsets, event.start_offset)
        return dataclasses.replace(
            event, context=tuple(self._texts[max(0, start - self.keep) : start])
        )

    def trim(self, pending_offset: int | None) -> None:
        """Forget what no event to come can need; ``pending_offset`` starts the oldest one."""
        if not self.keep:
            return
        if pending_offset is None:
            cut = len(self._texts) - self.keep
        else:
            cut = bisect.bisect_left(self._offsets, pending_offset) - self.keep
        if cut > 0:
            del self._texts[:cut]
            del self._offsets[:cut]
