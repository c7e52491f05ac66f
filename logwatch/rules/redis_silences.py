"""Rules stage, muting across a fleet: silences shared through Redis.

Each daemon publishes the silences of its own state dir (added there with
``logwatch silence add``) to one Redis hash, ``{prefix}silences``, and mutes
what any silence in that hash matches. So a silence added on one host applies
on every host sharing the prefix, within ``refresh_every_s``. It publishes them
at every refresh, so a Redis that restarted empty has them back within one.
``logwatch silence add`` publishes the new one itself too, in the same record,
so that a host whose daemon is stopped still tells the fleet.

A silence only ever gets shorter (``silence expire`` ends it early), so when
two copies of one silence meet, the one that ends first wins: expiring it
anywhere sticks, even when the host that added it publishes it again after a
restart. The host that added it takes the shorter end into its own state dir
when it reads the fleet's, since it also mutes with those directly; an ended
copy stays in Redis as long as the silence would have lasted (and a day), so
a host whose daemon was stopped all that while still meets it. While Redis
is unavailable the daemon keeps muting with the silences it last read (an
operator's silence must not lapse because Redis did) and with its local ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import redis

from logwatch.model import Alert
from logwatch.rules.failover import SharedLink
from logwatch.rules.redis_state import translated
from logwatch.rules.silence_store import SilenceStore
from logwatch.rules.silences import LabelMatcher, Silence, SilenceSet

REFRESH_EVERY_S = 2.0
KEEP_ENDED_S = 86_400.0  # ended silences stay listed this long, as in `silence list`

# KEYS: the hash. ARGV: ttl ms, then id, json, ends_at, id, json, ends_at, ...
# The hash lasts as long as the longest silence any host published is listed,
# so a retired fleet leaves nothing behind: a write may lengthen it, never shorten.
_PUBLISH = """
for i = 2, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if not old or tonumber(cjson.decode(old)['ends_at']) > tonumber(ARGV[i + 2]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
local left = redis.call('PTTL', KEYS[1])
if left == -1 or left >= 0 and left < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 0
"""

# KEYS: the hash. ARGV: id, now. End a silence that has not ended yet; keep the
# end it had (planned_ends_at), until which the ended copy is kept.
_EXPIRE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local silence = cjson.decode(old)
if tonumber(silence['ends_at']) <= tonumber(ARGV[2]) then return 0 end
silence['planned_ends_at'] = silence['planned_ends_at'] or silence['ends_at']
silence['ends_at'] = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(silence))
return 1
"""


def to_json(silence: Silence) -> str:
    return json.dumps({
        "id": silence.id,
        "matchers": [[m.name, m.op, m.value] for m in silence.matchers],
        "starts_at": silence.starts_at.timestamp(),
        "ends_at": silence.ends_at.timestamp(),
        "comment": silence.comment,
        "created_by": silence.created_by,
        "host": silence.host,
    })


def from_json(text: str) -> Silence:
    return _silence(json.loads(text))


def _silence(data: dict[str, Any]) -> Silence:
    return Silence(
        id=data["id"],
        matchers=tuple(LabelMatcher.build(*triple) for triple in data["matchers"]),
        starts_at=datetime.fromtimestamp(data["starts_at"], UTC),
        ends_at=datetime.fromtimestamp(data["ends_at"], UTC),
        comment=data.get("comment", ""),
        created_by=data.get("created_by", ""),
        host=data.get("host", ""),
    )


class SharedSilences:
    """A Silencer over the fleet's silences in Redis; publishes this host's own silences."""

    def __init__(
        self,
        client: redis.Redis,
        link: SharedLink,
        *,
        prefix: str = "logwatch:",
        local: SilenceStore | None = None,
        host: str = "",
        refresh_every_s: float = REFRESH_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._link = link
        self._key = f"{prefix}silences"
        self._local = local
        self._host = host  # named in what this host publishes, for `silence list`
        self._refresh_every_s = refresh_every_s
        self._clock = clock
        self._refresh_at = 0.0
        self._cached = SilenceSet()
        self._publish = client.register_script(_PUBLISH)
        self._expire = client.register_script(_EXPIRE)

    def close(self) -> None:
        """Close the client: a command's own (the daemon's belongs to its rule state)."""
        self._client.close()

    def silenced(self, alert: Alert, now: datetime) -> bool:
        self.refresh(now)
        return self._cached.silenced(alert, now)

    def refresh(self, now: datetime) -> None:
        """Publish this host's silences and read the fleet's, at most every refresh_every_s.

        The daemon calls this on its own as well: a host that sees no alerts
        (the one an operator silences from, or one whose own silence mutes
        everything it sees) must still publish.
        """
        if self._clock() >= self._refresh_at:
            self._refresh_at = self._clock() + self._refresh_every_s
            self._link.call(lambda: self._refresh(now), lambda: None)

    def _refresh(self, now: datetime) -> None:
        local = self._local.list(now, include_expired=True) if self._local is not None else []
        if local:
            # Ended ones too: an expiry is news the fleet must hear. Every time, not
            # only when they change: a Redis that restarted without persistence between
            # two calls lost them, and no call failed to say so. Publishing what the
            # hash already holds writes nothing.
            horizon = now.timestamp() - KEEP_ENDED_S
            own = tuple(
                replace(silence, host=self._host)
                for silence in local
                if silence.ends_at.timestamp() >= horizon
            )
            self.publish(own, now)
        fleet = self._kept(now)
        if self._local is not None:
            self._end_early(self._local, local, fleet)
        self._cached = SilenceSet(silence for silence in fleet if silence.ends_at > now)

    def publish(self, silences: tuple[Silence, ...], now: datetime) -> None:
        if not silences:
            return
        # listed until a day after the last one ends (``list`` drops them then)
        last = max(silence.ends_at.timestamp() for silence in silences)
        ttl_ms = max(1000, int((last + KEEP_ENDED_S - now.timestamp()) * 1000))
        args: list[str | float] = [ttl_ms]
        for silence in silences:
            args += [silence.id, to_json(silence), silence.ends_at.timestamp()]
        with translated("publish silences"):
            self._publish(keys=[self._key], args=args)

    @staticmethod
    def _end_early(
        store: SilenceStore, local: list[Silence], fleet: tuple[Silence, ...]
    ) -> None:
        """End here what was ended for the fleet elsewhere: the local copy mutes too."""
        own = {silence.id: silence for silence in local}
        for copy in fleet:
            mine = own.get(copy.id)
            if mine is not None and copy.ends_at < mine.ends_at:
                store.expire(copy.id, copy.ends_at)  # ends it then: no later than the fleet's

    def list(self, now: datetime, *, include_expired: bool = False) -> list[Silence]:
        """Every shared silence not yet ended (or ended within a day, with include_expired)."""
        horizon = now.timestamp() - KEEP_ENDED_S
        kept = [
            s
            for s in self._kept(now)
            if s.ends_at > now or (include_expired and s.ends_at.timestamp() >= horizon)
        ]
        return sorted(kept, key=lambda s: (s.starts_at, s.id))

    def _kept(self, now: datetime) -> tuple[Silence, ...]:
        """What the hash holds, less what no host needs any more (which it forgets)."""
        with translated("list silences"):
            raw = cast("dict[str, str]", self._client.hgetall(self._key))
            records = [json.loads(text) for text in raw.values()]
            horizon = now.timestamp() - KEEP_ENDED_S
            gone = {
                data["id"]
                for data in records
                if max(data["ends_at"], data.get("planned_ends_at", 0.0)) < horizon
            }
            if gone:
                self._client.hdel(self._key, *gone)
        return tuple(_silence(data) for data in records if data["id"] not in gone)

    def expire(self, silence_id: str, now: datetime) -> bool:
        """End a silence for the whole fleet; False when none has that id or it had ended."""
        with translated("expire silence"):
            ended = self._expire(keys=[self._key], args=[silence_id, repr(now.timestamp())])
        self._refresh_at = 0.0
        return bool(cast("Any", ended))
