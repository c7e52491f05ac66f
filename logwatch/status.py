"""`logwatch status`: what the state directory knows, read while the daemon runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from logwatch.store import DB_NAME, Store

RECENT = 10


def collect_status(state_dir: Path) -> dict[str, Any]:
    if not (state_dir / DB_NAME).exists():
        return {"state_dir": str(state_dir), "files": [], "outbox": {}, "dead_letters": [],
                "recent_alerts": [], "note": "no state yet: the daemon has not run here"}
    store = Store.in_dir(state_dir)
    try:
        now = time.time()
        files = []
        for record in store.files():
            if record.state != "active":
                continue
            try:
                size: int | None = Path(record.path).stat().st_size
            except OSError:
                size = None
            files.append({
                "path": record.path,
                "source": record.source,
                "uid": record.uid,
                "offset": record.offset,
                "line": record.lineno,
                "size": size,
                "lag_bytes": None if size is None else max(size - record.offset, 0),
            })
        oldest = store.oldest_pending()
        dead = [
            {"id": row.id, "notifier": row.notifier, "title": row.alert().title,
             "attempts": row.attempts, "error": row.last_error}
            for row in store.outbox("dead", RECENT)
        ]
        recent = [
            {"id": row.alert_id, "notifier": row.notifier, "title": row.alert().title,
             "sent_at": row.sent_at}
            for row in store.outbox("sent", RECENT)
        ]
        return {
            "state_dir": str(state_dir),
            "files": sorted(files, key=lambda entry: entry["path"]),
            "outbox": {**store.outbox_counts(),
                       "oldest_pending_age_s": None if oldest is None else round(now - oldest, 1)},
            "dead_letters": dead,
            "recent_alerts": recent,
        }
    finally:
        store.close()


def render_status(status: dict[str, Any]) -> str:
    lines = [f"state: {status['state_dir']}"]
    if "note" in status:
        lines.append(status["note"])
        return "\n".join(lines)
    lines.append("")
    lines.append(f"{'FILE':<50} {'SOURCE':<12} {'LINE':>8} {'LAG':>10}")
    for entry in status["files"]:
        lag = "gone" if entry["lag_bytes"] is None else f"{entry['lag_bytes']}B"
        lines.append(f"{entry['path']:<50} {entry['source']:<12} {entry['line']:>8} {lag:>10}")
    outbox = status["outbox"]
    lines.append("")
    lines.append(
        f"outbox: {outbox.get('pending', 0)} pending, {outbox.get('sent', 0)} sent, "
        f"{outbox.get('dead', 0)} dead"
        + (f" (oldest pending {outbox['oldest_pending_age_s']}s)"
           if outbox.get("oldest_pending_age_s") is not None else "")
    )
    for dead in status["dead_letters"]:
        lines.append(
            f"  dead #{dead['id']} -> {dead['notifier']}: {dead['title']} ({dead['error']})"
        )
    if status["recent_alerts"]:
        lines.append("recent alerts:")
        for alert in status["recent_alerts"]:
            lines.append(f"  -> {alert['notifier']}: {alert['title']}")
    return "\n".join(lines)
