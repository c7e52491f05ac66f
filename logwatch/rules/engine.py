"""Rules stage: Event -> decisions (alert, or why not), and the alerts time alone causes.

For each event the rules are tried in order; the first that matches decides,
unless it says ``continue_``. A matching ``alert`` rule then passes its
threshold (sliding window per group), the silencer and its cooldown (one
alert per group per cooldown; what it holds back is counted and reported by
the next alert, or by ``tick`` when the cooldown ends). ``tick`` also sends
``resolved`` once a firing group has been quiet for ``resolve_after``.

Everything is driven by the ``now`` passed in, so ``replay`` can run a file
through on the records' own clock and tests need no sleeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from logwatch.model import Alert, AlertStatus, Event, Severity
from logwatch.rules import alerts
from logwatch.rules.match import Matcher, MatchSpec
from logwatch.rules.redact import Redactor
from logwatch.rules.silences import Silencer
from logwatch.rules.state import GroupState, MemoryRuleState, RuleState

COOLDOWN = "cooldown"
THRESHOLD = "threshold"
DROPPED = "dropped-by-rule"
SILENCED = "silenced"
NO_ROUTE = "no-route"


class ThresholdSpec(Protocol):
    @property
    def count(self) -> int: ...
    @property
    def within(self) -> float: ...


class RuleSpec(Protocol):
    """A rule, as the config package provides it (durations in seconds)."""

    @property
    def name(self) -> str: ...
    @property
    def match(self) -> MatchSpec: ...
    @property
    def action(self) -> str: ...  # "alert" | "drop"
    @property
    def severity(self) -> Severity | None: ...
    @property
    def threshold(self) -> ThresholdSpec | None: ...
    @property
    def cooldown(self) -> float | None: ...
    @property
    def group_by(self) -> tuple[str, ...]: ...
    @property
    def resolve_after(self) -> float | None: ...
    @property
    def notify(self) -> tuple[str, ...]: ...
    @property
    def continue_(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules decided about one event, or about one group on a tick."""

    rule: str | None  # the rule that matched, None when none did
    alert: Alert | None  # what to send; None when suppressed or dropped
    suppressed: str | None  # None when sent, else one of the constants above
    notifiers: tuple[str, ...]
    severity: Severity | None = None  # also known when suppressed, for `replay`


@dataclass(frozen=True, slots=True)
class _Rule:
    spec: RuleSpec
    matcher: Matcher

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def keeps_state(self) -> bool:
        """Whether the rule's groups need a record: a cooldown, a resolve or a threshold.

        A threshold rule remembers its last alert so that the next one counts
        only the occurrences after it.
        """
        spec = self.spec
        return bool(spec.cooldown or spec.resolve_after or spec.threshold is not None)


