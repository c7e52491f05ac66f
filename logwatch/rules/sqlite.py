"""Rules stage memory on disk: the RuleState kept in the daemon's state.db.

Its own connection and its own tables (``rule_windows``, ``rule_groups``) in
the same file as the offsets and the outbox, so cooldowns, windows and open
incidents survive a restart and a config reload. Commits use
``synchronous=NORMAL``: losing the last writes to a power cut means at worst
one repeated alert, which beats an fsync per log record.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import NamedTuple

from logwatch.errors import StateError
from logwatch.rules.state import FingerprintState, GroupState, next_sighting
from logwatch.store import DB_NAME

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_windows (
    key TEXT NOT NULL,
    member TEXT NOT NULL,          -- the occurrence id: re-reading it counts once
    at REAL NOT NULL,
    until REAL NOT NULL,           -- at + the window's span: after it, it cannot count
    PRIMARY KEY (key, member)
);
CREATE INDEX IF NOT EXISTS rule_windows_at ON rule_windows (key, at);
CREATE INDEX IF NOT EXISTS rule_windows_until ON rule_windows (until);
CREATE TABLE IF NOT EXISTS rule_groups (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,           -- GroupState as JSON
    due_at REAL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS rule_groups_due ON rule_groups (due_at);
CREATE TABLE IF NOT EXISTS known_fingerprints (
    fingerprint TEXT PRIMARY KEY,  -- kept for good: "new" means never seen on this host
    value TEXT NOT NULL            -- FingerprintState as JSON
);
"""


class _Bounds(NamedTuple):
    due: float  # no group is due before it
    expiry: float  # no group expires before it
    window_end: float  # no window goes quiet before it, nor at it


class SqliteRuleState:
    """A RuleState in the state database; one thread uses it at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The engine is built on the main thread and used on the reader
            # thread; it is never used by two threads at once.
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=5.0, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open rule state in {path}: {exc}") from exc
        # Lower bounds of the earliest due_at, expires_at and window end (None:
        # not known). An idle daemon's loop asks ``quiet_until`` at every turn,
        # and on a cold cache each query cost ~0.1 ms of its CPU budget; with
        # one daemon per state dir, every row is written through this object,
        # so the bounds are asked of the tables only after a tick found work.
        self._next_due: float | None = None
        self._next_expiry: float | None = None
        self._next_window_end: float | None = None

    @classmethod
    def in_dir(cls, state_dir: Path) -> SqliteRuleState:
        return cls(state_dir / DB_NAME)

    def close(self) -> None:
        self._db.close()

    def window_add(self, key: str, member: str, at: float, within: float) -> tuple[int, float]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT OR IGNORE INTO rule_windows (key, member, at, until) VALUES (?, ?, ?, ?)",
                (key, member, at, at + within),
            )
            self._next_window_end = _lower(self._next_window_end, at + within)
            self._db.execute(
                "DELETE FROM rule_windows WHERE key = ? AND at < ?", (key, at - within)
            )
            count, oldest = self._db.execute(
                "SELECT COUNT(*), MIN(at) FROM rule_windows WHERE key = ?", (key,)
            ).fetchone()
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return int(count), float(oldest)

    def get(self, key: str) -> GroupState | None:
        row = self._db.execute("SELECT value FROM rule_groups WHERE key = ?", (key,)).fetchone()
        return None if row is None else GroupState.from_json(row[0])

    def put(self, key: str, value: GroupState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO rule_groups (key, value, due_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (key, value.to_json(), value.due_at, value.expires_at),
        )
        self._next_due = _lower(self._next_due, value.due_at)
        self._next_expiry = _lower(self._next_expiry, value.expires_at)

    def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM rule_groups WHERE key = ?", (key,))

    def due(self, now: float) -> list[tuple[str, GroupState]]:
        if now < self._bounds().due:
            return []
        rows = self._db.execute(
            "SELECT key, value FROM rule_groups WHERE due_at IS NOT NULL AND due_at <= ?"
            " ORDER BY due_at, key",
            (now,),
        ).fetchall()
        self._next_due = None  # the engine settles these groups: asked again next time
        return [(key, GroupState.from_json(value)) for key, value in rows]

    def prune(self, now: float) -> int:
        bounds = self._bounds()
        if now < bounds.expiry and now <= bounds.window_end:
            return 0
        groups = self._db.execute(
            "DELETE FROM rule_groups WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
        ).rowcount
        # Windows are trimmed when added to; this clears those that went quiet.
        windows = self._db.execute("DELETE FROM rule_windows WHERE until < ?", (now,)).rowcount
        self._next_expiry = self._next_window_end = None
        return int(groups) + int(windows)

    def quiet_until(self) -> float:
        bounds = self._bounds()
        return min(bounds.due, bounds.expiry, bounds.window_end)

    def _bounds(self) -> _Bounds:
        """The bounds, those not known asked of the tables (infinity: no row)."""
        if self._next_due is None:
            self._next_due = self._least("SELECT MIN(due_at) FROM rule_groups")
        if self._next_expiry is None:
            self._next_expiry = self._least("SELECT MIN(expires_at) FROM rule_groups")
        if self._next_window_end is None:
            self._next_window_end = self._least("SELECT MIN(until) FROM rule_windows")
        return _Bounds(self._next_due, self._next_expiry, self._next_window_end)

    def _least(self, query: str) -> float:
        least = self._db.execute(query).fetchone()[0]
        return math.inf if least is None else float(least)

    def sighting(self, fingerprint: str, occurrence: str, at: float) -> FingerprintState | None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            before = self._fingerprint(fingerprint)
            self._put_fingerprint(fingerprint, next_sighting(before, occurrence, at))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return before

    def hold(self, key: str) -> AbstractContextManager[None]:
        return nullcontext()  # one daemon per state dir: nobody else decides about its groups

    def resolve_fingerprint(self, fingerprint: str, at: float) -> None:
        known = self._fingerprint(fingerprint)
        if known is not None:
            self._put_fingerprint(fingerprint, dataclasses.replace(known, resolved_at=at))

    def _fingerprint(self, fingerprint: str) -> FingerprintState | None:
        row = self._db.execute(
            "SELECT value FROM known_fingerprints WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return None if row is None else FingerprintState(**json.loads(row[0]))

    def _put_fingerprint(self, fingerprint: str, value: FingerprintState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO known_fingerprints (fingerprint, value) VALUES (?, ?)",
            (fingerprint, json.dumps(dataclasses.asdict(value), sort_keys=True)),
        )


def _lower(bound: float | None, value: float | None) -> float | None:
    """``bound`` lowered to ``value``, if both are known."""
    return bound if bound is None or value is None else min(bound, value)
