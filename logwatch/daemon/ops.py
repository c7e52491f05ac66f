"""The operator's side of a running daemon: heartbeat, metrics, self-monitoring, log level.

``Daemon`` calls these hooks at fixed points (start, each loop turn, each
delivery outcome, reload, stop); everything an operator sees of a running
logwatch besides its alerts and its log is decided here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from logwatch.config import Config
from logwatch.daemon.heartbeat import Heartbeat
from logwatch.daemon.pipeline import Counters
from logwatch.daemon.selfwatch import SelfWatch
from logwatch.delivery.worker import Outcome
from logwatch.sources import TailCounters
from logwatch.store import Delivery, Store

if TYPE_CHECKING:
    from logwatch.daemon.metrics import Metrics

logger = logging.getLogger(__name__)


class Operations:
    def __init__(
        self,
        config: Config,
        store: Store,
        counters: Callable[[], Counters],
        *,
        tail_counters: Callable[[], TailCounters] | None = None,
        log_level: str | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._counters = counters
        self._tail_counters = tail_counters
        self._log_level_override = log_level
        self._heartbeat = Heartbeat(store)
        self._selfwatch = SelfWatch(config.selfwatch, host=config.host, labels=config.labels)
        # a reload reconfigures self-monitoring while the sender thread observes outcomes
        self._selfwatch_lock = threading.Lock()
        self._metrics: Metrics | None = None
        self._apply_log_level(config)

    def start(self) -> None:
        """Before the sender starts, so that metrics see every delivery outcome."""
        if self._config.metrics is not None:
            # imported here: prometheus-client is an optional extra
            from logwatch.daemon.metrics import Metrics

            metrics = Metrics(
                self._counters, self._store.path, tail_counters=self._tail_counters
            )
            try:
                address = metrics.serve(self._config.metrics.listen)
            except OSError as exc:
                # alerting matters more than its metrics: keep running without them
                logger.error(
                    "metrics: cannot listen on %s: %s; running without metrics",
                    self._config.metrics.listen, exc.strerror or exc,
                )
            else:
                self._metrics = metrics
                self._heartbeat.set_metrics_address(address)
        self._heartbeat.beat(self._summary(), force=True)

    def report(self, name: str, value: Any) -> None:
        """A fact for `logwatch status` (e.g. ``shared_state``), written with the next beat."""
        self._heartbeat.set_field(name, value)

    def tick(self) -> None:
        """Each turn of the reader loop: a heartbeat every few seconds."""
        self._heartbeat.beat(self._summary())

    def beat_in_s(self) -> float:
        """Until the next heartbeat is due."""
        return self._heartbeat.due_in_s()

    def on_outcome(self, outcome: Outcome) -> Sequence[Delivery]:
        """The delivery worker's outcome hook; runs in the sender thread."""
        if self._metrics is not None:
            self._metrics.observe(outcome)
        with self._selfwatch_lock:
            return self._selfwatch.observe(outcome)

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded config, in the reader's thread."""
        if config.metrics != self._config.metrics:
            logger.warning("metrics settings changed; they take effect at the next restart")
        with self._selfwatch_lock:
            self._selfwatch.reconfigure(config.selfwatch, host=config.host, labels=config.labels)
        self._apply_log_level(config)
        self._config = config

    def close(self, *, exit_code: int = 0, reason: str | None = None) -> None:
        """Record the stop (an error one with its reason), and end the metrics endpoint."""
        self._heartbeat.stopped(self._summary(), exit_code=exit_code, reason=reason)
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None

    def _summary(self) -> dict[str, int]:
        counters = self._counters()
        return {"lines": counters.lines, "events": counters.events,
                "alerts": counters.alerts, "suppressed": counters.suppressed}

    def _apply_log_level(self, config: Config) -> None:
        # --log-level on the command line wins over the config's log_level
        level = self._log_level_override or config.log_level
        logging.getLogger().setLevel(level.upper())

