"""The delivery worker: outbox rows -> notifier calls, with retry and dead letters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logwatch.delivery.worker import DeliveryWorker
from logwatch.store import Delivery, Store
from logwatch.testing import RecordingNotifier, sample_alert


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.in_dir(tmp_path)


def worker_for(store: Store, notifier: RecordingNotifier, clock: Clock) -> DeliveryWorker:
    return DeliveryWorker(
        store,
        {"rec": notifier},
        initial_backoff_s=1,
        max_backoff_s=60,
        clock=clock,
        rng=lambda: 1.0,
    )


def queue(store: Store, *ids: str) -> None:
    store.commit([], [Delivery(sample_alert(id=i), "rec") for i in ids], now=1000.0)


class TestDeliveryWorker:
    def test_delivers_in_queue_order_and_marks_sent(self, store: Store) -> None:
        """Due rows are sent once each, in the order they were queued."""
        notifier, clock = RecordingNotifier(), Clock()
        queue(store, "a", "b", "c")
        assert asyncio.run(worker_for(store, notifier, clock).drain_once()) == 3
        assert [alert.id for alert in notifier.sent] == ["a", "b", "c"]
        assert store.outbox_counts() == {"pending": 0, "sent": 3, "dead": 0, "folded": 0}
        assert asyncio.run(worker_for(store, notifier, clock).drain_once()) == 0

    def test_retryable_failure_backs_off_then_delivers(self, store: Store) -> None:
        """A retryable failure is tried again after the backoff, not before."""
        notifier, clock = RecordingNotifier(), Clock()
        notifier.fail_next(2)
        queue(store, "a")
        worker = worker_for(store, notifier, clock)
        asyncio.run(worker.drain_once())
        assert store.next_attempt_at() == 1001.0  # 1 s step, jitter at its top
        assert asyncio.run(worker.drain_once()) == 0
        clock.now = 1001.0
        asyncio.run(worker.drain_once())
        assert store.next_attempt_at() == 1003.0  # the step doubled
        clock.now = 1003.0
        asyncio.run(worker.drain_once())
        assert [alert.id for alert in notifier.sent] == ["a"]
        assert len(notifier.attempts) == 3

    def test_retry_after_is_honoured(self, store: Store) -> None:
        """The provider's Retry-After sets the next attempt."""
        notifier, clock = RecordingNotifier(), Clock()
        notifier.fail_next(1, retry_after_s=42)
        queue(store, "a")
        asyncio.run(worker_for(store, notifier, clock).drain_once())
        assert store.next_attempt_at() == 1042.0

    def test_permanent_failure_is_dead_lettered_and_kept(self, store: Store) -> None:
        """A permanent failure is not retried; the row stays as a dead letter, requeueable."""
        notifier, clock = RecordingNotifier(), Clock()
        notifier.fail_next(1, permanent=True)
        queue(store, "a")
        worker = worker_for(store, notifier, clock)
        asyncio.run(worker.drain_once())
        assert store.outbox_counts()["dead"] == 1
        (row,) = store.outbox("dead")
        assert row.last_error is not None
        assert "permanently" in row.last_error
        store.requeue([row.id], now=clock.now)
        asyncio.run(worker.drain_once())
        assert [alert.id for alert in notifier.sent] == ["a"]

    def test_rows_for_an_unconfigured_notifier_are_kept_as_dead_letters(self, store: Store) -> None:
        """Removing a notifier from the config never silently drops its queued alerts."""
        store.commit([], [Delivery(sample_alert(id="a"), "gone")], now=1000.0)
        asyncio.run(worker_for(store, RecordingNotifier(), Clock()).drain_once())
        (row,) = store.outbox("dead")
        assert row.notifier == "gone"
