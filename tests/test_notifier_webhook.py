"""The generic webhook notifier, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.webhook import WebhookNotifier, WebhookOptions
from logwatch.testing import sample_alert
from tests import notifier_support

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

SECRET = "s3cr3t-signing-key"
TOKEN_PATH = "/hooks/T0KEN-abcdef123456"


def url(server: HTTPServer, path: str = TOKEN_PATH) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def send(alert: Alert, **options: Any) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = WebhookOptions.model_validate({"type": "webhook", **options})
            notifier = WebhookNotifier("hook", parsed, client=client)
            try:
                return await notifier.send(alert)
            finally:
                await notifier.aclose()

    return asyncio.run(go())


class TestRequest:
    def test_body_is_the_alert_payload_as_json(self, server: HTTPServer) -> None:
        """The body is exactly Alert.payload(), the SPEC's generic webhook payload."""
        server.expect_oneshot_request(TOKEN_PATH, method="POST").respond_with_data("ok")
        alert = sample_alert()

        send(alert, url=url(server))

        request, _ = server.log[0]
        assert json.loads(request.get_data()) == alert.payload()
        server.check_assertions()

    def test_headers_name_the_content_the_alert_and_the_sender(self, server: HTTPServer) -> None:
        """Content-Type is JSON, Idempotency-Key is the alert id, User-Agent names logwatch."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("ok")

        send(sample_alert(id="abc123"), url=url(server))

        request, _ = server.log[0]
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Idempotency-Key"] == "abc123"
        assert request.headers["User-Agent"].startswith("logwatch/")
        assert "X-Logwatch-Signature" not in request.headers

    def test_signature_is_hmac_sha256_of_the_exact_body(self, server: HTTPServer) -> None:
        """With a secret, X-Logwatch-Signature verifies against the bytes received."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("ok")

        send(sample_alert(), url=url(server), secret=SECRET)

        request, _ = server.log[0]
        expected = hmac.new(SECRET.encode(), request.get_data(), hashlib.sha256).hexdigest()
        signature = request.headers["X-Logwatch-Signature"]
        assert hmac.compare_digest(signature, f"sha256={expected}")

    def test_empty_secret_sends_unsigned(self, server: HTTPServer) -> None:
        """`secret: "${HOOK_SECRET:-}"` with the variable unset means no signature."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("ok")

        send(sample_alert(), url=url(server), secret="")

        request, _ = server.log[0]
        assert "X-Logwatch-Signature" not in request.headers

    def test_non_ascii_text_is_sent_as_utf8_and_signed_as_sent(self, server: HTTPServer) -> None:
        """The signature covers the UTF-8 bytes on the wire, not an ASCII-escaped variant."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("ok")

        send(sample_alert(text="Ошибка: データ 💥"), url=url(server), secret=SECRET)

        request, _ = server.log[0]
        assert "Ошибка: データ 💥".encode() in request.get_data()
        expected = hmac.new(SECRET.encode(), request.get_data(), hashlib.sha256).hexdigest()
        assert request.headers["X-Logwatch-Signature"] == f"sha256={expected}"

    def test_configured_headers_are_sent(self, server: HTTPServer) -> None:
        """Extra headers (an Authorization token, a tenant) go with every request."""
        server.expect_oneshot_request(
            TOKEN_PATH, headers={"Authorization": "Bearer tok-1234"}
        ).respond_with_data("ok")

        send(sample_alert(), url=url(server), headers={"Authorization": "Bearer tok-1234"})

        server.check_assertions()

    def test_query_string_is_kept(self, server: HTTPServer) -> None:
        """A url with a query (a receiver's token) is posted to as written."""
        server.expect_oneshot_request("/in", query_string="token=abc").respond_with_data("ok")

        send(sample_alert(), url=url(server, "/in?token=abc"))

        server.check_assertions()


