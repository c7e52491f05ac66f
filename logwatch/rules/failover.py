"""Rules stage memory that fails open: the fleet's while Redis answers, else this host's.

Alertmanager's lesson for HA pairs (research/rules.md §1.8): a partition must
yield duplicates, never silence. So when Redis refuses, times out or errs, the
daemon decides from its own SQLite state (each host then alerts on its own, as
without Redis), says so once, and tries Redis again at most every
``retry_every_s``; between tries it does not wait on Redis at all, so reading
stalls for one timeout per try at most. When Redis answers again, decisions
are shared again, with no restart.

At the first contact, and again after each outage (the Redis that answers may
have restarted with other settings), the link asks whether Redis keeps its data
on disk, and warns when it does not: a restart of such a Redis forgets what
the fleet decided with.

Groups the local state took over during an outage still have work to do (the
summary of what their cooldown held back, the `resolved` notice of an incident
they opened). ``due`` keeps listing them after Redis is back, under a tagged
key that routes their reads and writes to the local state, until they are done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from logwatch.errors import StateUnavailableError
from logwatch.rules.redis_state import RedisRuleState
from logwatch.rules.state import FingerprintState, GroupState, RuleState

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A key no group key starts with (they are "rule:digest"), marking a local group.
LOCAL_TAG = "\0local\0"


class SharedLink:
    """The daemon's view of Redis: up, or down since when and why; one log line per change.

    ``persistent`` asks Redis whether it keeps its data across a restart (None: it
    would not say); without it, nothing is asked.
    """

    def __init__(
        self,
        *,
        retry_every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        persistent: Callable[[], bool | None] | None = None,
    ) -> None:
        self._retry_every_s = retry_every_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._ask_persistent = persistent
        self.up = True  # assume so until a call says otherwise: the first call finds out
        self.down_since: float | None = None  # wall clock, for `logwatch status`
        self.error: str | None = None
        self.outages = 0
        self.persistent: bool | None = None  # as last found; None: not known
        self._retry_at = 0.0
        self._asked = False  # whether Redis was asked since this contact with it began

    def usable(self) -> bool:
        """Whether to try Redis now: it is up, or the next retry is due."""
        return self.up or self._clock() >= self._retry_at

    def failed(self, exc: StateUnavailableError) -> None:
        self._retry_at = self._clock() + self._retry_every_s
        self._asked = False
        self.error = str(exc)
        if self.up:
            self.up = False
            self.down_since = self._wall_clock()
            self.outages += 1
            logger.warning(
                "shared state unavailable (%s); deciding from this host's state until it"
                " answers (retrying every %.0fs; expect duplicate alerts meanwhile)",
                exc, self._retry_every_s,
            )

    def succeeded(self) -> None:
        if not self.up:
            down_s = self._wall_clock() - (self.down_since or self._wall_clock())
            logger.info("shared state available again after %.1fs; deciding with the fleet",
                        down_s)
            self.up, self.down_since, self.error = True, None, None
        if not self._asked:
            self._asked = True
            self._check_persistence()

    def _check_persistence(self) -> None:
        if self._ask_persistent is None:
            return
        try:
            found = self._ask_persistent()
        except StateUnavailableError as exc:
            # the next call finds out whether Redis is gone; this is only a warning's worth
            logger.debug("could not tell whether redis keeps its data across a restart (%s)",
                         exc)
            return
        if found is None:
            logger.debug("could not tell whether redis keeps its data across a restart:"
                         " it does not allow CONFIG GET")
        elif not found and self.persistent is not False:
            logger.warning(
                "redis keeps the fleet's state in memory only (save \"\", appendonly no): a"
                " restart of it forgets held counts, cooldowns, open incidents and known"
                " fingerprints (known errors alert again as new), and the fleet's silences"
                " until each host's daemon publishes its own again; on the redis server, set"
                " appendonly yes (or a save schedule)"
            )
        self.persistent = found

    def call(self, shared: Callable[[], T], local: Callable[[], T]) -> T:
        """``shared()`` when Redis may be used and answers, else ``local()``."""
        if self.usable():
            try:
                result = shared()
            except StateUnavailableError as exc:
                self.failed(exc)
            else:
                self.succeeded()
                return result
        return local()

    def status(self) -> dict[str, Any]:
        """What `logwatch status` shows about the shared state."""
        return {"backend": "redis", "shared": self.up, "down_since": self.down_since,
                "error": self.error, "outages": self.outages, "persistent": self.persistent}


class FailoverRuleState:
    """A RuleState on Redis that falls back to a local one while Redis is unavailable."""

    def __init__(self, shared: RedisRuleState, local: RuleState, link: SharedLink) -> None:
        self.shared = shared
        self.local = local
        self.link = link

    def window_add(self, key: str, member: str, at: float, within: float) -> tuple[int, float]:
        if key.startswith(LOCAL_TAG):
            return self.local.window_add(key.removeprefix(LOCAL_TAG), member, at, within)
        return self.link.call(
            lambda: self.shared.window_add(key, member, at, within),
            lambda: self.local.window_add(key, member, at, within),
        )

    def get(self, key: str) -> GroupState | None:
        if key.startswith(LOCAL_TAG):
            return self.local.get(key.removeprefix(LOCAL_TAG))
        return self.link.call(lambda: self.shared.get(key), lambda: self.local.get(key))

    def put(self, key: str, value: GroupState) -> None:
        if key.startswith(LOCAL_TAG):
            self.local.put(key.removeprefix(LOCAL_TAG), value)
            return
        self.link.call(lambda: self.shared.put(key, value), lambda: self.local.put(key, value))

    def delete(self, key: str) -> None:
        if key.startswith(LOCAL_TAG):
            self.local.delete(key.removeprefix(LOCAL_TAG))
            return
        self.link.call(lambda: self.shared.delete(key), lambda: self.local.delete(key))

    def due(self, now: float) -> list[tuple[str, GroupState]]:
        local = self.local.due(now)
        shared = self.link.call(lambda: self.shared.due(now), lambda: None)
        if shared is None:
            return local
        # Redis answers: what is due locally is left over from an outage.
        leftovers = [(LOCAL_TAG + key, group) for key, group in local]
        return sorted(shared + leftovers, key=lambda item: (item[1].due_at or 0.0, item[0]))

    def prune(self, now: float) -> int:
        pruned = self.local.prune(now)
        return pruned + self.link.call(lambda: self.shared.prune(now), lambda: 0)

    def quiet_until(self) -> None:
        return None  # other daemons add groups, and each tick tries the link again

    def sighting(self, fingerprint: str, occurrence: str, at: float) -> FingerprintState | None:
        return self.link.call(
            lambda: self.shared.sighting(fingerprint, occurrence, at),
            lambda: self.local.sighting(fingerprint, occurrence, at),
        )

    def resolve_fingerprint(self, fingerprint: str, at: float) -> None:
        self.link.call(
            lambda: self.shared.resolve_fingerprint(fingerprint, at),
            lambda: self.local.resolve_fingerprint(fingerprint, at),
        )

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        token = None
        if not key.startswith(LOCAL_TAG) and self.link.usable():
            try:
                token = self.shared.acquire(key)
            except StateUnavailableError as exc:
                self.link.failed(exc)
            else:
                self.link.succeeded()
        try:
            yield
        finally:
            if token is not None:
                try:
                    self.shared.release(key, token)
                except StateUnavailableError as exc:
                    # the lease expires by itself; only the next decisions must go local
                    self.link.failed(exc)
