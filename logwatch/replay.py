"""`logwatch replay`: read files from their beginning as the daemon would, print decisions.

No state, no network, nothing written. Rules run on the records' own
timestamps, so replaying yesterday's log shows what would have been sent.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from logwatch.config import Config, SourceConfig
from logwatch.model import Event, Origin
from logwatch.multiline import Assembler
from logwatch.rules import Decision, RuleEngine
from logwatch.sources.framing import LineFramer

READ_SIZE = 1 << 16


def replay_files(
    config: Config,
    files: Sequence[str],
    *,
    all_events: bool,
    on_error: Callable[[str, OSError], None] = lambda name, exc: None,
) -> Iterator[dict[str, Any]]:
    """Yield SPEC's replay records; a file that cannot be read goes to ``on_error``."""
    engine = RuleEngine(config.rules, host=config.host, labels=config.labels)
    clock = _RecordClock()
    for name in files:
        if name != "-" and not _readable(name, on_error):
            continue
        source = _source_for(config, name)
        origin = Origin(
            source=source.name if source else "replay",
            path=name,
            file_uid=f"replay:{name}",
        )
        for event in _events(origin, source, name):
            now = clock.advance(event)
            for decision in engine.tick(now):
                if decision.alert is not None:
                    yield _tick_record(decision)
            decisions = engine.evaluate(event, now)
            if not decisions:
                if all_events:
                    yield event_record(event, None)
                continue
            for decision in decisions:
                yield event_record(event, decision)
    # what the log's own end leaves due (cooldown summaries) is still shown
    if clock.now is not None:
        for decision in engine.tick(clock.now):
            if decision.alert is not None:
                yield _tick_record(decision)


def event_record(event: Event, decision: Decision | None) -> dict[str, Any]:
    """SPEC's `replay --json` object for one event and what a rule decided."""
    alert = decision.alert if decision else None
    return {
        "file": event.origin.path,
        "first_line": event.first_line,
        "last_line": event.last_line,
        "level": event.level,
        "logger": event.logger,
        "message": event.message,
        "exc_type": event.exc_type,
        "exc_message": event.exc_message,
        "chain": list(event.exc_types),
        "fingerprint": event.fingerprint,
        "rule": decision.rule if decision else None,
        "severity": str(alert.severity) if alert else None,
        "notifiers": list(decision.notifiers) if decision and alert else [],
        "suppressed": decision.suppressed if decision else "no-route",
        "flags": sorted(event.flags),
    }


def _tick_record(decision: Decision) -> dict[str, Any]:
    alert = decision.alert
    assert alert is not None
    return {
        "file": alert.file,
        "first_line": alert.first_line,
        "last_line": alert.last_line,
        "level": alert.level,
        "logger": alert.logger,
        "message": alert.message,
        "exc_type": alert.exc_type,
        "exc_message": alert.exc_message,
        "chain": [],
        "fingerprint": alert.fingerprint,
        "rule": decision.rule,
        "severity": str(alert.severity),
        "notifiers": list(decision.notifiers),
        "suppressed": None,
        "status": str(alert.status),
        "count": alert.count,
        "flags": [],
    }


class _RecordClock:
    """Time as the log tells it: each record's own timestamp, never going back."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def advance(self, event: Event) -> datetime:
        stamp = event.timestamp
        if stamp is not None and (self.now is None or stamp > self.now):
            self.now = stamp
        if self.now is None:
            self.now = datetime.now(UTC)
        return self.now


def _readable(name: str, on_error: Callable[[str, OSError], None]) -> bool:
    try:
        with Path(name).open("rb"):
            return True
    except OSError as exc:
        on_error(name, exc)
        return False


def _source_for(config: Config, name: str) -> SourceConfig | None:
    if name == "-":
        return config.sources[0] if len(config.sources) == 1 else None
    resolved = str(Path(name).resolve())
    for source in config.sources:
        if any(fnmatch.fnmatch(resolved, pattern) for pattern in source.paths):
            return source
    return None


def _events(origin: Origin, source: SourceConfig | None, name: str) -> Iterator[Event]:
    if source is None:
        assembler = Assembler(origin)
        framer = LineFramer()
    else:
        assembler = Assembler(
            origin,
            format=source.format,
            max_lines=source.multiline.max_lines,
            max_bytes=source.multiline.max_bytes,
            header_pattern=source.header,
        )
        framer = LineFramer(max_line_bytes=source.max_line_bytes)
    for chunk in _chunks(name):
        yield from assembler.feed(framer.feed(chunk))
    tail = framer.feed(b"\n") if framer.has_partial else []
    yield from assembler.feed(tail)
    yield from assembler.flush()


def _chunks(name: str) -> Iterable[bytes]:
    if name == "-":
        yield from _read(sys.stdin.buffer)
        return
    with Path(name).open("rb") as stream:
        yield from _read(stream)


def _read(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(READ_SIZE):
        yield chunk
