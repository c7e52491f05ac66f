"""The rule engine: which rule decides, thresholds, cooldowns, resolve, ids, state."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from logwatch.config import RuleConfig
from logwatch.model import Alert, AlertStatus, Event, ExceptionInfo, Origin, Severity
from logwatch.rules import (
    Decision,
    MemoryRuleState,
    Redactor,
    RuleEngine,
    RuleState,
    SqliteRuleState,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ORIGIN = Origin(source="web", path="/var/log/shop/app.log", file_uid="uid-1")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(
    offset: int = 0,
    *,
    exc_type: str | None = "sqlalchemy.exc.OperationalError",
    exc_message: str = "could not connect",
    level: str | None = "ERROR",
    message: str = "query failed",
    fingerprint: str | None = "fp1:db",
    text: str | None = None,
    origin: Origin = ORIGIN,
) -> Event:
    chain = (ExceptionInfo(exc_type, exc_message),) if exc_type else ()
    return Event(
        origin=origin,
        first_line=offset + 1,
        last_line=offset + 3,
        start_offset=offset,
        end_offset=offset + 1,
        text=text if text is not None else f"ERROR app.db {message}\n{exc_type}: {exc_message}",
        message=message,
        level=level,
        logger="app.db",
        chain=chain,
        fingerprint=fingerprint,
    )


def rule(name: str, **fields: Any) -> RuleConfig:
    return RuleConfig.model_validate({"name": name, "match": {}, "notify": ["slack"], **fields})


def engine(*rules: RuleConfig, state: RuleState | None = None) -> RuleEngine:
    return RuleEngine(rules, host="web-1", labels={"service": "shop"}, state=state)


def sent(decisions: Iterable[Decision]) -> list[Alert]:
    return [d.alert for d in decisions if d.alert is not None]


class TestWhichRuleDecides:
    def test_first_match_wins(self) -> None:
        """Only the first matching rule decides about an event."""
        decisions = engine(rule("db"), rule("errors")).evaluate(event(), T0)
        assert [d.rule for d in decisions] == ["db"]

    def test_continue_also_tries_the_next_rules(self) -> None:
        """`continue: true` lets the rules after a match decide too, each with its own alert."""
        decisions = engine(rule("db", **{"continue": True}), rule("errors")).evaluate(event(), T0)
        assert [d.rule for d in decisions] == ["db", "errors"]
        ids = {alert.id for alert in sent(decisions)}
        assert len(ids) == 2

    def test_non_matching_rules_are_skipped(self) -> None:
        """A rule whose match fails is passed over, not a stop."""
        rules = (rule("warnings", match={"level": ["WARNING"]}), rule("errors"))
        assert [d.rule for d in engine(*rules).evaluate(event(), T0)] == ["errors"]

    def test_event_no_rule_matches_is_not_sent(self) -> None:
        """An event that matches no rule gives no decision at all."""
        assert engine(rule("warnings", match={"level": ["WARNING"]})).evaluate(event(), T0) == []

    def test_config_order_holds_between_rules_with_and_without_literals(self) -> None:
        """Rules an event's text rules out are passed over; the rest keep their order."""
        rules = (
            rule("disk", match={"message": "(disk|quota) full"}),
            rule("errors", match={"level": ["ERROR"]}),
            rule("late-disk", match={"message": "disk full"}),
        )
        decide = engine(*rules).evaluate

        def rules_for(message: str, **fields: Any) -> list[str | None]:
            return [d.rule for d in decide(event(message=message, **fields), T0)]

        assert rules_for("disk full", exc_type=None) == ["disk"]
        assert rules_for("all well", exc_type=None) == ["errors"]
        assert rules_for("x", exc_message="quota full") == ["disk"]
        assert rules_for("disk full", exc_type=None, level="INFO") == ["disk"]
        assert rules_for("all well", exc_type=None, level="INFO") == []

    def test_traceback_rules_are_tried_only_where_they_can_match(self) -> None:
        rules = (
            rule("tracebacks", match={"traceback": True}),
            rule("records", match={"traceback": False}),
        )
        decide = engine(*rules).evaluate
        assert [d.rule for d in decide(event(), T0)] == ["tracebacks"]
        assert [d.rule for d in decide(event(exc_type=None), T0)] == ["records"]

    def test_drop_stops_and_sends_nothing(self) -> None:
        """A matching `drop` rule ends the search, even before a rule that would alert."""
        rules = (
            rule("ignore", match={"exception": ["*OperationalError"]}, action="drop"),
            rule("errors"),
        )
        assert engine(*rules).evaluate(event(), T0) == [
            Decision("ignore", None, "dropped-by-rule", ())
        ]

    def test_rule_without_notifiers_is_no_route(self) -> None:
        """A rule that names no notifier has nowhere to send: suppressed `no-route`."""
        [decision] = engine(rule("quiet", notify=[])).evaluate(event(), T0)
        assert (decision.alert, decision.suppressed) == (None, "no-route")

    def test_naive_now_is_refused(self) -> None:
        """Time must be UTC-aware: a naive datetime would shift every window by the TZ."""
        with pytest.raises(ValueError, match="aware"):
            engine(rule("errors")).evaluate(event(), datetime(2026, 1, 1))  # noqa: DTZ001

    def test_unknown_group_by_field_is_refused_at_construction(self) -> None:
        """A typo in group_by fails when the engine is built, not on the first event."""
        with pytest.raises(ValueError, match="cannot group by 'fingerprnt'"):
            engine(rule("errors", group_by=["fingerprnt"]))


