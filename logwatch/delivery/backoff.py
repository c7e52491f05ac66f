"""When to try a failed delivery again: capped exponential backoff with jitter."""

from __future__ import annotations

from collections.abc import Callable


def next_delay_s(
    attempts: int,
    *,
    initial_s: float,
    cap_s: float,
    retry_after_s: float | None = None,
    rng: Callable[[], float],
) -> float:
    """Delay before attempt ``attempts + 1``, given ``attempts`` failures so far.

    Full jitter in the upper half keeps a fleet of daemons from retrying in
    lockstep after an outage, while never retrying sooner than half the step.
    A provider's Retry-After wins over our own schedule, capped all the same.
    """
    if retry_after_s is not None and retry_after_s >= 0:
        return min(retry_after_s, cap_s)
    step = min(cap_s, initial_s * 2.0 ** max(attempts - 1, 0))
    return step * (0.5 + rng() / 2)
