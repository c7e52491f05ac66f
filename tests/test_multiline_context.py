"""The lines before each event, kept per stream: the same from columns as from Line objects."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from logwatch.model import Event, Line, Origin
from logwatch.multiline import Assembler
from logwatch.multiline.context import RecentLines
from logwatch.sources.framing import LineFramer

_LOG = (
    b"2026-03-01 10:00:00,000 INFO app boot\n"
    b"2026-03-01 10:00:01,000 INFO app cache warm\r\n"
    b"2026-03-01 10:00:02,000 INFO app caf\xc3\xa9 open\n"
    b"2026-03-01 10:00:03,000 ERROR app payment failed\n"
    b"Traceback (most recent call last):\n"
    b'  File "pay.py", line 3, in charge\n'
    b"ValueError: card declined\n"
    b"2026-03-01 10:00:04,000 INFO app next\n"
    b"2026-03-01 10:00:05,000 ERROR app again\n"
)


def _with_context(*, columns: bool, chunk: int, keep: int) -> list[Event]:
    framer = LineFramer()
    assembler = Assembler(Origin("app", "app.log"))
    recent = RecentLines(keep)
    found: list[Event] = []
    for at in range(0, len(_LOG), chunk):
        batch = framer.feed_lines(_LOG[at : at + chunk])
        lines: Sequence[Line] = batch if columns else list(batch)
        recent.add(lines)
        found += [recent.attach(event) for event in assembler.feed(lines)]
        recent.trim(assembler.pending_offset())
    found += [recent.attach(event) for event in assembler.flush()]
    return found


@pytest.mark.parametrize("chunk", [7, 40, 1 << 16])
def test_context_from_columns_is_the_context_from_lines(chunk: int) -> None:
    events = _with_context(columns=True, chunk=chunk, keep=2)
    assert events == _with_context(columns=False, chunk=chunk, keep=2)
    failed = next(event for event in events if event.chain)
    assert failed.context == (
        "2026-03-01 10:00:01,000 INFO app cache warm",
        "2026-03-01 10:00:02,000 INFO app caf\u00e9 open",
    )
    assert failed.message == "payment failed"
    assert events[0].context == ()
