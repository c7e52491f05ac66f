"""The delivery thread: an asyncio loop that drains the outbox beside the reader.

Reading never waits for HTTP: the reader commits rows and calls ``wake``; this
thread sends them. On stop, deliveries get a grace period, and whatever is not
delivered by then stays in the outbox for the next start.

A reload does not wait for HTTP either. The worker with the old notifiers is
retired: it starts no more sends, and those in flight get the grace period.
A worker with the new notifiers starts at once in the same loop and leaves
the rows the retired one still sends alone until it has ended; one loop for
both, so that which rows are in flight is known exactly, without a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from logwatch.delivery.worker import DeliveryWorker, OutcomeHook
from logwatch.notifiers._http import new_client
from logwatch.notifiers.base import Notifier, RateLimit
from logwatch.store import OutboxRow, Store

logger = logging.getLogger(__name__)

NotifierBuilder = Callable[[httpx.AsyncClient], Mapping[str, Notifier]]

CANCEL_WAIT_S = 1.0  # after the grace period: how long cancelled sends get to unwind
# How long a reload waits for its notifiers to be built in the sending loop, which
# never blocks (sends are awaited): building takes milliseconds.
PREPARE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class SenderSettings:
    """What a reload may change: the notifiers, and how the worker sends through them."""

    build_notifiers: NotifierBuilder
    initial_backoff_s: float
    max_backoff_s: float
    batch: int
    timeout_s: float
    rates: Mapping[str, Sequence[RateLimit]] | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A reload's notifiers, built in the sending loop and not sending yet (``prepare``)."""

    settings: SenderSettings
    client: httpx.AsyncClient
    notifiers: Mapping[str, Notifier]


class SenderThread:
    def __init__(
        self,
        db_path: Path,
        settings: SenderSettings,
        *,
        on_outcome: OutcomeHook | None = None,
    ) -> None:
        self._db_path = db_path
        self._settings = settings
        self._on_outcome = on_outcome
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._store: Store | None = None
        # every worker not yet ended, with its stop event: set, it was retired by a reload
        self._workers: dict[asyncio.Task[None], tuple[DeliveryWorker, asyncio.Event]] = {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="logwatch-sender", daemon=True)
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

    def prepare(self, settings: SenderSettings) -> Prepared:
        """Build the notifiers of ``settings`` for ``reload``; raise what building raises.

        Before anything else is reloaded: a notifier that cannot be built (a CA
        file that holds no certificate, a plugin's bug) refuses the reload, where
        the rest of the daemon would already route alerts to it.
        """
        loop = self._loop
        if loop is None or not self.alive:
            raise RuntimeError("the delivery thread is not running")
        built = asyncio.run_coroutine_threadsafe(self._build(settings), loop)
        return built.result(PREPARE_TIMEOUT_S)

    def reload(self, prepared: Prepared, grace_s: float) -> None:
        """Send through the notifiers ``prepare`` built from now on; return at once.

        The old worker starts no more sends; those in flight get ``grace_s`` to
        finish, then are cancelled and their rows stay pending. The new worker
        sends every other row at once, and those rows once the old one has ended.
        """
        self._in_loop(functools.partial(self._replace, prepared, grace_s))

    def stop(self, grace_s: float) -> None:
        """Finish what is in flight for up to ``grace_s``, then cancel it and end the thread.

        Cancelled rows stay pending in the outbox.
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
        for _, stop in self._workers.values():
            stop.set()

    def _cancel(self) -> None:
        for task in self._workers:
            task.cancel()

    async def _build(self, settings: SenderSettings) -> Prepared:
        client = new_client(httpx.Timeout(settings.timeout_s))
        try:
            return Prepared(settings, client, settings.build_notifiers(client))
        except BaseException:
            await client.aclose()
            raise

    def _replace(self, prepared: Prepared, grace_s: float) -> None:
        loop = asyncio.get_running_loop()
        for task, (_, stop) in self._workers.items():
            if not stop.is_set():
                stop.set()
                loop.call_later(grace_s, self._give_up, task, grace_s)
        self._start_worker(prepared)

    def _give_up(self, task: asyncio.Task[None], grace_s: float) -> None:
        if task.done():
            return
        logger.warning("deliveries by the old notifiers still in flight %.1fs after the"
                       " reload; cancelled, they stay queued", grace_s)
        task.cancel()

    def _sending_elsewhere(self) -> list[OutboxRow]:
        """The rows the retired workers are still sending, for the current one to leave alone."""
        return [
            row for worker, stop in self._workers.values() if stop.is_set()
            for row in worker.sending
        ]

    def _start_worker(self, prepared: Prepared) -> None:
        assert self._store is not None  # (runs in the loop)
        settings, notifiers = prepared.settings, prepared.notifiers
        worker = DeliveryWorker(
            self._store,
            notifiers,
            initial_backoff_s=settings.initial_backoff_s,
            max_backoff_s=settings.max_backoff_s,
            batch=settings.batch,
            on_outcome=self._on_outcome,
            rates=settings.rates,
            sending_elsewhere=self._sending_elsewhere,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(self._deliver(worker, stop, prepared.client, notifiers))
        self._workers[task] = (worker, stop)

    async def _deliver(
        self,
        worker: DeliveryWorker,
        stop: asyncio.Event,
        client: httpx.AsyncClient,
        notifiers: Mapping[str, Notifier],
    ) -> None:
        assert self._wake is not None
        try:
            await worker.run(self._wake, stop)
        finally:
            for name, notifier in notifiers.items():
                try:
                    await notifier.aclose()
                except Exception:
                    # a plugin's: the others still close, and delivery goes on
                    logger.exception("notifier %s failed to close", name)
            await client.aclose()

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
        self._store = Store(self._db_path, durable=False)
        try:
            self._start_worker(await self._build(self._settings))
            self._ready.set()
            # until the last worker ends: stopped, cancelled by stop(), or failed
            while self._workers:
                done, _ = await asyncio.wait(
                    list(self._workers), return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    del self._workers[task]
                    if not task.cancelled():
                        task.result()  # a failure is raised, to be logged by _main
                # a retired worker's rows are the current one's now, cancelled ones due at once
                self._wake.set()
        finally:
            for task in self._workers:
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._store.close()
