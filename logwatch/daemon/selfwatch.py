"""Delivery outcomes -> alerts about logwatch itself, through a fallback notifier.

A notifier that keeps failing is silent by nature: nobody hears the alerts it
cannot send. ``SelfWatch`` follows each notifier's outcomes and, once one has
failed for ``after`` without a success in between (or dead-lettered an alert),
queues one alert for the fallback notifier; when the notifier delivers again,
one ``resolved`` notice. One incident, two messages, however many failures.

It is pure: outcomes and their times go in, deliveries to queue come out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from logwatch.config import SelfWatchConfig
from logwatch.delivery.worker import Outcome
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.store import Delivery

logger = logging.getLogger(__name__)

RULE = "logwatch-selfwatch"
SOURCE = "logwatch"


@dataclass
class _Incident:
    """One notifier's unbroken run of failures."""

    since: float  # wall-clock time of the first failure after the last success
    last_at: float
    failures: int = 0
    dead_letters: int = 0
    last_error: str = ""
    alerted: bool = False


class SelfWatch:
    def __init__(
        self, config: SelfWatchConfig | None, *, host: str, labels: Mapping[str, str]
    ) -> None:
        self._config = config
        self._host = host
        self._labels = dict(labels)
        self._incidents: dict[str, _Incident] = {}

    def reconfigure(
        self, config: SelfWatchConfig | None, *, host: str, labels: Mapping[str, str]
    ) -> None:
        """Take a reloaded config; incidents in progress carry on."""
        self._config = config
        self._host = host
        self._labels = dict(labels)

    def observe(self, outcome: Outcome) -> Sequence[Delivery]:
        """Follow one delivery outcome; return the alerts to queue for the fallback."""
        config = self._config
        name = outcome.row.notifier
        if config is None:
            return ()
        if name == config.notifier:
            # the fallback cannot report on itself; the log is all that is left
            if outcome.result != "sent":
                logger.error("selfwatch notifier %s is failing too: %s", name, outcome.error)
            return ()
        if outcome.result == "sent":
            incident = self._incidents.pop(name, None)
            if incident is not None and incident.alerted:
                return (Delivery(self._resolved(name, incident, outcome.at), config.notifier),)
            return ()
        incident = self._incidents.get(name)
        if incident is None:
            incident = self._incidents[name] = _Incident(since=outcome.at, last_at=outcome.at)
        incident.failures += 1
        incident.last_at = outcome.at
        incident.last_error = outcome.error or ""
        if outcome.result == "dead":
            incident.dead_letters += 1
        if incident.alerted:
            return ()
        dead_now = outcome.result == "dead" and config.dead_letters
        if dead_now or outcome.at - incident.since >= config.after:
            incident.alerted = True
            return (Delivery(self._firing(name, incident), config.notifier),)
        return ()

    def _firing(self, name: str, incident: _Incident) -> Alert:
        failing_for = _duration(incident.last_at - incident.since)
        if incident.dead_letters:
            title = f"logwatch: notifier {name!r} dead-lettered an alert"
        else:
            title = f"logwatch: notifier {name!r} has been failing for {failing_for}"
        text = (
            f"{title}.\n"
            f"{incident.failures} failed attempt(s) since {_iso(incident.since)},"
            f" {incident.dead_letters} dead-lettered.\n"
            f"Last error: {incident.last_error}\n"
            f"Alerts for {name!r} wait in the outbox: `logwatch outbox list`;"
            f" dead letters go back with `logwatch outbox retry`."
        )
        return self._alert(name, incident, AlertStatus.FIRING, title, text)

    def _resolved(self, name: str, incident: _Incident, at: float) -> Alert:
        title = f"logwatch: notifier {name!r} delivers again"
        text = (
            f"{title} after {_duration(at - incident.since)}"
            f" and {incident.failures} failed attempt(s)."
        )
        return self._alert(name, incident, AlertStatus.RESOLVED, title, text, last_at=at)

    def _alert(
        self,
        name: str,
        incident: _Incident,
        status: AlertStatus,
        title: str,
        text: str,
        *,
        last_at: float | None = None,
    ) -> Alert:
        # one id per incident and status, so a re-queued notice is dropped as a repeat
        incident_id = f"selfwatch-{name}-{int(incident.since * 1000)}"
        return Alert(
            id=incident_id if status is AlertStatus.FIRING else f"{incident_id}-resolved",
            status=status,
            rule=RULE,
            severity=Severity.ERROR,
            title=title,
            host=self._host,
            source=SOURCE,
            file="",
            first_line=0,
            last_line=0,
            exc_type=None,
            exc_message=None,
            fingerprint=f"selfwatch:{name}",
            count=incident.failures,
            first_seen=_datetime(incident.since),
            last_seen=_datetime(incident.last_at if last_at is None else last_at),
            labels={**self._labels, "notifier": name},
            text=text,
            notifiers=(self._config.notifier,) if self._config else (),
            message=title,
        )


def _datetime(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _iso(at: float) -> str:
    return _datetime(at).isoformat(timespec="seconds").replace("+00:00", "Z")


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
