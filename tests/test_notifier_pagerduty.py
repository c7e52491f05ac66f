"""The PagerDuty notifier: Events API v2 trigger/resolve pairs, against a server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import pagerduty, registry
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.pagerduty import PagerDutyNotifier
from logwatch.testing import SAMPLE_TEXT, check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

ROUTING_KEY = "R0UTINGKEYexample0000000000000000"
ENQUEUE = "/v2/enqueue"
ACCEPTED = {"status": "success", "message": "Event processed", "dedup_key": "x"}
SAMPLE_KEY = "logwatch:web-1:db-down:9c1e4f7a2b3d5e6f"


def send(server: HTTPServer, alert: Alert, **options: Any) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = PagerDutyNotifier.Options.model_validate(
                {
                    "type": "pagerduty",
                    "url": f"http://127.0.0.1:{server.port}{ENQUEUE}",
                    "routing_key": ROUTING_KEY,
                    **options,
                }
            )
            return await PagerDutyNotifier("pd", parsed, client=client).send(alert)

    return asyncio.run(go())


def resolved(**overrides: Any) -> Alert:
    return sample_alert(status=AlertStatus.RESOLVED, id="f00d", **overrides)


class TestTrigger:
    def test_posts_the_documented_trigger_event(self, server: HTTPServer) -> None:
        """A firing alert is one POST of a `trigger` event; PagerDuty's 202 is the receipt."""
        server.expect_oneshot_request(
            ENQUEUE, method="POST", headers={"Content-Type": "application/json"}
        ).respond_with_json(ACCEPTED, status=202)

        receipt = send(server, sample_alert())

        server.check_assertions()
        assert receipt.status == 202
        assert '"status": "success"' in receipt.detail
        assert posted(server) == {
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "dedup_key": SAMPLE_KEY,
            "client": "logwatch",
            "payload": {
                "summary": "OperationalError: could not connect (db-down on web-1)",
                "source": "web-1",
                "severity": "critical",
                "timestamp": "2026-01-01T12:00:00Z",
                "component": "web",
                "class": "sqlalchemy.exc.OperationalError",
                "custom_details": {
                    "rule": "db-down",
                    "severity": "critical",
                    "host": "web-1",
                    "source": "web",
                    "file": "/var/log/shop/app.log:12-18",
                    "count": 1,
                    "first_seen": "2026-01-01T12:00:00Z",
                    "last_seen": "2026-01-01T12:00:00Z",
                    "fingerprint": "9c1e4f7a2b3d5e6f",
                    "exc_type": "sqlalchemy.exc.OperationalError",
                    "exc_message": "could not connect",
                    "logger": "app.db",
                    "level": "ERROR",
                    "labels": {"service": "shop", "environment": "production"},
                    "traceback": SAMPLE_TEXT,
                },
            },
        }

    @pytest.mark.parametrize("severity", list(Severity))
    def test_severity_maps_to_pagerduty_severity(self, severity: Severity) -> None:
        """PagerDuty's four severities have logwatch's names: critical, error, warning, info."""
        event = pagerduty.render(sample_alert(severity=severity), ROUTING_KEY)
        assert event["payload"]["severity"] == str(severity)
        assert event["payload"]["severity"] in {"critical", "error", "warning", "info"}

    def test_summary_fits_1024_characters(self) -> None:
        event = pagerduty.render(sample_alert(title="x" * 5000), ROUTING_KEY)
        summary = event["payload"]["summary"]
        assert len(summary) == 1024
        assert summary.endswith("…")

    def test_summary_fits_1024_characters_after_controls_are_made_visible(self) -> None:
        """An ANSI-coloured title grows fourfold as `\\x1b`; the cut counts what is sent."""
        alert = sample_alert(title="\x1b" * 200, rule="r" * 300)
        summary = pagerduty.render(alert, ROUTING_KEY)["payload"]["summary"]
        assert len(summary) == 1024
        assert summary.startswith("\\x1b" * 200)
        assert summary.endswith("…")

    def test_record_without_traceback_has_no_class(self) -> None:
        alert = sample_alert(exc_type=None, exc_message=None, text="plain error line")
        payload = pagerduty.render(alert, ROUTING_KEY)["payload"]
        assert "class" not in payload
        assert payload["custom_details"]["traceback"] == "plain error line"

    def test_long_traceback_is_cut_in_the_middle(self) -> None:
        """Frames go from the middle; the header and the final exception line stay."""
        frames = [f'  File "/srv/m{n}.py", line {n}, in f' for n in range(20_000)]
        text = "\n".join(["ERROR boom", "Traceback (most recent call last):", *frames, "E: x"])
        alert = sample_alert(text=text, exc_type="E")

        traceback = pagerduty.custom_details(alert)["traceback"]

        assert len(traceback) <= pagerduty.TRACEBACK_CHARS
        assert traceback.startswith("ERROR boom\n")
        assert traceback.endswith("\nE: x")
        assert " lines cut …" in traceback

    def test_oversized_event_drops_its_details_not_the_page(self) -> None:
        """Over 512 KB PagerDuty rejects the whole event; the details give way."""
        alert = sample_alert(labels={f"k{n}": "v" * 1000 for n in range(600)})

        event = pagerduty.render(alert, ROUTING_KEY)

        assert event["payload"]["custom_details"] == {"note": pagerduty.TOO_LARGE}
        assert len(json.dumps(event).encode()) < pagerduty.EVENT_BYTES

    def test_log_text_is_sent_as_data_with_controls_made_visible(self) -> None:
        """PagerDuty shows text as typed; an ANSI escape in the summary becomes `\\x1b`."""
        alert = sample_alert(title="<!channel> @everyone <script>x</script> \x1b[31mred")
        summary = pagerduty.render(alert, ROUTING_KEY)["payload"]["summary"]
        assert summary.startswith("<!channel> @everyone <script>x</script> \\x1b[31mred")


