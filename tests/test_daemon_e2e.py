"""The whole pipeline, for real: a logger.exception record appended to a file becomes a POST."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.daemon_harness import (
    AppLog,
    Receiver,
    running_daemon,
    stop,
    wait_for,
    wait_settled,
)

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    recorder = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(recorder.handle)
    return recorder


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[AppLog]:
    (tmp_path / "logs").mkdir()
    log = AppLog(tmp_path / "logs" / "app.log")
    log.info("service started")
    yield log
    log.close()


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
host: test-host
labels: {{service: shop}}
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
    start_at: end
rules:
  - name: tracebacks
    match: {{traceback: true}}
    severity: error
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{url}", secret: "{SECRET}"}}
delivery: {{initial_backoff: 100ms, max_backoff: 500ms, timeout: 2s}}
""",
        encoding="utf-8",
    )
    return config


class TestEndToEnd:
    def test_one_logger_exception_record_is_one_post(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """One logger.exception record appended to a watched file arrives as exactly one POST."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path):
            written = app_log.exception(1)
            started = time.monotonic()
            wait_for(lambda: receiver.count() >= 1, 10, "the webhook POST")
            latency = time.monotonic() - started
            body = receiver.bodies[0]
            assert body["exc_type"] == written.exc_type
            assert body["exc_message"] == written.exc_message
            assert (body["first_line"], body["last_line"]) == (
                written.first_line,
                written.last_line,
            )
            assert body["status"] == "firing"
            assert body["host"] == "test-host"
            assert body["labels"] == {"service": "shop"}
            assert "payment failed for order 1" in body["text"]
            headers = receiver.headers[0]
            assert headers["Idempotency-Key"] == body["id"]
            raw = httpserver.log[0][0].get_data()
            expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            assert headers["X-Logwatch-Signature"] == f"sha256={expected}"
            # a second look after the first: nothing more is sent for the same record
            app_log.info("after the error")
            wait_settled(tmp_path / "state", app_log.path)
            assert receiver.count() == 1
        assert latency < 1.0, f"delivery took {latency:.3f}s"

    def test_hundred_records_hundred_distinct_ids(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """100 records give 100 POSTs with 100 distinct ids and the right line spans."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path):
            written = [app_log.exception(order) for order in range(100)]
            wait_for(lambda: receiver.count() >= 100, 20, "100 POSTs")
        assert len(set(receiver.ids())) == 100
        spans = sorted((body["first_line"], body["last_line"]) for body in receiver.bodies)
        assert spans == [(w.first_line, w.last_line) for w in written]

    def test_sigterm_then_restart_neither_loses_nor_repeats(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """SIGTERM exits 0 in 5 s; records written while stopped arrive after the restart, once."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path) as process:
            for order in range(3):
                app_log.exception(order)
            wait_for(lambda: receiver.count() >= 3, 10, "3 POSTs")
            code, took = stop(process)
        assert code == 0
        assert took < 5.0
        offline = [app_log.exception(order) for order in range(3, 6)]
        with running_daemon(config, tmp_path):
            wait_for(lambda: receiver.count() >= 6, 10, "the 3 records written while stopped")
            app_log.info("settled")
            wait_settled(tmp_path / "state", app_log.path)
        ids = receiver.ids()
        assert len(ids) == 6
        assert len(set(ids)) == 6
        assert sorted(body["first_line"] for body in receiver.bodies[3:]) == [
            w.first_line for w in offline
        ]

    def test_failing_endpoint_delays_but_never_loses(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """While the webhook answers 500, reading goes on; every alert arrives once it recovers."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        receiver.failing = True
        with running_daemon(config, tmp_path):
            for order in range(10):
                app_log.exception(order)
            wait_for(lambda: receiver.failures >= 10, 10, "retries against the failing endpoint")
            more = [app_log.exception(order) for order in range(10, 20)]
            wait_for(lambda: receiver.failures >= 20, 10, "the later records to be read too")
            receiver.failing = False
            wait_for(lambda: receiver.count() >= 20, 20, "all 20 alerts after recovery")
        assert len(set(receiver.ids())) == 20
        assert {w.first_line for w in more} <= {body["first_line"] for body in receiver.bodies}
