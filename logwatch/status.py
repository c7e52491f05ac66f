"""`logwatch status`: what the state directory knows, read while the daemon runs.

The daemon writes everything shown here to its SQLite state (offsets, the
outbox, a heartbeat row; `logwatch silence` adds the silences there), so this
works from any shell that may read the state directory, with no socket to the
daemon. The metrics endpoint reuses ``file_lags`` and ``outbox_summary`` so both
views agree.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logwatch.daemon.heartbeat import HEARTBEAT_KEY, daemon_state
from logwatch.rules.silence_store import SilenceStore
from logwatch.silencing import Silences
from logwatch.store import DB_NAME, Store

RECENT = 10


def collect_status(
    state_dir: Path, *, now: float | None = None, config: Path | None = None
) -> dict[str, Any]:
    """What ``state_dir`` knows; with the ``config`` it came from, the fleet's silences too
    (where its rule state is shared), and ``silences_unreachable`` when they are missing."""
    now = time.time() if now is None else now
    if not (state_dir / DB_NAME).exists():
        return {"state_dir": str(state_dir), "daemon": daemon_state(None, now), "files": [],
                "unreadable": [], "outbox": {}, "dead_letters": [], "recent_alerts": [],
                "silences": [], "note": "no state yet: the daemon has not run here"}
    store = Store.in_dir(state_dir)
    try:
        dead = [
            {"id": row.id, "notifier": row.notifier, "rule": alert.rule, "title": alert.title,
             "attempts": row.attempts, "error": row.last_error, "created": row.created}
            for row in store.outbox("dead", RECENT)
            for alert in (row.alert(),)
        ]
        recent = [
            {"id": row.alert_id, "notifier": row.notifier, "rule": alert.rule,
             "status": str(alert.status), "severity": str(alert.severity), "title": alert.title,
             "sent_at": row.sent_at}
            for row in store.outbox("sent", RECENT)
            for alert in (row.alert(),)
        ]
        daemon = daemon_state(store.get_meta(HEARTBEAT_KEY), now)
        silences, unreachable = current_silences(state_dir, now, config)
        status = {
            "state_dir": str(state_dir),
            "daemon": daemon,
            "files": file_lags(store),
            # matched but not openable, as of the last heartbeat (the daemon retries them)
            "unreadable": daemon.pop("unreadable", []),
            "outbox": outbox_summary(store, now),
            "dead_letters": dead,
            "recent_alerts": recent,
            "silences": silences,
        }
        if unreachable is not None:
            status["silences_unreachable"] = unreachable
        return status
    finally:
        store.close()


def current_silences(
    state_dir: Path, now: float, config: Path | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Active and pending silences, as `silence list` shows them (expired ones mute
    nothing), and why the fleet's are missing from them, if they are."""
    if config is None:
        silences = Silences(SilenceStore.in_dir(state_dir))
    else:
        silences = Silences.open(config, state_dir)
    try:
        at = datetime.fromtimestamp(now, UTC)
        return [silence.record(at) for silence in silences.list(at)], silences.unreachable
    finally:
        silences.close()


def file_lags(store: Store) -> list[dict[str, Any]]:
    """Each followed file: committed offset, size now, and the bytes between (None: gone)."""
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
    return sorted(files, key=lambda entry: (entry["path"], entry["uid"]))


def outbox_summary(store: Store, now: float) -> dict[str, Any]:
    oldest = store.oldest_pending()
    return {**store.outbox_counts(),
            "oldest_pending_age_s": None if oldest is None else round(now - oldest, 1)}


# -- rendering ---------------------------------------------------------------