class TestAlertContent:
    def test_traceback_alert_fields(self) -> None:
        """A traceback's alert carries its origin, the short type title and the global labels."""
        [alert] = sent(engine(rule("db", severity="critical")).evaluate(event(), T0))
        assert alert.status is AlertStatus.FIRING
        assert alert.title == "OperationalError: could not connect"
        assert alert.severity is Severity.CRITICAL
        assert (alert.host, alert.source, alert.file) == ("web-1", "web", ORIGIN.path)
        assert (alert.first_line, alert.last_line) == (1, 3)
        assert alert.exc_type == "sqlalchemy.exc.OperationalError"
        assert alert.labels == {"service": "shop"}
        assert (alert.count, alert.first_seen, alert.last_seen) == (1, T0, T0)
        assert alert.notifiers == ("slack",)
        assert (alert.level, alert.logger, alert.message) == ("ERROR", "app.db", "query failed")
        assert (alert.rule, alert.exc_message, alert.fingerprint) == (
            "db", "could not connect", "fp1:db"
        )
        assert alert.text == event().text
        assert (alert.fields, alert.context, alert.hosts) == ({}, (), ("web-1",))

    def test_times_are_in_utc_whatever_the_zone_of_now(self) -> None:
        """An alert decided at a time given in another zone still says it in UTC."""
        east = T0.astimezone(timezone(timedelta(hours=2)))
        [alert] = sent(engine(rule("db")).evaluate(event(), east))
        assert alert.last_seen == T0
        assert alert.payload()["last_seen"] == "2026-01-01T12:00:00Z"

    def test_record_without_traceback_is_titled_by_its_message(self) -> None:
        """A plain record's title is its message."""
        [alert] = sent(engine(rule("e")).evaluate(event(exc_type=None, message="disk full"), T0))
        assert alert.title == "disk full"
        assert alert.exc_type is None

    @pytest.mark.parametrize(
        ("level", "exc_type", "expected"),
        [
            ("CRITICAL", None, Severity.CRITICAL),
            ("FATAL", None, Severity.CRITICAL),
            ("ERROR", None, Severity.ERROR),
            ("WARNING", None, Severity.WARNING),
            ("WARN", None, Severity.WARNING),
            ("INFO", None, Severity.INFO),
            ("DEBUG", None, Severity.INFO),
            (None, "ValueError", Severity.ERROR),
            (None, None, Severity.INFO),
        ],
    )
    def test_severity_derived_from_level(
        self, level: str | None, exc_type: str | None, expected: Severity
    ) -> None:
        """Without a rule severity, the level decides; a bare traceback is an error."""
        [decision] = engine(rule("r")).evaluate(event(level=level, exc_type=exc_type), T0)
        assert decision.alert is not None
        assert decision.alert.severity is expected
        assert decision.severity is expected

    def test_rule_severity_overrides_level(self) -> None:
        """`severity:` on the rule wins over the record's level."""
        [alert] = sent(engine(rule("r", severity="info")).evaluate(event(level="CRITICAL"), T0))
        assert alert.severity is Severity.INFO