class TestReplies:
    def test_2xx_is_delivered_with_a_receipt(self, server: HTTPServer) -> None:
        """Any 2xx is a delivery; the receipt carries the status and the reply text."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("accepted", status=202)

        receipt = send(sample_alert(), url=url(server))

        assert receipt == Receipt(status=202, detail="accepted")

    def test_500_is_retryable(self, server: HTTPServer) -> None:
        """5xx means the receiver is having trouble: try again later."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("boom", status=500)

        with pytest.raises(RetryableDeliveryError, match="HTTP 500 boom") as caught:
            send(sample_alert(), url=url(server))
        assert caught.value.retry_after_s is None

    def test_429_honours_retry_after_seconds(self, server: HTTPServer) -> None:
        """429 with Retry-After: 30 is retryable no sooner than 30 s."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data(
            "slow down", status=429, headers={"Retry-After": "30"}
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(sample_alert(), url=url(server))
        assert caught.value.retry_after_s == 30.0

    def test_503_honours_retry_after_http_date(self, server: HTTPServer) -> None:
        """Retry-After may be an HTTP-date; it becomes the seconds until then."""
        later = datetime.now(UTC) + timedelta(seconds=120)
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data(
            "", status=503, headers={"Retry-After": format_datetime(later, usegmt=True)}
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(sample_alert(), url=url(server))
        assert caught.value.retry_after_s is not None
        assert 100 < caught.value.retry_after_s <= 120

    def test_408_is_retryable(self, server: HTTPServer) -> None:
        """408 Request Timeout is the receiver asking for the same request again."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("", status=408)

        with pytest.raises(RetryableDeliveryError, match="HTTP 408"):
            send(sample_alert(), url=url(server))

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
    def test_other_4xx_are_permanent(self, server: HTTPServer, status: int) -> None:
        """Retrying a request the receiver rejected cannot help: dead-letter it."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data("nope", status=status)

        with pytest.raises(PermanentDeliveryError, match=f"HTTP {status} nope"):
            send(sample_alert(), url=url(server))

    def test_redirect_is_permanent_and_not_followed(self, server: HTTPServer) -> None:
        """A signed body never follows a redirect to a host nobody configured."""
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data(
            "", status=301, headers={"Location": url(server, "/elsewhere/key-9876")}
        )

        with pytest.raises(PermanentDeliveryError, match="moved to") as caught:
            send(sample_alert(), url=url(server), secret=SECRET)
        assert len(server.log) == 1
        assert "key-9876" not in str(caught.value)

    def test_no_reply_within_the_timeout_is_retryable(self) -> None:
        """A receiver that accepts the connection and never answers times out, retryably."""
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()  # connections queue in the backlog; nobody ever answers
            port = silent.getsockname()[1]

            with pytest.raises(RetryableDeliveryError, match=r"no reply within 0\.2s"):
                send(sample_alert(), url=f"http://127.0.0.1:{port}/hook", timeout=0.2)

    def test_refused_connection_is_retryable(self) -> None:
        """Nobody listening (the receiver is restarting) is worth retrying."""
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
            port = closed.getsockname()[1]

            with pytest.raises(
                RetryableDeliveryError, match=r"POST http://127\.0\.0\.1:\d+/\*\*\*"
            ):
                send(sample_alert(), url=f"http://127.0.0.1:{port}/hook/secret-path")


class TestSecrets:
    def test_errors_show_scheme_and_host_but_not_the_path(self, server: HTTPServer) -> None:
        """The path and query of a webhook URL are its key; errors mask them."""
        server.expect_oneshot_request("/in").respond_with_data("no", status=404)

        with pytest.raises(PermanentDeliveryError) as caught:
            send(sample_alert(), url=url(server, "/in?key=k3y-value-42"))
        message = str(caught.value)
        assert message.startswith(f"POST http://127.0.0.1:{server.port}/***: HTTP 404")
        assert "k3y-value-42" not in message

    def test_reply_echoing_secrets_is_masked(self, server: HTTPServer) -> None:
        """A receiver that echoes the URL, the signing secret or a header token leaks none."""
        echo = f"bad request to {TOKEN_PATH} signed with {SECRET} by tok-abcd-1234"
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data(echo, status=400)

        with pytest.raises(PermanentDeliveryError) as caught:
            send(
                sample_alert(),
                url=url(server),
                secret=SECRET,
                headers={"Authorization": "tok-abcd-1234"},
            )
        message = str(caught.value)
        for secret in ("T0KEN-abcdef123456", SECRET, "tok-abcd-1234"):
            assert secret not in message
        assert "bad request to ***" in message

    def test_long_reply_is_cut_to_a_short_excerpt(self, server: HTTPServer) -> None:
        """An HTML error page does not flood the log: the excerpt is one short line."""
        page = "<html>\n<body>\n" + "x" * 5000 + "\n</body></html>"
        server.expect_oneshot_request(TOKEN_PATH).respond_with_data(page, status=502)

        with pytest.raises(RetryableDeliveryError) as caught:
            send(sample_alert(), url=url(server))
        assert len(str(caught.value)) < 300
        assert "\n" not in str(caught.value)

    def test_options_repr_hides_url_secret_and_headers(self) -> None:
        """A logged or printed options object shows no credential."""
        options = WebhookOptions.model_validate(
            {
                "type": "webhook",
                "url": "https://example.com/hook/abcdef",
                "secret": SECRET,
                "headers": {"Authorization": "tok-abcd-1234"},
            }
        )
        shown = repr(options) + str(options)
        assert "abcdef" not in shown
        assert SECRET not in shown
        assert "tok-abcd-1234" not in shown


class TestOptions:
    def test_defaults(self) -> None:
        """Only url is required: unsigned, no extra headers, delivery.timeout."""
        options = WebhookOptions.model_validate(
            {"type": "webhook", "url": "http://127.0.0.1:9000/alerts"}
        )
        assert (options.secret, options.headers, options.timeout) == ("", {}, None)

    def test_null_secret_means_unsigned(self) -> None:
        """`secret:` with no value in YAML is the same as leaving it out."""
        options = WebhookOptions.model_validate(
            {"type": "webhook", "url": "http://127.0.0.1:9000/alerts", "secret": None}
        )
        assert options.secret == ""

    @pytest.mark.parametrize(
        "bad_url", ["127.0.0.1:9000/alerts", "ftp://example.com/x", "http:///nohost", "x"]
    )
    def test_url_must_be_http_with_a_host(self, bad_url: str) -> None:
        """A url logwatch cannot POST to fails at `logwatch check`, not at 3 a.m."""
        with pytest.raises(pydantic.ValidationError) as caught:
            WebhookOptions.model_validate({"type": "webhook", "url": bad_url})
        [error] = caught.value.errors()
        assert "http:// or https://" in error["msg"] or error["msg"].endswith("not a valid URL")
        assert bad_url not in error["msg"]  # the url is a secret; `check` must not print it

    @pytest.mark.parametrize("name", ["content-type", "Idempotency-Key", "X-Logwatch-Signature"])
    def test_headers_cannot_override_the_protocol(self, name: str) -> None:
        """A configured header cannot replace the content type, the key or the signature."""
        with pytest.raises(pydantic.ValidationError, match="set by logwatch"):
            WebhookOptions.model_validate(
                {"type": "webhook", "url": "http://127.0.0.1/x", "headers": {name: "x"}}
            )

    def test_unknown_keys_are_rejected(self) -> None:
        """A typo such as `secrte` is a config error, not a silently unsigned webhook."""
        with pytest.raises(pydantic.ValidationError, match="secrte"):
            WebhookOptions.model_validate(
                {"type": "webhook", "url": "http://127.0.0.1/x", "secrte": "x"}
            )

    @pytest.mark.parametrize(("timeout", "seconds"), [(5, 5.0), ("2.5", 2.5), ("500ms", 0.5)])
    def test_timeout_is_seconds_or_a_duration(self, timeout: object, seconds: float) -> None:
        """Like every duration in the config: plain seconds or `500ms`, `5s`."""
        options = WebhookOptions.model_validate(
            {"type": "webhook", "url": "http://127.0.0.1/x", "timeout": timeout}
        )
        assert options.timeout == seconds

    @pytest.mark.parametrize("timeout", [0, -1, "soon"])
    def test_timeout_must_be_a_positive_duration(self, timeout: object) -> None:
        with pytest.raises(pydantic.ValidationError, match="timeout"):
            WebhookOptions.model_validate(
                {"type": "webhook", "url": "http://127.0.0.1/x", "timeout": timeout}
            )
