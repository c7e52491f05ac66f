"""The delivery worker: outbox rows -> notifier calls, with retry and dead letters."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from logwatch.delivery.worker import PER_NOTIFIER_CONCURRENCY, DeliveryWorker
from logwatch.model import Alert
from logwatch.notifiers._http import new_client
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.webhook import WebhookNotifier, WebhookOptions
from logwatch.store import DB_NAME, Delivery, OutboxRow, Store
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

    def test_rows_for_an_unconfigured_notifier_are_kept_as_dead_letters(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Removing a notifier from the config never silently drops its queued alerts:
        they are kept, and the daemon's log says so and how to send them."""
        store.commit([], [Delivery(sample_alert(id="a"), "gone")], now=1000.0)
        with caplog.at_level(logging.ERROR, logger="logwatch.delivery.worker"):
            asyncio.run(worker_for(store, RecordingNotifier(), Clock()).drain_once())
        (row,) = store.outbox("dead")
        assert row.notifier == "gone"
        [message] = [record.getMessage() for record in caplog.records]
        assert message == (f"alert a to gone dead-lettered: notifier 'gone' is not configured"
                           f" (add it back, then `logwatch outbox retry {row.id}`)")


# -- the run loop: real time, sends that hang ---------------------------------------------------


class Hang:
    """An endpoint that accepts each request and answers only after ``release`` (or 30 s)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self._held = 0
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        with self._lock:
            self._held += 1
        self.release.wait(30)
        return Response("gave up", status=503)

    def held(self) -> int:
        with self._lock:
            return self._held


class Sink:
    """A healthy endpoint: answers 200 at once and keeps the alert ids it was sent."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        with self._lock:
            self._ids.append(json.loads(request.get_data())["id"])
        return Response("ok", status=200)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._ids)


class Held:
    """A notifier whose sends wait for ``release``; it counts those started and cancelled."""

    def __init__(self, name: str = "rec") -> None:
        self.name = name
        self.release = asyncio.Event()
        self.started = 0
        self.cancelled = 0
        self.sent: list[str] = []

    async def send(self, alert: Alert) -> Receipt:
        self.started += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.sent.append(alert.id)
        return Receipt(status=None, detail="sent")

    async def aclose(self) -> None:
        pass


class CountingStore(Store):
    """A store that counts the outbox reads for due rows: a spinning worker shows here."""

    reads = 0

    def due(
        self,
        now: float,
        limit: int,
        *,
        skip_notifiers: Collection[str] = (),
        skip_ids: Collection[int] = (),
    ) -> list[OutboxRow]:
        self.reads += 1
        return super().due(now, limit, skip_notifiers=skip_notifiers, skip_ids=skip_ids)


def webhook(name: str, url: str, client: httpx.AsyncClient) -> WebhookNotifier:
    options = WebhookOptions.model_validate({"type": "webhook", "url": url})
    return WebhookNotifier(name, options, client=client)


async def four_in_flight_of_six(
    store: Store, held: Held
) -> tuple[asyncio.Task[None], asyncio.Event]:
    """A worker running over six rows for ``held``: four sends in flight, two waiting."""
    queue(store, *(f"a{n}" for n in range(6)))
    worker = DeliveryWorker(store, {"rec": held})
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(asyncio.Event(), stop))
    await until(lambda: held.started == PER_NOTIFIER_CONCURRENCY, 5, "four sends")
    return task, stop


async def until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll, letting the worker run, until ``predicate`` holds; fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.01)


async def stop_like_the_sender(
    task: asyncio.Task[None], stop: asyncio.Event, grace_s: float
) -> bool:
    """Set ``stop``, give the sends in flight ``grace_s``, then cancel: True if they finished."""
    stop.set()
    done, _ = await asyncio.wait([task], timeout=grace_s)
    if done:
        await task
        return True
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return False


def pending(store: Store) -> list[tuple[str, int, str | None]]:
    """The pending rows as (notifier, attempts, last error), oldest first."""
    rows = reversed(store.outbox("pending"))
    return [(row.notifier, row.attempts, row.last_error) for row in rows]


