"""Alert -> Prometheus Alertmanager (API v2 ``POST /api/v2/alerts``), which routes it on.

Alertmanager identifies an alert by its label set, so labels hold only what
names the group (rule, severity, fingerprint, host and the configured labels)
and everything that changes per occurrence goes into annotations. Alertmanager
resolves an alert when its ``endsAt`` passes. logwatch does not re-send a
firing alert every minute the way Prometheus does, so ``endsAt`` is set
``resolve_timeout`` ahead (omitted, Alertmanager's own default of 5m would
resolve it early); a resolved alert ends now.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import _http
from logwatch.notifiers._incident import group_fingerprint
from logwatch.notifiers.base import NotifierOptions, Receipt
from logwatch.notifiers.escaping import cut_end, shorten_traceback

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "http://localhost:9093"
ALERTS_PATH = "/api/v2/alerts"
# our own limits: annotations travel into every notification Alertmanager sends
SUMMARY_CHARS = 500
DESCRIPTION_CHARS = 4_000
LINE_CHARS = 500
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


class AlertmanagerOptions(NotifierOptions):
    url: str = Field(DEFAULT_URL, repr=False)  # the Alertmanager; /api/v2/alerts is added
    host_as: Literal["label", "annotation"] = Field(
        "label", description="label: one alert per host; annotation: hosts share one alert"
    )
    resolve_timeout: Duration = Field(
        3600.0, gt=0, description="how long a firing alert stays active without a repeat"
    )
    generator_url: str | None = Field(None, description="a link shown with the alert")
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)

    @field_validator("generator_url")
    @classmethod
    def _check_generator_url(cls, value: str | None) -> str | None:
        return None if value is None else _http.check_http_url(value)


def label_name(name: str) -> str:
    """A classic Prometheus label name: ``[a-zA-Z_][a-zA-Z0-9_]*``."""
    name = _INVALID_LABEL_CHARS.sub("_", name)
    return f"_{name}" if not name or name[0].isdigit() else name


def render(alert: Alert, options: AlertmanagerOptions, *, now: datetime) -> list[dict[str, Any]]:
    """The ``POST /api/v2/alerts`` body: a list of one alert."""
    # an empty value means "no such label" to Alertmanager, as to Prometheus
    labels = {label_name(key): value for key, value in alert.labels.items() if value}
    labels |= {
        "alertname": alert.rule,
        "severity": str(alert.severity),
        "fingerprint": group_fingerprint(alert),
    }
    annotations = {
        "summary": cut_end(alert.title, SUMMARY_CHARS),
        "description": shorten_traceback(
            alert.text or alert.title, alert.exc_type, DESCRIPTION_CHARS, line_chars=LINE_CHARS
        ),
        "count": str(alert.count),
        "file": f"{alert.file}:{alert.first_line}-{alert.last_line}",
        "source": alert.source,
    }
    if alert.exc_type:
        annotations["exc_type"] = alert.exc_type
    if alert.hosts:
        # an annotation, never a label: which hosts saw it changes, the alert's identity must not
        annotations["hosts"] = ", ".join(alert.hosts)
    (labels if options.host_as == "label" else annotations)["host"] = alert.host

    # Alertmanager rejects an alert that ends before it starts (clock skew, replays)
    now = max(now, alert.first_seen)
    ends = (
        now
        if alert.status is AlertStatus.RESOLVED
        else now + timedelta(seconds=options.resolve_timeout)
    )
    item: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": _iso(alert.first_seen),
        "endsAt": _iso(ends),
    }
    if options.generator_url:
        item["generatorURL"] = options.generator_url
    return [item]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AlertmanagerNotifier:
    """Post alerts to one Alertmanager; for an HA pair, configure one notifier per replica."""

    Options: ClassVar[type[AlertmanagerOptions]] = AlertmanagerOptions

    def __init__(
        self,
        name: str,
        options: AlertmanagerOptions,
        *,
        client: httpx.AsyncClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._clock = clock
        base = options.url.rstrip("/")
        self._url = base if base.endswith(ALERTS_PATH) else base + ALERTS_PATH
        self._mask = _http.Masker.for_url(options.url)

    async def send(self, alert: Alert) -> Receipt:
        # 200 is success, 400 a rejected alert (permanent), 5xx retried: re-posting the
        # same label set only updates the alert Alertmanager already holds
        body = render(alert, self._options, now=self._clock())
        return await _http.post(
            self._client,
            self._url,
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
