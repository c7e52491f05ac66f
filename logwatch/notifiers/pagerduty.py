"""Alert -> a PagerDuty Events API v2 event: ``trigger`` while firing, ``resolve`` after.

Both carry the same ``dedup_key`` (``_incident.incident_key``), so repeats join
the open incident and the resolve closes the incident its trigger opened.
PagerDuty renders the event as plain text; control characters are still
shown as escapes, since the summary is read out on phone calls and SMS.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import _http
from logwatch.notifiers._incident import (
    IncidentOptions,
    IncidentScope,
    group_fingerprint,
    incident_key,
)
from logwatch.notifiers.base import RateLimit, Receipt
from logwatch.notifiers.escaping import cut_escaped, printable, shorten_traceback

if TYPE_CHECKING:
    import httpx

ENQUEUE_URL = "https://events.pagerduty.com/v2/enqueue"
# Events API v2 limits (PagerDuty developer docs, "Send an Alert Event")
SUMMARY_CHARS = 1024
DEDUP_KEY_CHARS = 255
EVENT_BYTES = 512_000
# our own: the traceback keeps the event far below EVENT_BYTES even at 4 bytes a character
TRACEBACK_CHARS = 64_000
LINE_CHARS = 2_000
TOO_LARGE = "dropped: the event exceeded PagerDuty's 512 KB limit; see the log file"


class PagerDutyOptions(IncidentOptions):
    url: str = Field(ENQUEUE_URL, repr=False)  # EU accounts: events.eu.pagerduty.com
    routing_key: str = Field(min_length=1, repr=False)  # the integration key
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)


def render(alert: Alert, routing_key: str, *, scope: IncidentScope = "host") -> dict[str, Any]:
    """The Events API v2 body for ``alert``; ``scope`` is the ``incident_key`` option."""
    dedup_key = incident_key(alert, limit=DEDUP_KEY_CHARS, scope=scope)
    if alert.status is AlertStatus.RESOLVED:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key}
    payload: dict[str, Any] = {
        # cut after escaping: "\x1b" is four characters of the 1,024 where ESC was one
        "summary": cut_escaped(
            f"{alert.title} ({alert.rule} on {alert.host})", SUMMARY_CHARS, printable
        ),
        "source": alert.host,
        "severity": str(alert.severity),  # critical | error | warning | info, as PagerDuty's
        "timestamp": _iso(alert),
        "component": alert.source,
        "custom_details": custom_details(alert),
    }
    if alert.exc_type:
        payload["class"] = alert.exc_type
    event = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "client": "logwatch",
        "payload": payload,
    }
    if len(_encode(event)) > EVENT_BYTES:
        # an oversized event is rejected whole; the page matters more than its details
        payload["custom_details"] = {"note": TOO_LARGE}
    return event


def custom_details(alert: Alert) -> dict[str, Any]:
    """The facts and the traceback, shown under the incident's alert details."""
    details: dict[str, Any] = {
        "rule": alert.rule,
        "severity": str(alert.severity),
        "host": alert.host,
        "source": alert.source,
        "file": f"{alert.file}:{alert.first_line}-{alert.last_line}",
        "count": alert.count,
        "first_seen": _iso(alert),
        "last_seen": alert.last_seen.isoformat().replace("+00:00", "Z"),
        "fingerprint": group_fingerprint(alert),
        "exc_type": alert.exc_type,
        "exc_message": alert.exc_message,
        "logger": alert.logger,
        "level": alert.level,
        "labels": dict(alert.labels),
    }
    if alert.text:
        details["traceback"] = shorten_traceback(
            alert.text, alert.exc_type, TRACEBACK_CHARS, line_chars=LINE_CHARS
        )
    return details


def _iso(alert: Alert) -> str:
    return alert.first_seen.isoformat().replace("+00:00", "Z")


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


class PagerDutyNotifier:
    """Trigger and resolve PagerDuty incidents through an Events API v2 integration."""

    Options: ClassVar[type[PagerDutyOptions]] = PagerDutyOptions
    # ~120 events/min per integration key, 429 past it (research/notifiers.md §0, §6)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=120, per_s=60.0),)

    def __init__(self, name: str, options: PagerDutyOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._mask = _http.Masker.for_url(options.url, options.routing_key)

    async def send(self, alert: Alert) -> Receipt:
        # 202 is success; 400 (invalid event) is permanent; 429 and 5xx are retried,
        # which is safe: the dedup_key makes a repeated trigger join the same incident
        return await _http.post(
            self._client,
            self._options.url,
            content=_encode(
                render(alert, self._options.routing_key, scope=self._options.incident_key)
            ),
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
