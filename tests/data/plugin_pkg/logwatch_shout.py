"""A third-party logwatch notifier: POSTs each alert's title, in capitals, as JSON.

It uses only what logwatch lists in ``logwatch.__all__``, as a plugin outside
the logwatch tree must.
"""

from __future__ import annotations

import json
from typing import ClassVar

import httpx
from pydantic import Field

from logwatch import (
    Alert,
    NotifierOptions,
    PermanentDeliveryError,
    RateLimit,
    Receipt,
    RetryableDeliveryError,
)


class ShoutOptions(NotifierOptions):
    url: str = Field(repr=False)  # its path may hold a token: keep it out of repr()
    timeout: float = Field(5.0, gt=0)


class ShoutNotifier:
    """``type: shout``: one POST per alert; the outbox retries, the plugin never does."""

    Options: ClassVar[type[ShoutOptions]] = ShoutOptions
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=10, per_s=60.0),)

    def __init__(self, name: str, options: ShoutOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        origin = httpx.URL(options.url).copy_with(path="/", query=None)
        self._where = f"POST {origin}"  # no path: errors must not show the token

    async def send(self, alert: Alert) -> Receipt:
        body = json.dumps({"text": alert.title.upper(), "id": alert.id}).encode()
        try:
            reply = await self._client.post(
                self._options.url,
                content=body,
                headers={"Content-Type": "application/json"},
                timeout=self._options.timeout,
            )
        except httpx.TransportError as exc:
            raise RetryableDeliveryError(f"{self._where}: {type(exc).__name__}") from exc
        if reply.is_success:
            return Receipt(status=reply.status_code, detail="shouted")
        message = f"{self._where}: HTTP {reply.status_code}"
        if reply.status_code in (408, 429) or reply.status_code >= 500:
            retry_after = reply.headers.get("Retry-After", "")
            seconds = float(retry_after) if retry_after.isdigit() else None
            raise RetryableDeliveryError(message, retry_after_s=seconds)
        raise PermanentDeliveryError(message)

    async def aclose(self) -> None:
        """The HTTP client belongs to the daemon."""
