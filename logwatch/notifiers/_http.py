"""Notifier -> provider over HTTP: one POST, its reply classified, secrets masked.

This is the one boundary where httpx errors become logwatch errors:

    2xx                                   -> Receipt
    408, 429, 5xx, connect/read errors,
    timeouts                              -> RetryableDeliveryError (Retry-After honoured)
    3xx, other 4xx, unsupported URL       -> PermanentDeliveryError
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.escaping import cut_end, printable

# httpx (~50 ms and ~5 MiB with what it pulls in) is imported where a request is
# made or a URL taken apart: `check` and `replay` validate notifier options
# through this module and never send anything.
if TYPE_CHECKING:
    import httpx


MASK = "***"
EXCERPT_CHARS = 200
CONNECT_TIMEOUT_S = 5.0
FALLBACK_TIMEOUT_S = 10.0  # delivery.timeout's default, for a client with no read timeout
_RETRYABLE_STATUS = frozenset({408, 429})
_WHITESPACE = re.compile(r"\s+")
_MIN_SECRET_CHARS = 4  # shorter fragments ("v2", "x") would garble ordinary words
# URL pieces shorter than this are route names ("alerts", "send"), not tokens:
# Slack, Discord, DingTalk and WeCom tokens are all longer
_MIN_TOKEN_CHARS = 8

# reads a reply (and the redacted "POST https://host/***" it answers) and raises a
# DeliveryError when the provider says "failed" in its own words, e.g. in a 200 body
ReplyCheck = Callable[["httpx.Response", str], None]

# A URL that httpx certainly parses as http(s) with a host: lowercase scheme, an
# ASCII host name or dotted quad, a short numeric port, then printable ASCII.
# Anything else, valid or not, is left to httpx.URL itself (see check_http_url).
_PLAIN_HTTP_URL = re.compile(
    r"https?://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::[0-9]{1,5})?(?:[/?#][!-~]*)?"
)
# httpx validates a host of this shape as an IPv4 address (httpx._urlparse)
_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_MAX_PLAIN_URL = 2048  # well below httpx's limit on the length of a URL


@cache
def user_agent() -> str:
    """``logwatch/<version>``; looked up when first sent, since reading the installed
    metadata costs a few milliseconds that `check` and `replay` do not need to spend."""
    try:
        return f"logwatch/{version('logwatch')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "logwatch/0"


def _plainly_valid(value: str) -> bool:
    """True only for URLs httpx.URL accepts as http(s) with a host (tests/test_notifier_http.py
    checks this against httpx); False says nothing either way."""
    if len(value) > _MAX_PLAIN_URL:
        return False
    match = _PLAIN_HTTP_URL.fullmatch(value)
    if match is None:
        return False
    host = match["host"]
    if "xn--" in host.lower():  # punycode: httpx decodes it, and may reject it
        return False
    if _IPV4_STYLE.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
    return True


def new_client(timeout: httpx.Timeout) -> httpx.AsyncClient:
    """The client the daemon's notifiers share: redirects are not followed, and TLS
    verifies against the CA certificates httpx would use, read at the first handshake."""
    import httpx

    from logwatch.notifiers._tls import deferred_trust_context

    return httpx.AsyncClient(
        timeout=timeout, follow_redirects=False, verify=deferred_trust_context()
    )


def check_http_url(value: str) -> str:
    """Validate an options ``url``; the message never repeats it, since it is a secret."""
    if any(char.isspace() for char in value):
        # httpx would send it escaped, to a URL nobody meant: most often a comment
        # after the value in an environment file, which systemd keeps as part of it
        raise ValueError(
            "a URL holds no blank: is a `# comment` after it in the environment file?"
            " (systemd keeps it as part of the value)"
        )
    if _plainly_valid(value):
        # the common URL is settled without importing httpx: `check` and `replay`
        # validate every configured notifier and send nothing
        return value
    import httpx

    try:
        parsed = httpx.URL(value)
    except httpx.InvalidURL:
        raise ValueError("not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def redact_url(url: str | httpx.URL) -> str:
    """Keep scheme, host and port; the path and query of a webhook URL are its key."""
    import httpx

    parsed = httpx.URL(url) if isinstance(url, str) else url
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    origin = f"{parsed.scheme}://{host}"
    if parsed.port is not None:
        origin += f":{parsed.port}"
    rest = parsed.raw_path.decode("ascii", "replace")
    return origin if rest in ("", "/") else f"{origin}/{MASK}"


class Masker:
    """Replace every known secret in a text with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # longest first, so a secret that contains another is masked whole
        self._secrets = sorted(
            {s for s in secrets if len(s) >= _MIN_SECRET_CHARS}, key=len, reverse=True
        )

    @classmethod
    def for_url(cls, url: str, *extra: str) -> Masker:
        """Mask the URL, its path, user info, token-like pieces of it, and ``extra``."""
        import httpx

        parsed = httpx.URL(url)
        path = parsed.raw_path.decode("ascii", "replace")
        userinfo = parsed.userinfo.decode("ascii", "replace")
        pieces = [*userinfo.split(":"), *parsed.path.split("/")]
        pieces += [value for _, value in parse_qsl(parsed.query.decode("ascii", "replace"))]
        tokens = [piece for piece in pieces if len(piece) >= _MIN_TOKEN_CHARS]
        return cls([url, path, userinfo, *tokens, *extra])

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT even when they do not say so
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)


