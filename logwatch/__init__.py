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

from typing import TYPE_CHECKING

from logwatch.lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
