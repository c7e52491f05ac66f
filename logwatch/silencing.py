"""`logwatch silence` and `status`: the silences an operator sees and ends.

This host's silences are in its state dir. With ``state: {backend: redis}``
every daemon also publishes its own to Redis and mutes with the fleet's
(``rules.redis_silences``), so here the fleet's are listed too, one copy per
id, ``add`` publishes the new one at once (its host's daemon may be stopped),
and ``expire`` ends a silence made on any host, in Redis, where the shorter
end wins over every older copy. Without Redis (down, or its url in a variable
this shell lacks) this host's are still added, listed and ended, and
``unreachable`` says why the fleet was left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from logwatch.errors import ConfigError, StateUnavailableError
from logwatch.rules.silence_store import SilenceStore
from logwatch.rules.silences import LabelMatcher, Silence, first_to_end

if TYPE_CHECKING:
    from logwatch.rules.redis_silences import SharedSilences

# A command may wait longer on Redis than the daemon's reader does (state.timeout).
COMMAND_TIMEOUT_S = 2.0


class Silences:
    """This host's silences, and the fleet's when the rule state is shared."""

    def __init__(
        self,
        store: SilenceStore,
        *,
        fleet: SharedSilences | None = None,
        host: str = "",
        unreachable: str | None = None,
    ) -> None:
        self._store = store
        self._fleet = fleet
        self._host = host
        self.shared = fleet is not None or unreachable is not None
        # why the fleet's silences are missing from the last answer; None: they are in it
        self.unreachable = unreachable

    @classmethod
    def open(cls, config_path: Path, state_dir: Path) -> Silences:
        """The silences the config at ``config_path`` mutes with, whose state_dir it gave."""
        from logwatch.config import load_shared_state

        store = SilenceStore.in_dir(state_dir)
        try:
            settings, host = load_shared_state(config_path)
        except ConfigError as exc:
            problems = "; ".join(str(problem) for problem in exc.problems)
            return cls(store, unreachable=problems)
        if settings.backend != "redis" or settings.url is None:
            return cls(store)
        try:
            # imported here: redis-py is the optional extra logwatch[redis]
            from logwatch.rules.failover import SharedLink
            from logwatch.rules.redis_silences import SharedSilences
            from logwatch.rules.redis_state import connect
        except ImportError as exc:
            return cls(store, unreachable=f"redis-py is not installed ({exc})")
        client = connect(settings.url, timeout_s=max(settings.timeout, COMMAND_TIMEOUT_S))
        fleet = SharedSilences(client, SharedLink(), prefix=settings.prefix)
        return cls(store, fleet=fleet, host=host)

    def close(self) -> None:
        self._store.close()
        if self._fleet is not None:
            self._fleet.close()

    def add(
        self,
        matchers: Sequence[LabelMatcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        comment: str,
        created_by: str = "",
    ) -> Silence:
        """Add a silence here and, when the rule state is shared, for the fleet.

        It is published as this host's daemon publishes it (which then changes
        nothing), so that it reaches the fleet even while that daemon is stopped.
        When Redis cannot be reached, ``unreachable`` says why: the daemon
        publishes it once it runs and Redis answers.
        """
        silence = self._store.add(
            matchers, starts_at=starts_at, ends_at=ends_at, comment=comment, created_by=created_by
        )
        if self._fleet is not None:
            try:
                # added as it starts: starts_at is the now that dates the hash's expiry
                self._fleet.publish((replace(silence, host=self._host),), starts_at)
            except StateUnavailableError as exc:
                self.unreachable = str(exc)
        return silence

    def list(self, now: datetime, *, include_expired: bool = False) -> list[Silence]:
        """Active and pending silences (and ended ones, with include_expired), by start."""
        local = self._store.list(now, include_expired=True)
        if self.shared:
            local = [replace(silence, host=self._host) for silence in local]
        fleet: list[Silence] = []
        if self._fleet is not None:
            try:
                fleet = self._fleet.list(now, include_expired=True)
            except StateUnavailableError as exc:
                self.unreachable = str(exc)
        # an ended copy decides even when only live ones are asked for: it is the news
        merged = first_to_end(local, fleet)
        return [silence for silence in merged if include_expired or silence.ends_at > now]

    def expire(self, silence_id: str, now: datetime) -> bool:
        """End a silence now, here and for the fleet; False when none had that id or it
        had ended (as far as the fleet could be asked: see ``unreachable``)."""
        ended = self._store.expire(silence_id, now)
        if self._fleet is not None:
            try:
                ended = self._fleet.expire(silence_id, now) or ended
            except StateUnavailableError as exc:
                self.unreachable = str(exc)
        return ended