def body_excerpt(response: httpx.Response, mask: Masker) -> str:
    """One short line of the reply body, safe to log: masked, no control characters."""
    text = _WHITESPACE.sub(" ", response.text).strip()
    return printable(cut_end(mask(text), EXCERPT_CHARS))


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout_s: float | None,
    mask: Masker,
    hints: Mapping[str, str] | None = None,
    check: ReplyCheck | None = None,
) -> Receipt:
    """POST ``content`` once and classify the outcome; the outbox owns retries.

    ``timeout_s`` is the notifier's own ``timeout`` option; None (not configured)
    waits as long as the client's timeout, which the daemon sets to ``delivery.timeout``.
    ``hints`` maps a provider's error word in the reply body (Slack's
    ``channel_not_found``) to a remedy that is appended to the error message.
    ``check`` reads a provider's own verdict in the reply (DingTalk's non-zero
    ``errcode`` in an HTTP 200 body) and raises the matching delivery error;
    when it returns, the HTTP status decides as usual.
    """
    import httpx

    where = f"POST {redact_url(url)}"
    if timeout_s is None:
        timeout_s = _client_timeout_s(client)
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))
    try:
        # never follow redirects: a signed body must not travel to a host nobody configured
        response = await client.post(
            url, content=content, headers=dict(headers), timeout=timeout, follow_redirects=False
        )
    except httpx.TimeoutException as exc:
        raise RetryableDeliveryError(f"{where}: no reply within {timeout_s:g}s") from exc
    except httpx.UnsupportedProtocol as exc:
        raise PermanentDeliveryError(
            f"{where}: {mask(str(exc))}; use an http:// or https:// url"
        ) from exc
    except httpx.TransportError as exc:
        reason = mask(str(exc)) or type(exc).__name__
        raise RetryableDeliveryError(f"{where}: {reason}") from exc
    if check is not None:
        check(response, where)
    return classify(response, where=where, mask=mask, hints=hints or {})


def _client_timeout_s(client: httpx.AsyncClient) -> float:
    """How long the client waits for a reply: ``delivery.timeout`` in the daemon and in
    `test-notify`; FALLBACK_TIMEOUT_S for a client built without one, since a
    notifier that waits forever would hold its outbox row forever."""
    read = client.timeout.read
    return FALLBACK_TIMEOUT_S if read is None else read


def classify(
    response: httpx.Response,
    *,
    where: str,
    mask: Masker,
    hints: Mapping[str, str],
    now: datetime | None = None,
) -> Receipt:
    """Turn a reply into a Receipt (2xx) or the matching delivery error."""
    status = response.status_code
    excerpt = body_excerpt(response, mask)
    if response.is_success:
        return Receipt(status=status, detail=excerpt)
    message = f"{where}: HTTP {status}"
    if excerpt:
        message += f" {excerpt}"
    hint = hints.get(response.text.strip())
    if hint:
        message += f" ({hint})"
    if status in _RETRYABLE_STATUS or status >= 500:
        retry_after_s = parse_retry_after(
            response.headers.get("Retry-After"), now=now or datetime.now(UTC)
        )
        raise RetryableDeliveryError(message, retry_after_s=retry_after_s)
    if response.is_redirect:
        message += f"; the endpoint moved to {_redirect_target(response, mask)}, update url"
    raise PermanentDeliveryError(message)


def _redirect_target(response: httpx.Response, mask: Masker) -> str:
    """Where a redirect points, with its secret part masked."""
    import httpx

    location = response.headers.get("Location", "")
    try:
        return redact_url(response.url.join(location))
    except httpx.InvalidURL:
        return printable(cut_end(mask(location), EXCERPT_CHARS))
