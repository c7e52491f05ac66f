"""Delivery stage, overflow: a rate-limited notifier's backlog folded into one digest alert.

When more alerts wait for a notifier than its rate lets through in one window,
the newest firing ones become one "N more alerts" digest, so the backlog
drains within a window and nothing is dropped. The digest lists the titles and
counts in its text and, in its ``fields``, the outbox rows and alert ids it
holds. A digest folded again is merged, so one digest always lists everything.
Resolved alerts are never folded: each closes its own incident (PagerDuty,
Opsgenie), which a digest could not do. Pure: rows in, an alert out.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from logwatch.model import Alert, AlertStatus
from logwatch.store import OutboxRow

RULE = "rate-limit"  # a digest's rule when the folded alerts come from several
FOLDED_ROWS = "folded_rows"  # in a digest's fields: outbox row ids it holds
FOLDED_ALERTS = "folded_alerts"  # alert ids it holds
FOLDED_TITLES = "folded_titles"  # [title, alerts] pairs, first seen first
TEXT_TITLES = 50  # distinct titles listed in the text; the rest are counted


def overflow(rows: Sequence[OutboxRow], capacity: int) -> list[OutboxRow]:
    """The rows to fold so that at most ``capacity`` rows, the digest included, wait.

    ``rows`` are a notifier's pending rows, oldest first. The oldest firing
    ones stay (the start of a storm tends to name its cause); at least two
    rows are folded, or none.
    """
    if len(rows) <= capacity:
        return []
    firing = [row for row in rows if row.alert().status is AlertStatus.FIRING]
    resolved = len(rows) - len(firing)
    keep = max(capacity - 1 - resolved, 0)
    chosen = firing[keep:]
    return chosen if len(chosen) >= 2 else []


def digest_alert(rows: Sequence[OutboxRow], notifier: str) -> Alert:
    """One firing alert that stands for ``rows``: "N more alerts" and what they were."""
    if not rows:
        raise ValueError("nothing to fold")
    alerts = [row.alert() for row in rows]
    row_ids: list[int] = []
    alert_ids: list[str] = []
    titles: Counter[str] = Counter()
    for row, alert in zip(rows, alerts, strict=True):
        row_ids.append(row.id)
        held = alert.fields if FOLDED_ROWS in alert.fields else None
        if held is None:
            alert_ids.append(alert.id)
            titles[alert.title] += 1
            continue
        # an earlier digest: take over what it holds
        row_ids.extend(int(i) for i in held[FOLDED_ROWS])
        alert_ids.extend(str(i) for i in held.get(FOLDED_ALERTS, ()))
        for title, count in held.get(FOLDED_TITLES, ()):
            titles[str(title)] += int(count)
    total = sum(titles.values())
    first = alerts[0]
    common = _common(alerts)
    return dataclasses.replace(
        first,
        id=_digest_id(notifier, row_ids),
        status=AlertStatus.FIRING,
        rule=common.get("rule") or RULE,
        severity=max(alert.severity for alert in alerts),
        title=f"{total} more alerts",
        exc_type=common.get("exc_type"),
        exc_message=common.get("exc_message"),
        fingerprint=common.get("fingerprint"),
        count=sum(alert.count for alert in alerts),
        first_seen=min(alert.first_seen for alert in alerts),
        last_seen=max(alert.last_seen for alert in alerts),
        labels=_common_labels(alerts),
        text=_text(titles),
        notifiers=(notifier,),
        level=None,
        logger=common.get("logger"),
        message=f"{total} alerts to {notifier} were held back by its rate limit",
        fields={
            FOLDED_ROWS: sorted(set(row_ids)),
            FOLDED_ALERTS: list(dict.fromkeys(alert_ids)),
            FOLDED_TITLES: [[title, count] for title, count in titles.items()],
        },
        context=(),
        hosts=tuple(sorted({host for alert in alerts for host in alert.hosts})),
    )


def _text(titles: Counter[str]) -> str:
    lines = [f"{count}x {title}" for title, count in list(titles.items())[:TEXT_TITLES]]
    rest = list(titles.items())[TEXT_TITLES:]
    if rest:
        lines.append(f"... and {sum(count for _, count in rest)} more ({len(rest)} titles)")
    return "\n".join(lines)


def _common(alerts: Sequence[Alert]) -> dict[str, Any]:
    """The facts every folded alert shares; a digest claims no more than that."""
    shared: dict[str, Any] = {}
    for name in ("rule", "exc_type", "exc_message", "fingerprint", "logger"):
        values = {getattr(alert, name) for alert in alerts}
        if len(values) == 1:
            shared[name] = values.pop()
    return shared


def _common_labels(alerts: Sequence[Alert]) -> Mapping[str, str]:
    common = dict(alerts[0].labels)
    for alert in alerts[1:]:
        common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
    return common


def _digest_id(notifier: str, row_ids: Sequence[int]) -> str:
    text = "\0".join(["fold", notifier, *map(str, sorted(set(row_ids)))])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
