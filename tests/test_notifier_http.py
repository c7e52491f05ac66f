"""Reply classification and secret masking shared by every HTTP notifier."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.notifiers import _http
from logwatch.notifiers.base import Receipt

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NO_SECRETS = _http.Masker([])


def reply(status: int, body: str = "", **headers: str) -> httpx.Response:
    request = httpx.Request("POST", "https://hooks.example.com/services/T0/B0/XYZ")
    return httpx.Response(status, text=body, headers=headers, request=request)


def classify(response: httpx.Response, hints: dict[str, str] | None = None) -> Receipt:
    return _http.classify(
        response,
        where="POST https://hooks.example.com/***",
        mask=NO_SECRETS,
        hints=hints or {},
        now=NOW,
    )


class TestRedactUrl:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("https://hooks.slack.com/services/T0/B0/abc", "https://hooks.slack.com/***"),
            ("https://oapi.example.com/send?access_token=abc", "https://oapi.example.com/***"),
            ("http://127.0.0.1:9000/alerts", "http://127.0.0.1:9000/***"),
            ("https://user:pw@example.com/x", "https://example.com/***"),
            ("http://[::1]:9093", "http://[::1]:9093"),
            ("http://127.0.0.1:9093/", "http://127.0.0.1:9093"),
        ],
    )
    def test_keeps_scheme_host_and_port_only(self, url: str, shown: str) -> None:
        """Path, query and user info may hold the key; the origin says where it went."""
        assert _http.redact_url(url) == shown


class TestMasker:
    def test_masks_url_tokens_and_extra_secrets(self) -> None:
        """Token-like path segments, query values and user info are masked wherever they show."""
        mask = _http.Masker.for_url(
            "https://bob:pa55word@hooks.example.com/services/T0AAAAAA/B0BBBBBB/tokenXYZ1?key=k3y42k3y",
            "signing-secret",
        )
        text = "T0AAAAAA B0BBBBBB tokenXYZ1 k3y42k3y pa55word signing-secret"
        assert mask(text) == "*** *** *** *** *** ***"

    def test_route_names_and_short_fragments_are_not_masked(self) -> None:
        """Masking "send" or "v2" would garble replies without hiding anything secret."""
        mask = _http.Masker.for_url("http://127.0.0.1/robot/send/v2?a=1")
        assert mask("send too fast: robot v2 a 1") == "send too fast: robot v2 a 1"

    def test_the_whole_path_is_masked_even_when_its_pieces_are_short(self) -> None:
        mask = _http.Masker.for_url("http://127.0.0.1/robot/send?a=1")
        assert mask("posted to /robot/send?a=1") == "posted to ***"


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("120", 120.0),
            (" 5 ", 5.0),
            ("1.5", 1.5),
            ("-3", 0.0),
            ("Thu, 01 Jan 2026 12:01:00 GMT", 60.0),
            ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
            (None, None),
            ("", None),
            ("soon", None),
        ],
    )
    def test_seconds_or_http_date(self, value: str | None, seconds: float | None) -> None:
        """delay-seconds or an HTTP-date (RFC 9110); a date in the past means now."""
        assert _http.parse_retry_after(value, now=NOW) == seconds


class TestClassify:
    @pytest.mark.parametrize("status", [200, 201, 202, 204])
    def test_2xx_is_a_receipt(self, status: int) -> None:
        assert classify(reply(status, "ok")) == Receipt(status=status, detail="ok")

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    def test_408_429_and_5xx_are_retryable(self, status: int) -> None:
        with pytest.raises(RetryableDeliveryError, match=f"HTTP {status}"):
            classify(reply(status))

    @pytest.mark.parametrize("status", [300, 301, 400, 401, 403, 404, 405, 410, 413, 422])
    def test_3xx_and_other_4xx_are_permanent(self, status: int) -> None:
        with pytest.raises(PermanentDeliveryError, match=f"HTTP {status}"):
            classify(reply(status))

    def test_retry_after_date_is_relative_to_now(self) -> None:
        response = reply(503, **{"Retry-After": "Thu, 01 Jan 2026 12:00:30 GMT"})
        with pytest.raises(RetryableDeliveryError) as caught:
            classify(response)
        assert caught.value.retry_after_s == 30.0

    def test_hint_for_a_known_reply_word_is_appended(self) -> None:
        """A provider's error word gets the remedy an operator needs."""
        with pytest.raises(PermanentDeliveryError) as caught:
            classify(reply(404, "channel_not_found"), {"channel_not_found": "make a new hook"})
        assert str(caught.value) == (
            "POST https://hooks.example.com/***: HTTP 404 channel_not_found (make a new hook)"
        )

    def test_control_characters_in_the_reply_are_shown_escaped(self) -> None:
        with pytest.raises(PermanentDeliveryError) as caught:
            classify(reply(400, "bad\x1b[31mred"))
        assert "bad\\x1b[31mred" in str(caught.value)


class TestPost:
    def test_transport_errors_become_retryable_with_the_cause_chained(self) -> None:
        """httpx errors are translated once, here, and keep their cause for debugging."""

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        error = _post(httpx.MockTransport(refuse))
        assert isinstance(error, RetryableDeliveryError)
        assert isinstance(error.__cause__, httpx.ConnectError)
        assert str(error) == "POST https://hooks.example.com/***: connection refused"

    def test_unsupported_protocol_is_permanent(self) -> None:
        def unsupported(request: httpx.Request) -> httpx.Response:
            raise httpx.UnsupportedProtocol("unsupported", request=request)

        assert isinstance(_post(httpx.MockTransport(unsupported)), PermanentDeliveryError)


def _post(transport: httpx.MockTransport) -> BaseException:
    async def go() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            await _http.post(
                client,
                "https://hooks.example.com/services/T0/B0/XYZ",
                content=b"{}",
                headers={},
                timeout_s=1.0,
                mask=NO_SECRETS,
            )

    with pytest.raises((RetryableDeliveryError, PermanentDeliveryError)) as caught:
        asyncio.run(go())
    return caught.value
