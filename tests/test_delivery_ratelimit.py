"""Rate limits: a notifier sends no faster than its provider accepts, and drops nothing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from logwatch.config import RateConfig, load_config_text
from logwatch.daemon.runner import rate_limits
from logwatch.delivery import fold
from logwatch.delivery.ratelimit import RateLimiter
from logwatch.delivery.worker import DeliveryWorker
from logwatch.errors import ConfigError
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers.base import RateLimit
from logwatch.store import Delivery, Store
from logwatch.testing import RecordingNotifier, sample_alert

FIVE_A_MINUTE = (RateLimit(count=5, per_s=60.0),)


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.in_dir(tmp_path)


def worker(
    store: Store,
    clock: Clock,
    notifiers: dict[str, RecordingNotifier],
    rates: dict[str, Sequence[RateLimit]],
) -> DeliveryWorker:
    return DeliveryWorker(store, notifiers, clock=clock, rng=lambda: 1.0, rates=rates)


def queue(store: Store, notifier: str, ids: Sequence[str], at: float, **fields: object) -> None:
    alerts = [sample_alert(id=i, title=f"error {i}", **fields) for i in ids]
    store.commit([], [Delivery(alert, notifier) for alert in alerts], now=at)


def most_in_any_window(times: Sequence[float], window_s: float) -> int:
    return max((sum(1 for t in times if start <= t < start + window_s) for start in times),
               default=0)


def is_digest(alert: Alert) -> bool:
    return fold.FOLDED_ROWS in alert.fields


class TestRateLimiter:
    def test_allows_count_sends_per_window_then_says_when(self) -> None:
        """5 a minute: five sends at once, the sixth when the first leaves the window."""
        limiter = RateLimiter(FIVE_A_MINUTE)
        assert [limiter.take(0.0) for _ in range(6)] == [True] * 5 + [False]
        assert limiter.free_at(0.0) == 60.0
        assert not limiter.take(59.9)
        assert limiter.take(60.0)

    def test_no_window_ever_holds_more_than_count(self) -> None:
        """Unlike a refilling bucket, a burst and its refill never make 2N in one window."""
        limiter = RateLimiter(FIVE_A_MINUTE)
        sent = [t / 2 for t in range(600) if limiter.take(t / 2)]
        assert most_in_any_window(sent, 60.0) == 5
        assert len(sent) == 25  # 5 at 0, 60, 120, 180, 240 s

    def test_every_limit_holds_at_once(self) -> None:
        """Feishu's 5 a second and 100 a minute: both hold, the tighter one at each scale."""
        limiter = RateLimiter((RateLimit(5, 1.0), RateLimit(100, 60.0)))
        sent = [t / 10 for t in range(1200) if limiter.take(t / 10)]
        assert most_in_any_window(sent, 1.0) == 5
        assert most_in_any_window(sent, 60.0) == 100

    def test_sends_of_an_earlier_run_count(self) -> None:
        """Seeded with the last minute's sends, a new limiter does not grant a fresh window."""
        limiter = RateLimiter(FIVE_A_MINUTE)
        limiter.seed([0.0, 1.0, 2.0, 3.0, 4.0])
        assert not limiter.take(10.0)
        assert limiter.free_at(10.0) == 60.0

    def test_capacity_is_the_largest_window_count(self) -> None:
        assert RateLimiter((RateLimit(5, 1.0), RateLimit(100, 60.0))).capacity == 100


