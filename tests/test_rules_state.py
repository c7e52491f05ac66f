"""RuleState backends: the same contract for memory, SQLite and Redis (alone and failing over)."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.rules import GroupState, MemoryRuleState, RuleState, SqliteRuleState
from logwatch.rules.failover import FailoverRuleState, SharedLink
from logwatch.rules.redis_state import RedisRuleState
from logwatch.rules.state import FingerprintState
from logwatch.store import Store
from tests.redis_harness import RedisServer, redis_server

__all__ = ["redis_server"]  # a fixture, used through request.getfixturevalue


@pytest.fixture(params=["memory", "sqlite", "redis", "redis-failover"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RuleState]:
    if request.param == "memory":
        yield MemoryRuleState()
        return
    sqlite = SqliteRuleState(tmp_path / "state.db")
    if request.param == "sqlite":
        yield sqlite
        sqlite.close()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    shared = RedisRuleState.from_url(server.url, prefix="test:", timeout_s=1.0)
    yield shared if request.param == "redis" else FailoverRuleState(shared, sqlite, SharedLink())
    shared.close()
    sqlite.close()


class TestWindows:
    def test_counts_members_within_the_span(self, state: RuleState) -> None:
        assert state.window_add("k", "a", 0.0, 60.0) == (1, 0.0)
        assert state.window_add("k", "b", 30.0, 60.0) == (2, 0.0)
        assert state.window_add("k", "c", 61.0, 60.0) == (2, 30.0)

    def test_a_member_counts_once(self, state: RuleState) -> None:
        """Re-adding the same occurrence (re-read after a crash) does not inflate the count."""
        state.window_add("k", "a", 0.0, 60.0)
        assert state.window_add("k", "a", 1.0, 60.0) == (1, 0.0)

    def test_keys_are_separate(self, state: RuleState) -> None:
        state.window_add("k1", "a", 0.0, 60.0)
        assert state.window_add("k2", "a", 0.0, 60.0) == (1, 0.0)

    def test_prune_forgets_quiet_windows(self, state: RuleState) -> None:
        state.window_add("k", "a", 0.0, 60.0)
        state.prune(1000.0)
        assert state.window_add("k", "b", 1000.0, 60.0) == (1, 1000.0)

    def test_windows_of_different_spans_go_quiet_separately(self, state: RuleState) -> None:
        state.window_add("short", "a", 0.0, 10.0)
        state.window_add("long", "b", 0.0, 1000.0)
        state.prune(5.0)
        state.prune(100.0)
        assert state.window_add("short", "c", 100.0, 10.0) == (1, 100.0)
        assert state.window_add("long", "d", 100.0, 1000.0) == (2, 0.0)


class TestGroups:
    def test_put_get_delete(self, state: RuleState) -> None:
        group = GroupState(rule="r", last_seen=1.0, snapshot={"id": "x"}, pending=2)
        state.put("k", group)
        assert state.get("k") == group
        state.delete("k")
        assert state.get("k") is None

    def test_due_returns_groups_whose_time_has_come_in_order(self, state: RuleState) -> None:
        state.put("late", GroupState(rule="r", last_seen=0.0, due_at=20.0))
        state.put("early", GroupState(rule="r", last_seen=0.0, due_at=10.0))
        state.put("idle", GroupState(rule="r", last_seen=0.0))
        assert [key for key, _ in state.due(15.0)] == ["early"]
        assert [key for key, _ in state.due(20.0)] == ["early", "late"]

    def test_prune_forgets_expired_groups(self, state: RuleState) -> None:
        state.put("old", GroupState(rule="r", last_seen=0.0, expires_at=10.0))
        state.put("new", GroupState(rule="r", last_seen=0.0, expires_at=100.0))
        state.prune(50.0)
        assert (state.get("old"), state.get("new") is not None) == (None, True)

    def test_a_group_made_due_sooner_after_a_look_is_found(self, state: RuleState) -> None:
        """Whatever `due` and `prune` remember between calls, a later put still counts."""
        state.put("late", GroupState(rule="r", last_seen=0.0, due_at=100.0, expires_at=200.0))
        assert state.due(50.0) == []
        state.prune(50.0)
        state.put("soon", GroupState(rule="r", last_seen=0.0, due_at=40.0, expires_at=60.0))
        assert [key for key, _ in state.due(50.0)] == ["soon"]
        state.prune(70.0)
        assert (state.get("soon"), state.get("late") is not None) == (None, True)

    def test_a_listed_group_stays_due_until_rewritten(self, state: RuleState) -> None:
        state.put("k", GroupState(rule="r", last_seen=0.0, due_at=10.0))
        assert [key for key, _ in state.due(20.0)] == ["k"]
        assert [key for key, _ in state.due(20.0)] == ["k"]
        state.put("k", GroupState(rule="r", last_seen=0.0, due_at=30.0))
        assert state.due(20.0) == []
        assert [key for key, _ in state.due(30.0)] == ["k"]


    def test_hosts_survive_a_round_trip(self, state: RuleState) -> None:
        group = GroupState(rule="r", last_seen=1.0, hosts=("web-1", "web-2"))
        state.put("k", group)
        assert state.get("k") == group

    def test_an_incidents_notifiers_and_quiet_survive_a_round_trip(
        self, state: RuleState
    ) -> None:
        """What resolves an incident after a reload took its rule away."""
        group = GroupState(rule="r", last_seen=1.0, incident_id="i", due_at=301.0,
                           notified=("pager", "chat"), resolve_after_s=300.0)
        state.put("k", group)
        assert state.get("k") == group


_TIMES = st.sampled_from([None, 0.0, 5.0, 10.0, 20.0])


def _group_step(
    state: RuleState, groups: dict[str, GroupState], op: str, key: str,
    due_at: float | None, expires_at: float | None, now: float,
) -> bool:
    """Do a put, delete or due step on ``state`` and on the model ``groups``, checking
    what due finds against the model; False for any other step."""
    if op == "put":
        group = GroupState(rule="r", last_seen=0.0, due_at=due_at, expires_at=expires_at)
        state.put(key, group)
        groups[key] = group
    elif op == "delete":
        state.delete(key)
        groups.pop(key, None)
    elif op == "due":
        ready = sorted((g.due_at, k) for k, g in groups.items()
                       if g.due_at is not None and g.due_at <= now)
        assert [k for k, _ in state.due(now)] == [k for _, k in ready]
    else:
        return False
    return True


def _expired(groups: dict[str, GroupState], now: float) -> list[str]:
    return [k for k, g in groups.items() if g.expires_at is not None and g.expires_at <= now]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["put", "delete", "due", "prune", "first"]),
    st.sampled_from(["a", "b", "c"]), _TIMES, _TIMES, st.sampled_from([0.0, 7.0, 15.0, 30.0]),
), max_size=40))
def test_memory_state_finds_due_and_expired_groups_as_a_scan_does(
    steps: list[tuple[str, str, float | None, float | None, float]],
) -> None:
    """Its heaps, stale entries and all, answer as looking at every group would."""
    state = MemoryRuleState()
    groups: dict[str, GroupState] = {}
    for op, key, due_at, expires_at, now in steps:
        if _group_step(state, groups, op, key, due_at, expires_at, now):
            pass
        elif op == "prune":
            gone = _expired(groups, now)
            assert state.prune(now) == len(gone)
            for k in gone:
                del groups[k]
        else:
            first = min((g.due_at for g in groups.values() if g.due_at is not None), default=None)
            assert state.first_due(now) == (first if first is not None and first <= now else None)
        assert all(state.get(k) == g for k, g in groups.items())
        times = [t for g in groups.values() for t in (g.due_at, g.expires_at) if t is not None]
        assert state.quiet_until() <= min(times, default=math.inf)


def test_memory_state_heaps_stay_small_when_groups_are_rewritten() -> None:
    """A group rewritten at every occurrence leaves stale entries: they are swept."""
    state = MemoryRuleState()
    for n in range(10_000):
        state.put("k", GroupState(rule="r", last_seen=n, due_at=n + 60.0, expires_at=n + 3600.0))
    assert len(state._due) <= 66
    assert len(state._expiry) <= 66
    assert [key for key, _ in state.due(10_000 + 60.0)] == ["k"]


class TestFingerprints:
    def test_first_sighting_finds_nothing_and_later_ones_find_it(self, state: RuleState) -> None:
        assert state.sighting("fp", "o1", 1.0) is None
        assert state.sighting("fp", "o2", 2.0) == FingerprintState(1.0, 1.0, None, "o1", "new")
        assert state.sighting("fp", "o3", 3.0) == FingerprintState(1.0, 2.0, None, "o1", "new")

    def test_a_resolved_fingerprint_comes_back_as_a_regression(self, state: RuleState) -> None:
        state.sighting("fp", "o1", 1.0)
        state.resolve_fingerprint("fp", 2.0)
        assert state.sighting("fp", "o2", 3.0) == FingerprintState(1.0, 1.0, 2.0, "o1", "new")
        assert state.sighting("fp", "o3", 4.0) == FingerprintState(
            1.0, 3.0, None, "o2", "regression"
        )

    def test_resolving_an_unknown_fingerprint_remembers_nothing(self, state: RuleState) -> None:
        state.resolve_fingerprint("fp", 1.0)
        assert state.sighting("fp", "o1", 2.0) is None


class TestHold:
    def test_the_block_runs_and_may_write(self, state: RuleState) -> None:
        """Alone, a hold is granted at once; whoever shares the state is kept off meanwhile."""
        with state.hold("k"):
            state.put("k", GroupState(rule="r", last_seen=1.0))
        with state.hold("k"):
            assert state.get("k") == GroupState(rule="r", last_seen=1.0)


def test_group_state_ignores_fields_it_does_not_know() -> None:
    """A record written by a newer version still loads after a downgrade."""
    text = GroupState(rule="r", last_seen=1.0).to_json().replace("{", '{"future": 1, ', 1)
    assert GroupState.from_json(text) == GroupState(rule="r", last_seen=1.0)


@pytest.mark.parametrize(("pending", "due_at", "quiet"), [(0, 301.0, 300.0), (2, 61.0, 60.0)])
def test_an_incident_stored_before_its_quiet_was_resolves_when_it_was_due(
    pending: int, due_at: float, quiet: float
) -> None:
    """A record of an older version: its due time is its resolve, or a cooldown end
    before it, which resolves it early rather than never."""
    old = GroupState(rule="r", last_seen=1.0, incident_id="i", pending=pending, due_at=due_at)
    data = json.loads(old.to_json())
    del data["notified"], data["resolve_after_s"]
    upgraded = GroupState.from_json(json.dumps(data))
    assert upgraded == old.replace(resolve_after_s=quiet)
    no_incident = GroupState(rule="r", last_seen=1.0, pending=pending, due_at=due_at)
    data = json.loads(no_incident.to_json())
    del data["notified"], data["resolve_after_s"]
    assert GroupState.from_json(json.dumps(data)) == no_incident


def test_sqlite_state_shares_the_store_database(tmp_path: Path) -> None:
    """The rule tables live beside the offsets and outbox, and both open the same file."""
    store = Store.in_dir(tmp_path)
    rules = SqliteRuleState.in_dir(tmp_path)
    rules.put("k", GroupState(rule="r", last_seen=1.0))
    assert store.outbox_counts() == {"pending": 0, "sent": 0, "dead": 0, "folded": 0}
    assert SqliteRuleState(store.path).get("k") is not None
    store.close()
    rules.close()


_SPANS = st.sampled_from([1.0, 5.0, 20.0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["put", "delete", "due", "prune", "window"]),
    st.sampled_from(["a", "b", "c"]), _TIMES, _TIMES, st.sampled_from([0.0, 7.0, 15.0, 30.0]),
    _SPANS,
), max_size=40))
def test_sqlite_state_answers_as_its_tables_would_whatever_it_remembers(
    steps: list[tuple[str, str, float | None, float | None, float, float]],
) -> None:
    """The bounds that spare idle ticks a query never hide a due group or an expired row."""
    with tempfile.TemporaryDirectory() as tmp:
        state = SqliteRuleState(Path(tmp) / "state.db")
        groups: dict[str, GroupState] = {}
        windows: dict[tuple[str, str], tuple[float, float]] = {}  # (key, member) -> at, until
        for op, key, due_at, expires_at, now, span in steps:
            if _group_step(state, groups, op, key, due_at, expires_at, now):
                pass
            elif op == "window":
                state.window_add(key, f"m{now}", now, span)
                windows.setdefault((key, f"m{now}"), (now, now + span))
                windows = {  # an add trims its key's window
                    (k, m): (at, until) for (k, m), (at, until) in windows.items()
                    if k != key or at >= now - span
                }
            else:
                gone = _expired(groups, now)
                quiet = [w for w, (_, until) in windows.items() if until < now]
                assert state.prune(now) == len(gone) + len(quiet)
                for k in gone:
                    del groups[k]
                for w in quiet:
                    del windows[w]
            assert all(state.get(k) == g for k, g in groups.items())
            times = [t for g in groups.values() for t in (g.due_at, g.expires_at) if t is not None]
            ends = [until for _, until in windows.values()]
            assert state.quiet_until() <= min(times + ends, default=math.inf)
        state.close()


def test_sqlite_state_asks_nothing_on_an_idle_tick(tmp_path: Path) -> None:
    """Once it knows the earliest due and expiry times, a tick before them runs no query."""
    state = SqliteRuleState(tmp_path / "state.db")
    state.put("k", GroupState(rule="r", last_seen=0.0, due_at=100.0, expires_at=200.0))
    state.window_add("w", "m", 0.0, 150.0)
    statements: list[str] = []
    state._db.set_trace_callback(statements.append)
    state.due(10.0)
    state.prune(10.0)
    assert len(statements) == 3  # the earliest due_at, expires_at and window end
    statements.clear()
    for now in (11.0, 50.0, 99.0):
        assert (state.due(now), state.prune(now)) == ([], 0)
    assert statements == []
    state.put("soon", GroupState(rule="r", last_seen=0.0, due_at=60.0, expires_at=70.0))
    assert [key for key, _ in state.due(99.0)] == ["soon"]
    assert state.prune(99.0) == 1
    # what they found was settled: the bounds are asked once, then idle ticks are free again
    state.put("k", GroupState(rule="r", last_seen=0.0, due_at=300.0, expires_at=400.0))
    state.due(100.0)
    state.prune(100.0)
    statements.clear()
    assert (state.due(101.0), state.prune(101.0)) == ([], 0)
    assert statements == []
    state.close()


def test_memory_state_is_not_quiet_past_a_window_end() -> None:
    state = MemoryRuleState()
    assert state.quiet_until() == math.inf
    state.window_add("k", "a", 10.0, 60.0)
    assert state.quiet_until() <= 70.0
    assert state.prune(71.0) == 1