class TestIds:
    def test_same_occurrence_same_id_in_two_engines(self) -> None:
        """Two engines fed the same events (a restart that re-reads) produce the same ids."""
        config = rule("db", cooldown="1m", resolve_after="5m")
        runs = []
        for _ in range(2):
            rules_engine = engine(config)
            decisions = [*rules_engine.evaluate(event(0), at(0))]
            decisions += rules_engine.evaluate(event(100), at(10))
            decisions += rules_engine.tick(at(60))
            decisions += rules_engine.tick(at(400))
            runs.append([alert.id for alert in sent(decisions)])
        assert len(runs[0]) == 3
        assert len(set(runs[0])) == 3
        assert runs[0] == runs[1]

    def test_id_depends_on_file_offset_and_rule(self) -> None:
        """Another offset, another file or another rule is another occurrence."""
        rules_engine = engine(rule("a", **{"continue": True}), rule("b"))
        other_file = Origin(source="web", path="/var/log/shop/app.log", file_uid="uid-2")
        ids = [
            alert.id
            for e in (event(0), event(1), event(0, origin=other_file))
            for alert in sent(rules_engine.evaluate(e, T0))
        ]
        assert len(set(ids)) == 6


class TestThreshold:
    def test_alerts_on_the_nth_occurrence_within_the_window(self) -> None:
        """threshold 3 in 1m: two are held back, the third alerts and counts all three."""
        rules_engine = engine(rule("db", threshold={"count": 3, "within": "1m"}))
        first = rules_engine.evaluate(event(0), at(0))
        second = rules_engine.evaluate(event(1), at(30))
        [third] = rules_engine.evaluate(event(2), at(50))
        assert [d.suppressed for d in (*first, *second)] == ["threshold", "threshold"]
        assert third.alert is not None
        assert (third.alert.count, third.alert.first_seen, third.alert.last_seen) == (
            3,
            at(0),
            at(50),
        )

    def test_next_alert_counts_only_occurrences_after_the_last(self) -> None:
        """Without a cooldown each occurrence past the threshold alerts, counting itself only."""
        rules_engine = engine(rule("db", threshold={"count": 2, "within": "1m"}))
        rules_engine.evaluate(event(0), at(0))
        [second] = sent(rules_engine.evaluate(event(1), at(1)))
        rules_engine.tick(at(2))
        [third] = sent(rules_engine.evaluate(event(2), at(3)))
        assert (second.count, third.count, third.first_seen) == (2, 1, at(3))

    def test_window_slides(self) -> None:
        """Occurrences older than `within` stop counting: 0, 40, 70 is two in the window."""
        rules_engine = engine(rule("db", threshold={"count": 3, "within": "1m"}))
        results = [
            rules_engine.evaluate(event(i), at(t))[0].suppressed
            for i, t in enumerate((0, 40, 70, 90))
        ]
        assert results == ["threshold", "threshold", "threshold", None]

    def test_spread_out_occurrences_never_alert(self) -> None:
        """One a minute never reaches 3 within a minute."""
        rules_engine = engine(rule("db", threshold={"count": 3, "within": "1m"}))
        assert all(
            rules_engine.evaluate(event(i), at(61 * i))[0].suppressed == "threshold"
            for i in range(10)
        )

    def test_groups_count_separately(self) -> None:
        """Each fingerprint has its own window."""
        rules_engine = engine(rule("db", threshold={"count": 2, "within": "1m"}))
        rules_engine.evaluate(event(0, fingerprint="fp1:a"), at(0))
        [other] = rules_engine.evaluate(event(1, fingerprint="fp1:b"), at(1))
        [same] = rules_engine.evaluate(event(2, fingerprint="fp1:a"), at(2))
        assert (other.suppressed, same.suppressed) == ("threshold", None)

    def test_reread_occurrence_counts_once(self) -> None:
        """The same bytes read twice (after a crash) are one occurrence, not two."""
        rules_engine = engine(rule("db", threshold={"count": 2, "within": "1m"}))
        rules_engine.evaluate(event(0), at(0))
        [again] = rules_engine.evaluate(event(0), at(1))
        assert again.suppressed == "threshold"