def render_status(status: dict[str, Any], *, now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = [f"daemon:    {_daemon_line(status['daemon'])}",
             f"state dir: {status['state_dir']}"]
    shared = status["daemon"].get("shared_state") or {}
    if shared.get("backend") == "redis":
        lines.append(f"rules:     {_shared_line(shared, now)}")
    if "note" in status:
        lines.append(status["note"])
        return "\n".join(lines)
    lines.append("")
    if status["files"]:
        rows: list[tuple[str, ...]] = [("FILE", "SOURCE", "OFFSET", "LINE", "LAG")]
        rows += [
            (entry["path"], entry["source"], str(entry["offset"]), str(entry["line"]),
             "gone" if entry["lag_bytes"] is None else _bytes(entry["lag_bytes"]))
            for entry in status["files"]
        ]
        lines += _table(rows, right=(2, 3, 4))
    else:
        lines.append("no files followed yet")
    if status.get("unreadable"):
        lines.append("")
        lines.append("unreadable (read as soon as their permissions allow):")
        lines += _table(
            [("FILE", "SOURCE", "ERROR")]
            + [(entry["path"], entry["source"], entry["error"])
               for entry in status["unreadable"]],
            indent="  ",
        )
    outbox = status["outbox"]
    oldest = outbox.get("oldest_pending_age_s")
    lines.append("")
    lines.append(
        f"outbox: {outbox.get('pending', 0)} pending, {outbox.get('sent', 0)} sent,"
        f" {outbox.get('dead', 0)} dead"
        + ("" if oldest is None else f"; oldest pending for {_ago(oldest)}")
    )
    if status["dead_letters"]:
        lines.append("")
        lines.append("dead letters (requeue with `logwatch outbox retry ID`):")
        lines += _table(
            [("ID", "NOTIFIER", "RULE", "ALERT", "LAST ERROR")]
            + [(str(dead["id"]), dead["notifier"], dead["rule"], dead["title"],
                dead["error"] or "") for dead in status["dead_letters"]],
            indent="  ", right=(0,),
        )
    if status["recent_alerts"]:
        lines.append("")
        lines.append("recent alerts:")
        lines += _table(
            [("SENT", "NOTIFIER", "RULE", "STATUS", "ALERT")]
            + [(_ago(now - alert["sent_at"]) + " ago" if alert["sent_at"] else "-",
                alert["notifier"], alert["rule"], alert["status"], alert["title"])
               for alert in status["recent_alerts"]],
            indent="  ", right=(0,),
        )
    if status["silences"]:
        lines.append("")
        lines.append("silences (end one with `logwatch silence expire ID`):")
        rows = [("ID", "STATE", "ENDS", "HOST", "MATCHERS", "BY", "COMMENT")]
        rows += [(item["id"], item["state"], _silence_span(item, now), item.get("host", ""),
                  " ".join(item["matchers"]), item["created_by"] or "-", item["comment"])
                 for item in status["silences"]]
        if not any("host" in item for item in status["silences"]):
            rows = [row[:3] + row[4:] for row in rows]  # this host's alone: no fleet to tell
        lines += _table(rows, indent="  ")
    if "silences_unreachable" in status:
        lines.append("")
        lines.append("silences: THIS HOST'S ONLY; the fleet's are out of reach"
                     f" ({status['silences_unreachable']})")
    return "\n".join(lines)


def _daemon_line(daemon: dict[str, Any]) -> str:
    state = daemon["state"]
    if state == "never-started":
        return "never started with this state dir"
    pid, beat = daemon["pid"], _ago(daemon["heartbeat_age_s"])
    if state == "running":
        metrics = f", metrics on {daemon['metrics']}" if daemon.get("metrics") else ""
        return (f"running (pid {pid}, up {_ago(daemon['uptime_s'])},"
                f" heartbeat {beat} ago{metrics})")
    if state == "stopped":
        if daemon.get("exit_code"):
            reason = daemon.get("stop_reason") or "see its log"
            return f"stopped with an error ({reason}; exit {daemon['exit_code']}, {beat} ago)"
        return f"stopped (cleanly, {beat} ago)"
    if state == "gone":
        return f"not running (pid {pid} is gone without a clean stop; last heartbeat {beat} ago)"
    return f"NOT RESPONDING (pid {pid}: no heartbeat for {beat})"


def _shared_line(shared: dict[str, Any], now: float) -> str:
    if shared.get("shared"):
        if shared.get("persistent") is False:
            return ("deciding with the fleet (shared state in redis, which KEEPS NOTHING ON"
                    " DISK: a restart of it forgets counts, cooldowns and known fingerprints;"
                    " set appendonly yes on it)")
        return "deciding with the fleet (shared state in redis)"
    since = shared.get("down_since")
    ago = "" if since is None else f" for {_ago(now - since)}"
    return (f"REDIS UNAVAILABLE{ago} ({shared.get('error')});"
            " deciding from this host's state, duplicates possible")


def _silence_span(silence: dict[str, Any], now: float) -> str:
    def until(key: str) -> str:
        return _ago(datetime.fromisoformat(silence[key]).timestamp() - now)

    if silence["state"] == "pending":
        return f"in {until('ends_at')}, starts in {until('starts_at')}"
    return f"in {until('ends_at')}"


def _table(
    rows: Sequence[tuple[str, ...]], *, indent: str = "", right: tuple[int, ...] = ()
) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.append(indent + "  ".join(cells).rstrip())
    return out


def _bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    size = float(count)
    for unit in ("KiB", "MiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GiB"


def _ago(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
