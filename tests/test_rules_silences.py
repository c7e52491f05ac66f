"""Silences: label matchers, time spans, the store the CLI writes and the daemon reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logwatch.model import Alert, AlertStatus, Severity
from logwatch.rules import LabelMatcher, Silence, SilenceSet, SilenceStore, alert_labels
from logwatch.rules.silences import first_to_end

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def alert(**overrides: object) -> Alert:
    fields: dict[str, object] = {
        "id": "a1",
        "status": AlertStatus.FIRING,
        "rule": "db-down",
        "severity": Severity.CRITICAL,
        "title": "OperationalError: could not connect",
        "host": "web-1",
        "source": "web",
        "file": "/var/log/shop/app.log",
        "first_line": 1,
        "last_line": 9,
        "exc_type": "sqlalchemy.exc.OperationalError",
        "exc_message": "could not connect",
        "fingerprint": "fp1:db",
        "count": 1,
        "first_seen": T0,
        "last_seen": T0,
        "labels": {"service": "shop", "rule": "configured"},
        "text": "...",
    }
    fields.update(overrides)
    return Alert(**fields)  # type: ignore[arg-type]


def silence(*matchers: str, start: datetime = T0, end: datetime = T0 + HOUR) -> Silence:
    return Silence("s1", tuple(LabelMatcher.parse(m) for m in matchers), start, end)


def test_alert_labels_are_its_fields_over_configured_labels() -> None:
    labels = alert_labels(alert())
    assert labels["service"] == "shop"
    assert labels["rule"] == "db-down"
    assert (labels["severity"], labels["host"], labels["logger"]) == ("critical", "web-1", "")


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        ("rule=db-down", True),
        ("rule=db", False),
        ("severity!=info", True),
        ("severity!=critical", False),
        ("host=~web-.*", True),
        ("host=~web", False),  # anchored at both ends, like Alertmanager
        ("exc_type!~.*KeyError", True),
        ("service=shop", True),
        ("team=", True),  # a missing label is empty
        ("team=payments", False),
        ("  source = web", True),
        ("message=a=b", False),  # the value may hold `=`
    ],
)
def test_matcher(matcher: str, expected: bool) -> None:
    assert LabelMatcher.parse(matcher)(alert_labels(alert())) is expected


def test_matcher_value_keeps_its_operators() -> None:
    parsed = LabelMatcher.parse("message=a=~b")
    assert (parsed.name, parsed.op, parsed.value) == ("message", "=", "a=~b")
    assert str(parsed) == "message=a=~b"


@pytest.mark.parametrize(
    ("text", "error"),
    [("rule", "bad matcher"), ("9x=1", "bad matcher"), ("host=~(", "bad regex")],
)
def test_bad_matchers_are_refused(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        LabelMatcher.parse(text)


@pytest.mark.parametrize(
    ("now", "state", "mutes"),
    [
        (T0 - timedelta(seconds=1), "pending", False),
        (T0, "active", True),
        (T0 + HOUR - timedelta(seconds=1), "active", True),
        (T0 + HOUR, "expired", False),
    ],
)
def test_silence_mutes_only_while_active(now: datetime, state: str, mutes: bool) -> None:
    quiet = silence("rule=db-down")
    assert quiet.state(now) == state
    assert SilenceSet([quiet]).silenced(alert(), now) is mutes


def test_every_matcher_of_a_silence_must_hold() -> None:
    assert SilenceSet([silence("rule=db-down", "host=web-1")]).silenced(alert(), T0)
    assert not SilenceSet([silence("rule=db-down", "host=web-2")]).silenced(alert(), T0)


class TestCopiesOfOneSilence:
    def test_the_copy_that_ends_first_is_kept_with_the_host_either_names(self) -> None:
        """An expiry is the newer news: `silence list` shows one silence per id, ended."""
        mine = replace(silence("rule=db-down"), host="web-1")
        ended = silence("rule=db-down", end=T0 + timedelta(minutes=5))
        other = replace(silence("rule=api", start=T0 - HOUR), id="s2", host="web-2")
        assert first_to_end([mine, other], [ended]) == [other, replace(ended, host="web-1")]
        assert first_to_end([ended], [mine]) == [replace(ended, host="web-1")]

    def test_a_host_is_recorded_only_where_silences_are_a_fleets(self) -> None:
        assert "host" not in silence("rule=db-down").record(T0)
        assert replace(silence("rule=db-down"), host="web-1").record(T0)["host"] == "web-1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SilenceStore]:
    ids = iter(f"s{n}" for n in range(1, 100))
    opened = SilenceStore(tmp_path / "state.db", new_id=lambda: next(ids))
    yield opened
    opened.close()


class TestSilenceStore:
    def test_add_list_expire(self, store: SilenceStore) -> None:
        added = store.add(
            [LabelMatcher.parse("rule=db-down")], starts_at=T0, ends_at=T0 + HOUR,
            comment="maintenance", created_by="ops",
        )
        assert store.list(T0) == [added]
        assert store.expire("s1", T0 + timedelta(minutes=5))
        assert store.list(T0 + timedelta(minutes=5)) == []
        assert [s.id for s in store.list(T0, include_expired=True)] == ["s1"]
        assert not store.expire("s1", T0 + timedelta(minutes=6))

    def test_a_silence_needs_a_matcher_and_a_span(self, store: SilenceStore) -> None:
        with pytest.raises(ValueError, match="at least one matcher"):
            store.add([], starts_at=T0, ends_at=T0 + HOUR, comment="")
        with pytest.raises(ValueError, match="end after it starts"):
            store.add([LabelMatcher.parse("a=b")], starts_at=T0, ends_at=T0, comment="")

    def test_daemon_sees_a_silence_added_by_another_connection(
        self, store: SilenceStore, tmp_path: Path
    ) -> None:
        """`logwatch silence add` in another process applies to the next alert."""
        assert not store.silenced(alert(), T0)
        cli = SilenceStore(tmp_path / "state.db", new_id=lambda: "cli")
        cli.add([LabelMatcher.parse("host=~web-.*")], starts_at=T0, ends_at=T0 + HOUR,
                comment="deploy")
        assert store.silenced(alert(), T0)
        cli.expire("cli", T0 + timedelta(minutes=1))
        assert not store.silenced(alert(), T0 + timedelta(minutes=1))
        cli.close()

    def test_own_writes_apply_at_once(self, store: SilenceStore) -> None:
        assert not store.silenced(alert(), T0)
        store.add([LabelMatcher.parse("rule=db-down")], starts_at=T0, ends_at=T0 + HOUR,
                  comment="")
        assert store.silenced(alert(), T0)

    def test_prune_forgets_long_expired_silences(self, store: SilenceStore) -> None:
        store.add([LabelMatcher.parse("a=b")], starts_at=T0, ends_at=T0 + HOUR, comment="")
        assert store.prune(T0 + 2 * HOUR) == 1
        assert store.list(T0, include_expired=True) == []
