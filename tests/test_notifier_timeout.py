"""How long an HTTP notifier waits for a reply: its own ``timeout``, else ``delivery.timeout``.

Sends go to a socket on 127.0.0.1 that accepts connections and never answers, so
each one ends in a read timeout whose message names the seconds waited; the
assertions are on that message, not on the clock.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from logwatch.config import load_config_text
from logwatch.daemon.runner import build_notifiers
from logwatch.errors import RetryableDeliveryError
from logwatch.notifiers import _http, registry
from logwatch.testing import sample_alert
from tests.daemon_harness import logwatch

# the HTTP notifiers, each with the least it needs besides url;
# console, email and apprise do not send through the shared HTTP client
HTTP_NOTIFIERS: dict[str, dict[str, Any]] = {
    "webhook": {},
    "slack": {},
    "teams": {},
    "discord": {},
    "alertmanager": {},
    "dingtalk": {"access_token": "abcdef123456"},
    "wecom": {"key": "k3y-abcdef123456"},
    "feishu": {"token": "t0ken-abcdef123456"},
    "lark": {"token": "t0ken-abcdef123456"},
    "opsgenie": {"api_key": "k3y-abcdef123456"},
    "pagerduty": {"routing_key": "R0UTING-abcdef123456"},
    "telegram": {"bot_token": "123456:ABCdef-token", "chat_id": "42"},
    "ntfy": {"topic": "alerts-abcdef"},
}
NOT_HTTP = {"console", "email", "apprise"}


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL whose server accepts the connection (in the kernel's backlog) and never replies."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        yield f"http://127.0.0.1:{silent.getsockname()[1]}/hook/T0KEN-abcdef123456"


def send_once(type_name: str, options: dict[str, Any], *, delivery_timeout: str) -> str:
    """Send a sample alert as the daemon does, from a config; the delivery error's message."""
    config = load_config_text(
        json.dumps(
            {
                "delivery": {"timeout": delivery_timeout},
                "notifiers": {"n": {"type": type_name, **options}},
            }
        ),
        environ={},
    )

    async def go() -> None:
        # as logwatch/daemon/sender.py builds its client
        async with _http.new_client(httpx.Timeout(config.delivery.timeout)) as client:
            notifier = build_notifiers(config, client)["n"]
            try:
                await notifier.send(sample_alert())
            finally:
                await notifier.aclose()

    with pytest.raises(RetryableDeliveryError) as caught:
        asyncio.run(go())
    return str(caught.value)


def test_every_http_notifier_is_listed() -> None:
    """A new notifier type must be checked here too, or named as not using HTTP."""
    assert set(registry.available()) - NOT_HTTP == set(HTTP_NOTIFIERS)


@pytest.mark.parametrize("type_name", sorted(HTTP_NOTIFIERS))
def test_without_its_own_timeout_a_notifier_waits_delivery_timeout(
    type_name: str, silent_url: str
) -> None:
    """The audit's bug: `delivery: {timeout: 3s}` still waited each notifier's own 10 s."""
    options = {"url": silent_url, **HTTP_NOTIFIERS[type_name]}

    message = send_once(type_name, options, delivery_timeout="300ms")

    assert message.endswith("no reply within 0.3s"), message


@pytest.mark.parametrize("timeout", ["200ms", 0.2])
@pytest.mark.parametrize("type_name", sorted(HTTP_NOTIFIERS))
def test_a_notifiers_own_timeout_wins_over_delivery_timeout(
    type_name: str, timeout: str | float, silent_url: str
) -> None:
    """Every notifier's `timeout` is a duration like every other in the config."""
    options = {"url": silent_url, "timeout": timeout, **HTTP_NOTIFIERS[type_name]}

    message = send_once(type_name, options, delivery_timeout="30s")

    assert message.endswith("no reply within 0.2s"), message


def test_test_notify_waits_delivery_timeout(tmp_path: Path, silent_url: str) -> None:
    """`logwatch test-notify` gives up when the daemon would, and says after how long."""
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\n"
        "delivery: {timeout: 300ms}\n"
        f"notifiers:\n  hook: {{type: webhook, url: '{silent_url}'}}\n",
        encoding="utf-8",
    )

    sent = logwatch("test-notify", "-c", str(config), "hook")

    where = f"POST http://127.0.0.1:{httpx.URL(silent_url).port}/***"
    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert sent.stdout.strip() == f"hook: failed: {where}: no reply within 0.3s", sent.stderr


class TestRequestTimeout:
    """The httpx.Timeout each request carries, read where the transport receives it."""

    @staticmethod
    def timeout_of_request(client_timeout: httpx.Timeout, timeout_s: float | None) -> Any:
        seen: list[Any] = []

        def reply(request: httpx.Request) -> httpx.Response:
            seen.append(request.extensions["timeout"])
            return httpx.Response(200)

        async def go() -> None:
            transport = httpx.MockTransport(reply)
            async with httpx.AsyncClient(transport=transport, timeout=client_timeout) as client:
                await _http.post(
                    client,
                    "https://hooks.example.com/x",
                    content=b"{}",
                    headers={},
                    timeout_s=timeout_s,
                    mask=_http.Masker([]),
                )

        asyncio.run(go())
        return seen[0]

    def test_the_clients_timeout_keeps_the_connect_cap(self) -> None:
        """Connecting never takes longer than CONNECT_TIMEOUT_S, whatever delivery.timeout is."""
        timeout = self.timeout_of_request(httpx.Timeout(30.0), None)
        cap = _http.CONNECT_TIMEOUT_S
        assert timeout == {"connect": cap, "read": 30.0, "write": 30.0, "pool": 30.0}

    def test_a_short_timeout_is_also_the_connect_timeout(self) -> None:
        timeout = self.timeout_of_request(httpx.Timeout(30.0), 2.0)
        assert timeout == {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}

    def test_a_client_without_a_timeout_still_gets_one(self) -> None:
        """A plugin's or a test's client built with timeout=None must not wait forever."""
        timeout = self.timeout_of_request(httpx.Timeout(None), None)
        assert timeout["read"] == _http.FALLBACK_TIMEOUT_S
