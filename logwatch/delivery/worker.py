"""Outbox rows -> notifier calls: retry with backoff, dead-letter what cannot succeed.

The worker owns nothing but a store connection and the notifiers. It reads due
rows in id order, sends them with bounded concurrency per notifier, and records
each outcome, so a dead endpoint only ever delays its own rows.

A notifier with a rate limit sends no faster than it allows: its rows wait
(no attempt counted) until the window has room, and a backlog beyond one
window's worth is folded into one digest row (``delivery.fold``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
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
    ) -> None:
        self._store = store
        self._notifiers = notifiers
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._batch = batch
        self._clock = clock
        self._rng = rng
        self._on_outcome = on_outcome
        self._limits: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(PER_NOTIFIER_CONCURRENCY)
        )
        self._limiters = {
            name: RateLimiter(limits) for name, limits in (rates or {}).items() if limits
        }
        now = clock()
        for name, limiter in self._limiters.items():
            # a restart or reload must not grant a fresh window right after a burst
            limiter.seed(store.sent_times(name, since=now - limiter.longest_s))
        self.sent = 0
        self.failed = 0

    async def run(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; ``wake`` says new rows were committed."""
        while not stop.is_set():
            processed = await self.drain_once()
            if processed:
                continue
            wake.clear()
            next_at = self._store.next_attempt_at()
            timeout = IDLE_RECHECK_S if next_at is None else max(0.0, next_at - self._clock())
            await _wait_any(wake, stop, min(timeout, IDLE_RECHECK_S))

    async def drain_once(self) -> int:
        """Send the rows that are due now; return how many were attempted."""
        now = self._clock()
        self._fold_backlogs(now)
        rows = self._pace(self._store.due(now, self._batch), now)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    def _pace(self, rows: Sequence[OutboxRow], now: float) -> list[OutboxRow]:
        """The rows their notifier's rate lets through now; the others wait for room."""
        ready: list[OutboxRow] = []
        waiting: dict[float, list[int]] = defaultdict(list)
        for row in rows:
            limiter = self._limiters.get(row.notifier)
            if limiter is None or limiter.take(now):
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
        for name, limiter in self._limiters.items():
            if backlog.get(name, 0) <= limiter.capacity:
                continue
            rows = fold.overflow(self._store.pending_for(name), limiter.capacity)
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
            # the config no longer names it: keep the alert, visible and requeueable
            error = f"notifier {row.notifier!r} is not configured"
            self._store.mark_dead(row.id, error)
            self.failed += 1
            self._report(row, "dead", error)
            return
        async with self._limits[row.notifier]:
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


async def _wait_any(wake: asyncio.Event, stop: asyncio.Event, timeout_s: float) -> None:
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
