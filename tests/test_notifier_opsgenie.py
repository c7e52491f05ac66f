"""The Opsgenie notifier: Alert API v2 create and close-by-alias, against a server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import opsgenie, registry
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.opsgenie import OpsgenieNotifier
from logwatch.testing import SAMPLE_TEXT, check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

API_KEY = "0a1b2c3d-eeee-ffff-0000-123456789abc"
ALIAS = "logwatch:web-1:db-down:9c1e4f7a2b3d5e6f"
QUEUED = {"result": "Request will be processed", "took": 0.2, "requestId": "43a29c5c"}
INJECTIONS = (
    "<script>alert(1)</script>",
    '<a href="http://evil.example">click</a>',
    "<img src=x onerror=alert(1)>",
    "[click](http://evil.example)",
)


def options(**overrides: Any) -> opsgenie.OpsgenieOptions:
    return OpsgenieNotifier.Options.model_validate(
        {"type": "opsgenie", "api_key": API_KEY, **overrides}
    )


def send(server: HTTPServer, alert: Alert, **overrides: Any) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = options(url=f"http://127.0.0.1:{server.port}", **overrides)
            return await OpsgenieNotifier("og", parsed, client=client).send(alert)

    return asyncio.run(go())


class TestCreate:
    def test_posts_the_documented_create_request(self, server: HTTPServer) -> None:
        """A firing alert is POST /v2/alerts with a GenieKey; Opsgenie's 202 is the receipt."""
        server.expect_oneshot_request(
            "/v2/alerts",
            method="POST",
            headers={"Authorization": f"GenieKey {API_KEY}", "Content-Type": "application/json"},
        ).respond_with_json(QUEUED, status=202)

        receipt = send(server, sample_alert())

        server.check_assertions()
        assert receipt.status == 202
        assert "Request will be processed" in receipt.detail
        assert posted(server) == {
            "message": "OperationalError: could not connect",
            "alias": ALIAS,
            "description": SAMPLE_TEXT,
            "tags": ["logwatch", "db-down", "critical"],
            "details": {
                "service": "shop",
                "environment": "production",
                "rule": "db-down",
                "severity": "critical",
                "host": "web-1",
                "source": "web",
                "file": "/var/log/shop/app.log:12-18",
                "count": "1",
                "first_seen": "2026-01-01T12:00:00Z",
                "last_seen": "2026-01-01T12:00:00Z",
                "fingerprint": "9c1e4f7a2b3d5e6f",
                "exc_type": "sqlalchemy.exc.OperationalError",
            },
            "entity": "web-1",
            "source": "logwatch",
            "priority": "P1",
        }

    @pytest.mark.parametrize(
        ("severity", "priority"),
        [
            (Severity.CRITICAL, "P1"),
            (Severity.ERROR, "P2"),
            (Severity.WARNING, "P3"),
            (Severity.INFO, "P5"),
        ],
    )
    def test_priority_follows_severity(self, severity: Severity, priority: str) -> None:
        body = opsgenie.render_create(sample_alert(severity=severity), options())
        assert body["priority"] == priority

    def test_priorities_can_be_overridden_per_severity(self) -> None:
        """`priorities: {error: P1}` pages as hard for errors; the rest keep the defaults."""
        custom = options(priorities={"error": "P1"})
        assert (
            opsgenie.render_create(sample_alert(severity=Severity.ERROR), custom)["priority"]
            == "P1"
        )
        assert (
            opsgenie.render_create(sample_alert(severity=Severity.WARNING), custom)["priority"]
            == "P3"
        )

    def test_configured_tags_are_added_within_the_limits(self) -> None:
        """At most 20 tags of 50 characters each; repeats appear once."""
        custom = options(tags=["payments", "logwatch", "t" * 80, *[f"x{n}" for n in range(30)]])
        tags = opsgenie.render_create(sample_alert(), custom)["tags"]
        assert tags[:4] == ["logwatch", "db-down", "critical", "payments"]
        assert len(tags) == 20
        assert all(len(tag) <= 50 for tag in tags)

    def test_message_fits_130_characters_even_when_escaped(self) -> None:
        """The cut never leaves half an HTML entity behind."""
        body = opsgenie.render_create(sample_alert(title="<&>" * 100), options())
        message = body["message"]
        assert len(message) <= 130
        assert message.endswith(";…")
        assert ("<&>" * 100).startswith(html.unescape(message.removesuffix("…")))

    def test_description_fits_15000_characters_keeping_the_final_line(self) -> None:
        frames = [f'  File "/srv/m{n}.py", line {n}, in <module>' for n in range(5000)]
        text = "\n".join(["ERROR boom", "Traceback (most recent call last):", *frames, "E: x"])

        description = opsgenie.description(sample_alert(text=text, exc_type="E"))

        assert len(description) <= 15_000
        assert description.startswith("ERROR boom\n")
        assert description.endswith("\nE: x")
        assert "in &lt;module&gt;" in description

    def test_alias_fits_512_characters(self) -> None:
        alias = opsgenie.render_create(sample_alert(rule="r" * 600), options())["alias"]
        assert len(alias) <= 512