class TestPacing:
    def test_storm_is_sent_as_five_alerts_one_of_them_a_digest(self, store: Store) -> None:
        """100 alerts to a 5/min notifier: at most 5 sends a minute, one digest, nothing lost."""
        clock, slow = Clock(), RecordingNotifier("slow")
        ids = [f"a{n:03d}" for n in range(100)]
        queue(store, "slow", ids, at=0.0)
        delivery = worker(store, clock, {"slow": slow}, {"slow": FIVE_A_MINUTE})
        sent_at: list[float] = []
        for second in range(180):
            clock.now = float(second)
            before = len(slow.sent)
            asyncio.run(delivery.drain_once())
            sent_at += [clock.now] * (len(slow.sent) - before)

        assert most_in_any_window(sent_at, 60.0) <= 5
        first_minute = slow.sent[: sum(1 for t in sent_at if t < 60.0)]
        assert len(first_minute) == 5
        (digest,) = [alert for alert in first_minute if is_digest(alert)]
        assert digest.title == "96 more alerts"
        lines = digest.text.splitlines()  # 50 titles by name, then a count
        assert (lines[0], lines[-1]) == ("1x error a004", "... and 46 more (46 titles)")
        singles = {alert.id for alert in first_minute if not is_digest(alert)}
        assert singles | set(digest.fields[fold.FOLDED_ALERTS]) == set(ids)
        folded_rows = {row.id for row in store.outbox("folded", 1000)}
        assert set(digest.fields[fold.FOLDED_ROWS]) == folded_rows
        assert len(folded_rows) == 96
        assert store.outbox_counts() == {"pending": 0, "sent": 5, "dead": 0, "folded": 96}

    def test_waiting_for_the_window_is_not_a_failed_attempt(self, store: Store) -> None:
        """Rows held back by the rate keep attempts=0 and no error, and go when there is room."""
        clock, slow = Clock(), RecordingNotifier("slow")
        delivery = worker(store, clock, {"slow": slow}, {"slow": (RateLimit(3, 60.0),)})
        queue(store, "slow", ["a", "b", "c"], at=0.0)
        asyncio.run(delivery.drain_once())
        clock.now = 1.0
        queue(store, "slow", ["d", "e"], at=1.0)
        assert asyncio.run(delivery.drain_once()) == 0
        waiting = store.outbox("pending")
        assert [(row.attempts, row.last_error) for row in waiting] == [(0, None)] * 2
        assert store.next_attempt_at() == 60.0  # the worker sleeps until the window has room
        assert (delivery.failed, len(slow.attempts)) == (0, 3)
        clock.now = 60.0
        assert asyncio.run(delivery.drain_once()) == 2
        assert [alert.id for alert in slow.sent] == ["a", "b", "c", "d", "e"]

    def test_a_limited_notifier_does_not_hold_up_the_others(self, store: Store) -> None:
        clock = Clock()
        slow, fast = RecordingNotifier("slow"), RecordingNotifier("fast")
        delivery = worker(
            store, clock, {"slow": slow, "fast": fast}, {"slow": (RateLimit(1, 60.0),)}
        )
        for n in range(3):
            queue(store, "slow", [f"s{n}"], at=0.0)
            queue(store, "fast", [f"f{n}"], at=0.0)
        asyncio.run(delivery.drain_once())
        assert [alert.id for alert in fast.sent] == ["f0", "f1", "f2"]
        assert len(slow.sent) == 1

    def test_resolved_alerts_are_never_folded(self, store: Store) -> None:
        """A resolve closes its own incident; folded into a digest it could not."""
        clock, slow = Clock(), RecordingNotifier("slow")
        queue(store, "slow", ["r1", "r2"], at=0.0, status=AlertStatus.RESOLVED)
        queue(store, "slow", [f"f{n}" for n in range(6)], at=0.0)
        delivery = worker(store, clock, {"slow": slow}, {"slow": (RateLimit(3, 60.0),)})
        asyncio.run(delivery.drain_once())
        folded = [row.alert_id for row in store.outbox("folded")]
        assert sorted(folded) == [f"f{n}" for n in range(6)]
        resolved = [alert.id for alert in slow.sent if alert.status is AlertStatus.RESOLVED]
        assert resolved == ["r1", "r2"]

    def test_a_digest_folded_again_lists_everything(self, store: Store) -> None:
        """A second overflow merges the waiting digest: one digest names every folded alert."""
        clock, slow = Clock(), RecordingNotifier("slow")
        delivery = worker(store, clock, {"slow": slow}, {"slow": (RateLimit(3, 60.0),)})
        queue(store, "slow", ["a", "b", "c"], at=0.0)
        asyncio.run(delivery.drain_once())  # the window is full now
        clock.now = 1.0
        queue(store, "slow", [f"x{n}" for n in range(10)], at=1.0)
        asyncio.run(delivery.drain_once())
        clock.now = 2.0
        queue(store, "slow", [f"y{n}" for n in range(10)], at=2.0)
        asyncio.run(delivery.drain_once())
        clock.now = 60.0
        asyncio.run(delivery.drain_once())

        digest = slow.sent[-1]
        assert digest.title == "18 more alerts"
        sent = {alert.id for alert in slow.sent if not is_digest(alert)}
        everything = {"a", "b", "c"} | {f"x{n}" for n in range(10)} | {f"y{n}" for n in range(10)}
        assert sent | set(digest.fields[fold.FOLDED_ALERTS]) == everything
        assert set(digest.fields[fold.FOLDED_ROWS]) == {row.id for row in store.outbox("folded")}
        assert store.outbox_counts()["pending"] == 0

    def test_a_restart_remembers_the_sends_of_the_last_window(self, store: Store) -> None:
        """A reload builds a new worker; sends it did not make still count against the window."""
        clock, slow = Clock(), RecordingNotifier("slow")
        queue(store, "slow", [f"a{n}" for n in range(5)], at=0.0)
        asyncio.run(worker(store, clock, {"slow": slow}, {"slow": FIVE_A_MINUTE}).drain_once())
        clock.now = 10.0
        queue(store, "slow", ["late"], at=10.0)
        restarted = worker(store, clock, {"slow": slow}, {"slow": FIVE_A_MINUTE})
        assert asyncio.run(restarted.drain_once()) == 0
        assert store.next_attempt_at() == 60.0

    def test_a_reload_counts_the_sends_the_old_worker_still_makes(self, store: Store) -> None:
        """The worker a reload starts counts the old one's sends in flight against the window,
        though none of them is recorded as sent yet."""
        clock, slow = Clock(10.0), RecordingNotifier("slow")
        queue(store, "slow", [f"a{n}" for n in range(5)], at=0.0)
        in_flight = store.due(10.0, 5)
        queue(store, "slow", ["late"], at=10.0)
        reloaded = DeliveryWorker(
            store, {"slow": slow}, clock=clock, rng=lambda: 1.0,
            rates={"slow": FIVE_A_MINUTE}, sending_elsewhere=lambda: in_flight,
        )
        assert asyncio.run(reloaded.drain_once()) == 0
        assert store.next_attempt_at(after=10.0) == 70.0