class RuleEngine:
    """The compiled rules, with the memory (``state``) their timers need."""

    def __init__(
        self,
        rules: Sequence[RuleSpec],
        *,
        host: str,
        labels: Mapping[str, str],
        state: RuleState | None = None,
        redactor: Redactor | None = None,
        silencer: Silencer | None = None,
    ) -> None:
        compiled = []
        for spec in rules:
            alerts.check_group_by(spec.group_by)
            compiled.append(_Rule(spec, Matcher(spec.match)))
        self._rules = tuple(compiled)
        self._by_name = {rule.name: rule for rule in self._rules}
        self._host = host
        self._labels = dict(labels)
        self._state: RuleState = state if state is not None else MemoryRuleState()
        self._redact = redactor if redactor is not None else Redactor()
        self._silencer = silencer

    def evaluate(self, event: Event, now: datetime) -> list[Decision]:
        """Decide what to do about one event; an event no rule matches gives []."""
        at = _seconds(now)
        decisions: list[Decision] = []
        for rule in self._rules:
            if not rule.matcher(event):
                continue
            if rule.spec.action == "drop":
                decisions.append(Decision(rule.name, None, DROPPED, ()))
                break
            decisions.append(self._alert_rule(rule, event, now, at))
            if not rule.spec.continue_:
                break
        return decisions

    def tick(self, now: datetime) -> list[Decision]:
        """Send what time alone causes: cooldown summaries and `resolved` notices."""
        at = _seconds(now)
        decisions: list[Decision] = []
        for key, group in self._state.due(at):
            rule = self._by_name.get(group.rule)
            if rule is None or rule.spec.action != "alert":
                self._state.delete(key)  # the rule went away in a reload
                continue
            decisions.extend(self._tick_group(rule, key, group, at))
        self._state.prune(at)
        return decisions

    # -- one event under one alert rule ------------------------------------

    def _alert_rule(self, rule: _Rule, event: Event, now: datetime, at: float) -> Decision:
        spec = rule.spec
        severity = spec.severity if spec.severity is not None else alerts.derived_severity(event)
        notifiers = spec.notify
        if not notifiers:
            return Decision(rule.name, None, NO_ROUTE, (), severity)
        occurrence = alerts.occurrence_id(event, rule.name)
        key = alerts.group_key(event, spec.group_by, rule=rule.name, host=self._host)
        group = self._state.get(key) if rule.keeps_state else None

        if group is not None and group.last_sent_id == occurrence and group.snapshot:
            # The same bytes again: the daemon crashed after deciding but
            # before the outbox commit. Deciding the same way again lets the
            # outbox keep one copy, instead of the cooldown eating the alert.
            resent = dataclasses.replace(Alert.from_payload(group.snapshot), notifiers=notifiers)
            return Decision(rule.name, resent, None, notifiers, severity)

        count, first_seen = 1, at
        if spec.threshold is not None:
            in_window, oldest = self._state.window_add(
                key, occurrence, at, spec.threshold.within
            )
            if in_window < spec.threshold.count:
                self._held_back(rule, key, group, at, pending=False)
                return Decision(rule.name, None, THRESHOLD, notifiers, severity)
            if group is None or group.last_sent_at is None or oldest > group.last_sent_at:
                # The alert stands for the occurrences that crossed the threshold.
                count, first_seen = in_window, oldest

        alert = self._build(event, rule, occurrence, severity, count, first_seen, at)
        if self._silencer is not None and self._silencer.silenced(alert, now):
            self._held_back(rule, key, group, at, pending=False)
            return Decision(rule.name, None, SILENCED, notifiers, severity)

        cooldown = spec.cooldown
        if (
            cooldown
            and group is not None
            and group.last_sent_at is not None
            and at < group.last_sent_at + cooldown
        ):
            self._held_back(rule, key, group, at, pending=True, occurrence=occurrence)
            return Decision(rule.name, None, COOLDOWN, notifiers, severity)

        if group is not None and group.pending:
            alert = dataclasses.replace(
                alert,
                count=group.pending + 1,
                first_seen=_datetime(group.pending_first_seen or at),
            )
        if rule.keeps_state:
            self._sent(rule, key, group, alert, at)
        return Decision(rule.name, alert, None, notifiers, severity)

    def _build(
        self,
        event: Event,
        rule: _Rule,
        occurrence: str,
        severity: Severity,
        count: int,
        first_seen: float,
        at: float,
    ) -> Alert:
        redact = self._redact
        message = redact(event.message)
        exc_message = redact.optional(event.exc_message)
        text = redact(event.text)
        return Alert(
            id=occurrence,
            status=AlertStatus.FIRING,
            rule=rule.name,
            severity=severity,
            title=alerts.title(event.exc_type, exc_message, message, text),
            host=self._host,
            source=event.origin.source,
            file=event.origin.path,
            first_line=event.first_line,
            last_line=event.last_line,
            exc_type=event.exc_type,
            exc_message=exc_message,
            fingerprint=event.fingerprint,
            count=count,
            first_seen=_datetime(first_seen),
            last_seen=_datetime(at),
            labels=self._labels,
            text=text,
            notifiers=rule.spec.notify,
            level=event.level,
            logger=event.logger,
            message=message,
        )

    # -- group bookkeeping -------------------------------------------------

    def _held_back(
        self,
        rule: _Rule,
        key: str,
        group: GroupState | None,
        at: float,
        *,
        pending: bool,
        occurrence: str | None = None,
    ) -> None:
        """Record an occurrence that sent nothing: it keeps the group from resolving."""
        if group is None:
            return  # nothing sent yet: no cooldown to count for, nothing to resolve
        changes: dict[str, object] = {"last_seen": max(group.last_seen, at)}
        if group.incident_id is not None:
            changes["incident_count"] = group.incident_count + 1
        if pending:
            changes["pending"] = group.pending + 1
            changes["pending_first_seen"] = group.pending_first_seen or at
            changes["pending_last_id"] = occurrence
        self._state.put(key, self._schedule(rule, group.replace(**changes)))

    def _sent(
        self, rule: _Rule, key: str, group: GroupState | None, alert: Alert, at: float
    ) -> None:
        incident_id, incident_first, incident_count = None, None, 0
        if rule.spec.resolve_after:
            if group is not None and group.incident_id is not None:
                incident_id = group.incident_id
                incident_first = group.incident_first_seen
                incident_count = group.incident_count + 1
            else:
                incident_id = alert.id
                incident_first = alert.first_seen.timestamp()
                incident_count = alert.count
        updated = GroupState(
            rule=rule.name,
            last_seen=at if group is None else max(group.last_seen, at),
            last_sent_at=at,
            last_sent_id=alert.id,
            incident_id=incident_id,
            incident_first_seen=incident_first,
            incident_count=incident_count,
            snapshot=alert.payload(),
        )
        self._state.put(key, self._schedule(rule, updated))

    def _schedule(self, rule: _Rule, group: GroupState) -> GroupState:
        """Set when `tick` next has work for the group, and when it may be forgotten."""
        due: list[float] = []
        keep: list[float] = [group.last_seen]
        cooldown, resolve_after = rule.spec.cooldown, rule.spec.resolve_after
        if cooldown and group.last_sent_at is not None:
            keep.append(group.last_sent_at + cooldown)
            if group.pending:
                due.append(group.last_sent_at + cooldown)
        if rule.spec.threshold is not None and group.last_sent_at is not None:
            keep.append(group.last_sent_at + rule.spec.threshold.within)
        if resolve_after and group.incident_id is not None:
            due.append(group.last_seen + resolve_after)
            keep.append(group.last_seen + resolve_after)
        return group.replace(due_at=min(due) if due else None, expires_at=max(keep))

    def _tick_group(
        self, rule: _Rule, key: str, group: GroupState, at: float
    ) -> list[Decision]:
        spec = rule.spec
        notifiers = spec.notify
        decisions: list[Decision] = []
        resolve_after = spec.resolve_after
        resolving = (
            bool(resolve_after)
            and group.incident_id is not None
            and at >= group.last_seen + (resolve_after or 0.0)
        )
        cooldown_over = group.last_sent_at is None or at >= group.last_sent_at + (
            spec.cooldown or 0.0
        )
        if group.pending and (cooldown_over or resolving):
            summary = self._summary(group, key, notifiers)
            decisions.append(Decision(rule.name, summary, None, notifiers, summary.severity))
            group = group.replace(
                last_sent_at=at,
                last_sent_id=summary.id,
                pending=0,
                pending_first_seen=None,
                pending_last_id=None,
                snapshot=summary.payload(),
            )
        if resolving:
            resolved = self._resolved(group, key, notifiers)
            decisions.append(Decision(rule.name, resolved, None, notifiers, resolved.severity))
            # Forget the group: a later occurrence opens a new incident, with
            # no cooldown left over from this one.
            self._state.delete(key)
        else:
            self._state.put(key, self._schedule(rule, group))
        return decisions

    def _summary(self, group: GroupState, key: str, notifiers: tuple[str, ...]) -> Alert:
        """The alert for what the cooldown held back: how many, since when."""
        base = Alert.from_payload(group.snapshot)
        return dataclasses.replace(
            base,
            id=alerts.digest(key, "held-back", group.pending_last_id or ""),
            status=AlertStatus.FIRING,
            count=group.pending,
            first_seen=_datetime(group.pending_first_seen or group.last_seen),
            last_seen=_datetime(group.last_seen),
            notifiers=notifiers,
        )

    def _resolved(self, group: GroupState, key: str, notifiers: tuple[str, ...]) -> Alert:
        base = Alert.from_payload(group.snapshot)
        return dataclasses.replace(
            base,
            id=alerts.digest(key, "resolved", group.incident_id or ""),
            status=AlertStatus.RESOLVED,
            count=group.incident_count,
            first_seen=_datetime(group.incident_first_seen or group.last_seen),
            last_seen=_datetime(group.last_seen),
            notifiers=notifiers,
        )


def _seconds(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError("the rule engine needs an aware datetime (UTC), got a naive one")
    return now.timestamp()


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)

