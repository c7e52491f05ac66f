"""The state database: offsets and outbox rows, committed together."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from logwatch.errors import StateError
from logwatch.store import Delivery, FileState, Store
from logwatch.testing import sample_alert


def file_state(offset: int, uid: str = "u1") -> FileState:
    return FileState(
        uid=uid,
        source="app",
        path="/var/log/app.log",
        dev=1,
        ino=2,
        head=b"2026-01-01",
        offset=offset,
        lineno=offset // 10 + 1,
        marker=b"x" * 8,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.in_dir(tmp_path)


class TestStore:
    def test_commit_persists_offsets_and_rows_together(self, store: Store, tmp_path: Path) -> None:
        """A commit's offset and its outbox rows are both visible to a new connection."""
        alert = sample_alert(id="a1")
        added = store.commit([file_state(120)], [Delivery(alert, "hook")], now=1000.0)
        assert added == 1
        other = Store.in_dir(tmp_path)
        assert [f.offset for f in other.files()] == [120]
        rows = other.due(1000.0, 10)
        assert [(row.alert_id, row.notifier) for row in rows] == [("a1", "hook")]
        assert rows[0].alert() == dataclasses.replace(alert, notifiers=())  # routing is not sent

    def test_same_occurrence_is_queued_once(self, store: Store) -> None:
        """Re-reading a record after a crash yields the same key, which the outbox ignores."""
        alert = sample_alert(id="a1")
        store.commit([], [Delivery(alert, "hook")], now=1.0)
        assert store.commit([], [Delivery(alert, "hook"), Delivery(alert, "slack")], now=2.0) == 1
        assert store.outbox_counts()["pending"] == 2

    def test_failed_commit_leaves_nothing_behind(self, store: Store) -> None:
        """If any part of a commit fails, neither the offset nor the rows are written."""
        broken = dataclasses.replace(file_state(50), state="bogus")  # violates the CHECK
        with pytest.raises(sqlite3.IntegrityError):
            store.commit([broken], [Delivery(sample_alert(id="a1"), "hook")], now=1.0)
        assert store.files() == []
        assert store.outbox_counts()["pending"] == 0

    def test_retry_schedule_and_dead_letters(self, store: Store) -> None:
        """Rows come due at their next attempt; dead letters are kept and can be requeued."""
        store.commit([], [Delivery(sample_alert(id="a1"), "hook")], now=10.0)
        (row,) = store.due(10.0, 10)
        store.mark_retry(row.id, 20.0, "HTTP 500")
        assert store.due(15.0, 10) == []
        assert store.next_attempt_at() == 20.0
        (row,) = store.due(20.0, 10)
        assert (row.attempts, row.last_error) == (1, "HTTP 500")
        store.mark_dead(row.id, "HTTP 404")
        assert store.outbox_counts() == {"pending": 0, "sent": 0, "dead": 1, "folded": 0}
        assert store.requeue([], now=30.0) == 1
        assert [r.alert_id for r in store.due(30.0, 10)] == ["a1"]

    def test_due_skips_notifiers_and_rows_in_the_query(self, store: Store) -> None:
        """Skipped in SQL: a skipped notifier's backlog does not use up the limit."""
        hung = [Delivery(sample_alert(id=f"h{n}"), "hung") for n in range(5)]
        store.commit([], [*hung, Delivery(sample_alert(id="g0"), "good")], now=1.0)
        store.commit([], [Delivery(sample_alert(id="g1"), "good")], now=1.0)
        assert [r.alert_id for r in store.due(1.0, 2, skip_notifiers=["hung"])] == ["g0", "g1"]
        first = store.due(1.0, 1)[0]
        assert [r.alert_id for r in store.due(1.0, 2, skip_ids=[first.id])] == ["h1", "h2"]

    def test_next_attempt_after_leaves_out_rows_due_already(self, store: Store) -> None:
        """Rows due now may be in flight; the next attempt to wait for is a later one."""
        store.commit([], [Delivery(sample_alert(id=i), "hook") for i in ("a", "b")], now=10.0)
        later = store.due(10.0, 1)[0]
        store.mark_retry(later.id, 20.0, "HTTP 500")
        assert store.next_attempt_at() == 10.0
        assert store.next_attempt_at(after=10.0) == 20.0
        assert store.next_attempt_at(after=20.0) is None

    def test_sent_rows_are_pruned_by_age(self, store: Store) -> None:
        """Delivered rows only serve local dedup and are dropped after the window."""
        store.commit([], [Delivery(sample_alert(id="a1"), "hook")], now=1.0)
        (row,) = store.due(1.0, 10)
        store.mark_sent(row.id, 5.0)
        assert store.prune_sent(before=4.0) == 0
        assert store.prune_sent(before=6.0) == 1


def test_opened_without_create_a_missing_database_is_an_error_and_nothing_is_made(
    tmp_path: Path,
) -> None:
    """A metrics scrape after the state dir was removed must not make an empty one."""
    state = tmp_path / "state"
    with pytest.raises(StateError, match="cannot open state database"):
        Store(state / "state.db", create=False)
    assert not state.exists()


def test_a_deleted_database_is_noticed_and_written_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "state" / "state.db"
    store = Store(path)
    store.set_meta("kept", "yes")
    assert store.displaced() is None
    path.unlink()
    assert store.displaced() == "deleted"
    store.write_back()
    assert store.displaced() == "replaced"  # a new file now, which this one is not
    store.close()
    assert Store(path).get_meta("kept") == "yes"
    assert sorted(p.name for p in path.parent.iterdir() if "restoring" in p.name) == []


def test_a_database_is_never_written_back_over_a_file_that_appeared(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path)
    path.unlink()
    path.write_bytes(b"someone else's")
    with pytest.raises(FileExistsError):
        store.write_back()
    assert path.read_bytes() == b"someone else's"


def test_a_database_deleted_without_its_journal_is_written_back_whole(tmp_path: Path) -> None:
    """`rm state.db` leaves this run's -wal at the path: the copy written back must not
    have its pages, laid out for the deleted file, replayed onto it at the next open."""
    path = tmp_path / "state.db"
    store = Store(path)
    for n in range(300):
        store.set_meta(f"k{n}", "x" * 500)
    with sqlite3.connect(path) as other:  # pages freed: the copy (VACUUM) is laid out anew
        other.execute("DELETE FROM meta WHERE k LIKE 'k%' AND CAST(substr(k, 2) AS INT) % 2 = 0")
    other.close()
    store.empty_journal()  # the database file holds all that; the journal only what follows
    for n in range(300, 400):
        store.set_meta(f"k{n}", "y" * 500)
    path.unlink()  # the database alone, not its -wal and -shm
    store.write_back()
    store.close()
    with sqlite3.connect(path) as reopened:
        assert reopened.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        kept = reopened.execute("SELECT count(*) FROM meta WHERE k LIKE 'k%'").fetchone()
    reopened.close()
    assert kept == (250,)
