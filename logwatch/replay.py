"""`logwatch replay`: read files from their beginning as the daemon would, print decisions.

No state, no network, nothing written. Rules run on the records' own
timestamps, so replaying yesterday's log shows what would have been sent.
What is still held back when the input ends (cooldown summaries, batches
waiting for ``group_wait``) is shown too: the quiet after the last record is
replayed as long as the longest cooldown or batch timer. `resolved` notices
that quiet would bring are not: the log ending is not the problem ending.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from logwatch.model import AlertStatus, Event, Origin
from logwatch.multiline import Assembler
from logwatch.multiline.assembler import DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES, Format
from logwatch.multiline.context import RecentLines, context_lines
from logwatch.multiline.knownbodies import KnownBodies
from logwatch.sources.coldlines import ColdPlan, cold_plan_for
from logwatch.sources.forkscan import ForkScan
from logwatch.sources.framing import DEFAULT_MAX_LINE_BYTES, KeepSpans, LineFramer
from logwatch.sources.paths import names_file

if TYPE_CHECKING:
    # types only: `replay` starts scanning before the config is loaded (``headstart``)
    from logwatch.config import Config, RouteConfig, RuleConfig, SourceConfig
    from logwatch.headstart import HeadStart
    from logwatch.rules import Decision, Redactor
    from logwatch.rules.literals import RuleLike

READ_SIZE = 1 << 20
REPLAY_SOURCE = "replay"  # the events' source, for a file no source's paths name


def replay_files(
    config: Config,
    files: Sequence[str],
    *,
    all_events: bool,
    on_error: Callable[[str, OSError], None] = lambda name, exc: None,
) -> Iterator[dict[str, Any]]:
    """Yield SPEC's replay records; a file that cannot be read goes to ``on_error``."""
    events = file_events(config, files, all_events=all_events, on_error=on_error)
    return replay_records(config, events, all_events=all_events)


def file_events(
    config: Config,
    files: Sequence[str],
    *,
    all_events: bool,
    on_error: Callable[[str, OSError], None] = lambda name, exc: None,
    head_start: HeadStart | None = None,
) -> Iterator[Event]:
    """The events of ``files`` (``-``: stdin), file after file, for ``replay_records``.

    Each file is read in ``READ_SIZE`` reads from its start, so a helper may
    scan it ahead (``forkscan``): the first, one begun before the config was
    loaded, if its plan is the config's (``head_start``).
    """
    inputs = (
        (name, _chunks(name)) for name in files if name == "-" or _readable(name, on_error)
    )
    return _input_events(config, inputs, all_events=all_events, files=True, head=head_start)


def replay_inputs(
    config: Config,
    inputs: Iterable[tuple[str, Iterable[bytes]]],
    *,
    all_events: bool,
) -> Iterator[dict[str, Any]]:
    """Yield the replay records of named byte streams (``logwatch test`` feeds text)."""
    events = _input_events(config, inputs, all_events=all_events, files=False)
    return replay_records(config, events, all_events=all_events)


def _input_events(
    config: Config,
    inputs: Iterable[tuple[str, Iterable[bytes]]],
    *,
    all_events: bool,
    files: bool,
    head: HeadStart | None = None,
) -> Iterator[Event]:
    """``files``: each name is the path its bytes are read from (``file_events``)."""
    for name, chunks in inputs:
        settings = read_settings(config, name, all_events=all_events)
        origin = Origin(source=settings.source, path=name, file_uid=f"replay:{name}")
        path = name if files and name != "-" else None
        begun = None
        if head is not None and path is not None:
            begun = head.take(path, settings.plan)
        head = None  # it scans the first file, or none
        keep: KeepSpans | None
        ahead: ForkScan | None
        if begun is not None:
            keep, ahead = begun
        else:
            keep = _filter(settings)
            ahead = ForkScan.start(path, keep, READ_SIZE) if path and keep is not None else None
        yield from _events(settings, origin, chunks, keep, ahead)


@dataclass(frozen=True, slots=True)
class ReadSettings:
    """All that reading a file takes from the config: equal settings, equal events."""

    source: str  # the events' source: the first whose paths name the file
    format: Format = "auto"
    header: re.Pattern[str] | None = None
    max_lines: int = DEFAULT_MAX_LINES
    max_bytes: int = DEFAULT_MAX_BYTES
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    encoding: str = "utf-8"
    timezone: str = "UTC"  # of the times written without one
    context_lines: int = 0  # lines kept before each event
    plan: ColdPlan | None = None  # the filter's; None: every line is framed


def _filter(settings: ReadSettings) -> KeepSpans | None:
    """Lines no rule can take need no event unless every event is printed."""
    return settings.plan.build() if settings.plan is not None else None


