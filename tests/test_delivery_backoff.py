"""When a failed delivery is tried again."""

from __future__ import annotations

import pytest

from logwatch.delivery.backoff import next_delay_s


class TestBackoff:
    @pytest.mark.parametrize(
        ("attempts", "low", "high"),
        [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (6, 16.0, 32.0), (20, 30.0, 60.0)],
    )
    def test_doubles_with_jitter_up_to_the_cap(
        self, attempts: int, low: float, high: float
    ) -> None:
        """Each failure doubles the step, jittered within its upper half, capped."""
        lowest = next_delay_s(attempts, initial_s=1, cap_s=60, rng=lambda: 0.0)
        highest = next_delay_s(attempts, initial_s=1, cap_s=60, rng=lambda: 1.0)
        assert (lowest, highest) == (low, high)

    def test_retry_after_wins_but_is_capped(self) -> None:
        """A provider's Retry-After is obeyed, never beyond the cap."""
        assert next_delay_s(1, initial_s=1, cap_s=60, retry_after_s=30, rng=lambda: 0.5) == 30
        assert next_delay_s(1, initial_s=1, cap_s=60, retry_after_s=600, rng=lambda: 0.5) == 60
