"""Prometheus metrics: scraped over real HTTP from the endpoint the daemon serves."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from logwatch.cli import main
from logwatch.daemon.metrics import Metrics, split_listen
from logwatch.daemon.pipeline import Counters
from logwatch.delivery.worker import Outcome
from logwatch.sources import TailCounters
from logwatch.store import Delivery, FileState, Store
from logwatch.testing import sample_alert
from tests.daemon_harness import AppLog, Receiver, free_port, running_daemon, wait_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(address: str) -> Samples:
    """GET /metrics and parse it with prometheus-client's own parser."""
    reply = httpx.get(f"http://{address}/metrics", timeout=5)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "state.db")
    yield store
    store.close()


@pytest.fixture
def counters() -> Counters:
    return Counters()


@pytest.fixture
def tail_counters() -> TailCounters:
    return TailCounters()


@pytest.fixture
def metrics(
    store: Store, counters: Counters, tail_counters: TailCounters
) -> Iterator[tuple[Metrics, str]]:
    metrics = Metrics(lambda: counters, store.path, tail_counters=lambda: tail_counters)
    address = metrics.serve("127.0.0.1:0")
    yield metrics, address
    metrics.close()


class TestMetricsEndpoint:
    def test_reader_tallies_are_exported_with_their_labels(
        self, metrics: tuple[Metrics, str], counters: Counters
    ) -> None:
        """Lines and bytes per source, events by kind, alerts by rule, suppressed by reason."""
        _, address = metrics
        counters.lines_by_source["web"] = 12
        counters.bytes_by_source["web"] = 960
        counters.events_by_kind.update(traceback=2, plain=5)
        counters.alerts_by_rule["db-down"] = 1
        counters.suppressed_by[("db-down", "cooldown")] = 3
        samples = scrape(address)
        assert value(samples, "logwatch_lines_read_total", source="web") == 12
        assert value(samples, "logwatch_bytes_read_total", source="web") == 960
        assert value(samples, "logwatch_events_total", kind="traceback") == 2
        assert value(samples, "logwatch_events_total", kind="plain") == 5
        assert value(samples, "logwatch_alerts_total", rule="db-down") == 1
        assert value(
            samples, "logwatch_alerts_suppressed_total", rule="db-down", reason="cooldown"
        ) == 3

    def test_counters_move_between_scrapes(
        self, metrics: tuple[Metrics, str], counters: Counters
    ) -> None:
        """Values are read at scrape time: what the reader counted since shows up."""
        _, address = metrics
        counters.lines_by_source["web"] = 1
        before = value(scrape(address), "logwatch_lines_read_total", source="web")
        counters.lines_by_source["web"] += 41
        after = value(scrape(address), "logwatch_lines_read_total", source="web")
        assert (before, after) == (1, 42)

    def test_tailer_troubles_are_counted(
        self, metrics: tuple[Metrics, str], tail_counters: TailCounters
    ) -> None:
        """Rotations, truncations, bytes lost to copytruncate, inode reuse, unreadable files."""
        _, address = metrics
        tail_counters.rotations = 2
        tail_counters.truncations = 1
        tail_counters.bytes_lost = 100
        tail_counters.unreadable = 3
        samples = scrape(address)
        assert value(samples, "logwatch_rotations_total") == 2
        assert value(samples, "logwatch_truncations_total") == 1
        assert value(samples, "logwatch_bytes_lost_total") == 100
        assert value(samples, "logwatch_unreadable_files_total") == 3
        assert value(samples, "logwatch_inode_reuses_total") == 0

    def test_outbox_depth_oldest_age_and_file_lag_come_from_the_state(
        self, metrics: tuple[Metrics, str], store: Store, tmp_path: Path
    ) -> None:
        """Pending and dead rows, the oldest pending alert's age, bytes behind per file."""
        _, address = metrics
        log = tmp_path / "app.log"
        log.write_bytes(b"x" * 1000)
        state = FileState("uid-1", "web", str(log), 1, 2, b"", 400, 9, b"")
        store.commit(
            [state],
            [Delivery(sample_alert(id=f"a{n}"), "hook") for n in range(3)],
            now=1.0,  # long ago
        )
        dead = store.outbox("pending")[0]
        store.mark_dead(dead.id, "HTTP 400")
        samples = scrape(address)
        assert value(samples, "logwatch_outbox_rows", state="pending") == 2
        assert value(samples, "logwatch_outbox_rows", state="dead") == 1
        assert value(samples, "logwatch_outbox_oldest_pending_age_seconds") > 1e9
        assert value(samples, "logwatch_file_lag_bytes", source="web", path=str(log)) == 600

    def test_delivery_outcomes_count_per_notifier_with_latency(
        self, metrics: tuple[Metrics, str], store: Store
    ) -> None:
        """Sent, retried and dead-lettered attempts per notifier; commit-to-2xx histogram."""
        instance, address = metrics
        store.commit([], [Delivery(sample_alert(), "hook")], now=100.0)
        row = store.outbox()[0]
        instance.observe(Outcome(row, "retry", 100.5, "HTTP 500"))
        instance.observe(Outcome(row, "sent", 100.75))
        instance.observe(Outcome(row, "dead", 101.0, "HTTP 400"))
        samples = scrape(address)
        assert value(samples, "logwatch_alerts_sent_total", notifier="hook") == 1
        assert value(samples, "logwatch_alerts_failed_total", notifier="hook",
                     outcome="retry") == 1
        assert value(samples, "logwatch_alerts_failed_total", notifier="hook",
                     outcome="dead") == 1
        assert value(samples, "logwatch_delivery_latency_seconds_count", notifier="hook") == 1
        assert value(samples, "logwatch_delivery_latency_seconds_sum", notifier="hook") == 0.75
        assert value(samples, "logwatch_delivery_latency_seconds_bucket", notifier="hook",
                     le="1.0") == 1
        assert value(samples, "logwatch_delivery_latency_seconds_bucket", notifier="hook",
                     le="0.5") == 0

    def test_own_registry_leaves_the_global_one_alone(
        self, metrics: tuple[Metrics, str]
    ) -> None:
        """Nothing is registered on prometheus-client's process-wide REGISTRY."""
        names = {sample.name for family in REGISTRY.collect() for sample in family.samples}
        assert not any(name.startswith("logwatch_") for name in names)

    def test_close_frees_the_port(self, store: Store, counters: Counters) -> None:
        """After close the address can be bound again: a restart in-process works."""
        first = Metrics(lambda: counters, store.path)
        address = first.serve("127.0.0.1:0")
        first.close()
        second = Metrics(lambda: counters, store.path)
        try:
            assert second.serve(address) == address
        finally:
            second.close()

    @pytest.mark.parametrize(
        ("listen", "expected"),
        [("127.0.0.1:9717", ("127.0.0.1", 9717)), ("[::1]:9717", ("::1", 9717)),
         ("0.0.0.0:80", ("0.0.0.0", 80))],
    )
    def test_listen_addresses(self, listen: str, expected: tuple[str, int]) -> None:
        """HOST:PORT, with IPv6 hosts in brackets."""
        assert split_listen(listen) == expected


