"""Wiring and lifecycle of `logwatch run`: build the stages, handle signals, stop cleanly."""

from __future__ import annotations

import functools
import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

from logwatch.config import Config, load_config
from logwatch.daemon.engine import build_engine
from logwatch.daemon.instance import InstanceLock
from logwatch.daemon.ops import Operations
from logwatch.daemon.pipeline import Pipeline
from logwatch.daemon.sdnotify import SystemdNotifier
from logwatch.daemon.sender import SenderSettings, SenderThread
from logwatch.daemon.shared import RuleMemory
from logwatch.daemon.signals import SignalRelay
from logwatch.delivery.worker import Outcome
from logwatch.errors import ConfigError, StateError
from logwatch.notifiers.base import Notifier, RateLimit
from logwatch.notifiers.registry import load as load_notifier
from logwatch.rules import RuleEngine
from logwatch.sources import Tailer
from logwatch.sources.notes import source_notes
from logwatch.store import Delivery, Store

logger = logging.getLogger(__name__)

FIRST_START_KEY = "first_start"
# A turn of the loop may end this much before a ping falls due and still ping.
_PING_SLACK_S = 0.05
# how often the state database is checked to be still where it was opened: a
# state dir removed by hand leaves every write going to a file no start will open
_STATE_CHECK_S = 2.0


def build_notifiers(config: Config, client: httpx.AsyncClient) -> dict[str, Notifier]:
    return {
        name: load_notifier(notifier.type)(name, notifier.options, client=client)
        for name, notifier in config.notifiers.items()
    }


def rate_limits(config: Config) -> dict[str, tuple[RateLimit, ...]]:
    """Each notifier's rate limits, for the delivery worker to keep to."""
    return {
        name: tuple(rate.limit() for rate in notifier.rate)
        for name, notifier in config.notifiers.items()
    }


def sender_settings(config: Config) -> SenderSettings:
    """How the sender thread delivers under ``config``."""
    return SenderSettings(
        functools.partial(build_notifiers, config),
        initial_backoff_s=config.delivery.initial_backoff,
        max_backoff_s=config.delivery.max_backoff,
        batch=config.delivery.batch,
        timeout_s=config.delivery.timeout,
        rates=rate_limits(config),
    )


