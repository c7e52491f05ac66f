"""The delivery thread: an asyncio loop that drains the outbox beside the reader.

Reading never waits for HTTP: the reader commits rows and calls ``wake``; this
thread sends them. On stop, deliveries get a grace period, and whatever is not
delivered by then stays in the outbox for the next start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from logwatch.delivery.worker import DeliveryWorker, OutcomeHook
from logwatch.notifiers.base import Notifier
from logwatch.store import Store

logger = logging.getLogger(__name__)

NotifierBuilder = Callable[[httpx.AsyncClient], Mapping[str, Notifier]]


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
    ) -> None:
        self._db_path = db_path
        self._build_notifiers = build_notifiers
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._batch = batch
        self._timeout_s = timeout_s
        self._on_outcome = on_outcome
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="logwatch-sender", daemon=True)
        self.worker: DeliveryWorker | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def wake(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def stop(self, grace_s: float) -> None:
        """Finish what is in flight for up to ``grace_s``, then end the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(grace_s + 1.0)
        if self._thread.is_alive():
            logger.warning("deliveries still in flight after %.1fs; they stay queued", grace_s)

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
        store = Store(self._db_path)
        timeout = httpx.Timeout(self._timeout_s)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            notifiers = self._build_notifiers(client)
            self.worker = DeliveryWorker(
                store,
                notifiers,
                initial_backoff_s=self._initial_backoff_s,
                max_backoff_s=self._max_backoff_s,
                batch=self._batch,
                on_outcome=self._on_outcome,
            )
            self._ready.set()
            try:
                await self.worker.run(self._wake, self._stop)
            finally:
                for notifier in notifiers.values():
                    await notifier.aclose()
                store.close()
