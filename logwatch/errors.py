"""Every error logwatch raises on purpose.

    LogwatchError
     ├── ConfigError            the config cannot be used; carries every problem at once
     ├── StateError             the state directory cannot be opened or is corrupt
     │    └── StateUnavailableError    the shared state (Redis) does not answer right now
     └── DeliveryError          a notifier could not deliver an alert
          ├── RetryableDeliveryError   try again later (timeouts, 408, 429, 5xx)
          └── PermanentDeliveryError   retrying cannot help (other 4xx, a bad payload)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class LogwatchError(Exception):
    """Base of every error logwatch raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a config file, located for an editor: PATH:LINE:COL."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class ConfigError(LogwatchError):
    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class StateError(LogwatchError):
    pass


class StateUnavailableError(StateError):
    """Connection refused, timed out or reset: the caller falls back to local state."""


class DeliveryError(LogwatchError):
    pass


class RetryableDeliveryError(DeliveryError):
    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentDeliveryError(DeliveryError):
    pass
