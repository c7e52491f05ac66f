"""The Alertmanager notifier: the API v2 request, and a real Alertmanager holding the alert."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import alertmanager, registry
from logwatch.notifiers.alertmanager import AlertmanagerNotifier
from logwatch.notifiers.base import Receipt
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

T = TypeVar("T")
NOW = datetime(2026, 1, 1, 12, 5, 0, tzinfo=UTC)
BINARIES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, then upstream's
AM_CONFIG = """\
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


def options(**overrides: Any) -> alertmanager.AlertmanagerOptions:
    return AlertmanagerNotifier.Options.model_validate({"type": "alertmanager", **overrides})


def send(url: str, alert: Alert, *, now: datetime | None = None, **overrides: Any) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            clock = (lambda: now) if now else (lambda: datetime.now(UTC))
            notifier = AlertmanagerNotifier(
                "am", options(url=url, **overrides), client=client, clock=clock
            )
            return await notifier.send(alert)

    return asyncio.run(go())


def poll(check: Callable[[], T | None], *, what: str, timeout_s: float = 15.0) -> T:
    """Return the first truthy result of ``check``; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(0.05)


# -- the request, against a recording server ---------------------------------------


def posted(server: HTTPServer) -> list[dict[str, Any]]:
    request, _ = server.log[-1]
    body: list[dict[str, Any]] = json.loads(request.get_data())
    return body


class TestRequest:
    def test_posts_a_list_of_one_alert_to_api_v2(self, server: HTTPServer) -> None:
        """POST /api/v2/alerts: identity in labels, the rest in annotations, endsAt ahead."""
        server.expect_oneshot_request(
            "/api/v2/alerts", method="POST", headers={"Content-Type": "application/json"}
        ).respond_with_data("", status=200)

        receipt = send(f"http://127.0.0.1:{server.port}", sample_alert(), now=NOW)

        server.check_assertions()
        assert receipt == Receipt(status=200, detail="")
        assert posted(server) == [
            {
                "labels": {
                    "service": "shop",
                    "environment": "production",
                    "alertname": "db-down",
                    "severity": "critical",
                    "fingerprint": "9c1e4f7a2b3d5e6f",
                    "host": "web-1",
                },
                "annotations": {
                    "summary": "OperationalError: could not connect",
                    "description": sample_alert().text,
                    "count": "1",
                    "file": "/var/log/shop/app.log:12-18",
                    "source": "web",
                    "exc_type": "sqlalchemy.exc.OperationalError",
                },
                "startsAt": "2026-01-01T12:00:00Z",
                "endsAt": "2026-01-01T13:05:00Z",
            }
        ]

    def test_firing_alert_ends_resolve_timeout_from_now(self) -> None:
        """Omitted, endsAt would be Alertmanager's resolve_timeout (5m): too early for logwatch."""
        [item] = alertmanager.render(sample_alert(), options(resolve_timeout="4h"), now=NOW)
        assert item["endsAt"] == "2026-01-01T16:05:00Z"

    def test_resolved_alert_ends_now(self) -> None:
        resolved = sample_alert(status=AlertStatus.RESOLVED, id="r")
        [item] = alertmanager.render(resolved, options(), now=NOW)
        assert item["endsAt"] == "2026-01-01T12:05:00Z"

    def test_never_ends_before_it_starts(self) -> None:
        """With a clock behind the log's timestamps, endsAt is clamped to startsAt."""
        resolved = sample_alert(status=AlertStatus.RESOLVED, id="r")
        [item] = alertmanager.render(resolved, options(), now=NOW - timedelta(hours=1))
        assert item["endsAt"] == item["startsAt"] == "2026-01-01T12:00:00Z"

    def test_firing_and_resolved_share_one_label_set(self) -> None:
        """Alertmanager matches a resolve to its alert by labels alone."""
        firing = alertmanager.render(sample_alert(count=1), options(), now=NOW)
        resolved = alertmanager.render(
            sample_alert(status=AlertStatus.RESOLVED, id="r", count=5, text=""), options(), now=NOW
        )
        assert firing[0]["labels"] == resolved[0]["labels"]

    def test_host_as_annotation(self) -> None:
        """`host_as: annotation`: the same error on every host is one alert."""
        [item] = alertmanager.render(sample_alert(), options(host_as="annotation"), now=NOW)
        assert "host" not in item["labels"]
        assert item["annotations"]["host"] == "web-1"

    def test_label_names_are_made_valid_and_logwatch_labels_win(self) -> None:
        """Names become [a-zA-Z_][a-zA-Z0-9_]*; a configured label cannot spoof the identity."""
        alert = sample_alert(
            labels={"team-name": "a", "1zone": "b", "alertname": "spoof", "host": "x", "empty": ""}
        )
        [item] = alertmanager.render(alert, options(), now=NOW)
        assert item["labels"] == {
            "team_name": "a",
            "_1zone": "b",
            "alertname": "db-down",
            "host": "web-1",
            "severity": "critical",
            "fingerprint": "9c1e4f7a2b3d5e6f",
        }

    def test_record_without_traceback_still_has_a_fingerprint_label(self) -> None:
        alert = sample_alert(fingerprint=None, exc_type=None, message="disk full")
        [item] = alertmanager.render(alert, options(), now=NOW)
        assert item["labels"]["fingerprint"].startswith("m")
        assert "exc_type" not in item["annotations"]

    def test_description_is_cut_keeping_the_final_exception_line(self) -> None:
        frames = [f'  File "/srv/m{n}.py", line {n}, in f' for n in range(2000)]
        text = "\n".join(["ERROR boom", "Traceback (most recent call last):", *frames, "E: x"])
        [item] = alertmanager.render(sample_alert(text=text, exc_type="E"), options(), now=NOW)
        description = item["annotations"]["description"]
        assert len(description) <= alertmanager.DESCRIPTION_CHARS
        assert description.startswith("ERROR boom\n")
        assert description.endswith("\nE: x")

    def test_generator_url_is_sent_when_configured(self) -> None:
        [item] = alertmanager.render(
            sample_alert(), options(generator_url="https://logs.example/app"), now=NOW
        )
        assert item["generatorURL"] == "https://logs.example/app"

    def test_url_may_name_the_alerts_endpoint_itself(self, server: HTTPServer) -> None:
        """`url: http://am:9093/api/v2/alerts` is not doubled; a path prefix is kept."""
        server.expect_oneshot_request("/am/api/v2/alerts").respond_with_data("")
        server.expect_oneshot_request("/api/v2/alerts").respond_with_data("")

        send(f"http://127.0.0.1:{server.port}/am/", sample_alert())
        send(f"http://127.0.0.1:{server.port}/api/v2/alerts", sample_alert())

        server.check_assertions()


