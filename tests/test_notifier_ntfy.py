"""The ntfy notifier: JSON publish to the root URL, priority from severity, plain text."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import ntfy
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.ntfy import NtfyNotifier
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

TOPIC = "ops-shop-7f3a9c"
TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
STORED = {"id": "hwQ2YpKdmg", "time": 1767268800, "event": "message", "topic": TOPIC}
INJECTIONS = (
    "<!channel>",
    "@everyone",
    "@here",
    '<at user_id="all">all</at>',
    "**bold** _em_ `code` # heading",
    "[click here](http://evil.example)",
    "<a href='http://evil.example'>x</a>",
)


def send(server: HTTPServer, alert: Alert, **options: Any) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = NtfyNotifier.Options.model_validate(
                {
                    "type": "ntfy",
                    "url": f"http://127.0.0.1:{server.port}/",
                    "topic": TOPIC,
                    **options,
                }
            )
            return await NtfyNotifier("ntfy", parsed, client=client).send(alert)

    return asyncio.run(go())


class TestRequest:
    def test_publishes_json_to_the_root_url(self, server: HTTPServer) -> None:
        """The topic goes in the body; title, message, priority and an emoji tag."""
        server.expect_oneshot_request(
            "/", method="POST", headers={"Content-Type": "application/json"}
        ).respond_with_data(json.dumps(STORED), content_type="application/json")

        receipt = send(server, sample_alert())

        server.check_assertions()
        request, _ = server.log[-1]
        assert "Authorization" not in request.headers
        assert posted(server) == {
            "topic": TOPIC,
            "title": "CRITICAL · db-down",
            "message": (
                "OperationalError: could not connect\n"
                "Host: web-1\n"
                "Source: web\n"
                "File: /var/log/shop/app.log:12-18\n"
                "Count: 1\n\n"
                f"{sample_alert().text}\n\n"
                "logwatch · first seen 2026-01-01T12:00:00+00:00"
                " · environment=production · service=shop"
            ),
            "priority": 5,
            "tags": ["rotating_light"],
        }
        # whoever knows a topic can read it: even the receipt masks it
        assert receipt == Receipt(status=200, detail=json.dumps({**STORED, "topic": "***"}))

    def test_token_is_sent_as_a_bearer_token(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(
            "/", headers={"Authorization": f"Bearer {TOKEN}"}
        ).respond_with_json(STORED)

        send(server, sample_alert(), token=TOKEN)

        server.check_assertions()

    @pytest.mark.parametrize(
        ("severity", "priority", "tag"),
        [
            (Severity.CRITICAL, 5, "rotating_light"),
            (Severity.ERROR, 4, "x"),
            (Severity.WARNING, 3, "warning"),
            (Severity.INFO, 2, "information_source"),
        ],
    )
    def test_priority_and_tag_follow_severity(
        self, severity: Severity, priority: int, tag: str
    ) -> None:
        body = ntfy.render(sample_alert(severity=severity), TOPIC)
        assert (body["priority"], body["tags"]) == (priority, [tag])


def test_resolved_alert_is_quiet_and_short() -> None:
    body = ntfy.render(sample_alert(status=AlertStatus.RESOLVED), TOPIC)
    assert body["title"] == "RESOLVED · db-down"
    assert (body["priority"], body["tags"]) == (2, ["white_check_mark"])
    assert "Resolved: no new occurrence since 2026-01-01T12:00:00+00:00." in body["message"]
    assert "Traceback" not in body["message"]


class TestInertLogText:
    def test_message_is_plain_text_with_no_action_fields(self, server: HTTPServer) -> None:
        """Without `markdown: true` ntfy shows text as typed; no click, action or attachment."""
        server.expect_oneshot_request("/").respond_with_json(STORED)
        attack = " ".join(INJECTIONS)
        alert = sample_alert(
            title=f"ValueError: {attack}",
            message=attack,
            text=f"ERROR {attack}\nTraceback (most recent call last):\nValueError: {attack}",
            host=f"web {attack}",
            labels={"team": attack},
            exc_type="ValueError",
            rule=f"rule {attack}",
        )

        send(server, alert)

        body = posted(server)
        assert set(body) == {"topic", "title", "message", "priority", "tags"}
        assert body["message"].startswith(f"ValueError: {attack}\n")
        assert f"\nValueError: {attack}\n" in body["message"]
        assert body["title"] == f"CRITICAL · rule {attack}"

    def test_terminal_escapes_are_shown_not_obeyed(self) -> None:
        body = ntfy.render(sample_alert(title="a\x1b[31mred"), TOPIC)
        assert body["message"].startswith("a\\x1b[31mred\n")


class TestLimits:
    def test_message_stays_within_4096_bytes_and_keeps_the_final_line(self) -> None:
        """Bytes, not characters: longer messages would turn into an attachment."""
        frames = [f'  File "/srv/应用/模块{n}.py", line {n}\n    调用()' for n in range(500)]
        text = "\n".join(
            [
                "2026-01-01 12:00:00,123 ERROR app 任务失败",
                "Traceback (most recent call last):",
                *frames,
                "ValueError: 数据错误",
            ]
        )
        alert = sample_alert(text=text, exc_type="ValueError", title="数" * 3000)

        message = ntfy.render(alert, TOPIC)["message"]

        assert len(message.encode("utf-8")) <= ntfy.MESSAGE_BYTES
        lines = message.split("\n")
        assert "2026-01-01 12:00:00,123 ERROR app 任务失败" in lines
        assert "ValueError: 数据错误" in lines
        assert any(line.startswith("… ") and line.endswith(" lines cut …") for line in lines)


class TestReplies:
    def test_rate_limit_is_retryable(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/").respond_with_json(
            {"code": 42901, "http": 429, "error": "limit reached: too many requests"},
            status=429,
            headers={"Retry-After": "5"},
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 5.0

    @pytest.mark.parametrize("status", [401, 403, 413])
    def test_auth_and_size_errors_are_permanent(self, server: HTTPServer, status: int) -> None:
        server.expect_oneshot_request("/").respond_with_json(
            {"code": status * 100 + 1, "http": status, "error": "no"}, status=status
        )

        with pytest.raises(PermanentDeliveryError, match=f"HTTP {status}"):
            send(server, sample_alert())

    def test_token_and_topic_never_appear_in_errors(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/").respond_with_data(
            f"unauthorized {TOKEN} for {TOPIC}", status=401
        )

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert(), token=TOKEN)
        assert TOKEN not in str(caught.value)
        assert TOPIC not in str(caught.value)


def test_keeps_the_notifier_contract() -> None:
    check_notifier_contract(
        NtfyNotifier, {"topic": TOPIC, "token": TOKEN}, "https://ntfy.sh/", ok_body="{}"
    )


class TestOptions:
    def test_defaults(self) -> None:
        options = NtfyNotifier.Options.model_validate({"type": "ntfy", "topic": TOPIC})
        assert (options.url, options.token, options.timeout) == ("https://ntfy.sh", "", None)

    def test_topic_is_required(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="topic"):
            NtfyNotifier.Options.model_validate({"type": "ntfy"})

    def test_repr_hides_token_and_topic(self) -> None:
        options = NtfyNotifier.Options.model_validate(
            {"type": "ntfy", "topic": TOPIC, "token": TOKEN}
        )
        assert TOKEN not in repr(options)
        assert TOPIC not in repr(options)