def read_settings(config: Config, name: str, *, all_events: bool) -> ReadSettings:
    """How replay reads the file ``name`` (``-``: stdin); ``all_events``: every line framed."""
    source = _source_for(config, name)
    plan = None if all_events else cold_plan(config, source)
    if source is None:
        return ReadSettings(REPLAY_SOURCE, context_lines=context_lines(config, None), plan=plan)
    return ReadSettings(
        source.name,
        format=source.format,
        header=source.header,
        max_lines=source.multiline.max_lines,
        max_bytes=source.multiline.max_bytes,
        max_line_bytes=source.max_line_bytes,
        encoding=source.encoding,
        timezone=source.timezone,
        context_lines=context_lines(config, source),
        plan=plan,
    )


def replay_records(
    config: Config, events: Iterable[Event], *, all_events: bool
) -> Iterator[dict[str, Any]]:
    """SPEC's replay records: what the rules decide on ``events``, in their order.

    ``all_events``: a record for each event, decided on or not.
    """
    # Imported here: with a second core, another process decides (``eventpipe``),
    # and the one that reads need not load the rules' code (~11 ms).
    from logwatch.daemon.engine import build_engine
    from logwatch.rules import Redactor
    from logwatch.rules.state import MemoryRuleState

    state = MemoryRuleState()
    engine = build_engine(config, state=state)
    # what replay prints is masked like what the daemon would send
    redact = Redactor(config.redact.patterns, defaults=config.redact.defaults)
    clock = _RecordClock()
    for event in events:
        now = clock.advance(event)
        # What time brings (a cooldown's summary, a batch) comes when it is due, as
        # in the daemon, which ticks every second: not when the next event
        # happens to be read, which would depend on the lines passed over unread.
        at = now.timestamp()
        ticked = None
        while (due := state.first_due(at)) is not None and due != ticked:
            ticked = due
            for decision in engine.tick(_moment(due)):
                if decision.alert is not None:
                    yield _tick_record(decision)
        if at >= state.quiet_until():  # (before it, a tick finds nothing due or expired)
            for decision in engine.tick(now):
                if decision.alert is not None:
                    yield _tick_record(decision)
        decisions = engine.evaluate(event, now)
        if not decisions:
            if all_events:
                yield event_record(event, None, redact)
            continue
        message, exc_message, types = _redacted(event, decisions, redact)
        for decision in decisions:
            yield _record(event, decision, message, exc_message, types)
    # what the log's own end leaves due (cooldown summaries, batches) is still shown
    if clock.now is not None:
        for decision in engine.tick(clock.now + timedelta(seconds=_horizon_s(config))):
            alert = decision.alert
            if alert is not None and alert.status is not AlertStatus.RESOLVED:
                yield _tick_record(decision)


def decisions_read_texts(config: Config) -> bool:
    """Whether deciding on an event with a traceback may read its whole text.

    Only a template does (a rule's labels, a rule's or a notifier's
    template): a traceback's title is its exception, its messages are
    masked as they are, and a record shows no text.
    """
    return any(rule.labels or rule.template for rule in config.rules) or any(
        notifier.template for notifier in config.notifiers.values()
    )


def _moment(seconds: float) -> datetime:
    """The first datetime (to the microsecond) not before ``seconds``: a tick at it
    finds what is due at ``seconds`` due, which rounding down would not."""
    moment = datetime.fromtimestamp(seconds, UTC)
    if moment.timestamp() < seconds:
        moment += timedelta(microseconds=1)
    return moment


def _horizon_s(config: Config) -> float:
    """How long after the last record every cooldown has ended and every batch flushed."""

    def routes(nodes: Iterable[RouteConfig]) -> Iterator[RouteConfig]:
        for node in nodes:
            yield node
            yield from routes(node.routes)

    timed: list[RuleConfig | RouteConfig] = [*config.rules, *routes(config.routes)]
    wait = max([0.0, *(item.group_wait or 0.0 for item in timed)])
    interval = max([0.0, *(item.group_interval or 0.0 for item in timed)])
    cooldown = max(
        [0.0, *(max(r.cooldown or 0.0, r.cooldown_growth.max if r.cooldown_growth else 0.0)
                for r in config.rules)]
    )
    return max(wait + interval, cooldown)


def event_record(
    event: Event, decision: Decision | None, redact: Redactor | None = None
) -> dict[str, Any]:
    """SPEC's `replay --json` object for one event and what a rule decided."""
    if redact is None:
        from logwatch.rules import Redactor

        redact = Redactor()
    return _record(
        event,
        decision,
        redact(event.message),
        redact.optional(event.exc_message),
        _types(event, None, redact),
    )


def _redacted(
    event: Event, decisions: Sequence[Decision], redact: Redactor
) -> tuple[str, str | None, list[str]]:
    """The event's message, exception message and chain of types, masked.

    An alert holds them masked already, by a redactor built from the same
    config (``build_engine``): masking the same text again would only cost time.
    """
    for decision in decisions:
        alert = decision.alert
        if alert is not None:
            return alert.message, alert.exc_message, _types(event, alert.text, redact)
    return redact(event.message), redact.optional(event.exc_message), _types(event, None, redact)