class TestInertLogText:
    @pytest.mark.parametrize("attack", INJECTIONS)
    def test_html_in_log_text_arrives_escaped(self, server: HTTPServer, attack: str) -> None:
        """Opsgenie formats HTML in alert text; nothing from a log line may become a tag.

        Opsgenie documents HTML formatting, not Markdown: a Markdown link is left as typed.
        """
        server.expect_oneshot_request("/v2/alerts").respond_with_json(QUEUED, status=202)
        alert = sample_alert(
            title=f"ValueError: {attack}",
            text=f"Traceback (most recent call last):\nValueError: {attack}",
            labels={"team": attack},
            exc_type="ValueError",
        )

        send(server, alert)

        body = posted(server)
        for text in (body["message"], body["description"], *body["details"].values()):
            assert "<" not in text
            assert ">" not in text
        # escaped, the text shows exactly what the log said
        escaped = html.escape(attack, quote=False)
        assert body["message"] == f"ValueError: {escaped}"
        assert body["description"].endswith(f"ValueError: {escaped}")
        assert body["details"]["team"] == escaped


class TestClose:
    def test_resolved_alert_closes_the_alert_by_its_alias(self, server: HTTPServer) -> None:
        """`status: resolved` is POST /v2/alerts/{alias}/close?identifierType=alias."""
        server.expect_oneshot_request(
            f"/v2/alerts/{ALIAS}/close",
            method="POST",
            query_string="identifierType=alias",
            headers={"Authorization": f"GenieKey {API_KEY}"},
        ).respond_with_json(QUEUED, status=202)

        receipt = send(server, sample_alert(status=AlertStatus.RESOLVED, id="f00d"))

        server.check_assertions()
        assert receipt.status == 202
        assert posted(server) == {
            "source": "logwatch",
            "note": "resolved by logwatch: no new occurrence since 2026-01-01T12:00:00Z",
        }

    def test_close_uses_the_alias_the_create_used(self) -> None:
        """Whatever changed in between (count, text, title), the alias is the group's."""
        _, created = opsgenie.request(sample_alert(), options())
        url, _ = opsgenie.request(
            sample_alert(status=AlertStatus.RESOLVED, id="x", count=9, title="other", text=""),
            options(),
        )
        assert (
            url
            == f"https://api.opsgenie.com/v2/alerts/{created['alias']}/close?identifierType=alias"
        )

    def test_alias_is_percent_encoded_in_the_path(self, server: HTTPServer) -> None:
        """A rule or host name with `/`, `?` or spaces cannot change the request's route."""
        server.expect_oneshot_request("/v2/alerts/logwatch:h/x:a/b ?c:fp/close").respond_with_json(
            QUEUED, status=202
        )

        send(
            server,
            sample_alert(status=AlertStatus.RESOLVED, host="h/x", rule="a/b ?c", fingerprint="fp"),
        )

        request, _ = server.log[-1]
        assert request.environ["RAW_URI"] == (
            "/v2/alerts/logwatch:h%2Fx:a%2Fb%20%3Fc:fp/close?identifierType=alias"
        )


class TestReplies:
    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
    def test_client_errors_are_permanent(self, server: HTTPServer, status: int) -> None:
        """A bad key or payload cannot succeed on retry; Opsgenie's message is in the error."""
        server.expect_oneshot_request("/v2/alerts").respond_with_json(
            {"message": "Key format is not valid!", "took": 0.0, "requestId": "r1"},
            status=status,
        )

        with pytest.raises(PermanentDeliveryError, match=f"HTTP {status} .*Key format"):
            send(server, sample_alert())

    def test_rate_limited_is_retryable_after_retry_after(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/v2/alerts").respond_with_data(
            "", status=429, headers={"Retry-After": "12"}
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 12.0

    def test_server_error_is_retryable(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/v2/alerts").respond_with_data("down", status=503)

        with pytest.raises(RetryableDeliveryError, match="HTTP 503 down"):
            send(server, sample_alert())

    def test_api_key_echoed_in_a_reply_is_masked(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/v2/alerts").respond_with_data(
            f"GenieKey {API_KEY} is not authorized", status=401
        )

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        assert API_KEY not in str(caught.value)
        assert "GenieKey *** is not authorized" in str(caught.value)

    def test_keeps_the_notifier_contract(self) -> None:
        requests = check_notifier_contract(
            OpsgenieNotifier,
            {"api_key": API_KEY},
            "https://api.opsgenie.com/",
            ok_status=202,
            ok_body=json.dumps(QUEUED),
        )
        assert all(request.target == "/v2/alerts" for request in requests)
        assert all(
            request.headers["Authorization"] == f"GenieKey {API_KEY}" for request in requests
        )


class TestOptions:
    def test_defaults(self) -> None:
        parsed = options()
        assert parsed.url == "https://api.opsgenie.com"
        assert (parsed.tags, parsed.priorities, parsed.timeout) == ([], {}, None)

    def test_eu_instance_is_a_url(self) -> None:
        """EU accounts set `url: https://api.eu.opsgenie.com`; paths are appended to it."""
        url, _ = opsgenie.request(sample_alert(), options(url="https://api.eu.opsgenie.com/"))
        assert url == "https://api.eu.opsgenie.com/v2/alerts"

    def test_api_key_is_required_and_hidden(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="api_key"):
            OpsgenieNotifier.Options.model_validate({"type": "opsgenie"})
        assert API_KEY not in repr(options())

    def test_priority_must_be_p1_to_p5(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="P1"):
            options(priorities={"critical": "P0"})

    def test_unknown_severity_in_priorities_is_rejected(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="unknown severity"):
            options(priorities={"fatal": "P1"})

    def test_is_registered_as_opsgenie(self) -> None:
        assert registry.load("opsgenie") is OpsgenieNotifier