class TestCooldown:
    def test_storm_gives_one_alert_then_one_summary(self) -> None:
        """1,000 identical tracebacks in 10 s, cooldown 1m: one alert, then one carrying 999."""
        rules_engine = engine(rule("db", cooldown="1m"))
        decisions = [
            d for i in range(1000) for d in rules_engine.evaluate(event(i * 200), at(i * 0.01))
        ]
        [first] = sent(decisions)
        assert first.count == 1
        assert [d.suppressed for d in decisions].count("cooldown") == 999
        assert rules_engine.tick(at(59.9)) == []

        [summary] = sent(rules_engine.tick(at(60)))
        assert summary.count == 999
        assert summary.first_seen == at(0.01)
        assert summary.last_seen == at(9.99)
        assert summary.status is AlertStatus.FIRING
        assert summary.id != first.id
        assert rules_engine.tick(at(600)) == []

    def test_next_alert_after_cooldown_carries_the_held_back_count(self) -> None:
        """If an occurrence comes before the tick, its alert counts those held back."""
        rules_engine = engine(rule("db", cooldown="1m"))
        rules_engine.evaluate(event(0), at(0))
        rules_engine.evaluate(event(1), at(10))
        rules_engine.evaluate(event(2), at(20))
        [alert] = sent(rules_engine.evaluate(event(3), at(70)))
        assert (alert.count, alert.first_seen, alert.last_seen) == (3, at(10), at(70))
        assert rules_engine.tick(at(200)) == []

    def test_summary_starts_a_new_cooldown(self) -> None:
        """After the summary, the group is quiet for another cooldown."""
        rules_engine = engine(rule("db", cooldown="1m"))
        rules_engine.evaluate(event(0), at(0))
        rules_engine.evaluate(event(1), at(1))
        rules_engine.tick(at(60))
        [decision] = rules_engine.evaluate(event(2), at(90))
        assert decision.suppressed == "cooldown"

    def test_cooldown_is_per_group(self) -> None:
        """Another fingerprint is not held back by the first one's cooldown."""
        rules_engine = engine(rule("db", cooldown="1m"))
        rules_engine.evaluate(event(0, fingerprint="fp1:a"), at(0))
        [other] = rules_engine.evaluate(event(1, fingerprint="fp1:b"), at(1))
        assert other.suppressed is None

    def test_group_by_rule_shares_one_cooldown(self) -> None:
        """`group_by: [rule]` makes every occurrence of the rule one group."""
        rules_engine = engine(rule("db", cooldown="1m", group_by=["rule"]))
        rules_engine.evaluate(event(0, fingerprint="fp1:a"), at(0))
        [other] = rules_engine.evaluate(event(1, fingerprint="fp1:b"), at(1))
        assert other.suppressed == "cooldown"

    def test_threshold_then_cooldown(self) -> None:
        """Below the threshold is `threshold`; past it but inside the cooldown is `cooldown`."""
        rules_engine = engine(rule("db", threshold={"count": 2, "within": "1m"}, cooldown="10m"))
        reasons = [rules_engine.evaluate(event(i), at(i))[0].suppressed for i in range(4)]
        assert reasons == ["threshold", None, "cooldown", "cooldown"]

    def test_reread_of_the_alerted_occurrence_is_sent_again(self) -> None:
        """A crash between deciding and queueing re-reads the event: same alert, not `cooldown`."""
        rules_engine = engine(rule("db", cooldown="10m"))
        [first] = sent(rules_engine.evaluate(event(0), at(0)))
        [again] = rules_engine.evaluate(event(0), at(5))
        assert again.alert == first


