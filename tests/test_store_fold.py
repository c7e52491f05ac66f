"""The outbox's 'folded' rows: one transaction per fold, a migrated schema, `outbox list`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from logwatch.errors import StateError
from logwatch.store import DB_NAME, SCHEMA_VERSION, Delivery, Store
from logwatch.testing import sample_alert
from tests.daemon_harness import logwatch

# the outbox as logwatch 0.1 created it, before 'folded' existed
VERSION_1 = """
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL,
    notifier TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    sent_at REAL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
INSERT INTO meta VALUES ('schema_version', '1');
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.in_dir(tmp_path)


def queue(store: Store, *ids: str) -> list[int]:
    store.commit([], [Delivery(sample_alert(id=i, title=f"error {i}"), "slow") for i in ids],
                 now=1.0)
    return sorted(row.id for row in store.outbox("pending"))


def digest(alert_id: str = "digest") -> Delivery:
    return Delivery(sample_alert(id=alert_id, title="2 more alerts"), "slow")


class TestFold:
    def test_rows_are_folded_and_the_digest_queued_together(self, store: Store) -> None:
        """Folded rows stay in the outbox, pointing at the digest that carries them."""
        first, second, third = queue(store, "a", "b", "c")
        digest_id = store.fold([second, third], digest(), now=5.0)
        assert digest_id is not None
        assert [row.id for row in store.due(5.0, 10)] == [first, digest_id]
        folded = store.outbox("folded")
        assert {(row.id, row.folded_into) for row in folded} == {
            (second, digest_id), (third, digest_id)
        }
        assert store.outbox_counts() == {"pending": 2, "sent": 0, "dead": 0, "folded": 2}

    def test_nothing_changes_when_a_row_was_sent_meanwhile(self, store: Store) -> None:
        """A fold is all or nothing: no digest for rows that went out on their own."""
        _, second, third = queue(store, "a", "b", "c")
        store.mark_sent(third, 2.0)
        assert store.fold([second, third], digest(), now=5.0) is None
        assert store.outbox_counts() == {"pending": 2, "sent": 1, "dead": 0, "folded": 0}

    def test_folded_rows_are_pruned_with_their_digest(self, store: Store) -> None:
        _, second, third = queue(store, "a", "b", "c")
        digest_id = store.fold([second, third], digest(), now=5.0)
        assert digest_id is not None
        store.mark_sent(digest_id, 6.0)
        assert store.prune_sent(before=7.0) == 3
        assert store.outbox_counts() == {"pending": 1, "sent": 0, "dead": 0, "folded": 0}


class TestSchemaMigration:
    def test_a_version_1_database_gains_folded_rows_and_keeps_its_own(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / DB_NAME
        with sqlite3.connect(path) as old:
            old.executescript(VERSION_1)
            old.execute(
                "INSERT INTO outbox (key, alert_id, notifier, payload, created, next_attempt)"
                " VALUES ('a:slow', 'a', 'slow', ?, 1.0, 1.0)",
                (json.dumps(sample_alert(id="a").payload()),),
            )
        old.close()
        store = Store(path)
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        ids = queue(store, "b", "c")
        assert [row.alert_id for row in store.outbox("pending")] == ["c", "b", "a"]
        assert store.fold(ids[1:], digest(), now=2.0) is not None

    def test_a_database_of_a_newer_logwatch_is_refused(self, tmp_path: Path) -> None:
        Store(tmp_path / DB_NAME).set_meta("schema_version", str(SCHEMA_VERSION + 1))
        with pytest.raises(StateError, match="upgrade logwatch"):
            Store(tmp_path / DB_NAME)


class TestOutboxList:
    def test_lists_folded_rows_and_their_digest(self, tmp_path: Path) -> None:
        """`logwatch outbox list --state folded` shows each folded alert and where it went."""
        state = tmp_path / "state"
        store = Store.in_dir(state)
        _, second, third = queue(store, "a", "b", "c")
        digest_id = store.fold([second, third], digest(), now=5.0)
        store.close()
        config = tmp_path / "logwatch.yaml"
        config.write_text(f"state_dir: {state}\nnotifiers: {{console: {{type: console}}}}\n",
                          encoding="utf-8")
        listed = logwatch("outbox", "list", "--state", "folded", "-c", str(config))
        assert listed.returncode == 0, listed.stderr
        newest, oldest = listed.stdout.splitlines()
        assert newest.split()[:2] == [str(third), "folded"]
        assert newest.endswith(f"error c  folded into #{digest_id}")
        assert oldest.endswith(f"error b  folded into #{digest_id}")
