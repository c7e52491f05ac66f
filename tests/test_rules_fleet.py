"""Rule engines of several hosts sharing one state: one alert, counts and hosts summed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from logwatch.config import RuleConfig
from logwatch.model import Alert, AlertStatus
from logwatch.rules import (
    COOLDOWN,
    SILENCED,
    THRESHOLD,
    Decision,
    LabelMatcher,
    MemoryRuleState,
    RuleEngine,
    Silence,
    SilenceSet,
)
from tests.rules_support import host_event

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fleet(*hosts: str, **rule: Any) -> dict[str, RuleEngine]:
    """One engine per host, all deciding with the same state, as with `backend: redis`."""
    shared = MemoryRuleState()
    spec = RuleConfig.model_validate({"name": "db", "match": {}, "notify": ["hook"], **rule})
    return {
        host: RuleEngine([spec], host=host, labels={}, state=shared) for host in hosts
    }


def sent(decisions: list[Decision]) -> list[Alert]:
    return [decision.alert for decision in decisions if decision.alert is not None]


def reasons(decisions: list[Decision]) -> list[str | None]:
    return [decision.suppressed for decision in decisions]


class TestCooldown:
    def test_the_first_host_alerts_and_the_others_are_held_back(self) -> None:
        engines = fleet("web-1", "web-2", cooldown="10m")
        [first] = sent(engines["web-1"].evaluate(host_event("web-1", 0), at(0)))
        assert (first.count, first.hosts) == (1, ("web-1",))
        assert reasons(engines["web-2"].evaluate(host_event("web-2", 0), at(5))) == [COOLDOWN]

    def test_the_summary_counts_every_host_and_names_them(self) -> None:
        engines = fleet("web-1", "web-2", cooldown="10m")
        engines["web-1"].evaluate(host_event("web-1", 0), at(0))
        engines["web-2"].evaluate(host_event("web-2", 0), at(5))
        engines["web-2"].evaluate(host_event("web-2", 100), at(6))
        engines["web-1"].evaluate(host_event("web-1", 100), at(7))
        [summary] = sent(engines["web-2"].tick(at(600)))
        assert (summary.count, summary.hosts) == (3, ("web-1", "web-2"))
        assert sent(engines["web-1"].tick(at(601))) == []  # sent once, by whoever ticked first

    def test_after_the_cooldown_the_next_alert_counts_what_was_held_back(self) -> None:
        engines = fleet("web-1", "web-2", cooldown="10m")
        engines["web-1"].evaluate(host_event("web-1", 0), at(0))
        engines["web-2"].evaluate(host_event("web-2", 0), at(5))
        [alert] = sent(engines["web-1"].evaluate(host_event("web-1", 100), at(600)))
        assert (alert.count, alert.hosts) == (2, ("web-1", "web-2"))


class TestThreshold:
    def test_occurrences_on_every_host_add_up(self) -> None:
        """'5 in 1 minute': 3 on web-1 and 2 on web-2 make one alert of 5, from both."""
        engines = fleet("web-1", "web-2", threshold={"count": 5, "within": "1m"})
        decisions = []
        for n in range(3):
            decisions += engines["web-1"].evaluate(host_event("web-1", n * 100), at(n))
        decisions += engines["web-2"].evaluate(host_event("web-2", 0), at(10))
        decisions += engines["web-2"].evaluate(host_event("web-2", 100), at(11))
        assert reasons(decisions) == [THRESHOLD] * 4 + [None]
        [alert] = sent(decisions)
        assert (alert.count, alert.hosts) == (5, ("web-1", "web-2"))

    def test_a_lone_host_below_the_threshold_keeps_nothing_past_the_window(self) -> None:
        engines = fleet("web-1", threshold={"count": 5, "within": "1m"})
        engines["web-1"].evaluate(host_event("web-1", 0), at(0))
        engines["web-1"].tick(at(120))
        later = [
            decision
            for n in range(5)
            for decision in engines["web-1"].evaluate(host_event("web-1", 100 + n), at(200 + n))
        ]
        [alert] = sent(later)
        assert (alert.count, alert.hosts) == (5, ("web-1",))


class TestResolved:
    def test_resolved_names_every_host_of_the_incident_not_the_last_summarys(self) -> None:
        """web-1 alerted, web-2's occurrence went out in the summary: both saw the incident
        its `resolved` notice counts, so it names both."""
        engines = fleet("web-1", "web-2", cooldown="10m", resolve_after="30m")
        engines["web-1"].evaluate(host_event("web-1", 0), at(0))
        engines["web-2"].evaluate(host_event("web-2", 0), at(5))
        [summary] = sent(engines["web-2"].tick(at(600)))
        assert summary.hosts == ("web-2",)
        [resolved] = sent(engines["web-1"].tick(at(5 + 1800)))
        assert (resolved.status, resolved.count, resolved.hosts) == (
            AlertStatus.RESOLVED, 2, ("web-1", "web-2")
        )

    def test_silenced_occurrences_count_their_host_as_they_count_in_the_total(self) -> None:
        """An occurrence silenced on web-2 adds to the incident's count, so web-2 is named."""
        shared = MemoryRuleState()
        spec = RuleConfig.model_validate(
            {"name": "db", "match": {}, "notify": ["hook"], "resolve_after": "30m"}
        )
        web1 = RuleEngine([spec], host="web-1", labels={}, state=shared)
        silence = Silence("s1", (LabelMatcher.parse("host=web-2"),), at(0), at(3600))
        web2 = RuleEngine(
            [spec], host="web-2", labels={}, state=shared, silencer=SilenceSet([silence])
        )
        web1.evaluate(host_event("web-1", 0), at(0))
        assert reasons(web2.evaluate(host_event("web-2", 0), at(5))) == [SILENCED]
        [resolved] = sent(web1.tick(at(5 + 1800)))
        assert (resolved.count, resolved.hosts) == (2, ("web-1", "web-2"))
