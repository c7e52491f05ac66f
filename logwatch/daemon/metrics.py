"""Prometheus metrics of the running daemon, on their own registry and HTTP thread.

Two kinds of numbers. What the stages count as they go (lines, events,
decisions) and what the state database holds (outbox depth, lag) is read when
Prometheus scrapes, so the reader loop pays nothing but a dict increment.
Delivery outcomes arrive from the sender thread through ``observe`` into
prometheus-client's own thread-safe counters and histogram.

Only imported when ``metrics:`` is configured: prometheus-client is the
optional extra ``logwatch[metrics]``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from logwatch.daemon.pipeline import Counters
from logwatch.delivery.worker import Outcome
from logwatch.errors import StateError
from logwatch.sources import TailCounters
from logwatch.status import file_lags, outbox_summary
from logwatch.store import Delivery, Store

logger = logging.getLogger(__name__)

# commit -> 2xx: a healthy webhook answers in well under a second, a backlog takes minutes
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

# TailCounters field -> (metric name, help); a field added later is still exported
TAIL_METRICS = {
    "rotations": ("logwatch_rotations", "Followed paths that came to name another file."),
    "truncations": ("logwatch_truncations", "Files that shrank or were rewritten in place."),
    "copies_caught_up": ("logwatch_copytruncate_catch_ups",
                         "Rotated copies read from our offset after a copytruncate."),
    "bytes_lost": ("logwatch_bytes_lost",
                   "Unread bytes of truncated files that had no rotated copy to read."),
    "inode_reuses": ("logwatch_inode_reuses", "New files found at a remembered inode."),
    "rewritten": ("logwatch_files_rewritten",
                  "Files whose bytes before our offset changed: read again from 0."),
    "unreadable": ("logwatch_unreadable_files",
                   "Matched paths that could not be opened (permissions?)."),
}


def split_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9717`` for IPv6) -> (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class Metrics:
    """The daemon's metrics: build once, ``serve``, feed ``observe``, ``close`` on stop."""

    def __init__(
        self,
        counters: Callable[[], Counters],
        db_path: Path,
        *,
        tail_counters: Callable[[], TailCounters] | None = None,
    ) -> None:
        # not the global REGISTRY: tests and embedders may run several daemons in one process
        self.registry = CollectorRegistry()
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.sent = Counter(
            "logwatch_alerts_sent", "Alerts a notifier accepted (2xx).",
            ["notifier"], registry=self.registry,
        )
        self.failed = Counter(
            "logwatch_alerts_failed",
            "Failed delivery attempts; outcome=retry will be tried again, dead was given up.",
            ["notifier", "outcome"], registry=self.registry,
        )
        self.latency = Histogram(
            "logwatch_delivery_latency_seconds",
            "From the outbox commit of an alert to the notifier's 2xx.",
            ["notifier"], buckets=LATENCY_BUCKETS_S, registry=self.registry,
        )
        self.registry.register(_StateCollector(counters, db_path, tail_counters))

    def observe(self, outcome: Outcome) -> Sequence[Delivery]:
        """An outcome hook for the delivery worker; never asks to queue anything."""
        notifier = outcome.row.notifier
        if outcome.result == "sent":
            self.sent.labels(notifier).inc()
            self.latency.labels(notifier).observe(max(outcome.at - outcome.row.created, 0.0))
        else:
            self.failed.labels(notifier, outcome.result).inc()
        return ()

    def serve(self, listen: str) -> str:
        """Start the HTTP endpoint; return the address it listens on (port 0 picks one)."""
        host, port = split_listen(listen)
        self._server, self._thread = start_http_server(port, host, registry=self.registry)
        bound_port = self._server.server_port
        address = f"[{host}]:{bound_port}" if ":" in host else f"{host}:{bound_port}"
        logger.info("metrics on http://%s/metrics", address)
        return address

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None


class _StateCollector:
    """Read at scrape time: the reader's tallies and the state database."""

    def __init__(
        self,
        counters: Callable[[], Counters],
        db_path: Path,
        tail_counters: Callable[[], TailCounters] | None,
    ) -> None:
        self._counters = counters
        self._db_path = db_path
        self._tail_counters = tail_counters

    def describe(self) -> list[Metric]:
        # no scrape-time work when the collector is registered
        return []

    def collect(self) -> Iterator[Metric]:
        counters = self._counters()
        yield _by_label("logwatch_lines_read", "Lines read, per source.",
                        "source", counters.lines_by_source)
        yield _by_label("logwatch_bytes_read", "Bytes read, per source.",
                        "source", counters.bytes_by_source)
        yield _by_label("logwatch_events", "Events assembled, by kind (traceback or plain).",
                        "kind", counters.events_by_kind)
        yield _by_label("logwatch_alerts", "Alerts raised by rules and queued, per rule.",
                        "rule", counters.alerts_by_rule)
        suppressed = CounterMetricFamily(
            "logwatch_alerts_suppressed",
            "Matched events not sent: cooldown, threshold, silenced, dropped-by-rule, no-route.",
            labels=["rule", "reason"],
        )
        for (rule, reason), count in dict(counters.suppressed_by).items():
            suppressed.add_metric([rule, reason], count)
        yield suppressed
        if self._tail_counters is not None:
            yield from _tail(self._tail_counters())
        yield from self._from_store()

    def _from_store(self) -> Iterator[Metric]:
        try:
            # never a database of its own where the state dir was removed under us
            store = Store(self._db_path, create=False)
        except StateError:
            return
        try:
            now = time.time()
            outbox = outbox_summary(store, now)
            files = file_lags(store)
        finally:
            store.close()
        depth = GaugeMetricFamily(
            "logwatch_outbox_rows", "Outbox rows waiting (pending) or given up (dead).",
            labels=["state"],
        )
        for state in ("pending", "dead"):
            depth.add_metric([state], outbox.get(state, 0))
        yield depth
        yield GaugeMetricFamily(
            "logwatch_outbox_oldest_pending_age_seconds",
            "Age of the oldest alert not yet delivered; 0 when none waits.",
            value=outbox["oldest_pending_age_s"] or 0.0,
        )
        lag = GaugeMetricFamily(
            "logwatch_file_lag_bytes",
            "Bytes of a followed file past its committed offset.",
            labels=["source", "path"],
        )
        for entry in files:
            if entry["lag_bytes"] is not None:
                lag.add_metric([entry["source"], entry["path"]], entry["lag_bytes"])
        yield lag


def _by_label(name: str, documentation: str, label: str, tally: dict[str, int]) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=[label])
    # dict() copies in one step under the GIL while the reader thread keeps counting
    for value, count in dict(tally).items():
        family.add_metric([value], count)
    return family


def _tail(counters: TailCounters) -> Iterator[Metric]:
    # plain ints written by the reader thread: reading one is atomic
    for field in dataclasses.fields(counters):
        name, documentation = TAIL_METRICS.get(
            field.name, (f"logwatch_tailer_{field.name}", f"Tailer counter {field.name}.")
        )
        yield CounterMetricFamily(name, documentation, value=getattr(counters, field.name))
