"""Redis as the fleet's rule state: shared, atomic across daemons, and failing open."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from logwatch.config import RuleConfig
from logwatch.errors import StateUnavailableError
from logwatch.model import Alert, AlertStatus
from logwatch.rules import (
    Decision,
    GroupState,
    LabelMatcher,
    RuleEngine,
    SilenceStore,
    SqliteRuleState,
)
from logwatch.rules.failover import LOCAL_TAG, FailoverRuleState, SharedLink
from logwatch.rules.redis_silences import SharedSilences
from logwatch.rules.redis_state import RedisRuleState, connect
from logwatch.testing import sample_alert
from tests.daemon_harness import free_port
from tests.redis_harness import (
    APPEND_ONLY,
    CONFIG_DENIED,
    RedisServer,
    redis_server,
    started,
)
from tests.rules_support import host_event

__all__ = ["redis_server"]

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


# A script that keeps Redis busy (it answers no one else) for 100 ms.
_BUSY_100MS = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  local n = redis.call('TIME')
until n[1] * 1000000 + n[2] - start > 100000
return 0
"""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def daemon(server: RedisServer, *, timeout_s: float = 1.0, lease_s: float | None = None,
           prefix: str = "fleet:") -> RedisRuleState:
    """What one daemon of the fleet holds: its own client on the shared server."""
    return RedisRuleState(connect(server.url, timeout_s=timeout_s), prefix=prefix,
                          timeout_s=timeout_s, lease_s=lease_s)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung Redis."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