class TestMetricsDependency:
    def test_check_says_clearly_when_prometheus_client_is_missing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`logwatch check` names the missing package, the fix, and the line of `metrics:`."""
        config = tmp_path / "logwatch.yaml"
        config.write_text("notifiers: {console: {type: console}}\nmetrics: {listen: "
                          "127.0.0.1:9717}\n", encoding="utf-8")
        # a None entry makes `import prometheus_client` fail as if it were not installed
        monkeypatch.setitem(sys.modules, "prometheus_client", None)
        assert main(["check", "-c", str(config)]) == 2
        err = capsys.readouterr().err
        assert f"{config}:2:1: metrics needs prometheus-client, which is not installed" in err
        assert "pip install 'logwatch[metrics]'" in err

    def test_check_passes_when_installed(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = tmp_path / "logwatch.yaml"
        config.write_text("notifiers: {console: {type: console}}\nmetrics: {}\n",
                          encoding="utf-8")
        assert main(["check", "-c", str(config)]) == 0
        assert capsys.readouterr().out == "ok\n"


# -- against the running daemon ----------------------------------------------


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[AppLog]:
    (tmp_path / "logs").mkdir()
    log = AppLog(tmp_path / "logs" / "app.log")
    log.info("service started")
    yield log
    log.close()


class TestMetricsInTheDaemon:
    def test_appending_records_moves_the_counters(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """Scrape, append records, scrape again: lines, events, alerts and deliveries moved."""
        receiver = Receiver()
        httpserver.expect_request("/alerts").respond_with_handler(receiver.handle)
        address = f"127.0.0.1:{free_port()}"
        config = tmp_path / "logwatch.yaml"
        config.write_text(
            f"""
state_dir: {tmp_path / "state"}
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
rules:
  - name: tracebacks
    match: {{traceback: true}}
    cooldown: 1h
    group_by: [exc_type]
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{httpserver.url_for("/alerts")}"}}
metrics: {{listen: "{address}"}}
""",
            encoding="utf-8",
        )
        with running_daemon(config, tmp_path):
            before = scrape(address)
            assert value(before, "logwatch_lines_read_total", source="app") == 0
            written = [app_log.exception(order) for order in range(3)]
            app_log.info("all done")
            lines = sum(w.last_line - w.first_line + 1 for w in written) + 1
            wait_for(
                lambda: value(scrape(address), "logwatch_alerts_sent_total", notifier="hook") >= 1,
                15, "the delivery to be counted",
            )
            wait_for(
                lambda: value(scrape(address), "logwatch_events_total", kind="traceback") >= 3,
                15, "three traceback events",
            )
            after = scrape(address)
            size = (tmp_path / "logs" / "app.log").stat().st_size
        assert value(after, "logwatch_lines_read_total", source="app") == lines
        assert value(after, "logwatch_bytes_read_total", source="app") > 0
        assert value(after, "logwatch_alerts_total", rule="tracebacks") == 1
        assert value(after, "logwatch_alerts_suppressed_total", rule="tracebacks",
                     reason="cooldown") == 2
        assert value(after, "logwatch_delivery_latency_seconds_count", notifier="hook") == 1
        assert value(after, "logwatch_outbox_rows", state="pending") == 0
        assert size > 0
        assert receiver.count() == 1

    def test_a_taken_port_costs_the_metrics_not_the_alerts(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """Another process holds the metrics port: logged as an error, alerts still flow."""
        receiver = Receiver()
        httpserver.expect_request("/alerts").respond_with_handler(receiver.handle)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
            squatter.bind(("127.0.0.1", 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            config = tmp_path / "logwatch.yaml"
            config.write_text(
                f"""
state_dir: {tmp_path / "state"}
sources: [{{name: app, paths: ["{tmp_path / "logs"}/*.log"]}}]
rules: [{{name: tracebacks, match: {{traceback: true}}, notify: [hook]}}]
notifiers: {{hook: {{type: webhook, url: "{httpserver.url_for("/alerts")}"}}}}
metrics: {{listen: "127.0.0.1:{port}"}}
""",
                encoding="utf-8",
            )
            with running_daemon(config, tmp_path):
                app_log.exception(1)
                wait_for(lambda: receiver.count() == 1, 15, "the alert")
        stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
        assert f"metrics: cannot listen on 127.0.0.1:{port}" in stderr
        assert "running without metrics" in stderr