class TestRunLoop:
    def test_a_hanging_endpoint_delays_only_its_own_rows(
        self, store: Store, server: HTTPServer
    ) -> None:
        """Two webhooks per alert, one never answers: all 40 alerts reach the other one while
        the hung sends are in flight, and a stop leaves the hung rows queued, unattempted."""
        hang, sink = Hang(), Sink()
        server.expect_request("/hang", method="POST").respond_with_handler(hang.handle)
        server.expect_request("/ok", method="POST").respond_with_handler(sink.handle)
        ids = [f"a{n:02d}" for n in range(40)]
        # queued as the daemon queues a burst: each alert to both, the hung notifier's first,
        # so its rows have the lowest ids and more than one batch (50) is due
        store.commit(
            [], [Delivery(sample_alert(id=i), name) for i in ids for name in ("hung", "ok")],
            now=time.time(),
        )

        async def scenario() -> None:
            async with new_client(httpx.Timeout(30.0)) as client:
                notifiers = {
                    "hung": webhook("hung", server.url_for("/hang"), client),
                    "ok": webhook("ok", server.url_for("/ok"), client),
                }
                worker = DeliveryWorker(store, notifiers, initial_backoff_s=1, max_backoff_s=60)
                stop = asyncio.Event()
                task = asyncio.create_task(worker.run(asyncio.Event(), stop))
                await until(lambda: len(sink.ids()) == len(ids), 10, "every alert to reach /ok")
                assert hang.held() == PER_NOTIFIER_CONCURRENCY  # still in flight, unanswered
                assert not await stop_like_the_sender(task, stop, grace_s=0.2)
                # every send was cancelled and awaited: nothing is left to be destroyed pending
                assert asyncio.all_tasks() == {asyncio.current_task()}

        try:
            asyncio.run(scenario())
        finally:
            hang.release.set()
        assert sorted(sink.ids()) == ids
        assert pending(store) == [("hung", 0, None)] * len(ids)

    def test_stop_lets_the_sends_in_flight_finish_and_starts_no_more(self, store: Store) -> None:
        """After stop, what is in flight ends normally; the rows not yet started stay queued."""
        held = Held()

        async def scenario() -> None:
            task, stop = await four_in_flight_of_six(store, held)
            stop.set()
            held.release.set()
            assert await stop_like_the_sender(task, stop, grace_s=5.0)

        asyncio.run(scenario())
        assert (held.sent, held.cancelled) == (["a0", "a1", "a2", "a3"], 0)
        assert pending(store) == [("rec", 0, None)] * 2

    def test_cancelling_cancels_every_send_and_keeps_its_row(self, store: Store) -> None:
        """Past the grace period the sends are cancelled, awaited, and their rows stay pending."""
        held = Held()

        async def scenario() -> None:
            task, stop = await four_in_flight_of_six(store, held)
            assert not await stop_like_the_sender(task, stop, grace_s=0.1)
            assert asyncio.all_tasks() == {asyncio.current_task()}

        asyncio.run(scenario())
        assert (held.sent, held.cancelled) == ([], PER_NOTIFIER_CONCURRENCY)
        assert pending(store) == [("rec", 0, None)] * 6

    def test_waits_for_a_free_slot_instead_of_polling(self, tmp_path: Path) -> None:
        """Rows due but waiting for a slot (the in-flight ones are due too) do not make the
        worker read the outbox in a loop; a slot freed starts them."""
        store = CountingStore(tmp_path / DB_NAME)
        held = Held()
        queue(store, *(f"a{n}" for n in range(6)))

        async def scenario() -> None:
            worker = DeliveryWorker(store, {"rec": held})
            wake, stop = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(worker.run(wake, stop))
            await until(lambda: held.started == PER_NOTIFIER_CONCURRENCY, 5, "four sends")
            reads = store.reads
            await asyncio.sleep(0.3)  # a window for a spinning loop to show, not a sync point
            assert store.reads == reads
            held.release.set()
            await until(lambda: len(held.sent) == 6, 5, "the last two rows to be sent")
            queue(store, "late")
            wake.set()
            await until(lambda: len(held.sent) == 7, 5, "a row queued later to be sent")
            assert await stop_like_the_sender(task, stop, grace_s=5.0)

        asyncio.run(scenario())
        assert store.outbox_counts()["sent"] == 7


class TestReplacedWorker:
    def test_leaves_the_old_workers_rows_alone_until_it_gives_them_back(
        self, store: Store
    ) -> None:
        """A worker that replaces a stopped one (a reload) sends the other rows at once, and
        the rows whose sends the old one had in flight only once those are cancelled: each
        row once, by one worker at a time."""
        held, fresh = Held(), RecordingNotifier("rec")
        queue(store, *(f"a{n}" for n in range(6)))

        async def scenario() -> None:
            old = DeliveryWorker(store, {"rec": held})
            old_stop = asyncio.Event()
            old_task = asyncio.create_task(old.run(asyncio.Event(), old_stop))
            await until(lambda: held.started == PER_NOTIFIER_CONCURRENCY, 5, "four sends")
            old_stop.set()
            new = DeliveryWorker(store, {"rec": fresh}, sending_elsewhere=lambda: old.sending)
            wake, stop = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(new.run(wake, stop))
            await until(lambda: len(fresh.sent) >= 2, 5, "the rows not in flight")
            assert [alert.id for alert in fresh.sent] == ["a4", "a5"]
            assert not await stop_like_the_sender(old_task, old_stop, grace_s=0.1)
            wake.set()  # as the sender thread does when a retired worker has ended
            await until(lambda: len(fresh.sent) == 6, 5, "the cancelled rows")
            assert await stop_like_the_sender(task, stop, grace_s=5.0)

        asyncio.run(scenario())
        assert sorted(alert.id for alert in fresh.sent) == [f"a{n}" for n in range(6)]
        assert (held.sent, held.cancelled) == ([], PER_NOTIFIER_CONCURRENCY)
        assert store.outbox_counts()["sent"] == 6
