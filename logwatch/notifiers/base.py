"""The contract every notifier plugin keeps, built-in or third-party.

A notifier is a class registered in the entry-point group ``logwatch.notifiers``.
Its ``Options`` (a pydantic model) validates its part of the config; the
daemon constructs it once with those options and a shared HTTP client, and the
delivery worker awaits ``send`` for each alert. ``send`` returns a receipt on
success and raises ``RetryableDeliveryError`` or ``PermanentDeliveryError``
otherwise: the outbox needs to know which one it got.

A plugin may declare its provider's documented rate limit as
``rate_limits: ClassVar[tuple[RateLimit, ...]]``; the delivery worker, not the
plugin, keeps to it (the config's ``rate`` overrides it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from logwatch.model import Alert

if TYPE_CHECKING:  # httpx costs ~70 ms at import: `check` and `replay` never need it
    import httpx

# validation context key: True when the config shares rule state across hosts
# (here, not in _incident.py, so that loading a config does not import that module)
SHARED_STATE = "shared_state"


class NotifierOptions(BaseModel):
    """Base of every notifier's options: unknown keys are config errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the provider answered to a delivered alert, for `test-notify`."""

    status: int | None  # HTTP status, None for non-HTTP channels
    detail: str  # the reply body or a one-line summary, secrets masked


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` sends in any window of ``per_s`` seconds."""

    count: int
    per_s: float


class Notifier(Protocol):
    name: str

    async def send(self, alert: Alert) -> Receipt: ...

    async def aclose(self) -> None: ...


class NotifierFactory(Protocol):
    # a read-only property, not a ClassVar: mypy never matches a ClassVar
    # protocol member against a class object, so no plugin class could fit
    @property
    def Options(self) -> type[NotifierOptions]: ...  # noqa: N802

    def __call__(self, name: str, options: Any, *, client: httpx.AsyncClient) -> Notifier: ...
