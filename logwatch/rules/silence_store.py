"""Rules stage, muting on disk: silences kept in state.db, added by the CLI, read live.

``logwatch silence add`` writes a row with its own connection; the daemon's
``SilenceStore`` notices through ``PRAGMA data_version`` (which changes when
another connection commits) and reloads, so a new silence applies to the next
event without a signal and without re-reading the table for every event.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from logwatch.errors import StateError
from logwatch.model import Alert
from logwatch.rules.silences import LabelMatcher, Silence, SilenceSet
from logwatch.store import DB_NAME

_SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,        -- JSON list of [name, op, value]
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL
);
"""


class SilenceStore:
    """The silences table; also the daemon's Silencer. One thread uses it at a time."""

    def __init__(
        self, path: Path, *, new_id: Callable[[], str] = lambda: uuid.uuid4().hex
    ) -> None:
        self.path = path
        self._new_id = new_id
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=5.0, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open silences in {path}: {exc}") from exc
        self._seen_version: int | None = None
        self._cached = SilenceSet()

    @classmethod
    def in_dir(cls, state_dir: Path) -> SilenceStore:
        return cls(state_dir / DB_NAME)

    def close(self) -> None:
        self._db.close()

    def add(
        self,
        matchers: Sequence[LabelMatcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        comment: str,
        created_by: str = "",
    ) -> Silence:
        if not matchers:
            raise ValueError("a silence needs at least one matcher, e.g. --match rule=db-down")
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        silence = Silence(
            self._new_id(), tuple(matchers), starts_at, ends_at, comment, created_by
        )
        self._db.execute(
            "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                silence.id,
                json.dumps([[m.name, m.op, m.value] for m in silence.matchers]),
                starts_at.timestamp(),
                ends_at.timestamp(),
                comment,
                created_by,
            ),
        )
        self._seen_version = None  # our own writes do not change data_version
        return silence

    def expire(self, silence_id: str, now: datetime) -> bool:
        """End a silence now; return False when no silence has that id (or it had ended)."""
        cursor = self._db.execute(
            "UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
            (now.timestamp(), silence_id, now.timestamp()),
        )
        self._seen_version = None
        return cursor.rowcount > 0

    def list(self, now: datetime, *, include_expired: bool = False) -> list[Silence]:
        rows = self._db.execute(
            "SELECT id, matchers, starts_at, ends_at, comment, created_by FROM silences"
            " WHERE ? OR ends_at > ? ORDER BY starts_at, id",
            (include_expired, now.timestamp()),
        ).fetchall()
        return [_silence(row) for row in rows]

    def prune(self, before: datetime) -> int:
        """Forget silences that ended before ``before``."""
        return self._db.execute(
            "DELETE FROM silences WHERE ends_at < ?", (before.timestamp(),)
        ).rowcount

    def silenced(self, alert: Alert, now: datetime) -> bool:
        version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        if version != self._seen_version:
            self._seen_version = version
            self._cached = SilenceSet(self.list(now))
        return self._cached.silenced(alert, now)


def _silence(row: tuple[str, str, float, float, str, str]) -> Silence:
    silence_id, matchers, starts_at, ends_at, comment, created_by = row
    return Silence(
        id=silence_id,
        matchers=tuple(LabelMatcher.build(*triple) for triple in json.loads(matchers)),
        starts_at=datetime.fromtimestamp(starts_at, UTC),
        ends_at=datetime.fromtimestamp(ends_at, UTC),
        comment=comment,
        created_by=created_by,
    )