class Daemon:
    """One running logwatch: a reader loop in the calling thread, a sender thread."""

    def __init__(
        self, config: Config, config_path: Path, *, log_level: str | None = None
    ) -> None:
        self.config = config
        self._config_path = config_path
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._lock = InstanceLock.take(config.state_dir)
        self._store = Store.in_dir(config.state_dir)
        # Rule state and silences: state.db, or Redis shared with other hosts.
        self._memory = RuleMemory(config)
        self._rule_state = self._memory.state
        self._silences = self._memory.silencer
        first_start = self._store.get_meta(FIRST_START_KEY) is None
        self._tailer = Tailer(config.sources, self._store.files(), first_start=first_start)
        self._sender = SenderThread(
            self._store.path, sender_settings(config), on_outcome=self._on_outcome
        )
        self._systemd = SystemdNotifier()
        self.pipeline = Pipeline(
            config, self._store, self._tailer, self._engine_for(config), on_commit=self._sender.wake
        )
        self._ops = Operations(
            config, self._store, lambda: self.pipeline.counters,
            tail_counters=lambda: self._tailer.counters, log_level=log_level,
        )

    def _engine_for(self, config: Config) -> RuleEngine:
        return build_engine(config, state=self._rule_state, silences=self._silences)

    def _on_outcome(self, outcome: Outcome) -> Sequence[Delivery]:
        return self._ops.on_outcome(outcome)

    def request_stop(self) -> None:
        self._stop.set()
        self._tailer.wake()

    def request_reload(self) -> None:
        self._reload.set()
        self._tailer.wake()

    def run(self) -> int:
        self._ops.start()
        self._sender.start()
        self._tailer.start()
        # the first round decides where each file starts (start_at: end): it must
        # happen before READY=1, or a record written right after it would be skipped
        self.pipeline.process()
        self.pipeline.commit()
        if self._store.get_meta(FIRST_START_KEY) is None:
            self._store.set_meta(FIRST_START_KEY, "done")
        logger.info(
            "logwatch running: %d source(s), %d rule(s), notifiers: %s",
            len(self.config.sources), len(self.config.rules), ", ".join(self.config.notifiers),
        )
        self._warn_of_idle_settings()
        self._systemd.notify("READY=1", self._status_line())
        watchdog_s = self._systemd.watchdog_interval_s()
        last_ping = 0.0
        exit_code = 0
        state_checked = time.monotonic()
        displaced: str | None = None
        why: list[str] = []  # an error stop's reasons, for `status`
        try:
            while not self._stop.is_set():
                if self._reload.is_set():
                    self._reload.clear()
                    self._systemd.notify(
                        "RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}"
                    )
                    self._do_reload()
                    self._systemd.notify("READY=1", self._status_line())
                # the loop turns for the heartbeat and systemd's watchdog, if for nothing else
                wait_s = self._ops.beat_in_s()
                if watchdog_s is not None:  # (half of WatchdogSec already)
                    # Until the next ping is due, counted from the last one: a wait
                    # counted from here that ended a hair early skipped a ping, and
                    # the gap doubled to WatchdogSec itself.
                    wait_s = min(wait_s, max(last_ping + watchdog_s - time.monotonic(), 0.0))
                self.pipeline.step(self._stop, max_wait_s=wait_s)
                # A silence added on this host reaches the fleet even if no alert asks.
                self._memory.refresh(datetime.now(UTC))
                self._ops.report("shared_state", self._memory.status())
                self._ops.report("unreadable", [asdict(u) for u in self._tailer.unreadable()])
                self._ops.tick()
                now = time.monotonic()
                if (
                    watchdog_s is not None
                    and now - last_ping >= min(watchdog_s, 1.0) - _PING_SLACK_S
                    and self._sender.alive
                ):
                    # pinged from the loop itself: a wedged loop stops the pings, and
                    # so does a dead delivery thread; either way systemd restarts us
                    self._systemd.notify("WATCHDOG=1", self._status_line())
                    last_ping = now
                if self._store.written_elsewhere():
                    # the sender's own marks, a silence, a requeued dead letter: a due
                    # query is cheap, and a requeued row goes out now, not in 30 s
                    self._sender.wake()
                if not self._sender.alive:
                    # nothing is delivered any more, and without systemd's watchdog no one
                    # would notice: fail, so that the service manager restarts us
                    logger.critical("the delivery thread has ended; stopping with an error")
                    exit_code = 1
                    why.append("the delivery thread ended")
                    break
                if now - state_checked >= _STATE_CHECK_S:
                    state_checked = now
                    displaced = self._store.displaced()
                    if displaced is not None:
                        exit_code = 1
                        why.append(f"the state database was {displaced} while running")
                        break
        except (sqlite3.Error, StateError) as exc:
            # Locked by another process past the busy timeout, say. Nothing read since
            # the last commit counts as read: a restart reads it again, alerts and all.
            logger.critical(
                "the state database failed (%s); stopping with an error: what was read"
                " since the last commit is read again at the next start", exc,
            )
            exit_code = 1
            why.append(f"the state database failed ({exc})")
        finally:
            self._systemd.notify("STOPPING=1")
            logger.info("stopping: committing offsets, giving deliveries %.1fs",
                        self.config.delivery.grace_on_stop)
            try:
                self.pipeline.close()
            except (sqlite3.Error, StateError) as exc:
                logger.error("offsets not committed at stop (%s): the files are read again"
                             " from their last commit at the next start", exc)
                exit_code = 1
                why.append("offsets not committed")
            self._tailer.stop()
            self._sender.stop(self.config.delivery.grace_on_stop)
            try:
                # (the heartbeat's last write)
                self._ops.close(exit_code=exit_code, reason="; ".join(why) or None)
            except (sqlite3.Error, StateError) as exc:
                logger.error("the heartbeat's stop not recorded (%s)", exc)
                exit_code = 1
            if displaced is not None:
                self._state_displaced(displaced)
            self._store.close()
            self._memory.close()
            self._lock.release()
        return exit_code

    def _state_displaced(self, how: str) -> None:
        """The state database was deleted or replaced while running: say so, keep what can be.

        A deleted one is written back from the open file, everything committed up
        to the stop in it, so the restart goes on where this run stopped; a file
        put in its place is left as it is, and the journal this run shares with it
        by name emptied.
        """
        path = self._store.path
        if how == "replaced":
            try:
                self._store.empty_journal()
            except (sqlite3.Error, StateError) as exc:
                logger.error("this run's journal of %s not emptied (%s)", path, exc)
            logger.critical(
                "the state database %s was replaced while running; stopping with an error:"
                " the next start uses the new file, without what this run recorded", path,
            )
            return
        try:
            self._store.write_back()
        except (OSError, sqlite3.Error, StateError) as exc:
            logger.critical(
                "the state database %s was deleted while running and cannot be written back"
                " (%s); stopping with an error: the next start is a first start", path, exc,
            )
            return
        logger.critical(
            "the state database %s was deleted while running; it was written back with"
            " everything up to now; stopping with an error so that a restart opens it", path,
        )

    def _status_line(self) -> str:
        counters = self.pipeline.counters
        return (
            f"STATUS={counters.lines} lines, {counters.events} events,"
            f" {counters.alerts} alerts, {counters.suppressed} suppressed"
        )

    def _warn_of_idle_settings(self) -> None:
        for note in source_notes(self.config.sources):
            logger.warning("%s", note)

    def _do_reload(self) -> None:
        try:
            config = load_config(self._config_path)
        except ConfigError as exc:
            logger.error("reload refused, keeping the running config:\n%s", exc)
            return
        if config.state_dir != self.config.state_dir:
            logger.error("reload refused: state_dir cannot change while running")
            return
        try:
            notifiers = self._sender.prepare(sender_settings(config))
        except Exception as exc:  # noqa: BLE001 - a notifier's own code: the old ones stay
            logger.error("reload refused, keeping the running config: the notifiers"
                         " cannot be built: %s: %s", type(exc).__name__, exc)
            return
        if config.state != self.config.state:
            logger.warning("state settings changed; they take effect at the next restart")
        self.pipeline.reconfigure(config, self._engine_for(config))
        self.config = config
        self._warn_of_idle_settings()
        self._ops.reconfigure(config)
        # not waited for: sends to an endpoint that hangs would stop reading for the grace
        self._sender.reload(notifiers, config.delivery.grace_on_stop)
        logger.info("config reloaded from %s", self._config_path)


def run_daemon(config_path: Path, *, log_level: str | None = None) -> int:
    config = load_config(config_path)
    daemon = Daemon(config, config_path, log_level=log_level)
    SignalRelay({
        signal.SIGTERM: daemon.request_stop,
        signal.SIGINT: daemon.request_stop,
        signal.SIGHUP: daemon.request_reload,
    }).install()
    return daemon.run()