class TestResolve:
    def test_resolved_after_quiet_period(self) -> None:
        """resolve_after 15m: a `resolved` notice once the group is quiet that long."""
        rules_engine = engine(rule("db", resolve_after="15m"))
        [opening] = sent(rules_engine.evaluate(event(0), at(0)))
        [follow] = sent(rules_engine.evaluate(event(1), at(300)))
        assert rules_engine.tick(at(300 + 899)) == []

        [resolved] = sent(rules_engine.tick(at(300 + 900)))
        assert resolved.status is AlertStatus.RESOLVED
        assert (resolved.count, resolved.first_seen, resolved.last_seen) == (2, at(0), at(300))
        assert resolved.id not in {opening.id, follow.id}
        assert resolved.notifiers == ("slack",)
        assert rules_engine.tick(at(5000)) == []

    def test_held_back_occurrences_keep_the_group_firing(self) -> None:
        """Occurrences suppressed by the cooldown are not quiet; the summary precedes resolve."""
        rules_engine = engine(rule("db", cooldown="1h", resolve_after="5m"))
        rules_engine.evaluate(event(0), at(0))
        rules_engine.evaluate(event(1), at(200))
        assert rules_engine.tick(at(400)) == []
        summary, resolved = sent(rules_engine.tick(at(500)))
        assert (summary.status, summary.count) == (AlertStatus.FIRING, 1)
        assert (resolved.status, resolved.count) == (AlertStatus.RESOLVED, 2)

    def test_new_incident_after_resolve(self) -> None:
        """After `resolved`, the next occurrence alerts at once and later resolves anew."""
        rules_engine = engine(rule("db", cooldown="1h", resolve_after="5m"))
        rules_engine.evaluate(event(0), at(0))
        [first_resolved] = sent(rules_engine.tick(at(300)))
        [decision] = rules_engine.evaluate(event(1), at(400))
        assert decision.suppressed is None
        [second_resolved] = sent(rules_engine.tick(at(700)))
        assert second_resolved.id != first_resolved.id

    def test_without_resolve_after_nothing_resolves(self) -> None:
        rules_engine = engine(rule("db"))
        rules_engine.evaluate(event(0), at(0))
        assert rules_engine.tick(at(86400)) == []


class TestSilencer:
    def test_silenced_alert_does_not_start_a_cooldown(self) -> None:
        """A silenced occurrence sends nothing, and the first one after the silence alerts."""

        class Window:
            def silenced(self, alert: Alert, now: datetime) -> bool:
                return now < at(100)

        rules_engine = RuleEngine(
            [rule("db", cooldown="1h")], host="h", labels={}, silencer=Window()
        )
        [muted] = rules_engine.evaluate(event(0), at(0))
        [after] = rules_engine.evaluate(event(1), at(101))
        assert (muted.suppressed, muted.alert) == ("silenced", None)
        assert after.suppressed is None


    def test_a_silence_added_during_a_cooldown_mutes_its_summary(self) -> None:
        """Occurrences held back before a silence began are not summed up while it holds."""

        class From30s:
            def silenced(self, alert: Alert, now: datetime) -> bool:
                return now >= at(30)

        rules_engine = RuleEngine(
            [rule("db", cooldown="1m")], host="h", labels={}, silencer=From30s()
        )
        assert sent(rules_engine.evaluate(event(0), at(0)))
        assert rules_engine.evaluate(event(1), at(10))[0].suppressed == "cooldown"
        assert rules_engine.tick(at(60)) == []
        assert rules_engine.tick(at(3600)) == []