class TestDedupKey:
    def test_every_alert_of_a_group_has_the_same_key(self) -> None:
        """Repeats of a group (new id, count, text) join the incident the first one opened."""
        first = pagerduty.render(sample_alert(), ROUTING_KEY)
        later = pagerduty.render(
            sample_alert(id="other", count=7, text="different", title="new title"), ROUTING_KEY
        )
        assert first["dedup_key"] == later["dedup_key"] == SAMPLE_KEY

    @pytest.mark.parametrize(
        "change", [{"fingerprint": "0000aaaa"}, {"rule": "other-rule"}, {"host": "web-2"}]
    )
    def test_another_group_has_another_key(self, change: dict[str, Any]) -> None:
        """A different fingerprint, rule or host is a different incident."""
        other = pagerduty.render(sample_alert(**change), ROUTING_KEY)
        assert other["dedup_key"] != SAMPLE_KEY

    def test_record_without_fingerprint_is_keyed_by_a_digest_of_its_message(self) -> None:
        """The message identifies the group but never reaches PagerDuty as the key."""
        alert = sample_alert(fingerprint=None, message="payment token=abc123 failed")
        key = pagerduty.render(alert, ROUTING_KEY)["dedup_key"]
        again = pagerduty.render(dataclasses.replace(alert, id="2"), ROUTING_KEY)["dedup_key"]
        assert key == again
        assert "abc123" not in key
        assert key.startswith("logwatch:web-1:db-down:m")

    def test_key_fits_255_characters_whatever_the_names(self) -> None:
        key = pagerduty.render(sample_alert(rule="r" * 400), ROUTING_KEY)["dedup_key"]
        assert len(key) <= 255
        assert key.startswith("logwatch:")


class TestResolve:
    def test_resolved_alert_is_a_resolve_event_with_the_trigger_key(
        self, server: HTTPServer
    ) -> None:
        """`status: resolved` sends `event_action: resolve` with the trigger's dedup_key."""
        server.expect_oneshot_request(ENQUEUE, method="POST").respond_with_json(
            ACCEPTED, status=202
        )

        send(server, resolved(count=3, text=""))

        assert posted(server) == {
            "routing_key": ROUTING_KEY,
            "event_action": "resolve",
            "dedup_key": SAMPLE_KEY,
        }
        trigger = pagerduty.render(sample_alert(), ROUTING_KEY)
        assert posted(server)["dedup_key"] == trigger["dedup_key"]


