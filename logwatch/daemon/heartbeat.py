"""A heartbeat row in the state database: how `logwatch status` knows the daemon is alive.

The daemon rewrites one ``meta`` row every few seconds from its reader loop,
and once more on a clean stop. A pid file would say only that a process once
started; a fresh heartbeat says the loop that reads logs is still turning.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from logwatch import __version__
from logwatch.store import Store

HEARTBEAT_KEY = "daemon"
HEARTBEAT_INTERVAL_S = 5.0
# a few missed beats before calling it stale: a long commit must not look like a crash
STALE_AFTER_BEATS = 3


class Heartbeat:
    """Writes the daemon's heartbeat; used from the reader thread only (it owns ``store``)."""

    def __init__(
        self,
        store: Store,
        *,
        interval_s: float = HEARTBEAT_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._interval_s = interval_s
        self._clock = clock
        self._last_beat_at: float | None = None
        self._record: dict[str, Any] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "version": __version__,
            "started_at": clock(),
            "interval_s": interval_s,
            "metrics": None,
            "stopped_at": None,
        }

    def set_metrics_address(self, address: str | None) -> None:
        self._record["metrics"] = address

    def set_field(self, name: str, value: Any) -> None:
        """Carry ``name`` in every beat from now on; `logwatch status` shows it under daemon."""
        self._record[name] = value

    def beat(self, counters: dict[str, int], *, force: bool = False) -> None:
        """Write the row if an interval has passed since the last write (or if ``force``)."""
        now = self._clock()
        last = self._last_beat_at
        if not force and last is not None and now - last < self._interval_s:
            return
        self._last_beat_at = now
        self._write({**self._record, "beat_at": now, "counters": counters})

    def due_in_s(self) -> float:
        """Until ``beat`` writes again; 0 if it would now."""
        last = self._last_beat_at
        return 0.0 if last is None else max(self._interval_s - (self._clock() - last), 0.0)

    def stopped(
        self, counters: dict[str, int], *, exit_code: int = 0, reason: str | None = None
    ) -> None:
        """The last write: the daemon stopped, cleanly (0) or with an error and why."""
        now = self._clock()
        self._write({**self._record, "beat_at": now, "stopped_at": now, "counters": counters,
                     "exit_code": exit_code, "stop_reason": reason})

    def _write(self, record: dict[str, Any]) -> None:
        self._store.set_meta(HEARTBEAT_KEY, json.dumps(record))


def daemon_state(raw: str | None, now: float) -> dict[str, Any]:
    """Judge a heartbeat row: running, stopped, unresponsive or gone (killed, crashed)."""
    if raw is None:
        return {"running": False, "state": "never-started"}
    record: dict[str, Any] = json.loads(raw)
    beat_at = float(record["beat_at"])
    state = {
        **record,
        "running": False,
        "heartbeat_age_s": round(now - beat_at, 1),
        "uptime_s": round(now - float(record["started_at"]), 1),
    }
    if record.get("stopped_at") is not None:
        return {**state, "state": "stopped"}
    # Asked first: a daemon killed a moment ago left a heartbeat that still looks fresh.
    if record.get("host") == socket.gethostname() and not _process_exists(int(record["pid"])):
        return {**state, "state": "gone"}
    if now - beat_at <= STALE_AFTER_BEATS * float(record["interval_s"]):
        return {**state, "state": "running", "running": True}
    return {**state, "state": "unresponsive"}


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just someone else's (the service's dynamic user)
    return True
