"""Rules stage memory shared by a fleet: the RuleState in Redis.

Keys, under the configured prefix (``logwatch:`` by default)::

    {prefix}group:{key}    GroupState JSON; a native expiry collects what no daemon prunes
    {prefix}due            sorted set, key -> due_at: the groups `tick` has work for
    {prefix}expires        sorted set, key -> expires_at: the groups `prune` may forget
    {prefix}window:{key}   sorted set, occurrence id -> time: one sliding window
    {prefix}windows        sorted set, window key -> when it goes quiet
    {prefix}hold:{key}     the lease of the daemon deciding about a group right now
    {prefix}fingerprint:{fp}  FingerprintState JSON: seen by the fleet (`notify_on`)

Each operation is atomic on its own: windows are one Lua script (ZADD NX,
trim, count), a group and its index entries are written in one MULTI/EXEC,
``prune`` is one script, and a fingerprint's first sighting is a SET NX (the
host that wins it reports the error as new; later ones update it under
WATCH/MULTI/EXEC). What makes a *decision* atomic across hosts is
``hold``: a lease on one group taken with SET NX PX, under which a daemon reads
the group, decides and writes it back. Two hosts seeing the same error at once
therefore send one alert, and the occurrences a cooldown holds back add up
instead of overwriting each other. A daemon that dies holding a lease delays
that group by ``lease_s`` at most; one that cannot get a lease within the
timeout decides without it, risking a duplicate rather than stalling its reader.

Times in values and scores are the daemons' wall clocks (float epoch seconds,
as in every RuleState); only the garbage-collecting expiries are relative, so
they do not depend on the hosts' clocks agreeing with Redis's. Scripts name
keys they build from the prefix, so this needs one Redis server (a Sentinel
primary is fine), not Redis Cluster.

Every Redis error becomes StateUnavailableError here, at the one boundary;
``rules.failover`` decides what to do about it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError, WatchError
from redis.retry import Retry

from logwatch.errors import StateUnavailableError
from logwatch.rules.state import FingerprintState, GroupState, next_sighting

# Records outlive their expires_at by this much before Redis drops them on its
# own: prune normally forgets them first, this only collects what a fleet that
# stopped for good left behind.
GC_GRACE_S = 86_400.0
HOLD_POLL_S = 0.002  # another daemon holds a group for a few round trips; check back soon
# What a try for a lease leaves for its answer, at least. A SET sent with less is
# not waited for, yet still lands: once the holder is done, it takes the lease
# for nobody, and every host waits on the group for a whole lease.
HOLD_ANSWER_S = 0.01
PRUNE_BATCH = 1000  # bounds the time one prune script blocks the Redis server
# SQLite keeps known fingerprints for good; a shared server forgets those no
# host has seen for a year, so that it does not grow without bound.
FINGERPRINT_TTL_MS = 365 * 86_400 * 1000
WATCH_TRIES = 20  # optimistic updates retried while other daemons keep winning the race

# KEYS: window, windows index. ARGV: member, at, exclusive cut, quiet-at, ttl ms, window name.
_WINDOW_ADD = """
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], 'GT', ARGV[4], ARGV[6])
local left = redis.call('PTTL', KEYS[2])
if left >= 0 and left < tonumber(ARGV[5]) or left == -1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), oldest[2]}
"""

# KEYS: indexes. ARGV: ttl ms. An index outlives every record it lists: each
# write may lengthen its expiry, never shorten it (PEXPIRE GT needs Redis 7).
_OUTLIVE = """
for _, key in ipairs(KEYS) do
  local left = redis.call('PTTL', key)
  if left == -1 or left >= 0 and left < tonumber(ARGV[1]) then
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return 0
"""

# KEYS: expires index, due index, windows index.
# ARGV: now, exclusive now, group key prefix, window key prefix, batch.
_PRUNE = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[5])
for _, key in ipairs(gone) do
  redis.call('DEL', ARGV[3] .. key)
  redis.call('ZREM', KEYS[2], key)
  redis.call('ZREM', KEYS[1], key)
end
local quiet = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2], 'LIMIT', 0, ARGV[5])
for _, key in ipairs(quiet) do
  redis.call('DEL', ARGV[4] .. key)
  redis.call('ZREM', KEYS[3], key)
end
return #gone + #quiet
"""

# KEYS: lease. ARGV: token. Only the holder may end its lease: after an expiry
# another daemon may hold it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def connect(url: str, *, timeout_s: float, client_name: str | None = None) -> redis.Redis:
    """A client that gives up after ``timeout_s`` and never retries on its own.

    redis-py retries failed commands by default; a daemon that falls back to
    local state must learn of an outage after one timeout, not after several.
    ``client_name`` shows in CLIENT LIST, so an operator sees which hosts are in.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
        client_name=client_name,
    )


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn any Redis error into StateUnavailableError: a Redis that answers with
    errors (loading, read-only replica, out of memory) is as useless as a silent one."""
    try:
        yield
    except RedisError as exc:
        raise StateUnavailableError(f"redis {what}: {exc}") from exc


