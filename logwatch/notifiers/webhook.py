"""Alert -> the generic JSON webhook of SPEC, optionally signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert
from logwatch.notifiers import _http
from logwatch.notifiers.base import NotifierOptions, Receipt

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Logwatch-Signature"
# set by logwatch itself: a user header must not change the body's meaning or forge the signature
_RESERVED_HEADERS = frozenset({"content-type", "idempotency-key", SIGNATURE_HEADER.lower()})


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC of the exact body bytes."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookOptions(NotifierOptions):
    url: str = Field(repr=False)
    secret: str = Field("", repr=False)  # empty: send unsigned
    headers: dict[str, str] = Field(default_factory=dict, repr=False)  # often hold a token
    timeout: Duration | None = Field(
        None, gt=0, description="how long to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)

    @field_validator("secret", mode="before")
    @classmethod
    def _unset_secret(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("headers")
    @classmethod
    def _no_reserved_headers(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(name for name in value if name.lower() in _RESERVED_HEADERS)
        if clash:
            raise ValueError(f"{', '.join(clash)} is set by logwatch and cannot be overridden")
        return value


class WebhookNotifier:
    """POST ``alert.payload()`` as JSON to a user's endpoint."""

    Options: ClassVar[type[NotifierOptions]] = WebhookOptions

    def __init__(self, name: str, options: WebhookOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._mask = _http.Masker.for_url(options.url, options.secret, *options.headers.values())

    def render(self, alert: Alert) -> tuple[bytes, dict[str, str]]:
        """The exact body bytes and headers that ``send`` posts."""
        body = json.dumps(alert.payload(), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "User-Agent": _http.user_agent(),
            **self._options.headers,
            "Content-Type": "application/json",
            # stable across retries and restarts, so the receiver can drop repeats
            "Idempotency-Key": alert.id,
        }
        if self._options.secret:
            headers[SIGNATURE_HEADER] = sign(self._options.secret, body)
        return body, headers

    async def send(self, alert: Alert) -> Receipt:
        body, headers = self.render(alert)
        return await _http.post(
            self._client,
            self._options.url,
            content=body,
            headers=headers,
            timeout_s=self._options.timeout,
            mask=self._mask,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
