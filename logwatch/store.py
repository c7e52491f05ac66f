"""Durable state: file offsets and the delivery outbox, in one SQLite database.

A file's committed offset and the outbox rows its records produced are written
in one transaction, so after a crash either both are durable or neither is:
the records are then read again and produce the same rows (same keys), which
``INSERT OR IGNORE`` drops. WAL with ``synchronous=FULL`` keeps commits durable
across power loss at the cost of one fsync per batch.

Outbox rows are ``pending`` until ``sent`` or ``dead``; a rate-limited
notifier's overflow is ``folded`` into one digest row (``folded_into``) in the
same transaction that queues the digest. ``meta.schema_version`` says which
layout a database has; older ones are migrated when opened.

Each thread that uses the store opens its own ``Store`` on the same file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.errors import StateError
from logwatch.model import Alert

DB_NAME = "state.db"
SCHEMA_VERSION = 2  # 2: outbox state 'folded' and column folded_into

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    uid TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    head BLOB NOT NULL,            -- first bytes of the file (<= 1 KiB), its identity
    offset INTEGER NOT NULL,       -- committed: start of the oldest unfinished record
    lineno INTEGER NOT NULL,       -- 1-based number of the line that starts at offset
    marker BLOB NOT NULL,          -- the bytes just before offset, checked before resuming
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'gone')),
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,      -- alert id + notifier: the same occurrence is queued once
    alert_id TEXT NOT NULL,
    notifier TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'dead', 'folded')),
    sent_at REAL,
    folded_into INTEGER            -- for state 'folded': the id of the digest row
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt);
"""

# Version 1 -> 2: SQLite cannot change a CHECK constraint in place, so the
# outbox is copied into a table of the new layout, which then takes its name.
_MIGRATE_1_TO_2 = (
    """CREATE TABLE outbox_v2 (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        alert_id TEXT NOT NULL,
        notifier TEXT NOT NULL,
        payload TEXT NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL NOT NULL,
        last_error TEXT,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sent', 'dead', 'folded')),
        sent_at REAL,
        folded_into INTEGER
    )""",
    "INSERT INTO outbox_v2 (id, key, alert_id, notifier, payload, created, attempts,"
    " next_attempt, last_error, state, sent_at) SELECT id, key, alert_id, notifier, payload,"
    " created, attempts, next_attempt, last_error, state, sent_at FROM outbox",
    "DROP TABLE outbox",
    "ALTER TABLE outbox_v2 RENAME TO outbox",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt)",
)
OUTBOX_STATES = ("pending", "sent", "dead", "folded")


@dataclass(frozen=True, slots=True)
class FileState:
    uid: str
    source: str
    path: str
    dev: int
    ino: int
    head: bytes
    offset: int
    lineno: int
    marker: bytes
    state: str = "active"
    updated: float = 0.0  # when it was committed last (epoch seconds); 0: not yet


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    key: str
    alert_id: str
    notifier: str
    payload: str
    created: float
    attempts: int
    next_attempt: float
    last_error: str | None
    state: str
    sent_at: float | None
    folded_into: int | None = None  # the digest row that holds this one (state 'folded')

    def alert(self) -> Alert:
        return Alert.from_payload(json.loads(self.payload))


@dataclass(frozen=True, slots=True)
class Delivery:
    """An alert to queue for one notifier."""

    alert: Alert
    notifier: str

    @property
    def key(self) -> str:
        return f"{self.alert.id}:{self.notifier}"