class TestSqliteState:
    def test_cooldown_survives_a_new_engine_on_the_same_file(self, tmp_path: Path) -> None:
        """A restart keeps the cooldown: no second page, and the summary still comes."""
        db = tmp_path / "state.db"
        before = SqliteRuleState(db)
        [first] = sent(engine(rule("db", cooldown="10m"), state=before).evaluate(event(0), at(0)))
        before.close()

        after = SqliteRuleState(db)
        restarted = engine(rule("db", cooldown="10m"), state=after)
        [held] = restarted.evaluate(event(1), at(60))
        assert held.suppressed == "cooldown"
        [summary] = sent(restarted.tick(at(600)))
        assert summary.count == 1
        assert summary.title == first.title
        after.close()

    def test_resolve_survives_a_restart(self, tmp_path: Path) -> None:
        db = tmp_path / "state.db"
        before = SqliteRuleState(db)
        engine(rule("db", resolve_after="5m"), state=before).evaluate(event(0), at(0))
        before.close()
        after = SqliteRuleState(db)
        [resolved] = sent(engine(rule("db", resolve_after="5m"), state=after).tick(at(300)))
        assert resolved.status is AlertStatus.RESOLVED
        after.close()

    def test_a_shorter_cooldown_applies_after_a_reload(self, tmp_path: Path) -> None:
        """A cooldown grown to 2h under the old config ends after the new 1m, not the old 2h."""
        state = SqliteRuleState(tmp_path / "state.db")
        grown = {"cooldown": "1h", "cooldown_growth": {"max": "8h"}}
        old = engine(rule("db", **grown), state=state)
        old.evaluate(event(0), at(0))
        old.evaluate(event(1), at(10))
        [summary] = sent(old.tick(at(3600)))  # the storm went on: the next cooldown is 2h
        assert summary.count == 1

        reloaded = engine(rule("db", cooldown="1m"), state=state)
        [decision] = reloaded.evaluate(event(2), at(3600 + 61))
        assert decision.suppressed is None
        state.close()

    def test_a_lower_growth_max_applies_after_a_reload(self, tmp_path: Path) -> None:
        """A cooldown grown past the new `cooldown_growth.max` is cut down to it."""
        state = SqliteRuleState(tmp_path / "state.db")
        old = engine(rule("db", cooldown="1h", cooldown_growth={"max": "8h"}), state=state)
        old.evaluate(event(0), at(0))
        old.evaluate(event(1), at(10))
        old.tick(at(3600))  # next cooldown 2h
        reloaded = engine(rule("db", cooldown="1h", cooldown_growth={"max": "90m"}), state=state)
        assert reloaded.evaluate(event(2), at(3600 + 5399))[0].suppressed == "cooldown"
        assert reloaded.evaluate(event(3), at(3600 + 5400))[0].suppressed is None
        state.close()

    def test_state_of_a_removed_rule_without_an_incident_is_dropped(
        self, tmp_path: Path
    ) -> None:
        """After a reload without the rule, its cooldown summary is not sent, and a
        group with no incident open (no `resolve_after`) is forgotten."""
        state = SqliteRuleState(tmp_path / "state.db")
        old = engine(rule("db", cooldown="1m"), state=state)
        old.evaluate(event(0), at(0))
        old.evaluate(event(1), at(1))
        assert engine(rule("other"), state=state).tick(at(3600)) == []
        assert state.due(at(7200).timestamp()) == []
        assert state.prune(at(7200).timestamp()) == 0  # deleted at the tick, not left to expire
        state.close()


