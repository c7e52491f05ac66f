"""logwatch: turn the exceptions in log files into alerts people act on.

The pipeline runs one way::

    sources/    bytes on disk -> Line        (tail, rotation, offsets)
    multiline/  Line -> Event                (traceback grammar, JSON, fingerprint)
    rules/      Event -> Alert | suppressed  (match, threshold, cooldown, redaction)
    store       Alert -> outbox row          (committed with the file offset)
    delivery/   outbox row -> notifier.send  (retry, backoff, dead letters)

What plugin authors may import is listed in ``__all__``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from logwatch.errors import (
        DeliveryError,
        LogwatchError,
        PermanentDeliveryError,
        RetryableDeliveryError,
    )
    from logwatch.model import Alert, AlertStatus, Event, Severity
    from logwatch.notifiers.base import Notifier, NotifierOptions, RateLimit, Receipt

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "AlertStatus",
    "DeliveryError",
    "Event",
    "LogwatchError",
    "Notifier",
    "NotifierOptions",
    "PermanentDeliveryError",
    "RateLimit",
    "Receipt",
    "RetryableDeliveryError",
    "Severity",
    "__version__",
]

# Imported on first use: importing any logwatch module runs this file first, and
# notifiers.base imports pydantic (~60 ms) and builds a model, which `--help` and a
# plugin's own import need not pay.
_LAZY = {
    "Alert": "logwatch.model",
    "AlertStatus": "logwatch.model",
    "DeliveryError": "logwatch.errors",
    "Event": "logwatch.model",
    "LogwatchError": "logwatch.errors",
    "Notifier": "logwatch.notifiers.base",
    "NotifierOptions": "logwatch.notifiers.base",
    "PermanentDeliveryError": "logwatch.errors",
    "RateLimit": "logwatch.notifiers.base",
    "Receipt": "logwatch.notifiers.base",
    "RetryableDeliveryError": "logwatch.errors",
    "Severity": "logwatch.model",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups find it without calling __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