class TestDigest:
    def test_digest_lists_titles_with_counts_and_shares_only_common_facts(
        self, store: Store
    ) -> None:
        alerts = [sample_alert(id=f"a{n}", title="db down") for n in range(3)]
        alerts.append(sample_alert(id="b", title="cache down", rule="cache", fingerprint="f2"))
        store.commit([], [Delivery(alert, "slow") for alert in alerts], now=0.0)
        digest = fold.digest_alert(store.pending_for("slow"), "slow")
        assert (digest.title, digest.text) == ("4 more alerts", "3x db down\n1x cache down")
        assert (digest.rule, digest.fingerprint) == (fold.RULE, None)
        assert digest.notifiers == ("slow",)
        assert digest.status is AlertStatus.FIRING

    def test_digest_of_one_rule_keeps_the_rule(self, store: Store) -> None:
        alerts = [dataclasses.replace(sample_alert(), id=f"a{n}") for n in range(2)]
        store.commit([], [Delivery(alert, "slow") for alert in alerts], now=0.0)
        assert fold.digest_alert(store.pending_for("slow"), "slow").rule == "db-down"


class TestRateConfig:
    @staticmethod
    def notifier_rate(entry: str) -> tuple[RateConfig, ...]:
        config = load_config_text(f"notifiers:\n  out: {entry}\n", environ={})
        return config.notifiers["out"].rate

    def test_the_providers_documented_limit_applies_by_default(self) -> None:
        rate = self.notifier_rate('{type: dingtalk, access_token: t0k3n-example}')
        assert rate == (RateConfig(count=20, per=60.0),)

    def test_generic_webhook_has_no_limit_of_its_own(self) -> None:
        assert self.notifier_rate('{type: webhook, url: "http://127.0.0.1:9/"}') == ()

    def test_rate_overrides_the_default(self) -> None:
        rate = self.notifier_rate(
            '{type: dingtalk, access_token: t0k3n-example, rate: {per: 1m, count: 5}}'
        )
        assert rate == (RateConfig(count=5, per=60.0),)

    def test_several_limits_and_none(self) -> None:
        several = self.notifier_rate(
            '{type: webhook, url: "http://127.0.0.1:9/",'
            " rate: [{per: 1s, count: 5}, {per: 1m, count: 100}]}"
        )
        assert several == (RateConfig(count=5, per=1.0), RateConfig(count=100, per=60.0))
        unlimited = self.notifier_rate('{type: slack, url: "https://hooks.slack.com/x", rate: off}')
        assert unlimited == ()

    def test_a_bad_rate_is_reported_where_it_is(self) -> None:
        text = (
            'notifiers:\n  out: {type: webhook, url: "http://127.0.0.1:9/",\n'
            "    rate: {per: 1m, count: 0}}\n"
        )
        with pytest.raises(ConfigError) as caught:
            load_config_text(text, path="c.yaml", environ={})
        (problem,) = caught.value.problems
        assert (problem.line, "notifiers.out.rate.count" in problem.message) == (3, True)

    def test_the_daemon_hands_each_notifiers_limits_to_the_worker(self) -> None:
        config = load_config_text(
            "notifiers:\n  ding: {type: dingtalk, access_token: t0k3n-example}\n"
            "  console: {type: console}\n",
            environ={},
        )
        assert rate_limits(config) == {"ding": (RateLimit(count=20, per_s=60.0),), "console": ()}