class TestIncidentsOutliveTheirRule:
    """An incident open in PagerDuty, Opsgenie or Alertmanager is resolved even when a
    reload or a restart took its rule, or the rule's `resolve_after`, away."""

    def test_a_removed_rules_incident_resolves_as_the_rule_would_have(
        self, tmp_path: Path
    ) -> None:
        """Restarted without the rule: no cooldown summary, and at the time the rule
        would have sent it, the same `resolved` notice, to the same notifier."""
        db = tmp_path / "state.db"
        before = SqliteRuleState(db)
        kept = MemoryRuleState()
        for state in (before, kept):
            old = engine(rule("db", cooldown="1m", resolve_after="5m"), state=state)
            old.evaluate(event(0), at(0))
            old.evaluate(event(1), at(1))  # held back by the cooldown
        before.close()

        after = SqliteRuleState(db)
        restarted = engine(rule("other", notify=["mail"]), state=after)
        assert restarted.tick(at(60)) == []
        assert restarted.tick(at(1 + 299)) == []
        [resolved] = restarted.tick(at(1 + 300))
        assert resolved.alert is not None
        assert (resolved.rule, resolved.alert.status, resolved.notifiers) == (
            "db", AlertStatus.RESOLVED, ("slack",)
        )
        unchanged = engine(rule("db", cooldown="1m", resolve_after="5m"), state=kept)
        _summary, expected = sent(unchanged.tick(at(1 + 300)))
        assert resolved.alert == expected
        assert restarted.tick(at(86400)) == []
        after.close()

    def test_a_batch_waiting_when_its_rule_goes_is_still_sent_when_due(self) -> None:
        """Alerts decided before the reload wait in a batch for `group_wait`: the rule's
        removal does not throw them away; the digest goes out when due, to where
        it was bound, and nothing is batched for the rule after it."""
        state = MemoryRuleState()
        old = engine(rule("db", group_wait="30s"), state=state)
        assert [d.suppressed for d in old.evaluate(event(0), at(0))] == ["grouped"]
        assert [d.suppressed for d in old.evaluate(event(1), at(5))] == ["grouped"]

        reloaded = engine(rule("other", notify=["mail"]), state=state)
        assert reloaded.tick(at(29)) == []
        [digest] = reloaded.tick(at(30))
        assert digest.alert is not None
        assert (digest.rule, digest.notifiers, digest.alert.count) == ("db", ("slack",), 2)
        assert reloaded.tick(at(3600)) == []  # sent once, the batch gone with its rule

    def test_a_rule_that_loses_resolve_after_still_resolves_its_open_incident(self) -> None:
        """Occurrences after the reload keep the incident open, as before it; once quiet
        for the old `resolve_after` it resolves, and no new incident opens after it."""
        state = MemoryRuleState()
        engine(rule("db", cooldown="1m", resolve_after="5m"), state=state).evaluate(
            event(0), at(0)
        )
        reloaded = engine(rule("db", cooldown="1m"), state=state)
        [firing] = sent(reloaded.evaluate(event(1), at(120)))
        assert reloaded.tick(at(120 + 299)) == []
        [resolved] = sent(reloaded.tick(at(120 + 300)))
        assert (resolved.status, resolved.count, resolved.notifiers) == (
            AlertStatus.RESOLVED, 2, ("slack",)
        )
        assert resolved.last_seen == firing.last_seen
        assert sent(reloaded.evaluate(event(2), at(1000)))
        assert reloaded.tick(at(86400)) == []

    def test_the_resolve_also_reaches_the_notifiers_the_alert_went_to(self) -> None:
        """A reload moved the rule from `slack` to `pager`: the incident was opened in
        slack, so slack gets the `resolved` notice too."""
        state = MemoryRuleState()
        engine(rule("db", resolve_after="5m"), state=state).evaluate(event(0), at(0))
        reloaded = engine(rule("db", resolve_after="5m", notify=["pager"]), state=state)
        decisions = reloaded.tick(at(300))
        assert [(d.alert.status, d.notifiers) for d in decisions if d.alert is not None] == [
            (AlertStatus.RESOLVED, ("pager",)), (AlertStatus.RESOLVED, ("slack",))
        ]

    def test_an_incident_stored_by_an_older_version_still_resolves(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A state database written before notifiers were stored: a kept rule resolves
        as it did then, and a removed one, with no route to send it, is dropped and
        said so in the daemon's log."""
        db = tmp_path / "state.db"
        state = SqliteRuleState(db)
        api = rule("api", resolve_after="5m", match={"source": "api"})
        old = engine(api, rule("db", resolve_after="5m"), state=state)
        old.evaluate(event(0), at(0))
        old.evaluate(event(0, origin=Origin("api", "/srv/api.log", "uid-2")), at(0))
        state.close()
        with sqlite3.connect(db) as raw:  # as the previous version wrote them
            for key, value in raw.execute("SELECT key, value FROM rule_groups").fetchall():
                old_value = json.loads(value)
                del old_value["notified"], old_value["resolve_after_s"]
                raw.execute("UPDATE rule_groups SET value = ? WHERE key = ?",
                            (json.dumps(old_value), key))
        raw.close()

        state = SqliteRuleState(db)
        reloaded = engine(rule("db", resolve_after="5m"), state=state)
        with caplog.at_level(logging.WARNING, logger="logwatch.rules.engine"):
            decisions = reloaded.tick(at(300))
        assert [(d.rule, d.notifiers) for d in decisions] == [("db", ("slack",))]
        [message] = [record.getMessage() for record in caplog.records]
        assert "rule 'api' is no longer configured" in message
        assert "no resolved notice sent" in message
        assert state.due(at(86400).timestamp()) == []
        state.close()


class TestRedactionInAlerts:
    SECRET_TEXT = (
        "ERROR app.db connect to postgres://app:hunter2pass@db:5432/shop failed\n"
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in <module>\n'
        "    connect(password='s3cr3t-pw', token=tok_abcdef123456)\n"
        "ValueError: auth failed with Authorization: Bearer abc.def.ghi"
    )

    def test_no_secret_reaches_the_payload(self) -> None:
        """Secrets in the text, message and exception message never leave the engine."""
        e = event(
            exc_type="ValueError",
            exc_message="auth failed with Authorization: Bearer abc.def.ghi",
            message="connect to postgres://app:hunter2pass@db:5432/shop failed",
            text=self.SECRET_TEXT,
        )
        [alert] = sent(engine(rule("r")).evaluate(e, T0))
        body = json.dumps(alert.payload())
        for secret in ("hunter2pass", "s3cr3t-pw", "tok_abcdef123456", "abc.def.ghi"):
            assert secret not in body
        assert "postgres://app:***@db:5432/shop" in alert.message
        assert alert.title == "ValueError: auth failed with Authorization: Bearer ***"

    def test_secret_is_masked_before_the_title_is_cut(self) -> None:
        """A long title cut in the middle of a secret still shows none of it."""
        message = "x" * 190 + " password=hunter2hunter2"
        [alert] = sent(engine(rule("r")).evaluate(event(exc_type=None, message=message), T0))
        assert "hunter" not in alert.title
        assert len(alert.title) <= 200

    def test_user_patterns_apply(self) -> None:
        """Operator patterns are applied on top of the defaults."""
        rules_engine = RuleEngine(
            [rule("r")],
            host="h",
            labels={},
            redactor=Redactor([re.compile(r"customer=(\d+)")]),
        )
        e = event(exc_type=None, message="refund for customer=4711", text="customer=4711")
        [alert] = sent(rules_engine.evaluate(e, T0))
        assert (alert.message, alert.text) == ("refund for customer=***", "customer=***")

    def test_held_back_summary_is_redacted_too(self) -> None:
        """Alerts built by `tick` come from redacted snapshots."""
        rules_engine = engine(rule("r", cooldown="1m"))
        e = event(exc_type=None, message="token=abcdef123456", text="token=abcdef123456")
        rules_engine.evaluate(e, at(0))
        rules_engine.evaluate(event(1, exc_type=None, message="token=abcdef123456"), at(1))
        [summary] = sent(rules_engine.tick(at(60)))
        assert "abcdef123456" not in json.dumps(summary.payload())
