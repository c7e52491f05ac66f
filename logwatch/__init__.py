"""logwatch: turn the exceptions in log files into alerts people act on.

The pipeline runs one way::

    sources/    bytes on disk -> Line        (tail, rotation, offsets)
    multiline/  Line -> Event                (traceback grammar, JSON, fingerprint)
    rules/      Event -> Alert | suppressed  (match, threshold, cooldown, redaction)
    store       Alert -> outbox row          (committed with the file offset)
    delivery/   outbox row -> notifier.send  (retry, backoff, dead letters)

What plugin authors may import is listed in ``__all__``.
"""

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
