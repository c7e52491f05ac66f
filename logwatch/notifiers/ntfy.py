"""Alert -> an ntfy notification, published as JSON to the server's root URL.

JSON rather than ``X-Title``-style headers, because header values cannot
carry non-ASCII text without RFC 2047 encoding. The message is plain text
(``markdown`` is never set), so log text renders as typed. Priority follows
severity; a resolved alert is quiet. Messages over 4,096 bytes would become
an attachment, so the traceback is cut to fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import _chat, _http
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import cut_bytes, cut_end, printable, utf8_len

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://ntfy.sh"
MESSAGE_BYTES = 4096  # the server default; beyond it the message turns into an attachment
TITLE_CHARS = 250
LINE_BYTES = 600  # the title line, each fact, the footer

# ntfy priorities: 5 max/urgent ... 1 min; tags that name an emoji show as that emoji
_PRIORITIES = {Severity.CRITICAL: 5, Severity.ERROR: 4, Severity.WARNING: 3, Severity.INFO: 2}
_TAGS = {
    Severity.CRITICAL: "rotating_light",
    Severity.ERROR: "x",
    Severity.WARNING: "warning",
    Severity.INFO: "information_source",
}
_IN_TITLE = frozenset({"Severity", "Rule"})
RESOLVED_PRIORITY = 2  # good news need not buzz a phone at night
RESOLVED_TAG = "white_check_mark"


class NtfyOptions(NotifierOptions):
    url: str = Field(DEFAULT_URL, repr=False)  # the server's root: JSON is published there
    topic: str = Field(min_length=1, repr=False)  # on a public server, whoever knows it can read
    token: str = Field("", repr=False)  # an access token (tk_...), sent as a Bearer token
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)

    @field_validator("token", mode="before")
    @classmethod
    def _unset_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


def render(alert: Alert, topic: str) -> dict[str, Any]:
    """The JSON publish body; ``message`` stays within ``MESSAGE_BYTES``."""
    resolved = alert.status is AlertStatus.RESOLVED
    head = [
        _line(alert.title),
        # severity and rule are in the notification's title already
        *(_line(f"{key}: {value}") for key, value in _chat.facts(alert) if key not in _IN_TITLE),
    ]
    tail = [_line(_chat.footer(alert))]
    if _chat.shows_traceback(alert):
        room = MESSAGE_BYTES - utf8_len("\n\n".join(["\n".join(head), "", *tail]))
        middle = _chat.traceback_text(alert, room, size=utf8_len, escape=printable)
    else:
        middle = _line(_chat.resolved_note(alert))
    return {
        "topic": topic,
        "title": printable(cut_end(_chat.headline(alert), TITLE_CHARS)),
        "message": "\n\n".join(["\n".join(head), middle, *tail]),
        "priority": RESOLVED_PRIORITY if resolved else _PRIORITIES[alert.severity],
        "tags": [RESOLVED_TAG if resolved else _TAGS[alert.severity]],
    }


def _line(text: str) -> str:
    return cut_bytes(printable(text), LINE_BYTES)


class NtfyNotifier:
    """Publish alerts to an ntfy topic."""

    Options: ClassVar[type[NtfyOptions]] = NtfyOptions
    # the server's default: a burst of 60, then 1 request per 5 s per visitor
    # (research/notifiers.md §10); self-hosted servers may differ (set `rate`)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=60, per_s=300.0),)

    def __init__(self, name: str, options: NtfyOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._mask = _http.Masker.for_url(options.url, options.token, options.topic)

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": _http.user_agent()}
        if self._options.token:
            headers["Authorization"] = f"Bearer {self._options.token}"
        return headers

    async def send(self, alert: Alert) -> Receipt:
        return await _http.post(
            self._client,
            self._options.url,
            content=_chat.encode_json(render(alert, self._options.topic)),
            headers=self.headers(),
            timeout_s=self._options.timeout,
            mask=self._mask,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
