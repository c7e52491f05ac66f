"""Reply classification and secret masking shared by every HTTP notifier."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import certifi
import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.notifiers import _http, _tls
from logwatch.notifiers.base import Receipt
from tests.notifier_support import self_signed

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


def _httpx_accepts(url: str) -> bool:
    """The verdict check_http_url gave before it had a fast path of its own."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decodes punycode: idna raises a ValueError for a bad A-label
    except (httpx.InvalidURL, ValueError):
        return False
    return parsed.scheme in ("http", "https") and bool(host)


# pieces of URLs, good and bad, for hypothesis to put together
_URLISH = st.lists(
    st.sampled_from([*"aZ09-._~:/?#[]@!$&'()*+,;=% \t\x7fé", "xn--", "256", "1.2.3", "65536"]),
    max_size=12,
).map("".join)


class TestCheckHttpUrl:
    """check_http_url settles plain URLs without httpx; it must never accept more than httpx."""

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:9/hook",
            "https://hooks.slack.com/services/T0/B0/XXXX",
            "https://oapi.dingtalk.com/robot/send?access_token=abc",
            "http://localhost",
            "http://a.b-c.example:65535/x?y=1#z",
        ],
    )
    def test_plain_urls_are_valid_without_httpx(self, url: str) -> None:
        assert _http._plainly_valid(url)
        assert _http.check_http_url(url) == url

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://999.1.1.1/x", "not a valid URL"),
            ("http://01.2.3.4/x", "not a valid URL"),
            ("http://host:port/x", "not a valid URL"),
            ("http://ho\x7fst/\x00", "not a valid URL"),
            ("ftp://example.com/x", "must be an http:// or https:// URL with a host"),
            ("http:///x", "must be an http:// or https:// URL with a host"),
            ("hooks.slack.com/services/x", "must be an http:// or https:// URL with a host"),
        ],
    )
    def test_invalid_urls_get_httpx_verdict(self, url: str, message: str) -> None:
        assert not _http._plainly_valid(url)
        with pytest.raises(ValueError, match=message):
            _http.check_http_url(url)

    @pytest.mark.parametrize("url", [
        "https://hooks.slack.com/services/T0/B0/XXXX # prod",  # a comment kept by systemd
        "http://127.0.0.1:9/hook\t",
        "http://127.0.0.1:9/a b",
    ])
    def test_a_url_with_a_blank_is_refused_without_being_repeated(self, url: str) -> None:
        """httpx would send it escaped, to a URL nobody meant (a 404, dead letters)."""
        with pytest.raises(ValueError, match="no blank") as raised:
            _http.check_http_url(url)
        assert "XXXX" not in str(raised.value)
        assert "hook" not in str(raised.value)

    @pytest.mark.parametrize("url", ["HTTPS://Example.COM/x", "http://[::1]:9093/", "http://é.example/"])
    def test_valid_urls_off_the_fast_path_are_still_valid(self, url: str) -> None:
        assert not _http._plainly_valid(url)
        assert _http.check_http_url(url) == url

    @given(
        scheme=st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "http:/", ""]),
        host=_URLISH,
        rest=_URLISH,
    )
    @example(scheme="http://", host="1.2.3.4", rest=":80/x")
    @example(scheme="http://", host="1.2.3.999", rest="")
    @example(scheme="http://", host="xn--bcher-kva.example", rest="/")
    @example(scheme="http://", host="xn--zz", rest="")
    def test_the_fast_path_accepts_nothing_httpx_rejects(
        self, scheme: str, host: str, rest: str
    ) -> None:
        url = scheme + host + rest
        if _http._plainly_valid(url):
            assert _httpx_accepts(url), url
        if _httpx_accepts(url) and not any(char.isspace() for char in url):
            assert _http.check_http_url(url) == url
        else:
            with pytest.raises(ValueError):
                _http.check_http_url(url)


class TestDeferredTrust:
    """The shared client's SSL context reads its CA certificates at the first handshake."""

    def test_settings_match_those_of_httpx(self) -> None:
        deferred, default = _tls.deferred_trust_context(), httpx.create_ssl_context()
        for name in ("protocol", "verify_mode", "check_hostname", "options", "verify_flags",
                     "minimum_version", "maximum_version", "post_handshake_auth",
                     "keylog_filename"):
            assert getattr(deferred, name) == getattr(default, name), name
        assert deferred.get_ciphers() == default.get_ciphers()

    def test_no_certificate_is_read_before_a_connection(self) -> None:
        context = _tls.deferred_trust_context()
        assert context.cert_store_stats()["x509_ca"] == 0
        context.trust_now()
        assert context.cert_store_stats() == httpx.create_ssl_context().cert_store_stats()

    def test_trust_locations_are_those_of_httpx(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        assert _tls.trust_locations() == (certifi.where(), None)
        monkeypatch.setenv("SSL_CERT_DIR", "/etc/ssl/certs")
        assert _tls.trust_locations() == (None, "/etc/ssl/certs")
        monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/bundle.pem")
        assert _tls.trust_locations() == ("/etc/ssl/bundle.pem", None)

    def test_a_missing_bundle_fails_when_the_client_is_built(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """As with httpx's own context: the daemon does not start, rather than fail later."""
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
        with pytest.raises(FileNotFoundError):
            _tls.deferred_trust_context()

    def test_a_https_endpoint_is_verified(
        self, https_endpoint: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Trusted when SSL_CERT_FILE names its certificate; refused with certifi's bundle."""
        url, cert = https_endpoint
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert _get(url) == 200
        monkeypatch.delenv("SSL_CERT_FILE")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            _get(url)


def _get(url: str) -> int:
    async def go() -> int:
        async with _http.new_client(httpx.Timeout(5.0)) as client:
            return (await client.get(url)).status_code

    return asyncio.run(go())


@pytest.fixture(scope="module")
def https_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate; its URL and the cert."""
    cert, key = self_signed(tmp_path_factory.mktemp("tls"), "TLS verification")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
