"""Alert -> an Opsgenie alert (Alert API v2): created while firing, closed by alias after.

The ``alias`` is the group's key (``_incident.incident_key``): Opsgenie counts
repeats on the open alert instead of paging again, and a resolved alert closes
it with ``POST /v2/alerts/{alias}/close?identifierType=alias``. Opsgenie
documents HTML formatting in alert text, so log-derived text is HTML-escaped.
Opsgenie is legacy (end of support April 2027) but its API keeps working until then.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field, field_validator

from logwatch.config.fields import Duration, SeverityName
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import _http
from logwatch.notifiers._incident import IncidentOptions, group_fingerprint, incident_key
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.escaping import cut_end, cut_escaped, printable, shorten_traceback

if TYPE_CHECKING:
    import httpx

API_URL = "https://api.opsgenie.com"  # EU instance: https://api.eu.opsgenie.com
SOURCE = "logwatch"
# Alert API limits (docs.opsgenie.com "Alerts and alert fields")
MESSAGE_CHARS = 130
ALIAS_CHARS = 512
DESCRIPTION_CHARS = 15_000
ENTITY_CHARS = 512
TAG_CHARS = 50
MAX_TAGS = 20
# our own: details share a total budget of about 8,000 characters
DETAIL_CHARS = 500
LINE_CHARS = 1_000

Priority = Literal["P1", "P2", "P3", "P4", "P5"]
DEFAULT_PRIORITIES: Mapping[Severity, Priority] = {
    Severity.CRITICAL: "P1",
    Severity.ERROR: "P2",
    Severity.WARNING: "P3",
    Severity.INFO: "P5",
}


class OpsgenieOptions(IncidentOptions):
    url: str = Field(API_URL, repr=False)
    api_key: str = Field(min_length=1, repr=False)  # an API integration's key
    tags: list[str] = Field(default_factory=list)  # added to logwatch, rule and severity
    priorities: dict[SeverityName, Priority] = Field(
        default_factory=dict, description="override the severity -> P1..P5 mapping"
    )
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)


def _escape(text: str) -> str:
    return html.escape(printable(text), quote=False)


def request(alert: Alert, options: OpsgenieOptions) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body to POST for ``alert``: create while firing, close once resolved."""
    base = options.url.rstrip("/")
    if alert.status is AlertStatus.RESOLVED:
        # ":" is allowed in a path segment; "/" and the rest of a rule name are not
        key = incident_key(alert, limit=ALIAS_CHARS, scope=options.incident_key)
        alias = quote(key, safe=":")
        return f"{base}/v2/alerts/{alias}/close?identifierType=alias", render_close(alert)
    return f"{base}/v2/alerts", render_create(alert, options)


def render_create(alert: Alert, options: OpsgenieOptions) -> dict[str, Any]:
    """The body of ``POST /v2/alerts`` for a firing alert."""
    priorities = {**DEFAULT_PRIORITIES, **options.priorities}
    tags = ["logwatch", alert.rule, str(alert.severity), *options.tags]
    body: dict[str, Any] = {
        "message": cut_escaped(alert.title, MESSAGE_CHARS, _escape),
        "alias": incident_key(alert, limit=ALIAS_CHARS, scope=options.incident_key),
        "description": description(alert),
        "tags": [cut_end(tag, TAG_CHARS) for tag in dict.fromkeys(tags)][:MAX_TAGS],
        "details": details(alert),
        "entity": cut_end(alert.host, ENTITY_CHARS),
        "source": SOURCE,
        "priority": priorities[alert.severity],
    }
    return body


def render_close(alert: Alert) -> dict[str, Any]:
    """The body of ``POST /v2/alerts/{alias}/close`` for a resolved alert."""
    seen = alert.last_seen.isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"source": SOURCE, "note": f"resolved by logwatch: no new occurrence since {seen}"}


def description(alert: Alert) -> str:
    """The event text, escaped, with lines cut from the middle to fit the field."""
    if not alert.text:
        return _escape(alert.title)
    return shorten_traceback(
        alert.text, alert.exc_type, DESCRIPTION_CHARS, line_chars=LINE_CHARS, escape=_escape
    )


def details(alert: Alert) -> dict[str, str]:
    """Opsgenie's string-to-string extra properties: the labels, then the facts."""
    facts = {
        **alert.labels,
        "rule": alert.rule,
        "severity": str(alert.severity),
        "host": alert.host,
        "source": alert.source,
        "file": f"{alert.file}:{alert.first_line}-{alert.last_line}",
        "count": str(alert.count),
        "first_seen": alert.first_seen.isoformat().replace("+00:00", "Z"),
        "last_seen": alert.last_seen.isoformat().replace("+00:00", "Z"),
        "fingerprint": group_fingerprint(alert),
    }
    if alert.exc_type:
        facts["exc_type"] = alert.exc_type
    return {key: cut_escaped(value, DETAIL_CHARS, _escape) for key, value in facts.items()}


class OpsgenieNotifier:
    """Create and close Opsgenie alerts through an API integration."""

    Options: ClassVar[type[OpsgenieOptions]] = OpsgenieOptions

    def __init__(self, name: str, options: OpsgenieOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._mask = _http.Masker.for_url(options.url, options.api_key)

    async def send(self, alert: Alert) -> Receipt:
        # 202 means queued: Opsgenie processes requests asynchronously. Retrying a
        # create is safe, since the alias deduplicates it on the open alert.
        url, body = request(alert, self._options)
        return await _http.post(
            self._client,
            url,
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={
                "Authorization": f"GenieKey {self._options.api_key}",
                "Content-Type": "application/json",
                "User-Agent": _http.user_agent(),
            },
            timeout_s=self._options.timeout,
            mask=self._mask,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
