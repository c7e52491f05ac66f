"""Provider reply -> delivery error, for providers that say "failed" in a JSON body.

DingTalk, WeCom and Feishu answer HTTP 200 with a non-zero code when they
reject a message; Discord and Telegram put the wait of a 429 in the body.
These checks run before ``_http.classify`` (see ``_http.post(check=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.notifiers import _http

if TYPE_CHECKING:
    import httpx


def reply_json(response: httpx.Response) -> dict[str, Any] | None:
    """The reply's JSON object, or None when the body is something else."""
    try:
        data = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return None
    return data if isinstance(data, dict) else None


def seconds(value: object) -> float | None:
    """A JSON number of seconds to wait, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(float(value), 0.0)


def describe(response: httpx.Response, where: str, mask: _http.Masker, hint: str = "") -> str:
    """The error message, in the same shape as ``_http.classify``'s."""
    message = f"{where}: HTTP {response.status_code}"
    excerpt = _http.body_excerpt(response, mask)
    if excerpt:
        message += f" {excerpt}"
    if hint:
        message += f" ({hint})"
    return message


def retry_later(
    response: httpx.Response, where: str, mask: _http.Masker, retry_after: object
) -> RetryableDeliveryError:
    """A 429's error: wait what the body says (``retry_after``), else what Retry-After says."""
    retry_after_s = seconds(retry_after)
    if retry_after_s is None:
        header = response.headers.get("Retry-After")
        retry_after_s = _http.parse_retry_after(header, now=datetime.now(UTC))
    return RetryableDeliveryError(describe(response, where, mask), retry_after_s=retry_after_s)


def _retry_by_status(response: httpx.Response) -> bool:
    return response.status_code >= 500 or response.status_code in (408, 429)


@dataclass(frozen=True, slots=True)
class ErrorCodeCheck:
    """A provider whose JSON reply carries a code that is 0 on success.

    A 2xx reply without the code is no success either: ``url`` points at
    something that is not the provider. Throttling codes are retryable after
    the given seconds (None: the outbox's backoff); other codes are permanent.
    5xx, 408 and 429 are left to the HTTP status.
    """

    provider: str
    keys: tuple[str, ...]  # the first one present in the reply holds the code
    mask: _http.Masker
    throttled: Mapping[int, float | None] = field(default_factory=dict)
    hints: Mapping[int, str] = field(default_factory=dict)

    def __call__(self, response: httpx.Response, where: str) -> None:
        if _retry_by_status(response):
            return
        code = self._code(reply_json(response))
        if code is None:
            if response.is_success:
                hint = f"not a {self.provider} reply; check url"
                raise PermanentDeliveryError(describe(response, where, self.mask, hint))
            return
        if code == 0:
            return
        message = describe(response, where, self.mask, self.hints.get(code, ""))
        if code in self.throttled:
            raise RetryableDeliveryError(message, retry_after_s=self.throttled[code])
        raise PermanentDeliveryError(message)

    def _code(self, data: dict[str, Any] | None) -> int | None:
        if data is None:
            return None
        for key in self.keys:
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None
