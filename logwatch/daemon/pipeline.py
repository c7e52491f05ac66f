"""The reader side of the daemon: chunks -> events -> decisions -> one commit.

One thread runs this loop. It is the only place that connects the tailer, the
assemblers (one per file), the rule engine and the store, and it decides when
to commit: a file's committed offset is the start of its oldest event not yet
emitted, written in the same transaction as the outbox rows of the events
emitted before it, so a crash re-reads exactly what was not yet safe.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from logwatch.config import Config, SourceConfig
from logwatch.errors import StateError
from logwatch.model import Event, Line, Origin
from logwatch.multiline import Assembler
from logwatch.multiline.context import RecentLines, context_lines
from logwatch.multiline.headerlines import reads_as_header
from logwatch.multiline.headers import HeaderParser
from logwatch.rules import Decision, RuleEngine
from logwatch.sources import Chunk, Tailer
from logwatch.sources.coldlines import RECORD_HEADER, cold_lines_for
from logwatch.sources.framing import KeepSpans
from logwatch.store import Delivery, FileState, Store

logger = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 0.25  # offsets alone are committed at most this often
# Alerts wait at most this long for company: in a storm one fsync carries many
# (a commit per poll capped ingest at half the rate), when quiet none waits.
ALERT_COMMIT_GAP_S = 0.02
TICK_INTERVAL_S = 1.0  # how often time-driven rule work (resolve, cooldown ends) may run
# While the rules' state says nothing falls due, an idle loop ticks this seldom:
# a wake costs ~0.3 ms of CPU, a third of the idle budget at one a second.
IDLE_TICK_S = 5.0


@dataclass
class _Stream:
    """What the pipeline keeps per file uid."""

    origin: Origin
    source: SourceConfig
    assembler: Assembler
    seq: int = 0  # order of creation: streams due together are flushed in this order
    next_offset: int = 0  # just past the last line fed
    next_lineno: int = 1
    # the chunks fed since the oldest held event began: its line number is looked
    # up here at commit time, so nothing is done per line to know it
    held_chunks: list[list[Line]] = field(default_factory=list)
    last_data_at: float = 0.0
    held_offset: int | None = None  # start of the oldest event held back ...
    held_since: float = 0.0  # ... and since when it has been the oldest
    recent: RecentLines = field(default_factory=lambda: RecentLines(0))  # context_lines


@dataclass
class Counters:
    lines: int = 0
    events: int = 0
    alerts: int = 0
    suppressed: int = 0
    # Labelled tallies for the metrics endpoint. Plain dicts: the scraping
    # thread copies them with dict(), which the GIL makes atomic.
    lines_by_source: dict[str, int] = field(default_factory=dict)
    bytes_by_source: dict[str, int] = field(default_factory=dict)
    events_by_kind: dict[str, int] = field(default_factory=dict)  # traceback | plain
    alerts_by_rule: dict[str, int] = field(default_factory=dict)
    suppressed_by: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, reason)


def _cold_lines(config: Config) -> dict[str, KeepSpans | None]:
    """Per source, the filter that passes over lines no rule can alert on (or None)."""
    return {
        source.name: cold_lines_for(
            config.rules,
            format=source.format,
            header=source.header,
            context_lines=context_lines(config, source),
            source=source.name,
            max_line_bytes=source.max_line_bytes,
            encoding=source.encoding,
        )
        for source in config.sources
    }


def _reads_alike(old: SourceConfig, new: SourceConfig | None) -> bool:
    """Whether a file framed and assembled by ``old``'s settings suits ``new``'s filter."""
    return new is not None and (old.format, old.header, old.max_line_bytes, old.encoding) == (
        new.format, new.header, new.max_line_bytes, new.encoding
    )


def _assembler(origin: Origin, source: SourceConfig) -> Assembler:
    return Assembler(
        origin,
        format=source.format,
        max_lines=source.multiline.max_lines,
        max_bytes=source.multiline.max_bytes,
        header_pattern=source.header,
        timezone=source.timezone,
    )


def _whole_record_held(
    assembler: Assembler, held: Sequence[Sequence[Line]], source: SourceConfig
) -> bool:
    """Is what the assembler holds one `logging` record that the file ends with?

    ``logging`` writes a record, its traceback included, with one ``write()``:
    once the reader is at the end of the file, nothing more of it can come, so
    waiting ``flush_after`` for a note or a chained exception would only delay
    the alert. A bare traceback (printed line by line) still waits. The record's
    first line may have come in an earlier read (``held``: the chunks since it).
    It is a header of logging's usual shape, or one the source's own pattern reads.
    """
    if assembler.pending != "tail":
        return False
    start = assembler.pending_offset()
    line = None if start is None else _held_line(held, start)
    if line is None:
        return False
    if source.header is None:
        return RECORD_HEADER.match(line.text) is not None
    headers = HeaderParser(source.header)
    return reads_as_header(line.text, headers, json_records=source.format != "text")


def _bump(tally: dict[Any, int], key: object, amount: int = 1) -> None:
    tally[key] = tally.get(key, 0) + amount


class Pipeline:
    def __init__(
        self,
        config: Config,
        store: Store,
        tailer: Tailer,
        engine: RuleEngine,
        *,
        on_commit: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self._store = store
        self._tailer = tailer
        self._engine = engine
        self._on_commit = on_commit
        self._clock = clock
        self._wall_clock = wall_clock
        self._streams: dict[str, _Stream] = {}
        # Uids of the streams fed or flushed since the last commit, and of those whose
        # assembler holds lines back: each round looks at these, not at every stream
        # (ordered dicts as sets: commits and flushes go in a stable order).
        self._dirty: dict[str, None] = {}
        self._moved: dict[str, None] = {}  # renamed files no stream holds: their rows to commit
        self._holding: dict[str, None] = {}
        self._stream_seq = itertools.count()
        self._sources = {source.name: source for source in config.sources}
        self._pending: list[Delivery] = []
        self._last_commit = clock()
        self._last_alert_commit = float("-inf")
        self._last_tick = clock()
        self.counters = Counters()
        tailer.set_filters(_cold_lines(config))

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step(stop)
        self.close()

    def step(self, stop: threading.Event | None = None, *, max_wait_s: float = IDLE_TICK_S) -> None:
        """Wait for work (at most ``max_wait_s``), then do it."""
        self._tailer.wait(min(self._timeout_s(), max_wait_s))
        if stop is not None and stop.is_set():
            return
        self.process()

    def process(self) -> None:
        """One round without waiting: read what is there, emit, flush, commit."""
        for chunk in self._tailer.poll():
            self._feed(chunk)
        for uid in self._tailer.retired():
            self._retire(uid)
        for uid in self._tailer.moved():
            # its row still names the path it was rotated from, which `status` would
            # measure its lag against: commit it under its new name
            if uid in self._streams:
                self._dirty[uid] = None
            else:
                self._moved[uid] = None
        now = self._clock()
        self._flush_idle(now)
        if now - self._last_tick >= TICK_INTERVAL_S:
            self._last_tick = now
            self._decide(self._engine.tick(self._wall_clock()))
        if (self._pending and now - self._last_alert_commit >= ALERT_COMMIT_GAP_S) or (
            now - self._last_commit >= COMMIT_INTERVAL_S and (self._dirty or self._moved)
        ):
            self.commit()

    def set_on_commit(self, on_commit: Callable[[], None]) -> None:
        self._on_commit = on_commit

    def reconfigure(self, config: Config, engine: RuleEngine) -> None:
        """Swap in a new, already validated config; open streams keep their offsets."""
        self.commit()
        self.config = config
        self._engine = engine
        self._sources = {source.name: source for source in config.sources}
        self._tailer.reconfigure(config.sources)
        # A file read before keeps the framer and assembler its source's settings
        # made then: a filter made for other ones could pass over lines they need.
        unfiltered = [
            uid for uid, stream in self._streams.items()
            if not _reads_alike(stream.source, self._sources.get(stream.source.name))
        ]
        self._tailer.set_filters(_cold_lines(config), unfiltered=unfiltered)

    def close(self) -> None:
        """Commit where every file stands; unfinished events are read again next start."""
        self.commit()

    def commit(self) -> None:
        files = [
            self._checkpoint(uid, self._streams[uid]) for uid in self._dirty
        ]
        for uid in self._moved:
            state = None if uid in self._dirty else self._tailer.recommit(uid)
            if state is not None:
                files.append(state)
        deliveries = self._pending
        if files or deliveries:
            self._store.commit(files, deliveries, now=time.time())
        # dropped only once durable: after a failed commit, the next one (close() on
        # the way out) must not move offsets past events whose rows were never written
        self._pending = []
        self._dirty.clear()
        self._moved.clear()
        self._last_commit = self._clock()
        if deliveries:
            self._last_alert_commit = self._last_commit
            self._on_commit()

    # -- stages ---------------------------------------------------------------

    def _feed(self, chunk: Chunk) -> None:
        stream = self._stream(chunk.origin)
        if chunk.lines:
            # each line passed over counts as the one-line event no rule takes that it
            # mostly is (a record's digit-led extra lines are counted as events too)
            passed = chunk.passed_lines
            self.counters.lines += len(chunk.lines) + passed
            self.counters.events += passed
            _bump(self.counters.events_by_kind, "plain", passed)
            source = chunk.origin.source
            _bump(self.counters.lines_by_source, source, len(chunk.lines) + passed)
            _bump(self.counters.bytes_by_source, source,
                  sum(line.end - line.offset for line in chunk.lines) + chunk.passed_bytes)
            stream.held_chunks.append(chunk.lines)
            last: Line = chunk.lines[-1]
            stream.next_offset = last.end
            stream.next_lineno = last.lineno + 1
            stream.last_data_at = self._clock()
            self._dirty[chunk.origin.file_uid] = None
            stream.recent.add(chunk.lines)
            self._emit(stream, self._assemble(stream, chunk.lines))
            if chunk.at_eof and _whole_record_held(
                stream.assembler, stream.held_chunks, stream.source
            ):
                self._emit(stream, stream.assembler.flush())

    def _assemble(self, stream: _Stream, lines: Sequence[Line]) -> list[Event]:
        try:
            return stream.assembler.feed(lines)
        except Exception:
            # A bug a line triggers must not stop every file, and again after each
            # restart (the offset is before it): drop what the assembler held, then
            # feed the lines one by one to a new one, skipping any that still fail.
            logger.exception("cannot assemble lines %d-%d of %s; retrying them one by one",
                             lines[0].lineno, lines[-1].lineno, stream.origin.path)
        events: list[Event] = []
        stream.assembler = _assembler(stream.origin, stream.source)
        for line in lines:
            try:
                events.extend(stream.assembler.feed([line]))
            except Exception:
                logger.exception("skipped line %d of %s", line.lineno, stream.origin.path)
                stream.assembler = _assembler(stream.origin, stream.source)
        return events

    def _stream(self, origin: Origin) -> _Stream:
        stream = self._streams.get(origin.file_uid)
        if stream is None:
            source = self._sources[origin.source]
            stream = _Stream(
                origin=origin,
                source=source,
                assembler=_assembler(origin, source),
                recent=RecentLines(context_lines(self.config, source)),
                seq=next(self._stream_seq),
            )
            self._streams[origin.file_uid] = stream
        return stream

    def _flush_idle(self, now: float) -> None:
        holding = list(self._holding)
        if len(holding) > 1:
            holding.sort(key=lambda uid: self._streams[uid].seq)
        for uid in holding:
            stream = self._streams[uid]
            state = stream.assembler.pending
            if state == "none":
                continue
            multiline = stream.source.multiline
            wait_s = multiline.flush_after if state == "tail" else multiline.max_wait
            # held for max_wait, even while lines come: a quiet stream of the file
            # (stderr beside a busy stdout) would otherwise hold its event for ever
            if (
                now - stream.last_data_at >= wait_s
                or now - stream.held_since >= multiline.max_wait
            ):
                self._emit(stream, stream.assembler.flush())
                self._dirty[uid] = None

    def _retire(self, uid: str) -> None:
        """A file was drained and closed (rotated away, deleted): finish it for good."""
        stream = self._streams.pop(uid, None)
        if stream is not None:
            # nothing more will follow its last event: emit it now, complete or partial
            self._emit(stream, stream.assembler.flush())
        self._holding.pop(uid, None)
        self._dirty.pop(uid, None)
        self._moved.pop(uid, None)
        final = self._tailer.final(uid)
        deliveries = self._pending
        if final is not None or deliveries:
            self._store.commit([final] if final else [], deliveries, now=time.time())
            self._pending = []
            if deliveries:
                self._on_commit()

    def _emit(self, stream: _Stream, events: Sequence[Event]) -> None:
        for event in events:
            self.counters.events += 1
            _bump(self.counters.events_by_kind, "traceback" if event.has_traceback else "plain")
            event = stream.recent.attach(event)
            try:
                decisions = self._engine.evaluate(event, self._wall_clock())
            except (sqlite3.Error, StateError):
                raise  # the state store failed, not the event: a restart reads it again
            except Exception:
                # a bug one event triggers must not stop the loop, now and after each restart
                logger.exception("rules failed on lines %d-%d of %s; event skipped",
                                 event.first_line, event.last_line, event.origin.path)
                continue
            self._decide(decisions)
        if stream.assembler.pending == "none":
            self._holding.pop(stream.origin.file_uid, None)
        else:
            self._holding[stream.origin.file_uid] = None
        pending = stream.assembler.pending_offset()
        if pending != stream.held_offset:
            stream.held_offset, stream.held_since = pending, self._clock()
        stream.recent.trim(pending)
        if pending is None:
            stream.held_chunks.clear()
        elif events:
            while len(stream.held_chunks) > 1 and stream.held_chunks[1][0].offset <= pending:
                del stream.held_chunks[0]

    def _decide(self, decisions: Sequence[Decision]) -> None:
        for decision in decisions:
            if decision.alert is None:
                self.counters.suppressed += 1
                _bump(self.counters.suppressed_by,
                      (decision.rule or "", decision.suppressed or ""))
                continue
            self.counters.alerts += 1
            _bump(self.counters.alerts_by_rule, decision.rule or "")
            self._pending.extend(
                Delivery(decision.alert_for(name), name) for name in decision.notifiers
            )

    def _checkpoint(self, uid: str, stream: _Stream) -> FileState:
        pending = stream.assembler.pending_offset()
        if pending is None:
            return self._tailer.checkpoint(uid, stream.next_offset, stream.next_lineno)
        return self._tailer.checkpoint(uid, pending, _lineno_at(stream.held_chunks, pending))

    def _timeout_s(self) -> float:
        now = self._clock()
        timeout = self._tick_in_s(now)
        for uid in self._holding:
            stream = self._streams[uid]
            state = stream.assembler.pending
            if state == "none":
                continue
            multiline = stream.source.multiline
            wait_s = multiline.flush_after if state == "tail" else multiline.max_wait
            timeout = min(
                timeout,
                stream.last_data_at + wait_s - now,
                stream.held_since + multiline.max_wait - now,
            )
        if self._pending:
            timeout = min(timeout, self._last_alert_commit + ALERT_COMMIT_GAP_S - now)
        if self._dirty or self._moved:
            timeout = min(timeout, self._last_commit + COMMIT_INTERVAL_S - now)
        return max(timeout, 0.0)

    def _tick_in_s(self, now: float) -> float:
        """Until the next tick that may have work: a second after the last one, or up
        to ``IDLE_TICK_S`` after it while the rules' state says nothing falls due."""
        since = now - self._last_tick
        quiet_until = self._engine.quiet_until()
        if quiet_until is None:
            return TICK_INTERVAL_S - since
        quiet_s = quiet_until - self._wall_clock().timestamp()
        return min(max(since + quiet_s, TICK_INTERVAL_S), IDLE_TICK_S) - since


def _lineno_at(chunks: Sequence[Sequence[Line]], offset: int) -> int:
    """The number of the held line that starts at ``offset``."""
    line = _held_line(chunks, offset)
    if line is None:
        raise KeyError(offset)
    return line.lineno


def _held_line(chunks: Sequence[Sequence[Line]], offset: int) -> Line | None:
    """The held line that starts at ``offset``, if there is one."""
    for lines in reversed(chunks):
        if lines[0].offset <= offset:
            index = bisect.bisect_left(lines, offset, key=lambda line: line.offset)
            found = lines[index] if index < len(lines) else None
            return found if found is not None and found.offset == offset else None
    return None