class TestSharing:
    def test_a_window_counts_every_daemons_occurrences(self, redis_server: RedisServer) -> None:
        """'5 in 1 minute' is met by 3 occurrences on one host and 2 on another."""
        web1, web2 = daemon(redis_server), daemon(redis_server)
        for n in range(3):
            web1.window_add("k", f"web-1:{n}", 10.0 + n, 60.0)
        web2.window_add("k", "web-2:0", 20.0, 60.0)
        assert web2.window_add("k", "web-2:1", 21.0, 60.0) == (5, 10.0)

    def test_a_prefix_is_a_fleet_of_its_own(self, redis_server: RedisServer) -> None:
        shop, blog = daemon(redis_server, prefix="shop:"), daemon(redis_server, prefix="blog:")
        shop.put("k", GroupState(rule="r", last_seen=1.0))
        shop.window_add("k", "a", 1.0, 60.0)
        assert blog.get("k") is None
        assert blog.window_add("k", "b", 1.0, 60.0) == (1, 1.0)

    def test_only_one_daemon_sees_a_fingerprint_first(self, redis_server: RedisServer) -> None:
        """Racing first sightings: exactly one host reports the error as new."""
        fleet = [daemon(redis_server) for _ in range(8)]
        results: list[object] = []
        start = threading.Barrier(len(fleet))

        def sight(state: RedisRuleState, n: int) -> None:
            start.wait()
            results.append(state.sighting("fp", f"o{n}", 1.0 + n))

        threads = [threading.Thread(target=sight, args=(s, n)) for n, s in enumerate(fleet)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(None) == 1

    def test_held_updates_from_many_daemons_all_count(self, redis_server: RedisServer) -> None:
        """Read-decide-write under `hold` loses no update, whoever wins the race."""
        fleet = [daemon(redis_server) for _ in range(4)]
        fleet[0].put("k", GroupState(rule="r", last_seen=0.0))

        def hold_back(state: RedisRuleState) -> None:
            for _ in range(25):
                with state.hold("k"):
                    group = state.get("k")
                    assert group is not None
                    state.put("k", group.replace(pending=group.pending + 1))

        threads = [threading.Thread(target=hold_back, args=(state,)) for state in fleet]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        group = fleet[0].get("k")
        assert group is not None
        assert group.pending == 100


class TestHold:
    def test_a_held_group_waits_for_its_holder(self, redis_server: RedisServer) -> None:
        web1, web2 = daemon(redis_server), daemon(redis_server, timeout_s=0.05)
        token = web1.acquire("k")
        assert token is not None
        assert web2.acquire("k") is None  # kept off past its timeout: it decides without
        web1.release("k", token)
        assert web2.acquire("k") is not None

    def test_waiting_for_a_held_group_keeps_to_the_timeout_when_redis_stalls(
        self, redis_server: RedisServer
    ) -> None:
        """The timeout bounds the whole wait for a lease: a Redis that stops answering late
        in it costs what is left of the timeout, not one more timeout on top."""
        holder = daemon(redis_server)
        assert holder.acquire("k") is not None
        timeout_s = 2.0
        started_at = time.monotonic()

        def sleep(seconds: float) -> None:
            # halfway through the wait, stall the server: the next try gets no answer
            if time.monotonic() - started_at >= timeout_s / 2:
                redis_server.pause()
            time.sleep(seconds)

        waiter = RedisRuleState(connect(redis_server.url, timeout_s=timeout_s), prefix="fleet:",
                                timeout_s=timeout_s, sleep=sleep)
        try:
            assert waiter.acquire("k") is None  # kept off past the timeout: decide without
            waited_s = time.monotonic() - started_at
        finally:
            redis_server.resume()
        # one more full timeout (the bug) would be 3 s; the margin is for a busy machine
        assert timeout_s * 0.9 <= waited_s < timeout_s + 0.5

    def test_giving_up_on_a_lease_leaves_none_behind(self, redis_server: RedisServer) -> None:
        """A try for a lease given up on unanswered may still land once Redis gets to it:
        it must not then hold the group for nobody for a whole lease, keeping every
        host waiting on it. The try's own connection takes it back after it, in order."""
        waiter = RedisRuleState(connect(redis_server.url, timeout_s=1.0), prefix="fleet:",
                                timeout_s=1.0)
        busy = redis_server.client()
        for _ in range(5):  # until a try is sent while the script runs (nearly always the first)
            # a Redis busy for a moment (a slow script, a network's round trip): the
            # script is sent first, and the try queues behind it
            connection = busy.connection_pool.get_connection()
            connection.send_command("EVAL", _BUSY_100MS, 0)  # type: ignore[no-untyped-call]
            try:
                landed = waiter._take_lease("k", "given-up", 0.03)
            except redis.TimeoutError:
                landed = None
            connection.read_response()  # the script is over: what was sent in it has run
            busy.connection_pool.release(connection)
            if landed is None:
                break
            busy.delete("fleet:hold:k")  # answered in time: not the case under test
        else:
            pytest.fail("no try was sent while the script ran")
        busy.ping()  # the closed connection's SET, read before its end, has run by now
        assert busy.get("fleet:hold:k") is None

    def test_a_lease_ends_by_itself_when_its_holder_dies(self, redis_server: RedisServer) -> None:
        crashed = daemon(redis_server, lease_s=0.2)
        assert crashed.acquire("k") is not None
        survivor = daemon(redis_server, timeout_s=2.0)
        started = time.monotonic()
        assert survivor.acquire("k") is not None
        assert time.monotonic() - started < 1.5

    def test_only_the_holder_releases(self, redis_server: RedisServer) -> None:
        web1, web2 = daemon(redis_server), daemon(redis_server, timeout_s=0.05)
        assert web1.acquire("k") is not None
        web2.release("k", "not-the-token")
        assert web2.acquire("k") is None


class TestPruning:
    def test_records_and_windows_go_when_due(self, redis_server: RedisServer) -> None:
        state = daemon(redis_server)
        state.put("old", GroupState(rule="r", last_seen=0.0, due_at=5.0, expires_at=10.0))
        state.put("new", GroupState(rule="r", last_seen=0.0, expires_at=100.0))
        state.window_add("w", "a", 0.0, 60.0)
        assert state.prune(61.0) == 2
        assert (state.get("old"), state.due(61.0)) == (None, [])
        keys = set(redis_server.client().scan_iter("fleet:*"))
        assert keys == {"fleet:group:new", "fleet:expires"}

    def test_records_expire_in_redis_even_when_no_daemon_prunes(
        self, redis_server: RedisServer
    ) -> None:
        """A fleet switched off for good leaves nothing behind for ever."""
        state = daemon(redis_server)
        state.put("k", GroupState(rule="r", last_seen=0.0, expires_at=600.0))
        state.window_add("w", "a", 0.0, 60.0)
        client = redis_server.client()
        assert 0 < client.ttl("fleet:group:k") <= 600 + 86_400
        assert 0 < client.ttl("fleet:window:w") <= 60 + 86_400

    def test_indexes_expire_too_and_outlive_what_they_list(
        self, redis_server: RedisServer
    ) -> None:
        """The due, expires and windows indexes expire as well, never before a record
        they list: a shorter-lived record written later does not shorten them."""
        state = daemon(redis_server)
        state.put("long", GroupState(rule="r", last_seen=0.0, due_at=5.0, expires_at=600.0))
        state.put("short", GroupState(rule="r", last_seen=0.0, due_at=5.0, expires_at=1.0))
        state.window_add("w", "a", 0.0, 60.0)
        client = redis_server.client()
        for index in ("fleet:due", "fleet:expires"):
            assert client.ttl("fleet:group:long") <= client.ttl(index) <= 600 + 86_400
        assert client.ttl("fleet:window:w") <= client.ttl("fleet:windows") <= 60 + 86_400


class TestUnavailable:
    def test_a_hung_redis_costs_one_timeout(self, silent_port: int) -> None:
        state = RedisRuleState.from_url(
            f"redis://127.0.0.1:{silent_port}/0", prefix="p:", timeout_s=0.1
        )
        started = time.monotonic()
        with pytest.raises(StateUnavailableError, match="redis get"):
            state.get("k")
        assert time.monotonic() - started < 1.0

    def test_refused_and_killed_become_state_unavailable(self, redis_server: RedisServer) -> None:
        state = daemon(redis_server)
        state.put("k", GroupState(rule="r", last_seen=0.0))
        redis_server.kill()
        with pytest.raises(StateUnavailableError):
            state.get("k")
        with pytest.raises(StateUnavailableError):
            state.window_add("w", "a", 0.0, 60.0)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[SqliteRuleState]:
    state = SqliteRuleState(tmp_path / "state.db")
    yield state
    state.close()


class TestFailover:
    def test_decides_locally_while_redis_is_down_and_shared_once_back(
        self, redis_server: RedisServer, local: SqliteRuleState, caplog: pytest.LogCaptureFixture
    ) -> None:
        clock = FakeClock()
        link = SharedLink(retry_every_s=5.0, clock=clock)
        state = FailoverRuleState(daemon(redis_server), local, link)
        state.put("k", GroupState(rule="r", last_seen=1.0))
        redis_server.kill()
        with caplog.at_level(logging.INFO, logger="logwatch.rules.failover"):
            assert state.get("k") is None  # local: the shared record is out of reach
            state.put("k", GroupState(rule="r", last_seen=2.0))
            for n in range(10):
                state.window_add("w", f"o{n}", float(n), 60.0)
            assert (link.up, link.status()["shared"]) == (False, False)
            redis_server.start()
            assert state.get("k") == GroupState(rule="r", last_seen=2.0)  # no retry before 5s
            clock.now += 5.0
            assert state.get("k") is None  # a fresh Redis: shared again, and empty
        assert link.up
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 2, messages  # one line per change, not per call
        assert "unavailable" in messages[0]
        assert "available again" in messages[1]

    def test_a_redis_down_from_the_start_is_an_outage_like_any_other(
        self, local: SqliteRuleState
    ) -> None:
        """A daemon starts and alerts even when Redis is not there yet."""
        shared = RedisRuleState.from_url(
            f"redis://127.0.0.1:{free_port()}/0", prefix="p:", timeout_s=0.1
        )
        link = SharedLink()
        state = FailoverRuleState(shared, local, link)
        with state.hold("k"):
            assert state.get("k") is None
            state.put("k", GroupState(rule="r", last_seen=1.0))
        assert (local.get("k"), link.up) == (GroupState(rule="r", last_seen=1.0), False)

    def test_a_hung_redis_is_waited_for_once_per_retry(
        self, silent_port: int, local: SqliteRuleState
    ) -> None:
        """Reading logs stalls for one timeout per retry at most, never once per event."""
        clock = FakeClock()
        shared = RedisRuleState.from_url(
            f"redis://127.0.0.1:{silent_port}/0", prefix="p:", timeout_s=0.1
        )
        state = FailoverRuleState(shared, local, SharedLink(retry_every_s=5.0, clock=clock))
        started = time.monotonic()
        for n in range(200):
            with state.hold("k"):
                state.get("k")
                state.window_add("w", f"o{n}", float(n), 60.0)
        assert time.monotonic() - started < 1.0

    def test_groups_begun_locally_finish_locally_after_redis_returns(
        self, redis_server: RedisServer, local: SqliteRuleState
    ) -> None:
        """The summary or `resolved` of a group opened during an outage is still sent."""
        clock = FakeClock()
        state = FailoverRuleState(
            daemon(redis_server), local, SharedLink(retry_every_s=5.0, clock=clock)
        )
        redis_server.kill()
        outage = GroupState(rule="r", last_seen=1.0, pending=3, due_at=50.0)
        state.put("k", outage)
        redis_server.start()
        clock.now += 5.0
        state.put("shared", GroupState(rule="r", last_seen=1.0, due_at=60.0))
        assert state.due(100.0) == [
            (LOCAL_TAG + "k", outage),
            ("shared", GroupState(rule="r", last_seen=1.0, due_at=60.0)),
        ]
        assert state.get(LOCAL_TAG + "k") == outage
        state.delete(LOCAL_TAG + "k")
        assert [key for key, _ in state.due(100.0)] == ["shared"]


class TestPersistence:
    def test_a_redis_that_keeps_nothing_on_disk_is_warned_of_once(
        self, redis_server: RedisServer, local: SqliteRuleState, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Asked at the first contact and after each outage; warned of once while the answer
        stays the same, and shown by status."""
        clock = FakeClock()
        shared = daemon(redis_server)
        link = SharedLink(retry_every_s=5.0, clock=clock, persistent=shared.persistent)
        state = FailoverRuleState(shared, local, link)
        with caplog.at_level(logging.WARNING, logger="logwatch.rules.failover"):
            assert link.status()["persistent"] is None  # not asked before the first call
            state.get("k")
            state.get("k")
            redis_server.kill()
            state.get("k")
            redis_server.start()
            clock.now += 5.0
            state.get("k")
        warnings = [r.getMessage() for r in caplog.records if "in memory only" in r.getMessage()]
        assert len(warnings) == 1, warnings
        assert link.status()["persistent"] is False

    def test_a_redis_with_an_append_only_file_is_not_warned_of(
        self, tmp_path: Path, local: SqliteRuleState, caplog: pytest.LogCaptureFixture
    ) -> None:
        with started(tmp_path / "aof", APPEND_ONLY) as server:
            shared = daemon(server)
            link = SharedLink(persistent=shared.persistent)
            with caplog.at_level(logging.DEBUG, logger="logwatch.rules.failover"):
                FailoverRuleState(shared, local, link).get("k")
        assert (link.persistent, caplog.records) == (True, [])

    def test_a_redis_that_will_not_say_is_left_unjudged(
        self, tmp_path: Path, local: SqliteRuleState, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Managed Redis often denies CONFIG: a debug line, no warning, and it still works."""
        with started(tmp_path / "managed", CONFIG_DENIED) as server:
            shared = daemon(server)
            link = SharedLink(persistent=shared.persistent)
            state = FailoverRuleState(shared, local, link)
            with caplog.at_level(logging.DEBUG, logger="logwatch.rules.failover"):
                state.put("k", GroupState(rule="r", last_seen=1.0))
                assert state.get("k") == GroupState(rule="r", last_seen=1.0)
        assert (link.persistent, link.up) == (None, True)
        assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
            (logging.DEBUG, "could not tell whether redis keeps its data across a restart:"
                            " it does not allow CONFIG GET")]


class TestSharedSilences:
    def test_a_silence_added_on_one_host_mutes_every_host(
        self, redis_server: RedisServer, tmp_path: Path
    ) -> None:
        web1_store = SilenceStore(tmp_path / "web-1.db")
        web1 = SharedSilences(redis_server.client(), SharedLink(), local=web1_store)
        web2 = SharedSilences(redis_server.client(), SharedLink(), local=None)
        web1_store.add([LabelMatcher.parse("rule=db-down")], starts_at=NOW,
                       ends_at=NOW + timedelta(hours=2), comment="migration")
        alert = sample_alert(host="web-2")
        assert not web2.silenced(alert, NOW)  # nobody published it yet
        web1.silenced(sample_alert(), NOW)  # web-1's daemon publishes on its next check
        web2_later = SharedSilences(redis_server.client(), SharedLink())
        assert web2_later.silenced(alert, NOW)
        web1_store.close()

    def test_the_hash_expires_a_day_after_the_last_silence_ends(
        self, redis_server: RedisServer, tmp_path: Path
    ) -> None:
        """A retired fleet leaves nothing behind: the silences hash expired never (found by
        the fleet audit); a shorter silence published later does not shorten it."""
        store = SilenceStore(tmp_path / "web-1.db")
        store.add([LabelMatcher.parse("rule=a")], starts_at=NOW,
                  ends_at=NOW + timedelta(hours=2), comment="")
        SharedSilences(redis_server.client(), SharedLink(), local=store).silenced(
            sample_alert(), NOW)
        client = redis_server.client()
        day_and_two_hours = 86_400 + 7_200
        assert day_and_two_hours - 60 <= client.ttl("logwatch:silences") <= day_and_two_hours
        other = SilenceStore(tmp_path / "web-2.db")
        other.add([LabelMatcher.parse("rule=b")], starts_at=NOW,
                  ends_at=NOW + timedelta(minutes=5), comment="")
        SharedSilences(redis_server.client(), SharedLink(), local=other).silenced(
            sample_alert(), NOW)
        assert client.ttl("logwatch:silences") >= day_and_two_hours - 60
        store.close()
        other.close()

    def test_expiring_anywhere_sticks(self, redis_server: RedisServer, tmp_path: Path) -> None:
        """The copy that ends first wins, even over a restarted host publishing it again."""
        web1_store = SilenceStore(tmp_path / "web-1.db")
        silence = web1_store.add([LabelMatcher.parse("rule=db-down")], starts_at=NOW,
                                 ends_at=NOW + timedelta(hours=2), comment="")
        SharedSilences(redis_server.client(), SharedLink(), local=web1_store).silenced(
            sample_alert(), NOW
        )
        web2 = SharedSilences(redis_server.client(), SharedLink())
        assert web2.expire(silence.id, NOW + timedelta(minutes=5))
        assert not web2.expire(silence.id, NOW + timedelta(minutes=6))  # already ended
        restarted = SharedSilences(redis_server.client(), SharedLink(), local=web1_store)
        later = NOW + timedelta(minutes=10)
        assert not restarted.silenced(sample_alert(), later)
        assert [s.id for s in web2.list(later, include_expired=True)] == [silence.id]
        assert web2.list(later) == []
        web1_store.close()

    def test_the_host_that_made_a_silence_takes_an_end_made_elsewhere(
        self, redis_server: RedisServer, tmp_path: Path
    ) -> None:
        """web-1 mutes with its own state dir as well as the fleet's: ended from web-2,
        the silence must end there too, or web-1 alone would stay muted."""
        web1_store = SilenceStore(tmp_path / "web-1.db")
        silence = web1_store.add([LabelMatcher.parse("rule=db-down")], starts_at=NOW,
                                 ends_at=NOW + timedelta(hours=2), comment="")
        clock = FakeClock()
        web1 = SharedSilences(redis_server.client(), SharedLink(), local=web1_store,
                              refresh_every_s=1.0, clock=clock)
        web1.refresh(NOW)
        ended_at = NOW + timedelta(minutes=5)
        assert SharedSilences(redis_server.client(), SharedLink()).expire(silence.id, ended_at)
        clock.now += 2.0
        web1.refresh(NOW + timedelta(minutes=6))
        [mine] = web1_store.list(NOW, include_expired=True)
        assert mine.ends_at == ended_at
        web1_store.close()

    def test_an_ended_silence_outlives_a_host_stopped_past_the_day_it_is_listed(
        self, redis_server: RedisServer, tmp_path: Path
    ) -> None:
        """Ended early, a week-long silence stays in Redis for its week: web-1's daemon,
        back after two days with the week still in its state dir, must not revive it."""
        web1_store = SilenceStore(tmp_path / "web-1.db")
        silence = web1_store.add([LabelMatcher.parse("rule=db-down")], starts_at=NOW,
                                 ends_at=NOW + timedelta(days=7), comment="")
        SharedSilences(redis_server.client(), SharedLink(), local=web1_store).refresh(NOW)
        web2 = SharedSilences(redis_server.client(), SharedLink())
        assert web2.expire(silence.id, NOW + timedelta(minutes=5))
        later = NOW + timedelta(days=2)
        assert web2.list(later, include_expired=True) == []  # listed for a day, as before
        restarted = SharedSilences(redis_server.client(), SharedLink(), local=web1_store)
        restarted.refresh(later)
        assert not SharedSilences(redis_server.client(), SharedLink()).silenced(
            sample_alert(), later)
        assert web1_store.list(later) == []
        web1_store.close()

    def test_silences_keep_muting_while_redis_is_down(
        self, redis_server: RedisServer, tmp_path: Path
    ) -> None:
        web1_store = SilenceStore(tmp_path / "web-1.db")
        web1_store.add([LabelMatcher.parse("rule=db-down")], starts_at=NOW,
                       ends_at=NOW + timedelta(hours=2), comment="")
        SharedSilences(redis_server.client(), SharedLink(), local=web1_store).silenced(
            sample_alert(), NOW
        )
        clock = FakeClock()
        link = SharedLink(clock=clock)
        web2 = SharedSilences(
            connect(redis_server.url, timeout_s=0.2), link, refresh_every_s=1.0, clock=clock
        )
        assert web2.silenced(sample_alert(), NOW)
        redis_server.kill()
        clock.now += 10.0
        assert web2.silenced(sample_alert(), NOW + timedelta(minutes=1))
        assert not link.up
        web1_store.close()


def sent(decisions: list[Decision]) -> list[Alert]:
    return [decision.alert for decision in decisions if decision.alert is not None]


class TestRollingReload:
    def test_a_host_reloaded_without_the_rule_resolves_once_the_fleet_is_quiet(
        self, redis_server: RedisServer
    ) -> None:
        """web-2 no longer has rule `db`; web-1, not reloaded yet, still alerts on it.
        The incident stays open while web-1 feeds it, and web-2 resolves it once it
        has been quiet for `resolve_after`, to where it fired."""
        db = RuleConfig.model_validate({"name": "db", "match": {}, "notify": ["hook"],
                                        "cooldown": "1m", "resolve_after": "5m"})
        other = RuleConfig.model_validate({"name": "other", "match": {}, "notify": ["mail"]})
        web1 = RuleEngine([db], host="web-1", labels={}, state=daemon(redis_server))
        web2 = RuleEngine([other], host="web-2", labels={}, state=daemon(redis_server))

        def at(seconds: float) -> datetime:
            return NOW + timedelta(seconds=seconds)

        assert web1.evaluate(host_event("web-1", 0), at(0))[0].suppressed is None
        assert web1.evaluate(host_event("web-1", 10), at(30))[0].suppressed == "cooldown"
        assert web2.tick(at(60)) == []  # no summary: web-2 has no rule to word it
        [alert] = sent(web1.evaluate(host_event("web-1", 20), at(200)))
        assert alert.count == 2  # the one held back, too
        assert web2.tick(at(30 + 300)) == []
        [resolved] = sent(web2.tick(at(200 + 300)))
        assert (resolved.rule, resolved.notifiers) == ("db", ("hook",))
        assert (resolved.status, resolved.count) == (AlertStatus.RESOLVED, 3)
        assert web1.tick(at(200 + 301)) == []