class TestReplies:
    def test_invalid_event_is_permanent_and_says_why(self, server: HTTPServer) -> None:
        """400 (invalid event) cannot succeed on retry; PagerDuty's reason is in the error."""
        reply = {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": ["'payload.summary' is missing or blank"],
        }
        server.expect_oneshot_request(ENQUEUE).respond_with_json(reply, status=400)

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        message = str(caught.value)
        assert message.startswith(f"POST http://127.0.0.1:{server.port}/***: HTTP 400 ")
        assert "payload.summary" in message

    def test_throttled_is_retryable(self, server: HTTPServer) -> None:
        """429: over the integration's rate limit; the outbox tries again later."""
        server.expect_oneshot_request(ENQUEUE).respond_with_json(
            {
                "status": "throttle event",
                "message": "Requests for this service are arriving too quickly.",
            },
            status=429,
            headers={"Retry-After": "60"},
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 60.0

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_server_errors_are_retryable(self, server: HTTPServer, status: int) -> None:
        server.expect_oneshot_request(ENQUEUE).respond_with_data("oops", status=status)

        with pytest.raises(RetryableDeliveryError, match=f"HTTP {status}"):
            send(server, sample_alert())

    def test_routing_key_echoed_in_a_reply_is_masked(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(ENQUEUE).respond_with_data(
            f"unknown routing key {ROUTING_KEY}", status=400
        )

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        assert ROUTING_KEY not in str(caught.value)
        assert "unknown routing key ***" in str(caught.value)

    def test_keeps_the_notifier_contract(self) -> None:
        """One request per send, 202 delivered, 503/429 retryable, 400 permanent, no leaks."""
        requests = check_notifier_contract(
            PagerDutyNotifier,
            {"routing_key": ROUTING_KEY},
            "https://events.pagerduty.com/v2/enqueue",
            ok_status=202,
            ok_body=json.dumps(ACCEPTED),
        )
        assert all(request.target == ENQUEUE for request in requests)


class TestOptions:
    def test_defaults_to_the_documented_endpoint(self) -> None:
        options = PagerDutyNotifier.Options.model_validate(
            {"type": "pagerduty", "routing_key": ROUTING_KEY}
        )
        assert options.url == "https://events.pagerduty.com/v2/enqueue"
        assert options.timeout is None  # delivery.timeout

    def test_eu_endpoint_and_duration_timeout(self) -> None:
        options = PagerDutyNotifier.Options.model_validate(
            {
                "type": "pagerduty",
                "routing_key": ROUTING_KEY,
                "url": "https://events.eu.pagerduty.com/v2/enqueue",
                "timeout": "5s",
            }
        )
        assert (options.url, options.timeout) == ("https://events.eu.pagerduty.com/v2/enqueue", 5.0)

    @pytest.mark.parametrize("routing_key", [None, ""])
    def test_routing_key_is_required(self, routing_key: str | None) -> None:
        raw = {"type": "pagerduty"} if routing_key is None else {"routing_key": routing_key}
        with pytest.raises(pydantic.ValidationError, match="routing_key"):
            PagerDutyNotifier.Options.model_validate({"type": "pagerduty", **raw})

    def test_repr_hides_the_routing_key(self) -> None:
        options = PagerDutyNotifier.Options.model_validate(
            {"type": "pagerduty", "routing_key": ROUTING_KEY}
        )
        assert ROUTING_KEY not in repr(options) + str(options)

    def test_unknown_keys_are_rejected(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="service_key"):
            PagerDutyNotifier.Options.model_validate(
                {"type": "pagerduty", "routing_key": ROUTING_KEY, "service_key": "x"}
            )

    def test_is_registered_as_pagerduty(self) -> None:
        assert registry.load("pagerduty") is PagerDutyNotifier
