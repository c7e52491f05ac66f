"""logwatch.testing: the helpers plugin authors use in their own tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import Field

import logwatch.testing
from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers.base import NotifierOptions, Receipt
from logwatch.notifiers.slack import SlackNotifier
from logwatch.notifiers.webhook import WebhookNotifier
from logwatch.testing import (
    RecordingNotifier,
    RecordingOptions,
    check_notifier_contract,
    sample_alert,
)

SLACK_URL = "https://hooks.slack.com/services/T0000TEST/B0000TEST/XXXXtokenXXXXXXXX"


class TestSampleAlert:
    def test_is_a_realistic_firing_traceback_alert(self) -> None:
        alert = sample_alert()
        assert alert.status is AlertStatus.FIRING
        assert alert.severity is Severity.CRITICAL
        assert alert.text.splitlines()[-1] == f"{alert.exc_type}: {alert.exc_message}"
        assert alert.first_seen.utcoffset() is not None
        assert Alert.from_payload(json.loads(json.dumps(alert.payload()))) == alert

    def test_overrides_replace_fields(self) -> None:
        alert = sample_alert(rule="other", count=7)
        assert (alert.rule, alert.count, alert.host) == ("other", 7, "web-1")

    def test_unknown_field_is_an_error(self) -> None:
        with pytest.raises(TypeError):
            sample_alert(colour="red")


class TestRecordingNotifier:
    def test_records_sent_alerts_in_order(self) -> None:
        notifier = RecordingNotifier()
        first, second = sample_alert(id="1"), sample_alert(id="2")

        receipts = [asyncio.run(notifier.send(a)) for a in (first, second)]

        assert notifier.sent == [first, second]
        assert receipts[1] == Receipt(status=None, detail="recorded #2")

    def test_fail_next_raises_retryable_then_recovers(self) -> None:
        """Told to fail twice, it raises twice (with the Retry-After asked for), then delivers."""
        notifier = RecordingNotifier("rec")
        notifier.fail_next(2, retry_after_s=5.0)
        alert = sample_alert()

        for _ in range(2):
            with pytest.raises(RetryableDeliveryError) as caught:
                asyncio.run(notifier.send(alert))
            assert caught.value.retry_after_s == 5.0
        asyncio.run(notifier.send(alert))

        assert notifier.sent == [alert]
        assert len(notifier.attempts) == 3

    def test_fail_next_permanent(self) -> None:
        notifier = RecordingNotifier()
        notifier.fail_next(permanent=True)

        with pytest.raises(PermanentDeliveryError):
            asyncio.run(notifier.send(sample_alert()))
        assert notifier.sent == []

    def test_is_built_like_any_plugin(self) -> None:
        """Same constructor and Options as a real notifier, so it can stand in for one."""
        options = RecordingOptions.model_validate({"type": "recording"})

        async def go() -> RecordingNotifier:
            async with httpx.AsyncClient() as client:
                notifier = RecordingNotifier("rec", options, client=client)
                await notifier.aclose()
                return notifier

        notifier = asyncio.run(go())
        assert notifier.name == "rec"
        assert notifier.closed


class TestContractCheck:
    def test_webhook_notifier_keeps_the_contract(self) -> None:
        requests = check_notifier_contract(
            WebhookNotifier, {"secret": "k"}, "https://receiver.example.com/in/tok-123456789"
        )
        assert len(requests) == 4
        assert {r.target for r in requests} == {"/in/tok-123456789"}
        assert json.loads(requests[0].body) == sample_alert().payload()

    def test_slack_notifier_keeps_the_contract(self) -> None:
        requests = check_notifier_contract(SlackNotifier, {}, SLACK_URL)
        assert requests[0].method == "POST"
        assert requests[0].headers["Content-Type"] == "application/json"

    def test_a_notifier_that_swallows_errors_fails_the_check(self) -> None:
        """Returning normally on a 4xx hides a dead channel: the check reports it."""

        class Swallowing(_Plugin):
            async def send(self, alert: Alert) -> Receipt:
                reply = await self.post(alert)
                return Receipt(status=reply.status_code, detail="sent?")

        with pytest.raises(
            AssertionError, match="a 503 reply must raise RetryableDeliveryError, not Receipt"
        ):
            check_notifier_contract(Swallowing, {}, SLACK_URL)

    def test_a_notifier_that_leaks_its_url_fails_the_check(self) -> None:
        class Leaking(_Plugin):
            async def send(self, alert: Alert) -> Receipt:
                _classify(await self.post(alert))
                return Receipt(status=200, detail=f"posted to {self.url}")

        with pytest.raises(AssertionError, match="shows the url's secret path"):
            check_notifier_contract(Leaking, {}, SLACK_URL)

    def test_a_notifier_that_retries_by_itself_fails_the_check(self) -> None:
        """Retries belong to the durable outbox; a notifier retrying inside send hides them."""

        class Retrying(_Plugin):
            async def send(self, alert: Alert) -> Receipt:
                reply = await self.post(alert)
                if reply.status_code >= 500:
                    reply = await self.post(alert)
                return _classify(reply)

        with pytest.raises(AssertionError, match="exactly one request, it made 2"):
            check_notifier_contract(Retrying, {}, SLACK_URL)

    def test_a_notifier_that_ignores_retry_after_fails_the_check(self) -> None:
        class Impatient(_Plugin):
            async def send(self, alert: Alert) -> Receipt:
                reply = await self.post(alert)
                if reply.status_code >= 500 or reply.status_code == 429:
                    raise RetryableDeliveryError("try again")
                return _classify(reply)

        with pytest.raises(AssertionError, match=r"retry_after_s=7\.0"):
            check_notifier_contract(Impatient, {}, SLACK_URL)

    def test_a_notifier_that_leaks_its_url_in_repr_fails_the_check(self) -> None:
        class Shown(NotifierOptions):
            url: str

        class Revealing(_Plugin):
            Options: ClassVar[type[NotifierOptions]] = Shown

        with pytest.raises(AssertionError, match="repr"):
            check_notifier_contract(Revealing, {}, SLACK_URL)


class _PluginOptions(NotifierOptions):
    url: str = Field(repr=False)


class _Plugin:
    """A minimal third-party notifier, correct unless a test breaks it on purpose."""

    Options: ClassVar[type[NotifierOptions]] = _PluginOptions

    def __init__(self, name: str, options: Any, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self.url: str = options.url
        self._client = client

    async def post(self, alert: Alert) -> httpx.Response:
        try:
            return await self._client.post(self.url, json=alert.payload())
        except httpx.TransportError as exc:
            raise RetryableDeliveryError("unreachable") from exc

    async def send(self, alert: Alert) -> Receipt:
        return _classify(await self.post(alert))

    async def aclose(self) -> None:
        pass


def _classify(reply: httpx.Response) -> Receipt:
    if reply.status_code in (429, 503):
        retry_after = float(reply.headers.get("Retry-After", "0"))
        raise RetryableDeliveryError("busy", retry_after_s=retry_after)
    if reply.status_code >= 400:
        raise PermanentDeliveryError("rejected")
    return Receipt(status=reply.status_code, detail="ok")


def test_all_lists_exactly_the_public_names() -> None:
    """What plugin authors may import is listed in __all__, and only that."""
    public = {
        name
        for name, value in vars(logwatch.testing).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == "logwatch.testing"
        and callable(value)
    }
    assert set(logwatch.testing.__all__) == public - {"RecordingOptions"}
    assert all(hasattr(logwatch.testing, name) for name in logwatch.testing.__all__)
