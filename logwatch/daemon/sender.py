"""The delivery thread: an asyncio loop that drains the outbox beside the reader.

Reading never waits for HTTP: the reader commits rows and calls ``wake``; this
thread sends them. On stop, deliveries get a grace period, and whatever is not
delivered by then stays in the outbox for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from logwatch.delivery.worker import DeliveryWorker, OutcomeHook
from logwatch.notifiers._http import new_client
from logwatch.notifiers.base import Notifier, RateLimit
from logwatch.store import Store

logger = logging.getLogger(__name__)

NotifierBuilder = Callable[[httpx.AsyncClient], Mapping[str, Notifier]]

CANCEL_WAIT_S = 1.0  # after the grace period: how long cancelled sends get to unwind


class SenderThread:
    def __init__(
        self,
        db_path: Path,
        build_notifiers: NotifierBuilder,
        *,
        initial_backoff_s: float,
        max_backoff_s: float,
        batch: int,
        timeout_s: float,
        on_outcome: OutcomeHook | None = None,
        rates: Mapping[str, Sequence[RateLimit]] | None = None,
    ) -> None:
        self._db_path = db_path
        self._build_notifiers = build_notifiers
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._batch = batch
        self._timeout_s = timeout_s
        self._on_outcome = on_outcome
        self._rates = rates
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._delivering: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="logwatch-sender", daemon=True)
        self.worker: DeliveryWorker | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    @property
    def alive(self) -> bool:
        """False once the thread has ended, cleanly or not: nothing is delivered any more."""
        return self._thread.is_alive()

    def wake(self) -> None:
        if self._wake is not None:
            self._in_loop(self._wake.set)

    def stop(self, grace_s: float) -> None:
        """Finish what is in flight for up to ``grace_s``, then cancel it and end the thread.

        Cancelled rows stay pending in the outbox. The thread must be gone on
        return: a reload starts another sender, and two would send the same rows.
        """
        self._in_loop(self._begin_stop)
        self._thread.join(grace_s)
        if not self._thread.is_alive():
            return
        logger.warning("deliveries still in flight after %.1fs; cancelled, they stay queued",
                       grace_s)
        self._in_loop(self._cancel)
        self._thread.join(CANCEL_WAIT_S)
        if self._thread.is_alive():
            logger.error("the delivery thread did not end %.1fs after it was cancelled",
                         CANCEL_WAIT_S)

    def _in_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # closed: the thread is ending on its own
            loop.call_soon_threadsafe(callback)

    def _begin_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _cancel(self) -> None:
        if self._delivering is not None:
            self._delivering.cancel()

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:
            # reported to start() or logged: a dead sender must be loud, not silent
            self.error = exc
            logger.exception("delivery thread failed")
        finally:
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        store = Store(self._db_path, durable=False)
        async with new_client(httpx.Timeout(self._timeout_s)) as client:
            notifiers = self._build_notifiers(client)
            self.worker = DeliveryWorker(
                store,
                notifiers,
                initial_backoff_s=self._initial_backoff_s,
                max_backoff_s=self._max_backoff_s,
                batch=self._batch,
                on_outcome=self._on_outcome,
                rates=self._rates,
            )
            self._delivering = asyncio.create_task(self.worker.run(self._wake, self._stop))
            self._ready.set()
            try:
                # returns when delivery ends: stopped, cancelled by stop(), or failed
                await asyncio.wait([self._delivering])
            finally:
                for notifier in notifiers.values():
                    await notifier.aclose()
                store.close()
            if not self._delivering.cancelled():
                self._delivering.result()  # a failure is raised, to be logged by _main
