"""Rules stage: Event -> decisions (alert, or why not), and the alerts time alone causes.

For each event the rules are tried in order; the first that matches decides,
unless it says ``continue_``. A matching ``alert`` rule then passes, in this
order: ``notify_on`` (only fingerprints new to this host, or back after they
resolved), its threshold (sliding window per group), routing (its own
``notify``, else the routes tree), mute intervals and silences, and its
cooldown (one alert per group per cooldown, optionally growing; what it holds
back is counted and reported by the next alert, or by ``tick`` when the
cooldown ends). The alert is then worded by the templates of each notifier
and sent, or batched into a digest where ``group_wait``/``group_interval``
apply. ``tick`` sends what time alone causes: cooldown summaries, due digests
and ``resolved`` once a firing group has been quiet for ``resolve_after``,
also after a reload took its rule or the rule's ``resolve_after`` away.

Everything is driven by the ``now`` passed in, so ``replay`` can run a file
through on the records' own clock and tests need no sleeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from logwatch.model import Alert, AlertStatus, Event, Severity
from logwatch.rules import alerts, digest
from logwatch.rules.match import Extract, Matcher, MatchSpec
from logwatch.rules.redact import MASK, Redactor, masked_type
from logwatch.rules.routes import Destination, Router
from logwatch.rules.silences import Silencer, alert_labels
from logwatch.rules.state import GroupState, MemoryRuleState, RuleState
from logwatch.rules.templates import (
    AlertTemplate,
    TemplateSpec,
    compile_template,
    render,
    render_label,
)
from logwatch.rules.templates import context as template_context

if TYPE_CHECKING:
    import logging

    from jinja2 import Template


COOLDOWN = "cooldown"
THRESHOLD = "threshold"
DROPPED = "dropped-by-rule"
SILENCED = "silenced"
NO_ROUTE = "no-route"
SEEN_BEFORE = "seen-before"  # notify_on: neither new nor a regression
GROUPED = "grouped"  # waits in a batch; a digest (or the alert itself) follows on `tick`

NEW = "new"
REGRESSION = "regression"
EVERY = "every"
# Within this many seconds of the epoch (1833 to 2106) an aware datetime's
# timestamp() holds every microsecond: fromtimestamp() gives the same datetime back.
_EXACT_S = float(2**32)
# The daemon ticks the rules this often: what falls due one tick after another goes after it.
_TICK_S = 1.0


class ThresholdSpec(Protocol):
    @property
    def count(self) -> int: ...
    @property
    def within(self) -> float: ...


class CooldownGrowthSpec(Protocol):
    """``cooldown_growth``: how the cooldown grows while alerts keep coming."""

    @property
    def max(self) -> float: ...
    @property
    def factor(self) -> float: ...


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
    def cooldown_growth(self) -> CooldownGrowthSpec | None: ...
    @property
    def group_by(self) -> tuple[str, ...]: ...
    @property
    def resolve_after(self) -> float | None: ...
    @property
    def notify(self) -> tuple[str, ...]: ...
    @property
    def continue_(self) -> bool: ...
    @property
    def notify_on(self) -> tuple[str, ...]: ...  # new, regression, every
    @property
    def group_wait(self) -> float | None: ...
    @property
    def group_interval(self) -> float | None: ...
    @property
    def labels(self) -> Mapping[str, str]: ...  # values are templates
    @property
    def template(self) -> TemplateSpec | None: ...
    @property
    def context_lines(self) -> int | None: ...  # None: what the source keeps


# Never changed once made, but not declared frozen: a frozen __init__ sets
# each field through object.__setattr__, about a microsecond for every alert.
@dataclass(slots=True)
class Decision:
    """What the rules decided about one event, or about one group on a tick."""

    rule: str | None  # the rule that matched, None when none did
    alert: Alert | None  # what to send; None when suppressed or dropped
    suppressed: str | None  # None when sent, else one of the constants above
    notifiers: tuple[str, ...]
    severity: Severity | None = None  # also known when suppressed, for `replay`
    # The alert as worded by a notifier's template, for those that have one.
    per_notifier: Mapping[str, Alert] = field(default_factory=dict)

    def alert_for(self, notifier: str) -> Alert:
        """What to hand to ``notifier``: its templated wording, else the alert."""
        if self.alert is None:
            raise ValueError(f"nothing to send: suppressed ({self.suppressed})")
        return self.per_notifier.get(notifier, self.alert)


# A NamedTuple, not a frozen dataclass: ~0.4 ms less to make at import.
class _Rule(NamedTuple):
    """A rule, compiled: what every event asks of it is worked out once, here."""

    spec: RuleSpec
    matcher: Matcher
    labels: tuple[tuple[str, Template], ...]
    template: AlertTemplate | None  # the rule's own, for notifiers without one
    templates: Mapping[str, AlertTemplate | None]  # merged with each notifier's
    name: str
    extract: Extract  # the matcher's, without the lookup
    drops: bool
    continue_: bool
    # Whether the rule's groups need a record: a cooldown, a resolve or a
    # threshold. A threshold rule remembers its last alert so that the next
    # one counts only the occurrences after it.
    keeps_state: bool
    only_some: bool  # `notify_on` filters (anything but `every`)
    own_destination: tuple[Destination, ...]  # from the rule's own `notify`, if any
    worded: bool  # a template of its own or of a notifier may reword its alerts

    @classmethod
    def compile(cls, spec: RuleSpec, by_notifier: Mapping[str, TemplateSpec]) -> _Rule:
        alerts.check_group_by(spec.group_by)
        matcher = Matcher(spec.match)
        template = AlertTemplate.compile(spec.template)
        templates = {
            name: AlertTemplate.compile(spec.template, own) for name, own in by_notifier.items()
        }
        return cls(
            spec,
            matcher,
            tuple((name, compile_template(text)) for name, text in spec.labels.items()),
            template,
            templates,
            name=spec.name,
            extract=matcher.extract_with,
            drops=spec.action == "drop",
            continue_=spec.continue_,
            keeps_state=bool(spec.cooldown or spec.resolve_after or spec.threshold is not None),
            only_some=EVERY not in spec.notify_on,
            own_destination=(
                (Destination("rule", spec.notify, spec.group_wait, spec.group_interval),)
                if spec.notify
                else ()
            ),
            worded=template is not None
            or any(value is not None for value in templates.values()),
        )

    def template_for(self, notifier: str) -> AlertTemplate | None:
        return self.templates.get(notifier, self.template)


# A NamedTuple, not a frozen dataclass: ~0.4 ms less to make at import.
class _Dispatch(NamedTuple):
    """The rules an event may match, by whether it has a traceback.

    Most events hold none of the literals the rules' message regexes need:
    one pass over those literals then rules out every rule guarded by them.
    """

    rules: tuple[_Rule, ...]  # in config order: the first match decides
    unguarded: tuple[_Rule, ...]  # those a message without any literal may still match
    literals: tuple[str, ...]  # every literal of the others

    @classmethod
    def of(cls, rules: Sequence[_Rule]) -> _Dispatch:
        unguarded = tuple(rule for rule in rules if rule.matcher.literals is None)
        literals = {literal for rule in rules for literal in rule.matcher.literals or ()}
        return cls(tuple(rules), unguarded, tuple(sorted(literals)))

    def candidates(self, message: str, exc_message: str | None) -> tuple[_Rule, ...]:
        for literal in self.literals:
            if literal in message:
                return self.rules
        if exc_message is not None:
            for literal in self.literals:
                if literal in exc_message:
                    return self.rules
        return self.unguarded


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
        router: Router | None = None,
        notifier_templates: Mapping[str, TemplateSpec] | None = None,
        source_context: Mapping[str, int] | None = None,
    ) -> None:
        by_notifier = notifier_templates or {}
        compiled = [_Rule.compile(spec, by_notifier) for spec in rules]
        self._rules = tuple(compiled)
        self._with_chain = _Dispatch.of(
            [rule for rule in compiled if not rule.matcher.refuses_chain]
        )
        self._without_chain = _Dispatch.of(
            [rule for rule in compiled if not rule.matcher.needs_chain]
        )
        self._router = router if router is not None else Router(())
        self._resolve_after = {rule.name: self._quiet_for(rule) for rule in self._rules}
        # context_lines of each source: what a rule without its own gets
        self._source_context = dict(source_context or {})
        self._by_name = {rule.name: rule for rule in self._rules}
        self._host = host
        self._labels = dict(labels)
        self._state: RuleState = state if state is not None else MemoryRuleState()
        self._redact = redactor if redactor is not None else Redactor()
        self._silencer = silencer
        # How each notifier words an alert whose rule a reload removed.
        self._notifier_templates = {
            name: AlertTemplate.compile(own) for name, own in by_notifier.items()
        }

    def evaluate(self, event: Event, now: datetime) -> list[Decision]:
        """Decide what to do about one event; an event no rule matches gives []."""
        if event.has_traceback:
            exc_message = event.exc_message
            rules = self._with_chain.candidates(event.message, exc_message)
        else:
            exc_message = None
            rules = self._without_chain.candidates(event.message, None)
        at = _seconds(now)
        decisions: list[Decision] = []
        seen: dict[str, str] = {}  # the fingerprint's sighting, taken once per event
        for rule in rules:
            extracted = rule.extract(event, exc_message)
            if extracted is None:
                continue
            if rule.drops:
                decisions.append(Decision(rule.name, None, DROPPED, ()))
                break
            if rule.keeps_state:
                key = self._group_key(rule, event, extracted)
                # Keep daemons sharing the state off the group while this one decides.
                with self._state.hold(key):
                    decisions.extend(
                        self._alert_rule(rule, event, extracted, key, now, at, seen)
                    )
            else:
                # Nothing is stored for such a rule: no group key to work out.
                decisions.extend(self._alert_rule(rule, event, extracted, "", now, at, seen))
            if not rule.continue_:
                break
        return decisions

    def tick(self, now: datetime) -> list[Decision]:
        """Send what time alone causes: cooldown summaries and `resolved` notices."""
        at = _seconds(now)
        decisions: list[Decision] = []
        for key, _listed in self._state.due(at):
            with self._state.hold(key):
                # Read again under the hold: a daemon sharing the state may
                # have done this group's work since `due` listed it.
                group = self._state.get(key)
                if group is not None and group.due_at is not None and group.due_at <= at:
                    decisions.extend(self._tick_due(key, group, at))
        self._state.prune(at)
        return decisions

    def quiet_until(self) -> float | None:
        """A time (seconds since the epoch, maybe infinity) before which ``tick``
        has nothing to do; None: any tick may."""
        return self._state.quiet_until()

    def _tick_due(self, key: str, group: GroupState, at: float) -> list[Decision]:
        rule = self._by_name.get(group.rule)
        if rule is None or rule.drops:
            return self._orphaned(key, group, at)
        if group.kind == "digest":
            return self._flush(rule, key, group, at)
        return self._tick_group(rule, key, group, at)

    def _group_key(self, rule: _Rule, event: Event, extracted: Mapping[str, str]) -> str:
        return alerts.group_key(
            event, rule.spec.group_by, rule=rule.name, host=self._host, extracted=extracted
        )

    # -- one event under one alert rule ------------------------------------

    def _alert_rule(
        self,
        rule: _Rule,
        event: Event,
        extracted: Mapping[str, str],
        key: str,
        now: datetime,
        at: float,
        seen: dict[str, str],
    ) -> list[Decision]:
        """``key`` is the group's; "" for a rule that keeps no state, which stores nothing."""
        spec = rule.spec
        severity = spec.severity if spec.severity is not None else alerts.derived_severity(event)
        occurrence = alerts.occurrence_id(event, rule.name)
        group = self._state.get(key) if rule.keeps_state else None

        def suppressed(reason: str) -> list[Decision]:
            return [Decision(rule.name, None, reason, spec.notify, severity)]

        if group is not None and group.last_sent_id == occurrence and group.snapshot:
            # The same bytes again: the daemon crashed after deciding but
            # before the outbox commit. Deciding the same way again lets the
            # outbox keep one copy, instead of the cooldown eating the alert.
            resent = Alert.from_payload(group.snapshot)
            destinations = self._destinations(rule, resent)
            return self._send(rule, resent, destinations, at, reread=True) or suppressed(NO_ROUTE)

        if rule.only_some and self._sighting(event, at, seen) not in spec.notify_on:
            self._held_back(rule, key, group, at, pending=False)
            return suppressed(SEEN_BEFORE)

        count, first_seen = 1, at
        if spec.threshold is not None:
            in_window, oldest = self._state.window_add(
                key, occurrence, at, spec.threshold.within
            )
            if in_window < spec.threshold.count:
                self._held_back(rule, key, group, at, pending=False, counted=True)
                return suppressed(THRESHOLD)
            if group is None or group.last_sent_at is None or oldest > group.last_sent_at:
                # The alert stands for the occurrences that crossed the threshold.
                count, first_seen = in_window, oldest

        alert = self._build(
            event, rule, extracted, occurrence, severity, count, first_seen, now, at
        )
        destinations = self._destinations(rule, alert)
        if not destinations:
            return suppressed(NO_ROUTE)
        destinations = self._unmuted(rule, alert, destinations, now)
        if not destinations:
            self._held_back(rule, key, group, at, pending=False)
            return suppressed(SILENCED)

        cooldown = self._cooldown(rule, group)
        if (
            cooldown
            and group is not None
            and group.last_sent_at is not None
            and at < group.last_sent_at + cooldown
        ):
            self._held_back(rule, key, group, at, pending=True, occurrence=occurrence)
            return suppressed(COOLDOWN)

        if group is not None and (group.pending or group.hosts):
            changes: dict[str, Any] = {}
            if group.pending:
                changes["count"] = group.pending + 1
                changes["first_seen"] = _datetime(group.pending_first_seen or at)
            if group.hosts:
                changes["hosts"] = _hosts(group.hosts, self._host)
            alert = dataclasses.replace(alert, **changes)
        decisions = self._send(rule, alert, destinations, at)
        if rule.keeps_state:
            self._sent(rule, key, group, alert, at, _notifiers(decisions))
        return decisions

    def _sighting(self, event: Event, at: float, seen: dict[str, str]) -> str:
        """`new`, `regression` or `seen`: what this host knew of the event's fingerprint."""
        if "kind" not in seen:
            fingerprint = alerts.digest(
                "fingerprint", alerts.group_value(event, "fingerprint", rule="", host="")
            )
            occurrence = alerts.occurrence_id(event, "")
            before = self._state.sighting(fingerprint, occurrence, at)
            if before is None:
                seen["kind"] = NEW
            elif before.opened_by == occurrence:
                seen["kind"] = before.opened_as  # the same bytes re-read after a crash
            elif before.resolved_at is not None:
                seen["kind"] = REGRESSION
            else:
                seen["kind"] = "seen"
        return seen["kind"]

    # -- where alerts go ---------------------------------------------------

    def _unmuted(
        self, rule: _Rule, alert: Alert, destinations: Sequence[Destination], now: datetime
    ) -> Sequence[Destination]:
        """The destinations that may hear the alert at ``now``; none while it is silenced."""
        # A muted route still takes the alert (first match stays first); it sends
        # nothing. A rule's own `notify` has no mute intervals (those are the silencer's).
        if destinations is not rule.own_destination:
            destinations = [dest for dest in destinations if not dest.muted(now)]
        if destinations and self._silencer is not None and self._silencer.silenced(alert, now):
            return []
        return destinations

    def _quiet_for(self, rule: _Rule) -> float | None:
        """How long a group must be quiet to resolve: ``resolve_after``, or longer
        than a firing alert of the rule may wait in a batch (``group_wait``,
        ``group_interval``), so that its `resolved` notice never goes out first."""
        spec = rule.spec
        if not spec.resolve_after:
            return None
        wait, interval = spec.group_wait, spec.group_interval
        if not rule.own_destination:  # the rule's timers win over its routes'
            wait = wait if wait is not None else self._router.longest("group_wait")
            interval = interval if interval is not None else self._router.longest("group_interval")
        batching = max(wait or 0.0, interval or 0.0)
        # a tick later than the batch at the latest: both due at once, either could go first
        return max(spec.resolve_after, batching + _TICK_S) if batching else spec.resolve_after

    def _destinations(self, rule: _Rule, alert: Alert) -> Sequence[Destination]:
        """The rule's own notifiers, else what the routes say; the rule's timers win."""
        if rule.own_destination:
            return rule.own_destination
        spec = rule.spec
        return [
            dataclasses.replace(
                dest,
                group_wait=spec.group_wait if spec.group_wait is not None else dest.group_wait,
                group_interval=(
                    spec.group_interval
                    if spec.group_interval is not None
                    else dest.group_interval
                ),
            )
            for dest in self._router.destinations(alert_labels(alert))
        ]

    def _send(
        self,
        rule: _Rule,
        alert: Alert,
        destinations: Sequence[Destination],
        at: float,
        *,
        batch: bool = True,
        reread: bool = False,
    ) -> list[Decision]:
        """One decision per destination: sent now, or into its batch."""
        if len(destinations) == 1 and not (
            batch and (destinations[0].group_wait or destinations[0].group_interval)
        ):
            # The usual case (a rule's own `notify`, one route): nothing to share out.
            notifiers = tuple(destinations[0].notifiers)
            if not notifiers:
                return []
            if notifiers != alert.notifiers:
                alert = dataclasses.replace(alert, notifiers=notifiers)
            return [self._decision(rule, alert)]
        decisions: list[Decision] = []
        used: set[str] = set()
        for dest in destinations:
            # `continue` may reach one notifier twice; it gets the alert once.
            notifiers = tuple(name for name in dest.notifiers if name not in used)
            if not notifiers:
                continue
            used.update(notifiers)
            routed = (
                alert
                if notifiers == alert.notifiers
                else dataclasses.replace(alert, notifiers=notifiers)
            )
            if batch and (dest.group_wait or dest.group_interval):
                with self._state.hold(digest.key(rule.name, dest.key, routed.notifiers)):
                    decisions.append(self._batch(rule, dest, routed, at, reread=reread))
            else:
                decisions.append(self._decision(rule, routed))
        return decisions

    def _decision(
        self, rule: _Rule, alert: Alert, items: Sequence[Mapping[str, Any]] = ()
    ) -> Decision:
        worded = {}
        if rule.worded:
            for name in alert.notifiers:
                template = rule.template_for(name)
                if template is not None:
                    worded[name] = render(template, alert, name, items)
        return Decision(rule.name, alert, None, alert.notifiers, alert.severity, worded)

    def _batch(
        self, rule: _Rule, dest: Destination, alert: Alert, at: float, *, reread: bool
    ) -> Decision:
        key = digest.key(rule.name, dest.key, alert.notifiers)
        batch = self._state.get(key)
        grouped = Decision(rule.name, None, GROUPED, alert.notifiers, alert.severity)
        if reread and batch is not None:
            return grouped  # the batch kept it the first time
        if batch is not None and digest.is_open(batch, at):
            self._state.put(key, digest.add(batch, alert, at))
            return grouped
        if not dest.group_wait:
            # No wait: the first goes now, later ones gather for group_interval.
            self._state.put(
                key,
                digest.start(
                    rule.name,
                    alert,
                    at,
                    flush_at=None,
                    interval=dest.group_interval,
                    notifiers=alert.notifiers,
                ),
            )
            return self._decision(rule, alert)
        self._state.put(
            key,
            digest.start(
                rule.name,
                alert,
                at,
                flush_at=at + dest.group_wait,
                interval=dest.group_interval,
                notifiers=alert.notifiers,
            ),
        )
        return grouped

    def _flush(self, rule: _Rule, key: str, batch: GroupState, at: float) -> list[Decision]:
        decisions: list[Decision] = []
        if batch.pending and batch.snapshot.get("first") is not None:
            alert, items = digest.flush(key, batch)
            if self._batch_heard(rule, key, alert, at):
                decisions.append(self._decision(rule, alert, items))
        emptied = digest.after_flush(batch, at)
        if emptied is None:
            self._state.delete(key)
        else:
            self._state.put(key, emptied)
        return decisions

    def _batch_heard(self, rule: _Rule, key: str, alert: Alert, at: float) -> bool:
        """Whether a due batch may go out now: its route not muted, the rule not silenced."""
        now = _datetime(at)
        routes = [
            dest
            for dest in self._destinations(rule, alert)
            if digest.key(rule.name, dest.key, alert.notifiers) == key
        ]
        if any(dest.muted(now) for dest in routes):
            return False
        return self._silencer is None or not self._silencer.silenced(alert, now)

    def _build(
        self,
        event: Event,
        rule: _Rule,
        extracted: Mapping[str, str],
        occurrence: str,
        severity: Severity,
        count: int,
        first_seen: float,
        now: datetime,
        at: float,
    ) -> Alert:
        """``now`` is ``at`` as a datetime (``evaluate``'s)."""
        redact = self._redact
        text, message, exc_message = redact.event_texts(
            event.text, event.message, event.exc_message
        )
        exc_type = event.exc_type
        if exc_type is not None:
            exc_type = masked_type(event, exc_type, text)
        fields = redact.fields(event.fields)
        if extracted:
            # Groups are taken again from the redacted text: a group that overlapped
            # a masked secret comes out masked, or (no match any more) is masked whole.
            masked = rule.matcher.groups(message, exc_message)
            fields.update(redact.fields({name: masked.get(name, MASK) for name in extracted}))
        # what _datetime(at) would make again, where a float holds every microsecond
        last_seen = now if now.tzinfo is UTC and -_EXACT_S < at < _EXACT_S else _datetime(at)
        title = alerts.title(exc_type, exc_message, message, text, cut="cut" in event.flags)
        origin = event.origin
        # Positional, in the fields' order: matching 25 keywords to the fields
        # took longer than building the rest of the alert.
        alert = Alert(
            occurrence, AlertStatus.FIRING, rule.name, severity, title,
            self._host, origin.source, origin.path, event.first_line, event.last_line,
            exc_type, exc_message, event.fingerprint, count,
            last_seen if first_seen == at else _datetime(first_seen), last_seen,
            self._labels, text, rule.spec.notify, event.level, event.logger, message,
            fields, self._context(rule, event), (self._host,),
        )
        if not rule.labels:
            return alert
        # Label templates see the alert as built so far: redacted values only.
        variables = template_context(alert)
        labels = dict(self._labels)
        labels.update((name, render_label(value, variables)) for name, value in rule.labels)
        return dataclasses.replace(alert, labels=labels)

    def _context(self, rule: _Rule, event: Event) -> tuple[str, ...]:
        if not event.context:
            return ()
        keep = rule.spec.context_lines
        if keep is None:
            keep = self._source_context.get(event.origin.source, len(event.context))
        lines = event.context[max(0, len(event.context) - keep) :]
        if not lines or keep == 0:
            return ()
        # Joined first: a secret spanning lines (a PEM block) is one match.
        return tuple(self._redact("\n".join(lines)).split("\n"))

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
        counted: bool = False,
    ) -> None:
        """Record an occurrence that sent nothing: it keeps the group from resolving.

        ``pending`` (held back by the cooldown) and ``counted`` (below the
        threshold) occurrences are counted by a later alert, which also says
        on which hosts they were seen.
        """
        if group is None:
            if not counted:
                return  # nothing sent yet: no cooldown to count for, nothing to resolve
            group = GroupState(rule=rule.name, last_seen=at)
        changes: dict[str, object] = {"last_seen": max(group.last_seen, at)}
        if pending or counted:
            changes["hosts"] = _hosts(group.hosts, self._host)
        if group.incident_id is not None:
            changes["incident_count"] = group.incident_count + 1
            changes["incident_hosts"] = _hosts(group.incident_hosts, self._host)
        if pending:
            changes["pending"] = group.pending + 1
            changes["pending_first_seen"] = group.pending_first_seen or at
            changes["pending_last_id"] = occurrence
        self._state.put(key, self._schedule(rule, group.replace(**changes)))

    def _sent(
        self,
        rule: _Rule,
        key: str,
        group: GroupState | None,
        alert: Alert,
        at: float,
        notifiers: tuple[str, ...],
    ) -> None:
        incident_id, incident_first, incident_count = None, None, 0
        notified: tuple[str, ...] = ()
        incident_hosts: tuple[str, ...] = ()
        quiet = self._quiet(rule, group)
        if group is not None and group.incident_id is not None and quiet:
            incident_id = group.incident_id
            incident_first = group.incident_first_seen
            incident_count = group.incident_count + 1
            notified = _union(group.notified, notifiers)
            incident_hosts = tuple(sorted({*group.incident_hosts, *alert.hosts}))
        elif quiet:
            incident_id = alert.id
            incident_first = alert.first_seen.timestamp()
            incident_count = alert.count
            notified = notifiers
            incident_hosts = alert.hosts
        updated = GroupState(
            rule=rule.name,
            last_seen=at if group is None else max(group.last_seen, at),
            last_sent_at=at,
            last_sent_id=alert.id,
            incident_id=incident_id,
            incident_first_seen=incident_first,
            incident_count=incident_count,
            notified=notified,
            resolve_after_s=quiet,
            incident_hosts=incident_hosts,
            snapshot=alert.payload(),
            # Occurrences held back during the last cooldown: the storm goes on.
            cooldown_s=self._next_cooldown(rule, group, grow=bool(group and group.pending)),
        )
        self._state.put(key, self._schedule(rule, updated))

    def _schedule(self, rule: _Rule, group: GroupState) -> GroupState:
        """Set when `tick` next has work for the group, and when it may be forgotten."""
        due: list[float] = []
        keep: list[float] = [group.last_seen]
        cooldown, resolve_after = self._cooldown(rule, group), self._quiet(rule, group)
        if cooldown and group.last_sent_at is not None:
            keep.append(group.last_sent_at + cooldown)
            if group.pending:
                due.append(group.last_sent_at + cooldown)
        if rule.spec.threshold is not None and group.last_sent_at is not None:
            keep.append(group.last_sent_at + rule.spec.threshold.within)
        if rule.spec.threshold is not None and group.last_sent_at is None:
            keep.append(group.last_seen + rule.spec.threshold.within)  # hosts below it
        if resolve_after and group.incident_id is not None:
            due.append(group.last_seen + resolve_after)
            keep.append(group.last_seen + resolve_after)
        else:
            resolve_after = None
        return group.replace(
            due_at=min(due) if due else None,
            expires_at=max(keep),
            resolve_after_s=resolve_after,
        )

    def _quiet(self, rule: _Rule, group: GroupState | None) -> float | None:
        """How long the group must be quiet to resolve: as its rule says, else (a
        reload took the rule's `resolve_after` away) as when its incident opened."""
        quiet = self._resolve_after[rule.name]
        if quiet is None and group is not None and group.incident_id is not None:
            return group.resolve_after_s
        return quiet

    def _tick_group(
        self, rule: _Rule, key: str, group: GroupState, at: float
    ) -> list[Decision]:
        decisions: list[Decision] = []
        resolve_after = self._quiet(rule, group)
        resolving = (
            bool(resolve_after)
            and group.incident_id is not None
            and at >= group.last_seen + (resolve_after or 0.0)
        )
        cooldown_over = group.last_sent_at is None or at >= group.last_sent_at + self._cooldown(
            rule, group
        )
        if group.pending and (cooldown_over or resolving):
            group = self._send_summary(rule, key, group, at, decisions)
        if resolving:
            decisions.extend(self._resolve(rule, key, group, at))
        else:
            self._state.put(key, self._schedule(rule, group))
        return decisions

    def _send_summary(
        self, rule: _Rule, key: str, group: GroupState, at: float, decisions: list[Decision]
    ) -> GroupState:
        """Send what the cooldown held back (into ``decisions``); return the group after it."""
        summary = self._summary(group, key)
        # Muted and silenced as of now, when it would go out: quiet hours may
        # have begun, or a silence been added, since the occurrences came.
        destinations = self._unmuted(
            rule, summary, self._destinations(rule, summary), _datetime(at)
        )
        if not destinations:
            # Like an occurrence muted on arrival: nothing sent, no cooldown begun.
            return group.replace(
                pending=0, pending_first_seen=None, pending_last_id=None, hosts=()
            )
        sent = self._send(rule, summary, destinations, at, batch=False)
        decisions.extend(sent)
        return group.replace(
            notified=(
                _union(group.notified, _notifiers(sent))
                if group.incident_id is not None
                else group.notified
            ),
            last_sent_at=at,
            last_sent_id=summary.id,
            pending=0,
            pending_first_seen=None,
            pending_last_id=None,
            hosts=(),
            snapshot=summary.payload(),
            cooldown_s=self._next_cooldown(rule, group, grow=True),
        )

    def _summary(self, group: GroupState, key: str) -> Alert:
        """The alert for what the cooldown held back: how many, since when."""
        base = Alert.from_payload(group.snapshot)
        return dataclasses.replace(
            base,
            id=alerts.digest(key, "held-back", group.pending_last_id or ""),
            status=AlertStatus.FIRING,
            count=group.pending,
            hosts=group.hosts or base.hosts,
            first_seen=_datetime(group.pending_first_seen or group.last_seen),
            last_seen=_datetime(group.last_seen),
        )

    def _resolve(
        self, rule: _Rule | None, key: str, group: GroupState, at: float
    ) -> list[Decision]:
        """Close the group's incident and forget the group: `resolved` to where the
        rule sends now and to every notifier its firing alerts went to.

        ``rule`` is None when a reload removed it: only the latter then, or for a
        group stored before those were, where the routes send now.
        """
        resolved = self._resolved(group, key)
        decisions: list[Decision] = []
        if rule is not None:
            destinations = self._destinations(rule, resolved)
            decisions = self._send(rule, resolved, destinations, at, batch=False)
        elif not group.notified:
            # Stored before the notifiers were: where the routes send it now, if anywhere.
            routed = self._router.destinations(alert_labels(resolved))
            group = group.replace(notified=_union((), [n for d in routed for n in d.notifiers]))
        told = set(_notifiers(decisions))
        missed = tuple(name for name in group.notified if name not in told)
        if missed:
            decisions.append(self._resolved_to(rule, group.rule, resolved, missed))
        fingerprint = resolved.fingerprint or f"message:{resolved.message}"
        self._state.resolve_fingerprint(alerts.digest("fingerprint", fingerprint), at)
        # Forget the group: a later occurrence opens a new incident, with
        # no cooldown left over from this one.
        self._state.delete(key)
        return decisions

    def _orphaned(self, key: str, group: GroupState, at: float) -> list[Decision]:
        """A group whose rule a reload removed, renamed or turned to `drop`.

        Its open incident is resolved when it would have been (a provider would
        keep it open for good otherwise), and a batch it filled goes out when due;
        anything else goes with the rule.
        """
        if group.kind == "digest":
            return self._orphaned_batch(key, group, at)
        quiet = group.resolve_after_s
        if group.kind != "group" or group.incident_id is None or quiet is None:
            self._state.delete(key)
            return []
        resolve_at = group.last_seen + quiet
        if at < resolve_at:
            # Due for a cooldown summary, which went with the rule.
            expires_at = max(group.expires_at or resolve_at, resolve_at)
            self._state.put(key, group.replace(due_at=resolve_at, expires_at=expires_at))
            return []
        decisions = self._resolve(None, key, group, at)
        if decisions:
            _logger().info("rule %r is no longer configured: resolved its open incident via %s",
                        group.rule, ", ".join(decisions[0].notifiers))
        else:
            _logger().warning("rule %r is no longer configured, and no notifier is known for its"
                           " open incident %s: no resolved notice sent", group.rule, key)
        return decisions

    def _orphaned_batch(self, key: str, batch: GroupState, at: float) -> list[Decision]:
        """A batch whose rule a reload took away, now due: what it holds was decided
        before the reload, so it goes out, worded by each notifier's own template; no
        later batch follows it."""
        decisions: list[Decision] = []
        if batch.pending and batch.snapshot.get("first") is not None:
            alert, items = digest.flush(key, batch)
            if self._silencer is None or not self._silencer.silenced(alert, _datetime(at)):
                decisions.append(self._ruleless_decision(batch.rule, alert, items))
        self._state.delete(key)
        return decisions

    def _resolved_to(
        self, rule: _Rule | None, name: str, alert: Alert, notifiers: tuple[str, ...]
    ) -> Decision:
        """``alert`` for ``notifiers``, worded by rule ``name`` if it is still configured."""
        alert = dataclasses.replace(alert, notifiers=notifiers)
        if rule is not None:
            return self._decision(rule, alert)
        return self._ruleless_decision(name, alert)

    def _ruleless_decision(
        self, name: str, alert: Alert, items: Sequence[Mapping[str, Any]] = ()
    ) -> Decision:
        """``_decision`` for rule ``name``, which a reload removed: worded by each
        notifier's own template alone."""
        worded = {
            notifier: render(template, alert, notifier, items)
            for notifier in alert.notifiers
            if (template := self._notifier_templates.get(notifier)) is not None
        }
        return Decision(name, alert, None, alert.notifiers, alert.severity, worded)

    def _resolved(self, group: GroupState, key: str) -> Alert:
        base = Alert.from_payload(group.snapshot)
        return dataclasses.replace(
            base,
            id=alerts.digest(key, "resolved", group.incident_id or ""),
            status=AlertStatus.RESOLVED,
            count=group.incident_count,
            # every host the incident was seen on, not only those of the last summary;
            # a record written before incident_hosts existed has the snapshot's
            hosts=group.incident_hosts or base.hosts,
            first_seen=_datetime(group.incident_first_seen or group.last_seen),
            last_seen=_datetime(group.last_seen),
        )

    # -- cooldown growth -----------------------------------------------------

    def _cooldown(self, rule: _Rule, group: GroupState | None) -> float:
        """The group's current cooldown: grown, or the rule's first span."""
        initial, growth = rule.spec.cooldown or 0.0, rule.spec.cooldown_growth
        if not initial or growth is None or group is None or group.cooldown_s is None:
            return initial
        # The stored span was grown under the config of its time: a reload may
        # since have shortened the cooldown or its max, or turned growth off.
        return min(max(group.cooldown_s, initial), max(growth.max, initial))

    def _next_cooldown(self, rule: _Rule, group: GroupState | None, *, grow: bool) -> float | None:
        """The cooldown after a send: grown while the storm goes on, reset after quiet."""
        growth, initial = rule.spec.cooldown_growth, rule.spec.cooldown
        if growth is None or not initial:
            return None
        if not grow:
            return initial
        return min(self._cooldown(rule, group) * growth.factor, max(growth.max, initial))


def _seconds(now: datetime) -> float:
    if now.tzinfo is None:
        raise ValueError("the rule engine needs an aware datetime (UTC), got a naive one")
    return now.timestamp()


def _logger() -> logging.Logger:
    # imported when needed: replay decides with this engine and never logs (its start-up)
    import logging

    return logging.getLogger(__name__)


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _notifiers(decisions: Sequence[Decision]) -> tuple[str, ...]:
    """Every notifier the decisions reach (or batch for), each once, in order."""
    return _union((), [name for decision in decisions for name in decision.notifiers])


def _union(first: Sequence[str], more: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *more]))


def _hosts(hosts: Sequence[str], host: str) -> tuple[str, ...]:
    """The hosts with ``host`` added, sorted so that every daemon writes the same value."""
    return tuple(sorted({*hosts, host}))