class Store:
    """One connection to the state database; not shared between threads."""

    def __init__(self, path: Path, *, durable: bool = True, create: bool = True) -> None:
        """Open the database; ``durable=False`` skips the fsync per commit.

        The reader needs every commit durable (an offset must never be ahead of
        its alerts). The sender's "sent" marks do not: one lost to a power cut
        only re-sends an alert under the same id, and an fsync per delivered
        row would cap delivery at a few dozen alerts a second. ``create=False``:
        StateError where there is no database (nor state dir) yet.
        """
        self.path = path
        self._data_version: int | None = None
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
            else:
                self._db = sqlite3.connect(
                    f"{path.absolute().as_uri()}?mode=rw", uri=True,
                    isolation_level=None, timeout=5.0,
                )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (k, v) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            self._migrate()
            opened = path.stat()
            self._identity = (opened.st_dev, opened.st_ino)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open state database {path}: {exc}") from exc

    def _migrate(self) -> None:
        """Bring an older database to SCHEMA_VERSION; refuse one from a newer logwatch."""
        if self._schema_version() == SCHEMA_VERSION:
            return
        # the reader and the sender open the database at the same time: the
        # version is read again under the write lock, so only one migrates
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._schema_version()
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"state database {self.path} has schema {version}, newer than this"
                    f" logwatch knows ({SCHEMA_VERSION}); upgrade logwatch"
                )
            if version == 1:
                for statement in _MIGRATE_1_TO_2:
                    self._db.execute(statement)
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _schema_version(self) -> int:
        return int(self.get_meta("schema_version") or SCHEMA_VERSION)

    @classmethod
    def in_dir(cls, state_dir: Path) -> Store:
        return cls(state_dir / DB_NAME)

    def close(self) -> None:
        self._db.close()

    def written_elsewhere(self) -> bool:
        """Whether another connection has committed since the last call (the first: True).

        A dead letter requeued by `logwatch outbox retry`, in another process,
        is news the sender's worker would otherwise hear of at its next idle
        recheck, up to 30 s later.
        """
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        changed = version != self._data_version
        self._data_version = version
        return bool(changed)

    def displaced(self) -> str | None:
        """None while the path still names the file opened; else "deleted" or "replaced".

        Either way this connection goes on writing to a file no one will open
        again: a state dir removed by hand, or a backup put in its place.
        """
        try:
            now = self.path.stat()
        except FileNotFoundError:
            return "deleted"
        except OSError:
            return None  # cannot tell (permissions): as before
        return None if (now.st_dev, now.st_ino) == self._identity else "replaced"

    def empty_journal(self) -> None:
        """Move what the write-ahead log holds into the database file, and empty the log.

        The log is found by the database's path: where another database file was
        put in this one's place, it would take this one's pages for its own.
        """
        busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StateError(f"the journal of {self.path} is in use by another connection")

    def write_back(self) -> None:
        """Write the database, deleted from its path, to a new file there.

        Atomically, and never over a file that appeared there meanwhile. The
        journal is emptied first: `rm state.db` leaves it at the path, and the
        next open would lay its pages over the copy, whose layout VACUUM changed.
        """
        self.empty_journal()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        copy = self.path.with_name(f"{self.path.name}.restoring")
        copy.unlink(missing_ok=True)
        try:
            self._db.execute("VACUUM INTO ?", (str(copy),))
            self.path.hardlink_to(copy)  # FileExistsError where one appeared meanwhile
        finally:
            copy.unlink(missing_ok=True)

    # -- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (key, value))

    # -- files and the outbox, committed together ---------------------------

    def files(self) -> list[FileState]:
        rows = self._db.execute(
            "SELECT uid, source, path, dev, ino, head, offset, lineno, marker, state, updated"
            " FROM files"
        ).fetchall()
        return [FileState(*row) for row in rows]

    def commit(
        self, files: Iterable[FileState], deliveries: Iterable[Delivery], *, now: float
    ) -> int:
        """Persist offsets and queue deliveries atomically; return how many rows were new."""
        added = 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for delivery in deliveries:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (key, alert_id, notifier, payload, created,"
                    " next_attempt) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        delivery.key,
                        delivery.alert.id,
                        delivery.notifier,
                        json.dumps(delivery.alert.payload()),
                        now,
                        now,
                    ),
                )
                added += cursor.rowcount
            self._db.executemany(
                "INSERT OR REPLACE INTO files (uid, source, path, dev, ino, head, offset, lineno,"
                " marker, state, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (f.uid, f.source, f.path, f.dev, f.ino, f.head, f.offset, f.lineno,
                     f.marker, f.state, now)
                    for f in files
                ],
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return added

    def forget_file(self, uid: str) -> None:
        self._db.execute("DELETE FROM files WHERE uid = ?", (uid,))

    # -- the delivery side -------------------------------------------------

    def due(
        self,
        now: float,
        limit: int,
        *,
        skip_notifiers: Collection[str] = (),
        skip_ids: Collection[int] = (),
    ) -> list[OutboxRow]:
        """Pending rows due at ``now``, oldest first, but not those skipped.

        The delivery worker skips notifiers with no free send slot and rows it
        is sending already. Skipped here rather than by the caller, so that a
        hung notifier's backlog cannot fill the ``limit`` rows fetched.
        """
        clause = "WHERE state = 'pending' AND next_attempt <= ?"
        params: tuple[object, ...] = (now,)
        if skip_notifiers:
            clause += f" AND notifier NOT IN ({','.join('?' * len(skip_notifiers))})"
            params += tuple(skip_notifiers)
        if skip_ids:
            clause += f" AND id NOT IN ({','.join('?' * len(skip_ids))})"
            params += tuple(skip_ids)
        return self._rows(f"{clause} ORDER BY id LIMIT ?", (*params, limit))

    def next_attempt_at(self, after: float | None = None) -> float | None:
        """The earliest next attempt of a pending row, or of one due later than ``after``.

        ``after`` leaves out rows due already, which a worker may be sending
        right now: they are pending until their send ends.
        """
        query = "SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'"
        params: tuple[float, ...] = ()
        if after is not None:
            query += " AND next_attempt > ?"
            params = (after,)
        row = self._db.execute(query, params).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def mark_sent(self, row_id: int, now: float) -> None:
        self._db.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
            " last_error = NULL WHERE id = ?",
            (now, row_id),
        )

    def mark_retry(self, row_id: int, next_attempt: float, error: str) -> None:
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?"
            " WHERE id = ?",
            (next_attempt, error, row_id),
        )

    def defer(self, row_ids: Sequence[int], until: float) -> None:
        """Hold pending rows back until ``until``, without counting an attempt."""
        self._db.executemany(
            "UPDATE outbox SET next_attempt = ? WHERE id = ? AND state = 'pending'",
            [(until, row_id) for row_id in row_ids],
        )

    def pending_counts(self) -> dict[str, int]:
        """How many rows wait for each notifier, due now or later."""
        return dict(
            self._db.execute(
                "SELECT notifier, COUNT(*) FROM outbox WHERE state = 'pending' GROUP BY notifier"
            ).fetchall()
        )

    def pending_for(self, notifier: str) -> list[OutboxRow]:
        """Every row waiting for ``notifier``, oldest first."""
        return self._rows("WHERE state = 'pending' AND notifier = ? ORDER BY id", (notifier,))

    def sent_times(self, notifier: str, since: float) -> list[float]:
        """When rows to ``notifier`` were sent at or after ``since``, oldest first."""
        return [
            float(at)
            for (at,) in self._db.execute(
                "SELECT sent_at FROM outbox WHERE notifier = ? AND state = 'sent'"
                " AND sent_at >= ? ORDER BY sent_at",
                (notifier, since),
            )
        ]

    def fold(self, row_ids: Sequence[int], digest: Delivery, *, now: float) -> int | None:
        """Replace pending rows by one digest row, atomically; return the digest's row id.

        The rows stay in the outbox as ``folded``, pointing at the digest, so
        ``logwatch outbox list`` shows where each alert went. None when a row
        is no longer pending (nothing changes then) or the digest was queued already.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO outbox (key, alert_id, notifier, payload, created,"
                " next_attempt) VALUES (?, ?, ?, ?, ?, ?)",
                (digest.key, digest.alert.id, digest.notifier,
                 json.dumps(digest.alert.payload()), now, now),
            )
            digest_id = cursor.lastrowid if cursor.rowcount == 1 else None
            folded = 0
            if digest_id is not None:
                folded = self._db.executemany(
                    "UPDATE outbox SET state = 'folded', folded_into = ?"
                    " WHERE id = ? AND state = 'pending'",
                    [(digest_id, row_id) for row_id in row_ids],
                ).rowcount
            if digest_id is None or folded != len(row_ids):
                self._db.execute("ROLLBACK")
                return None
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return digest_id

    def mark_dead(self, row_id: int, error: str) -> None:
        self._db.execute(
            "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?"
            " WHERE id = ?",
            (error, row_id),
        )

    def requeue(self, ids: Sequence[int], now: float) -> int:
        """Put dead letters (all of them when ``ids`` is empty) back in the queue."""
        where = "state = 'dead'"
        params: tuple[float | int, ...] = (now,)
        if ids:
            where += f" AND id IN ({','.join('?' * len(ids))})"
            params += tuple(ids)
        cursor = self._db.execute(
            f"UPDATE outbox SET state = 'pending', next_attempt = ? WHERE {where}",  # noqa: S608
            params,
        )
        return cursor.rowcount

    def outbox(self, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        if state is None:
            return self._rows("ORDER BY id DESC LIMIT ?", (limit,))
        return self._rows("WHERE state = ? ORDER BY id DESC LIMIT ?", (state, limit))

    def outbox_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTBOX_STATES, 0)
        for state, count in self._db.execute(
            "SELECT state, COUNT(*) FROM outbox GROUP BY state"
        ):
            counts[state] = count
        return counts

    def oldest_pending(self) -> float | None:
        row = self._db.execute(
            "SELECT MIN(created) FROM outbox WHERE state = 'pending'"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def prune_sent(self, before: float) -> int:
        """Drop delivered rows older than ``before``; they only served local dedup.

        Rows folded into a digest go with the digest.
        """
        folded = self._db.execute(
            "DELETE FROM outbox WHERE state = 'folded' AND folded_into IN"
            " (SELECT id FROM outbox WHERE state = 'sent' AND sent_at < ?)",
            (before,),
        ).rowcount
        cursor = self._db.execute(
            "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?", (before,)
        )
        return folded + cursor.rowcount

    def _rows(self, clause: str, params: tuple[object, ...]) -> list[OutboxRow]:
        # clause is one of this module's literals, never user input
        query = (
            "SELECT id, key, alert_id, notifier, payload, created, attempts, next_attempt,"  # noqa: S608
            f" last_error, state, sent_at, folded_into FROM outbox {clause}"
        )
        rows = self._db.execute(
            query,
            params,
        ).fetchall()
        return [OutboxRow(*row) for row in rows]