class RedisRuleState:
    """A RuleState in one Redis server, shared by every daemon that uses the same prefix."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "logwatch:",
        timeout_s: float = 0.25,
        lease_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self._timeout_s = timeout_s
        # Longer than the few round trips a holder needs, each up to the timeout.
        self._lease_ms = math.ceil((lease_s if lease_s is not None else max(2.0, 8 * timeout_s))
                                   * 1000)
        self._clock = clock
        self._sleep = sleep
        self._due = f"{prefix}due"
        self._expires = f"{prefix}expires"
        self._windows = f"{prefix}windows"
        self._window_add = client.register_script(_WINDOW_ADD)
        self._prune = client.register_script(_PRUNE)
        self._release = client.register_script(_RELEASE)
        self._outlive = client.register_script(_OUTLIVE)

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str, timeout_s: float, client_name: str | None = None
    ) -> RedisRuleState:
        client = connect(url, timeout_s=timeout_s, client_name=client_name)
        return cls(client, prefix=prefix, timeout_s=timeout_s)

    def close(self) -> None:
        self.client.close()

    def _group(self, key: str) -> str:
        return f"{self.prefix}group:{key}"

    def _window(self, key: str) -> str:
        return f"{self.prefix}window:{key}"

    def _lease(self, key: str) -> str:
        return f"{self.prefix}hold:{key}"

    def _fingerprint(self, fingerprint: str) -> str:
        return f"{self.prefix}fingerprint:{fingerprint}"

    # -- the RuleState protocol ------------------------------------------------

    def window_add(self, key: str, member: str, at: float, within: float) -> tuple[int, float]:
        ttl_ms = math.ceil((within + GC_GRACE_S) * 1000)
        args: list[str | int] = [
            member, repr(at), f"({at - within!r}", repr(at + within), ttl_ms, key
        ]
        with translated("window_add"):
            count, oldest = cast(
                "list[Any]", self._window_add(keys=[self._window(key), self._windows], args=args)
            )
        return int(count), float(oldest)

    def get(self, key: str) -> GroupState | None:
        with translated("get"):
            raw = cast("str | None", self.client.get(self._group(key)))
        return None if raw is None else GroupState.from_json(raw)

    def put(self, key: str, value: GroupState) -> None:
        ttl_ms = None
        if value.expires_at is not None:
            ttl_ms = math.ceil((max(value.expires_at - value.last_seen, 0.0) + GC_GRACE_S) * 1000)
        with translated("put"):
            pipe = self.client.pipeline(transaction=True)
            pipe.set(self._group(key), value.to_json(), px=ttl_ms)
            if value.due_at is None:
                pipe.zrem(self._due, key)
            else:
                pipe.zadd(self._due, {key: value.due_at})
            if value.expires_at is None:
                pipe.zrem(self._expires, key)
            else:
                pipe.zadd(self._expires, {key: value.expires_at})
            if ttl_ms is not None:
                self._outlive(keys=[self._due, self._expires], args=[ttl_ms], client=pipe)
            pipe.execute()

    def delete(self, key: str) -> None:
        with translated("delete"):
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(self._group(key))
            pipe.zrem(self._due, key)
            pipe.zrem(self._expires, key)
            pipe.execute()

    def due(self, now: float) -> list[tuple[str, GroupState]]:
        with translated("due"):
            keys = cast("list[str]", self.client.zrangebyscore(self._due, "-inf", repr(now)))
            if not keys:
                return []
            values = cast("list[str | None]", self.client.mget([self._group(k) for k in keys]))
            # Redis collected these records itself (GC_GRACE_S); drop their index entries.
            if gone := [key for key, raw in zip(keys, values, strict=True) if raw is None]:
                self.client.zrem(self._due, *gone)
        return [
            (key, GroupState.from_json(raw))
            for key, raw in zip(keys, values, strict=True)
            if raw is not None
        ]

    def prune(self, now: float) -> int:
        args: list[str | int] = [
            repr(now), f"({now!r}", self._group(""), self._window(""), PRUNE_BATCH
        ]
        with translated("prune"):
            keys = [self._expires, self._due, self._windows]
            return int(cast("int", self._prune(keys=keys, args=args)))

    def quiet_until(self) -> None:
        return None  # other daemons add groups: each tick asks

    def sighting(self, fingerprint: str, occurrence: str, at: float) -> FingerprintState | None:
        key = self._fingerprint(fingerprint)
        first = _fingerprint_json(next_sighting(None, occurrence, at))
        with translated("sighting"):
            # Never seen by any host: the one whose SET NX wins reports it as new.
            if self.client.set(key, first, nx=True, px=FINGERPRINT_TTL_MS):
                return None
            return self._update_fingerprint(
                key, lambda before: next_sighting(before, occurrence, at)
            )

    def resolve_fingerprint(self, fingerprint: str, at: float) -> None:
        with translated("resolve_fingerprint"):
            self._update_fingerprint(
                self._fingerprint(fingerprint),
                lambda known: None if known is None else dataclasses.replace(known, resolved_at=at),
            )

    def _update_fingerprint(
        self, key: str, change: Callable[[FingerprintState | None], FingerprintState | None]
    ) -> FingerprintState | None:
        """Apply ``change`` atomically (WATCH/MULTI/EXEC); return the value it changed."""
        for _ in range(WATCH_TRIES):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it bare
                    raw = cast("str | None", pipe.get(key))
                    before = None if raw is None else FingerprintState(**json.loads(raw))
                    after = change(before)
                    pipe.multi()
                    if after is not None:
                        pipe.set(key, _fingerprint_json(after), px=FINGERPRINT_TTL_MS)
                    pipe.execute()
                except WatchError:
                    continue  # another daemon wrote it between our read and our write
                return before
        raise StateUnavailableError(f"redis: {key} kept changing under {WATCH_TRIES} updates")

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Keep other daemons off group ``key`` while the block reads, decides and writes it."""
        token = self.acquire(key)
        try:
            yield
        finally:
            if token is not None:
                self.release(key, token)

    # -- the lease behind `hold`, apart for the fail-open wrapper --------------

    def acquire(self, key: str) -> str | None:
        """Take the lease on group ``key``; None when another daemon kept it past the timeout.

        The timeout bounds the whole wait, not each try: a try waits for its answer
        only as long as is left, so a Redis that stalls late in the wait does not
        hold up reading for one more timeout; no try is made without time for its
        answer (``HOLD_ANSWER_S``).
        """
        token = uuid.uuid4().hex
        deadline = self._clock() + self._timeout_s
        with translated("hold"):
            # the first try has the whole timeout: no answer to it is an outage like any other
            if self._take_lease(key, token, self._timeout_s):
                return token
            answer_s = min(HOLD_ANSWER_S, self._timeout_s / 2)
            while (left_s := deadline - self._clock()) > answer_s:
                self._sleep(min(HOLD_POLL_S, left_s - answer_s))
                try:
                    if self._take_lease(key, token, max(deadline - self._clock(), answer_s)):
                        return token
                except redis.TimeoutError:
                    # no answer in what was left: decide without, as when the holder kept
                    # it; the next call, given a whole timeout, tells a stalled Redis
                    return None
        return None

    def _take_lease(self, key: str, token: str, wait_s: float) -> bool:
        """SET NX PX, waiting at most ``wait_s`` for the answer (redis.TimeoutError after)."""
        pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            connection.send_command(  # type: ignore[no-untyped-call]  # redis-py leaves it bare
                "SET", self._lease(key), token, "NX", "PX", self._lease_ms
            )
            if not connection.can_read(timeout=wait_s):
                # Given up on, the SET may still run once Redis gets to it, and take the
                # lease for nobody. Redis runs one connection's commands in order, those
                # it read before the connection closed too: the release behind it on the
                # same connection undoes what it took, whenever that is.
                connection.send_command(  # type: ignore[no-untyped-call]
                    "EVAL", _RELEASE, 1, self._lease(key), token
                )
                connection.disconnect()  # type: ignore[no-untyped-call]
                raise redis.TimeoutError(f"no answer within {wait_s:.3f}s")
            return connection.read_response() is not None
        finally:
            pool.release(connection)

    def release(self, key: str, token: str) -> None:
        with translated("release"):
            self._release(keys=[self._lease(key)], args=[token])

    def ping(self) -> None:
        with translated("ping"):
            self.client.ping()

    def persistent(self) -> bool | None:
        """Whether Redis keeps its data across a restart (RDB snapshots or an append-only
        file); None when it will not say (CONFIG renamed away or denied, as on managed Redis)."""
        with translated("config get"):
            pipe = self.client.pipeline(transaction=False)
            pipe.config_get("save")
            pipe.config_get("appendonly")
            try:
                save, appendonly = cast("list[dict[str, str]]", pipe.execute())
            except ResponseError:
                return None
        if "save" not in save or "appendonly" not in appendonly:
            return None
        return bool(save["save"].strip()) or appendonly["appendonly"] == "yes"


def _fingerprint_json(value: FingerprintState) -> str:
    return json.dumps(dataclasses.asdict(value), sort_keys=True)
