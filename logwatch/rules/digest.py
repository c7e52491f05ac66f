"""Rules stage, batching: alerts that wait for ``group_wait`` / ``group_interval`` become digests.

The first alert of a (rule, destination) opens a batch that is flushed
``group_wait`` later; alerts arriving meanwhile join it. After a flush,
alerts within ``group_interval`` join the next batch, flushed when that
interval ends. A batch of one is sent as the alert itself; a bigger one as
one digest alert ("N errors: ..."), whose text lists what it holds.

A batch is a ``GroupState`` of kind "digest" in the RuleState, so it
survives a restart. It keeps a bounded summary, not every alert: the first
alert whole (a batch of one sends it), then one item per distinct
fingerprint up to ``ITEMS``, then only counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from logwatch.model import Alert, AlertStatus, Severity
from logwatch.rules import alerts
from logwatch.rules.state import GroupState

ITEMS = 20  # distinct alerts listed by name in a digest; the rest are counted


def key(rule: str, destination: str, notifiers: Sequence[str]) -> str:
    return f"{rule}:digest:{alerts.digest(destination, *notifiers)}"


def start(
    rule: str,
    alert: Alert,
    at: float,
    *,
    flush_at: float | None,
    interval: float | None,
    notifiers: Sequence[str],
) -> GroupState:
    """A new batch holding ``alert``; with ``flush_at`` None it was sent already (no wait)."""
    waiting = flush_at is not None
    snapshot: dict[str, Any] = {
        "notifiers": list(notifiers),
        "interval": interval,
        "first": alert.payload() if waiting else None,
        "items": [_item(alert)] if waiting else [],
        "more": 0,
    }
    return GroupState(
        rule=rule,
        kind="digest",
        last_seen=at,
        last_sent_at=None if waiting else at,
        pending=1 if waiting else 0,
        pending_first_seen=at if waiting else None,
        snapshot=snapshot,
        due_at=flush_at,
        expires_at=_expiry(flush_at if waiting else at, interval, at),
    )


def is_open(batch: GroupState, at: float) -> bool:
    """Whether a new alert joins this batch rather than starting another."""
    if batch.pending:
        return True
    interval = float(batch.snapshot.get("interval") or 0.0)
    return batch.last_sent_at is not None and at < batch.last_sent_at + interval


def add(batch: GroupState, alert: Alert, at: float) -> GroupState:
    """``batch`` with ``alert`` in it, due at the end of its wait or interval."""
    snapshot = dict(batch.snapshot)
    items = [dict(item) for item in snapshot.get("items", [])]
    ident = _ident(alert)
    for item in items:
        if item["ident"] == ident:
            item["count"] += alert.count
            item["last_seen"] = _iso(alert.last_seen)
            break
    else:
        if len(items) < ITEMS:
            items.append(_item(alert))
        else:
            snapshot["more"] = int(snapshot.get("more", 0)) + alert.count
    if snapshot.get("first") is None:
        snapshot["first"] = alert.payload()
    snapshot["items"] = items
    due = batch.due_at
    if due is None:  # the first alert after a flush: wait for the interval to end
        due = (batch.last_sent_at or at) + float(snapshot.get("interval") or 0.0)
    return batch.replace(
        last_seen=max(batch.last_seen, at),
        pending=batch.pending + 1,
        pending_first_seen=batch.pending_first_seen or at,
        snapshot=snapshot,
        due_at=due,
        expires_at=_expiry(due, snapshot.get("interval"), at),
    )


def flush(batch_key: str, batch: GroupState) -> tuple[Alert, list[dict[str, Any]]]:
    """The alert a due batch sends, and its items (for templates)."""
    snapshot = batch.snapshot
    first = Alert.from_payload(snapshot["first"])
    items: list[dict[str, Any]] = [dict(item) for item in snapshot.get("items", [])]
    notifiers = tuple(snapshot.get("notifiers", ()))
    if batch.pending == 1:
        return dataclasses.replace(first, notifiers=notifiers), items
    more = int(snapshot.get("more", 0))
    total = sum(int(item["count"]) for item in items) + more
    titles = "; ".join(dict.fromkeys(str(item["title"]) for item in items))
    lines = [
        f"{item['count']}x {item['title']} ({item['file']}:{item['first_line']})"
        for item in items
    ]
    if more:
        lines.append(f"... and {more} more")
    severity = max((Severity.parse(item["severity"]) for item in items), default=first.severity)
    first_seen = min([first.first_seen, *(_time(item["first_seen"]) for item in items)])
    last_seen = max([first.last_seen, *(_time(item["last_seen"]) for item in items)])
    digest_alert = dataclasses.replace(
        first,
        id=alerts.digest(batch_key, "digest", first.id, str(batch.pending), str(total)),
        status=AlertStatus.FIRING,
        severity=severity,
        title=alerts.clip(f"{total} errors: {titles}"),
        exc_type=_common(items, "exc_type"),
        exc_message=first.exc_message if _common(items, "exc_type") else None,
        fingerprint=_common(items, "fingerprint"),
        count=total,
        first_seen=first_seen,
        last_seen=last_seen,
        labels=_common_labels(items),
        text="\n".join(lines),
        notifiers=notifiers,
        fields={},
        context=(),
    )
    return digest_alert, items


def after_flush(batch: GroupState, at: float) -> GroupState | None:
    """The batch emptied; kept while its interval runs, so later alerts are batched too."""
    interval = batch.snapshot.get("interval")
    if not interval:
        return None
    snapshot = {**batch.snapshot, "first": None, "items": [], "more": 0}
    return batch.replace(
        last_sent_at=at,
        pending=0,
        pending_first_seen=None,
        snapshot=snapshot,
        due_at=None,
        expires_at=at + float(interval),
    )


def _ident(alert: Alert) -> str:
    return alert.fingerprint or f"title:{alert.title}"


def _item(alert: Alert) -> dict[str, Any]:
    return {
        "ident": _ident(alert),
        "title": alert.title,
        "count": alert.count,
        "severity": str(alert.severity),
        "rule": alert.rule,
        "file": alert.file,
        "first_line": alert.first_line,
        "exc_type": alert.exc_type,
        "fingerprint": alert.fingerprint,
        "first_seen": _iso(alert.first_seen),
        "last_seen": _iso(alert.last_seen),
        "labels": dict(alert.labels),
    }


def _common(items: Sequence[Mapping[str, Any]], name: str) -> Any:
    values = {item.get(name) for item in items}
    return values.pop() if len(values) == 1 else None


def _common_labels(items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The labels every alert of the batch shares, as Alertmanager's CommonLabels."""
    if not items:
        return {}
    common = dict(items[0]["labels"])
    for item in items[1:]:
        common = {k: v for k, v in common.items() if item["labels"].get(k) == v}
    return common


def _expiry(due: float | None, interval: float | None, at: float) -> float:
    return (due if due is not None else at) + float(interval or 0.0)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