def _types(event: Event, masked: str | None, redact: Redactor) -> list[str]:
    """The chain's types, each masked that was read from a line masked as a secret.

    ``masked``: the event's text masked, if at hand; else it is masked here
    for a cut event, the only kind where a secret's line can pass for an
    exception line (``masked_type``).
    """
    types = [exc.type for exc in event.chain]
    if not types or "truncated" not in event.flags:
        return types
    from logwatch.rules.redact import masked_type

    if masked is None:
        masked = redact(event.text)
    return [masked_type(event, name, masked) for name in types]


def _record(
    event: Event,
    decision: Decision | None,
    message: str,
    exc_message: str | None,
    types: list[str],
) -> dict[str, Any]:
    alert = decision.alert if decision else None
    return {
        "file": event.origin.path,
        "first_line": event.first_line,
        "last_line": event.last_line,
        "level": event.level,
        "logger": event.logger,
        "message": message,
        "exc_type": types[-1] if types else None,
        "exc_message": exc_message,
        "chain": types,
        "fingerprint": event.fingerprint,
        "rule": decision.rule if decision else None,
        "severity": str(alert.severity) if alert else None,
        "notifiers": list(decision.notifiers) if decision and alert else [],
        "suppressed": decision.suppressed if decision else "no-route",
        "flags": sorted(event.flags),
        "title": alert.title if alert else None,
        "count": alert.count if alert else None,
        "status": str(alert.status) if alert else None,
        "labels": dict(alert.labels) if alert else None,
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
        "title": alert.title,
        "labels": dict(alert.labels),
        "by_time": True,  # a summary, digest or resolved notice: no event of its own
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
    for source in config.sources:
        if names_file(source.paths, source.exclude, name):
            return source
    return None


def cold_plan(config: Config, source: SourceConfig | None) -> ColdPlan | None:
    """The filter's plan for a file of ``source`` (None: the file no source names)."""
    format = source.format if source is not None else "auto"
    return replay_cold_plan(
        config.rules,
        format=format,
        header=source.header if source is not None else None,
        context_lines=context_lines(config, source),
        source=source.name if source is not None else REPLAY_SOURCE,
        max_line_bytes=source.max_line_bytes if source is not None else DEFAULT_MAX_LINE_BYTES,
        encoding=source.encoding if source is not None else "utf-8",
    )


def replay_cold_plan(
    rules: Sequence[RuleLike],
    *,
    format: str,
    header: re.Pattern[str] | None,
    context_lines: int,
    source: str,
    max_line_bytes: int,
    encoding: str = "utf-8",
) -> ColdPlan | None:
    """``cold_plan_for`` as replay needs it, from the config or from its guess (``headstart``)."""
    return cold_plan_for(
        rules,
        format=format,
        header=header,
        max_line_bytes=max_line_bytes,
        # A JSON record without a time of its own is decided at the time of the
        # record before it, which must be read then (in text, a line with no
        # header keeps the record it belongs to)
        context_lines=max(context_lines, 1 if format == "json" else 0),
        source=source,
        encoding=encoding,
    )


def _events(
    settings: ReadSettings,
    origin: Origin,
    chunks: Iterable[bytes],
    keep: KeepSpans | None = None,
    ahead: ForkScan | None = None,  # a helper scanning the file ``chunks`` are read from
) -> Iterator[Event]:
    recent = RecentLines(settings.context_lines)
    # A record seen before is framed as its header line alone where lines are
    # passed over anyway (``knownbodies``), and where no context wants the rest.
    filtered = keep is not None or ahead is not None
    known = KnownBodies() if filtered and not recent.keep else None
    assembler = Assembler(
        origin,
        format=settings.format,
        max_lines=settings.max_lines,
        max_bytes=settings.max_bytes,
        header_pattern=settings.header,
        timezone=settings.timezone,
        known=known,
    )
    framer = LineFramer(
        max_line_bytes=settings.max_line_bytes,
        encoding=settings.encoding,
        known=known if assembler.keeps_known else None,
    )

    def emit(events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            yield recent.attach(event)
        recent.trim(assembler.pending_offset())

    kept = ahead.keep_for(framer) if ahead else keep
    try:
        for chunk in chunks:
            lines = framer.feed_lines(chunk, kept)
            recent.add(lines)
            yield from emit(assembler.feed(lines))
    finally:
        if ahead:
            ahead.close()
    tail = framer.feed(b"\n") if framer.has_partial else []
    recent.add(tail)
    yield from emit(assembler.feed(tail))
    yield from emit(assembler.flush())


def _chunks(name: str) -> Iterable[bytes]:
    if name == "-":
        yield from _read(sys.stdin.buffer)
        return
    with Path(name).open("rb") as stream:
        yield from _read(stream)


def _read(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(READ_SIZE):
        yield chunk
