"""Alert -> the stable key of its group, which incident providers use to deduplicate.

PagerDuty's ``dedup_key`` and Opsgenie's ``alias`` attach repeats to the open
incident and let a ``resolved`` alert close the incident its trigger opened,
so the key must be the same for every alert of a group, resolved included.
"""

from __future__ import annotations

import hashlib

from logwatch.model import Alert

PREFIX = "logwatch"


def group_fingerprint(alert: Alert) -> str:
    """The alert's fingerprint; for a record without a traceback, a digest of its message.

    The rules stage groups such records by message too (``rules.alerts.group_value``).
    Hashed, so that a message never reaches a provider as an identifier.
    """
    if alert.fingerprint:
        return alert.fingerprint
    return "m" + _digest(alert.message or alert.title)[:16]


def incident_key(alert: Alert, *, limit: int) -> str:
    """``logwatch:<host>:<rule>:<fingerprint>``, or a digest of it when longer than ``limit``.

    The host is part of the key because every daemon keeps its own groups and
    resolves them on its own: without it, one quiet host would close an
    incident that another host is still feeding.
    """
    key = f"{PREFIX}:{alert.host}:{alert.rule}:{group_fingerprint(alert)}"
    if len(key) <= limit:
        return key
    return f"{PREFIX}:{_digest(key)}"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
