"""Delivery stage, pacing: how many sends a notifier's provider accepts, and when.

A sliding-window log rather than a refilling token bucket: providers state
their limits as "N per window" (DingTalk: 20 a minute, then the robot is
muted for 10 minutes), and a full bucket plus its refill lets up to 2N through
in one window. Here no window of ``per_s`` seconds ever holds more than
``count`` sends, for every limit of the notifier. Pure: the caller passes the time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from logwatch.notifiers.base import RateLimit


class RateLimiter:
    """The sends of one notifier within its rate limits; ``take`` before each send."""

    def __init__(self, limits: Sequence[RateLimit]) -> None:
        if not limits:
            raise ValueError("a rate limiter needs at least one limit")
        self._limits = tuple(limits)
        # per limit, the times of its last `count` sends, oldest first
        self._sends: list[deque[float]] = [deque(maxlen=limit.count) for limit in self._limits]

    @property
    def capacity(self) -> int:
        """The most sends a backlog may hold before waiting means a window's delay or more."""
        return max(limit.count for limit in self._limits)

    @property
    def longest_s(self) -> float:
        return max(limit.per_s for limit in self._limits)

    def seed(self, sent_at: Iterable[float]) -> None:
        """Remember sends made before this limiter existed (an earlier run), oldest first."""
        for at in sent_at:
            for sends in self._sends:
                sends.append(at)

    def take(self, now: float) -> bool:
        """Count one send at ``now`` if every limit allows it; False (nothing counted) if not."""
        if self.free_at(now) > now:
            return False
        for sends in self._sends:
            sends.append(now)
        return True

    def free_at(self, now: float) -> float:
        """The earliest time, ``now`` or later, at which ``take`` succeeds."""
        at = now
        for limit, sends in zip(self._limits, self._sends, strict=True):
            if len(sends) == limit.count:
                # full: the oldest of the last `count` sends must leave the window
                at = max(at, sends[0] + limit.per_s)
        return at
