"""Alert -> the stable key of its group, which incident providers use to deduplicate.

PagerDuty's ``dedup_key`` and Opsgenie's ``alias`` attach repeats to the open
incident and let a ``resolved`` alert close the incident its trigger opened,
so the key must be the same for every alert of a group, resolved included.

``incident_key: host`` (the default) keeps one incident per host;
``fleet`` one for every host, for daemons that share their rule state
(``state.backend: redis``), where one host may resolve what another opened.
The config defaults it to ``fleet`` when the state is shared.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from logwatch.model import Alert
from logwatch.notifiers.base import SHARED_STATE, NotifierOptions

PREFIX = "logwatch"

IncidentScope = Literal["host", "fleet"]


class IncidentOptions(NotifierOptions):
    """Options of a notifier whose provider deduplicates incidents by our key."""

    incident_key: IncidentScope = Field(
        "host", description="host: one incident per host; fleet: one for all hosts"
    )

    @model_validator(mode="before")
    @classmethod
    def _fleet_when_shared(cls, data: Any, info: ValidationInfo) -> Any:
        if (
            isinstance(data, dict)
            and "incident_key" not in data
            and (info.context or {}).get(SHARED_STATE)
        ):
            return {**data, "incident_key": "fleet"}
        return data


def group_fingerprint(alert: Alert) -> str:
    """The alert's fingerprint; for a record without a traceback, a digest of its message.

    The rules stage groups such records by message too (``rules.alerts.group_value``).
    Hashed, so that a message never reaches a provider as an identifier.
    """
    if alert.fingerprint:
        return alert.fingerprint
    return "m" + _digest(alert.message or alert.title)[:16]


def incident_key(alert: Alert, *, limit: int, scope: IncidentScope = "host") -> str:
    """``logwatch:<host>:<rule>:<fingerprint>``, or a digest of it when longer than ``limit``.

    The host is part of the key because every daemon keeps its own groups and
    resolves them on its own: without it, one quiet host would close an
    incident that another host is still feeding. With ``scope="fleet"`` the
    key is ``logwatch:<rule>:<fingerprint>``: the groups are the fleet's, and
    the host that resolves one is often not the one that opened it.
    """
    where = "" if scope == "fleet" else f"{alert.host}:"
    key = f"{PREFIX}:{where}{alert.rule}:{group_fingerprint(alert)}"
    if len(key) <= limit:
        return key
    return f"{PREFIX}:{_digest(key)}"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
