"""Outbox rows -> notifier calls: retry with backoff, dead-letter what cannot succeed.

The worker owns nothing but a store connection and the notifiers. It reads due
rows in id order, sends them with bounded concurrency per notifier, and records
each outcome, so a dead endpoint only ever delays its own rows: each send is a
task of its own, and whenever one ends (or new rows are committed, or a retry
comes due) the worker starts the due rows of every notifier with a free slot.
A notifier whose slots are all taken by sends that hang is left out of the
outbox query, so its backlog never stands in front of the others' rows.

On stop, the sends in flight may finish and no new ones start; the caller
cancels the worker when it will wait no longer, and the rows of cancelled
sends stay pending. A worker that replaces a stopped one (a reload) is told
which rows that one is still sending, and neither sends nor folds them.

A notifier with a rate limit sends no faster than it allows: its rows wait
(no attempt counted) until the window has room, and a backlog beyond one
window's worth is folded into one digest row (``delivery.fold``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from logwatch.delivery import fold
from logwatch.delivery.backoff import next_delay_s
from logwatch.delivery.ratelimit import RateLimiter
from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.notifiers.base import Notifier, RateLimit
from logwatch.store import Delivery, OutboxRow, Store

logger = logging.getLogger(__name__)

PER_NOTIFIER_CONCURRENCY = 4
IDLE_RECHECK_S = 30.0  # safety net in case a wake-up is missed


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one delivery attempt ended, for metrics and self-monitoring."""

    row: OutboxRow
    result: str  # "sent" | "retry" | "dead"
    at: float  # wall-clock seconds, the worker's clock
    error: str | None = None