class TestReplies:
    def test_invalid_alert_is_permanent(self, server: HTTPServer) -> None:
        """400 carries Alertmanager's reason as a JSON string; retrying cannot help."""
        server.expect_oneshot_request("/api/v2/alerts").respond_with_data(
            '"start time must be before end time"', status=400
        )

        with pytest.raises(PermanentDeliveryError, match=r"HTTP 400 .*start time must be"):
            send(f"http://127.0.0.1:{server.port}", sample_alert())

    def test_server_error_is_retryable(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/api/v2/alerts").respond_with_data("", status=500)

        with pytest.raises(RetryableDeliveryError, match="HTTP 500"):
            send(f"http://127.0.0.1:{server.port}", sample_alert())

    def test_keeps_the_notifier_contract(self) -> None:
        requests = check_notifier_contract(
            AlertmanagerNotifier, {}, "http://alertmanager.example:9093/"
        )
        assert all(request.target == "/api/v2/alerts" for request in requests)


class TestOptions:
    def test_defaults(self) -> None:
        parsed = options()
        assert parsed.url == "http://localhost:9093"
        assert (parsed.host_as, parsed.resolve_timeout, parsed.timeout) == ("label", 3600.0, None)
        assert parsed.generator_url is None

    def test_host_as_is_label_or_annotation(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="host_as"):
            options(host_as="both")

    def test_resolve_timeout_must_be_positive(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="resolve_timeout"):
            options(resolve_timeout="0s")

    def test_is_registered_as_alertmanager(self) -> None:
        assert registry.load("alertmanager") is AlertmanagerNotifier


# -- a real Alertmanager ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    missing = "Alertmanager is not installed (apt-get install prometheus-alertmanager)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing}; CI must run the tests against a real Alertmanager")
    pytest.skip(f"{missing}: SKIPPING the tests against a real Alertmanager")


@pytest.fixture(scope="module")
def real_alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Alertmanager on 127.0.0.1 with a throwaway config and storage; yields its URL."""
    binary = _binary()
    home = tmp_path_factory.mktemp("alertmanager")
    config = home / "alertmanager.yml"
    config.write_text(AM_CONFIG)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (home / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip: a single, isolated instance
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        poll(lambda: _ready(url) or process.poll() is not None, what="Alertmanager to start")
        if process.poll() is not None:
            pytest.fail(f"Alertmanager exited: {_tail(home / 'alertmanager.log')}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:]


def active_alerts(url: str, alertname: str) -> list[dict[str, Any]]:
    """The active alerts named ``alertname``, as Alertmanager's API lists them."""
    reply = httpx.get(
        f"{url}/api/v2/alerts",
        params={"active": "true", "filter": f'alertname="{alertname}"'},
        timeout=5.0,
    )
    reply.raise_for_status()
    return [alert for alert in reply.json() if alert["status"]["state"] == "active"]


class TestRealAlertmanager:
    def test_alert_is_held_with_its_labels_then_resolved(self, real_alertmanager: str) -> None:
        """The firing alert becomes active with our labels; the resolved one ends it."""
        alert = sample_alert(rule="am-roundtrip", first_seen=datetime.now(UTC))

        receipt = send(real_alertmanager, alert)

        assert receipt.status == 200
        [held] = poll(lambda: active_alerts(real_alertmanager, "am-roundtrip"), what="the alert")
        assert held["labels"] == {
            "alertname": "am-roundtrip",
            "severity": "critical",
            "fingerprint": "9c1e4f7a2b3d5e6f",
            "host": "web-1",
            "service": "shop",
            "environment": "production",
        }
        assert held["annotations"]["summary"] == "OperationalError: could not connect"
        assert held["annotations"]["exc_type"] == "sqlalchemy.exc.OperationalError"
        ends = datetime.fromisoformat(held["endsAt"])
        assert ends > datetime.now(UTC) + timedelta(minutes=50)  # not the 5m default

        send(real_alertmanager, dataclasses.replace(alert, status=AlertStatus.RESOLVED, id="r"))

        poll(
            lambda: not active_alerts(real_alertmanager, "am-roundtrip"),
            what="the alert to be resolved",
        )

    def test_host_as_annotation_is_accepted(self, real_alertmanager: str) -> None:
        send(real_alertmanager, sample_alert(rule="am-annotated"), host_as="annotation")

        [held] = poll(lambda: active_alerts(real_alertmanager, "am-annotated"), what="the alert")
        assert "host" not in held["labels"]
        assert held["annotations"]["host"] == "web-1"
