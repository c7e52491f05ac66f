"""Wiring of the rule engine's memory: this host's state.db, or Redis shared by a fleet.

With ``state: {backend: sqlite}`` (the default) the engine remembers and
mutes with the state dir alone. With ``backend: redis`` it decides with the
other daemons sharing the Redis prefix, falls back to the state dir while
Redis is unavailable (``rules.failover``), and mutes with the fleet's
silences as well as its own (``rules.redis_silences``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from logwatch.config import Config
from logwatch.errors import StateError
from logwatch.rules import AnySilencer, RuleState, Silencer, SilenceStore, SqliteRuleState


class RuleMemory:
    """The rule state and the silencer of one daemon; they outlive config reloads."""

    def __init__(self, config: Config) -> None:
        self.local = SqliteRuleState.in_dir(config.state_dir)
        self.silences = SilenceStore.in_dir(config.state_dir)
        self.state: RuleState = self.local
        self.silencer: Silencer = self.silences
        self._status: Callable[[], dict[str, Any]] | None = None  # set when shared
        self._close_shared: Callable[[], None] | None = None
        self._refresh_silences: Callable[[datetime], None] | None = None
        if config.state.backend == "redis":
            self._share(config)

    def _share(self, config: Config) -> None:
        try:
            # imported here: redis-py is the optional extra logwatch[redis]
            from logwatch.rules.failover import FailoverRuleState, SharedLink
            from logwatch.rules.redis_silences import SharedSilences
            from logwatch.rules.redis_state import RedisRuleState
        except ImportError as exc:
            raise StateError(
                f"state backend redis needs redis-py ({exc}); install logwatch[redis]"
            ) from exc
        settings = config.state
        if settings.url is None:  # the config refuses this; a Config built in code may not
            raise StateError("state backend redis needs url, like redis://10.0.0.5:6379/0")
        # No connection is made here: a Redis that is down at start is an outage
        # like any other, met by the local fallback.
        shared = RedisRuleState.from_url(
            settings.url,
            prefix=settings.prefix,
            timeout_s=settings.timeout,
            # CLIENT SETNAME refuses spaces; operators see the hosts in CLIENT LIST
            client_name="logwatch:" + "-".join(config.host.split()),
        )
        link = SharedLink(retry_every_s=settings.retry_every, persistent=shared.persistent)
        self.state = FailoverRuleState(shared, self.local, link)
        fleet_silences = SharedSilences(
            shared.client, link, prefix=settings.prefix, local=self.silences, host=config.host
        )
        self.silencer = AnySilencer(self.silences, fleet_silences)
        self._refresh_silences = fleet_silences.refresh
        self._status = link.status
        self._close_shared = shared.close

    def refresh(self, now: datetime) -> None:
        """Exchange silences with the fleet when due, whether or not alerts need them."""
        if self._refresh_silences is not None:
            self._refresh_silences(now)

    def status(self) -> dict[str, Any]:
        """For `logwatch status`: which backend, and whether the fleet's state is in use."""
        if self._status is None:
            return {"backend": "sqlite"}
        return self._status()

    def close(self) -> None:
        if self._close_shared is not None:
            self._close_shared()
        self.local.close()
        self.silences.close()