# An outcome hook may answer with deliveries to queue (self-monitoring alerts).
OutcomeHook = Callable[[Outcome], Sequence[Delivery]]


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        *,
        initial_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        batch: int = 50,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        on_outcome: OutcomeHook | None = None,
        rates: Mapping[str, Sequence[RateLimit]] | None = None,
        sending_elsewhere: Callable[[], Iterable[OutboxRow]] = tuple,
    ) -> None:
        self._store = store
        self._notifiers = notifiers
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._batch = batch
        self._clock = clock
        self._rng = rng
        self._on_outcome = on_outcome
        self._sending_elsewhere = sending_elsewhere
        # the sends under way, each with its row; at most PER_NOTIFIER_CONCURRENCY a notifier
        self._in_flight: dict[asyncio.Task[None], OutboxRow] = {}
        self._limiters = {
            name: RateLimiter(limits) for name, limits in (rates or {}).items() if limits
        }
        now = clock()
        elsewhere = Counter(row.notifier for row in sending_elsewhere())
        for name, limiter in self._limiters.items():
            # a restart or reload must not grant a fresh window right after a burst,
            # nor leave out the sends the worker this one replaces is still making
            limiter.seed(store.sent_times(name, since=now - limiter.longest_s))
            limiter.seed([now] * elsewhere[name])
        self.sent = 0
        self.failed = 0

    @property
    def sending(self) -> list[OutboxRow]:
        """The rows being sent right now."""
        return list(self._in_flight.values())

    async def run(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; ``wake`` says new rows were committed.

        Once ``stop`` is set, the sends in flight may finish; whoever stops the
        worker cancels it when it will wait no longer. Cancelled sends are
        awaited before this returns, and their rows stay pending.
        """
        try:
            while not stop.is_set():
                wake.clear()  # before reading the outbox: a commit after this sets it again
                now = self._clock()
                self._launch_due(now)
                done = await self._wait_any(wake, stop, self._idle_s(now))
                self._settle(done)
            if self._in_flight:
                done, _ = await asyncio.wait(list(self._in_flight))
                self._settle(done)
        finally:
            await self._cancel_in_flight()

    async def drain_once(self) -> int:
        """Send the rows that are due now and wait for them; return how many were attempted."""
        now = self._clock()
        attempted: set[int] = set()
        try:
            while True:
                # each row once: one retried without delay must not loop here
                attempted.update(row.id for row in self._launch_due(now, skip_ids=attempted))
                if not self._in_flight:
                    return len(attempted)
                done, _ = await asyncio.wait(
                    list(self._in_flight), return_when=asyncio.FIRST_COMPLETED
                )
                self._settle(done)
        finally:
            await self._cancel_in_flight()

    def _launch_due(self, now: float, skip_ids: Collection[int] = ()) -> list[OutboxRow]:
        """Start sending the rows due at ``now`` whose notifier has a free slot, in id order.

        A notifier with all its slots taken (say, by sends to an endpoint that
        never answers) is left out of the query: its backlog neither fills the
        batch nor holds up the rows of the others.
        """
        self._fold_backlogs(now)
        launched: list[OutboxRow] = []
        while True:
            busy = Counter(row.notifier for row in self._in_flight.values())
            full = [name for name, sends in busy.items() if sends >= PER_NOTIFIER_CONCURRENCY]
            skip = [*skip_ids, *(row.id for row in self._in_flight.values()),
                    *(row.id for row in self._sending_elsewhere())]
            rows = self._store.due(now, self._batch, skip_notifiers=full, skip_ids=skip)
            for row in self._pace(rows, now, busy):
                self._in_flight[asyncio.create_task(self._deliver(row))] = row
                launched.append(row)
            if len(rows) < self._batch:
                # every due row was seen: sent, held back by its rate, or its notifier is full
                return launched

    def _idle_s(self, now: float) -> float:
        """How long to wait for a send to end or a wake-up before looking at the outbox again."""
        # rows due already are in flight or wait for a slot, which a send ending frees
        next_at = self._store.next_attempt_at(after=now)
        if next_at is None:
            return IDLE_RECHECK_S
        return min(max(0.0, next_at - self._clock()), IDLE_RECHECK_S)

    async def _wait_any(
        self, wake: asyncio.Event, stop: asyncio.Event, timeout_s: float
    ) -> set[asyncio.Task[None]]:
        """Wait for a send to end, ``wake``, ``stop`` or the timeout; return the ended sends."""
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            done, _ = await asyncio.wait(
                [*waiters, *self._in_flight],
                timeout=timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        return {task for task in self._in_flight if task in done}

    def _settle(self, done: Iterable[asyncio.Task[None]]) -> None:
        """Forget sends that ended; one that failed outside the notifier ends delivery loudly."""
        for task in done:
            del self._in_flight[task]
            task.result()

    async def _cancel_in_flight(self) -> None:
        """Cancel the sends in flight and wait until they are gone; their rows stay pending."""
        tasks = list(self._in_flight)
        self._in_flight.clear()
        for task in tasks:
            task.cancel()
        # awaited, or closing the loop would find them pending
        await asyncio.gather(*tasks, return_exceptions=True)

    def _pace(
        self, rows: Sequence[OutboxRow], now: float, busy: Counter[str]
    ) -> list[OutboxRow]:
        """The rows to send now: their notifier has a free slot (counted in ``busy``) and
        its rate lets them through. Rows over the rate wait for room (no attempt counted);
        rows of a notifier without a free slot stay due for when one frees up."""
        ready: list[OutboxRow] = []
        waiting: dict[float, list[int]] = defaultdict(list)
        for row in rows:
            if busy[row.notifier] >= PER_NOTIFIER_CONCURRENCY:
                continue
            limiter = self._limiters.get(row.notifier)
            if limiter is None or limiter.take(now):
                busy[row.notifier] += 1
                ready.append(row)
            else:
                waiting[limiter.free_at(now)].append(row.id)
        for until, row_ids in waiting.items():
            self._store.defer(row_ids, until)
        return ready

    def _fold_backlogs(self, now: float) -> None:
        """Fold what a rate-limited notifier could not send within one window into a digest."""
        if not self._limiters:
            return
        backlog = self._store.pending_counts()
        flying = {row.id for row in [*self._in_flight.values(), *self._sending_elsewhere()]}
        for name, limiter in self._limiters.items():
            if backlog.get(name, 0) <= limiter.capacity:
                continue
            # a row in flight is not waiting, and folding it would deliver it twice
            waiting = [row for row in self._store.pending_for(name) if row.id not in flying]
            rows = fold.overflow(waiting, limiter.capacity)
            if not rows:
                continue
            digest = Delivery(fold.digest_alert(rows, name), name)
            digest_id = self._store.fold([row.id for row in rows], digest, now=now)
            if digest_id is not None:
                logger.warning(
                    "%s is over its rate limit: %d queued alerts folded into one digest (row %d)",
                    name, len(rows), digest_id,
                )

    async def _deliver(self, row: OutboxRow) -> None:
        notifier = self._notifiers.get(row.notifier)
        if notifier is None:
            # the config no longer names it (a reload may remove a notifier that still
            # has incidents to resolve): keep the alert, visible and requeueable, and say so
            error = f"notifier {row.notifier!r} is not configured"
            logger.error("alert %s to %s dead-lettered: %s (add it back, then"
                         " `logwatch outbox retry %d`)", row.alert_id, row.notifier, error, row.id)
            self._store.mark_dead(row.id, error)
            self.failed += 1
            self._report(row, "dead", error)
            return
        try:
            await notifier.send(row.alert())
        except RetryableDeliveryError as exc:
            self._retry(row, str(exc), exc.retry_after_s)
        except PermanentDeliveryError as exc:
            logger.error("alert %s to %s dead-lettered: %s", row.alert_id, row.notifier, exc)
            self._store.mark_dead(row.id, str(exc))
            self.failed += 1
            self._report(row, "dead", str(exc))
        except Exception as exc:
            # a plugin bug must not kill delivery for everyone; retrying keeps the alert
            logger.exception("notifier %s raised unexpectedly", row.notifier)
            self._retry(row, f"{type(exc).__name__}: {exc}", None)
        else:
            self._store.mark_sent(row.id, self._clock())
            self.sent += 1
            self._report(row, "sent", None)

    def _retry(self, row: OutboxRow, error: str, retry_after_s: float | None) -> None:
        delay = next_delay_s(
            row.attempts + 1,
            initial_s=self._initial_backoff_s,
            cap_s=self._max_backoff_s,
            retry_after_s=retry_after_s,
            rng=self._rng,
        )
        logger.warning(
            "alert %s to %s failed (attempt %d), retrying in %.1fs: %s",
            row.alert_id, row.notifier, row.attempts + 1, delay, error,
        )
        self._store.mark_retry(row.id, self._clock() + delay, error)
        self.failed += 1
        self._report(row, "retry", error)

    def _report(self, row: OutboxRow, result: str, error: str | None) -> None:
        if self._on_outcome is None:
            return
        now = self._clock()
        extra = self._on_outcome(Outcome(row, result, now, error))
        if extra:
            # queued like any alert: durable, retried, and picked up by the next drain
            self._store.commit((), extra, now=now)
