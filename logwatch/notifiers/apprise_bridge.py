"""Alert -> Apprise: one alert to each of Apprise's URLs (``pip install 'logwatch[apprise]'``).

Apprise reaches a hundred-odd services, but it answers a send with "it
worked" or "it did not" and nothing more: no status, no Retry-After, no
telling a revoked token from an outage. So every failure is a
RetryableDeliveryError, retried from the outbox with backoff until it
succeeds; none is ever dead-lettered. A URL that Apprise cannot parse at all
is a config error, so ``logwatch check`` finds it. Apprise is synchronous
(requests), so a send runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.errors import RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers.base import NotifierOptions, Receipt
from logwatch.notifiers.escaping import break_mentions, break_tags, cut_end, printable

if TYPE_CHECKING:
    import apprise
    import httpx

BODY_CHARS = 10_000  # Apprise cuts further for each service's own limit
INSTALL = "the apprise notifier needs Apprise: pip install 'logwatch[apprise]'"


def _apprise() -> apprise.Apprise:
    """A new, empty Apprise; ImportError says how to install it."""
    try:
        import apprise  # an optional extra: imported only when used
    except ImportError:
        raise ImportError(INSTALL) from None
    return apprise.Apprise()


class AppriseOptions(NotifierOptions):
    # Apprise URLs carry tokens and passwords: never in repr() or an error message
    urls: list[str] = Field(min_length=1, repr=False)
    timeout: Duration = Field(30.0, gt=0, description="seconds to wait for all urls")

    @field_validator("urls")
    @classmethod
    def _apprise_understands(cls, urls: list[str]) -> list[str]:
        try:
            bridge = _apprise()
        except ImportError as exc:
            raise ValueError(str(exc)) from None
        for number, url in enumerate(urls, start=1):
            if not bridge.add(url):
                raise ValueError(f"url #{number} is not a URL Apprise understands")
        return urls


def title(alert: Alert) -> str:
    status = "RESOLVED" if alert.status is AlertStatus.RESOLVED else str(alert.severity).upper()
    return f"[{status}] {inert(alert.title)}"


def body(alert: Alert) -> str:
    facts = f"{alert.rule} on {alert.host} · {alert.file}:{alert.first_line}"
    if alert.count > 1:
        facts += f" · {alert.count} times"
    return cut_end(f"{facts}\n\n{inert(alert.text)}" if alert.text else facts, BODY_CHARS)


def inert(text: str) -> str:
    """Log text that no service behind Apprise reads as a mention or a tag.

    Apprise escapes markup per service, not mentions: to Discord it sends no
    ``allowed_mentions``, so a logged ``@everyone`` pinged the whole server
    (and with ``format=markdown`` Apprise allows the mentions it finds).
    """
    return break_tags(break_mentions(printable(text)))


def notify_type(alert: Alert) -> str:
    """Apprise's ``NotifyType`` value, which services show as a colour or an icon."""
    if alert.status is AlertStatus.RESOLVED:
        return "success"
    if alert.severity >= Severity.ERROR:
        return "failure"
    return "warning" if alert.severity is Severity.WARNING else "info"


class AppriseNotifier:
    """Send alerts through Apprise to every URL in ``urls``."""

    Options: ClassVar[type[AppriseOptions]] = AppriseOptions

    def __init__(
        self, name: str, options: AppriseOptions, *, client: httpx.AsyncClient | None = None
    ) -> None:
        self.name = name
        self._options = options
        _apprise()  # fail now, not at the first alert, when Apprise is missing

    async def send(self, alert: Alert) -> Receipt:
        import asyncio  # not at the top: `check` and `replay` validate these options only

        count = len(self._options.urls)
        try:
            delivered = await asyncio.wait_for(
                asyncio.to_thread(self._notify, alert), self._options.timeout
            )
        except TimeoutError:
            # the thread runs on until Apprise's own timeouts end it; the outbox retries
            raise RetryableDeliveryError(
                f"apprise: no answer from {count} url(s) within {self._options.timeout:g}s"
            ) from None
        if not delivered:
            raise RetryableDeliveryError(
                f"apprise: at least one of {count} url(s) failed; Apprise does not say why,"
                " so it is retried (its own log lines above name the service)"
            )
        return Receipt(status=None, detail=f"accepted by {count} Apprise url(s)")

    def _notify(self, alert: Alert) -> bool:
        # an Apprise object per send: sends run in threads, possibly several at
        # once, and Apprise does not say its objects may be shared between them
        bridge = _apprise()
        bridge.add(self._options.urls)
        return bool(
            bridge.notify(
                body=body(alert),
                title=title(alert),
                notify_type=notify_type(alert),
                body_format="text",  # markup is escaped per service; mentions by inert()
                interpret_escapes=False,
            )
        )

    async def aclose(self) -> None:
        """Nothing to release: Apprise opens a connection per send."""
