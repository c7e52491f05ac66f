"""Alert -> a Microsoft Teams Workflows webhook message carrying an Adaptive Card.

Workflows ("Post to a channel when a webhook request is received") accept
Adaptive Cards only, inside an ``attachments`` list that the flow loops over.
Log text goes into RichTextBlock TextRuns, which the Adaptive Card schema
renders without Markdown, so nothing in it can become a link or formatting;
Markdown in the header, facts and footer TextBlocks is backslash-escaped.
Mentions need ``msteams.entities``, which are never sent. The trigger answers
202 once the flow run is queued: failures inside the flow (a bad card, a
private channel) only show in the flow's run history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import _chat, _http
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import cut_end, cut_escaped, markdown_escape, printable

if TYPE_CHECKING:
    import httpx

MESSAGE_BYTES = 28 * 1024  # Teams' limit for one message (MS Learn "Create an Incoming Webhook")
HEADLINE_CHARS = 200
TITLE_CHARS = 500
VALUE_CHARS = 300
FOOTER_CHARS = 500
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Adaptive Card colour names: red for what pages someone, green for "resolved"
_COLORS = {
    Severity.CRITICAL: "Attention",
    Severity.ERROR: "Attention",
    Severity.WARNING: "Warning",
    Severity.INFO: "Accent",
}


class TeamsOptions(NotifierOptions):
    url: str = Field(repr=False)  # the flow's trigger URL; its sig= parameter is the key
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)


def render(alert: Alert) -> dict[str, Any]:
    """The webhook JSON body for ``alert``, within Teams' 28 KB."""
    if not _chat.shows_traceback(alert):
        return _message([*_head(alert), _run(_chat.resolved_note(alert)), _footer(alert)])
    body = [*_head(alert), _code(""), _footer(alert)]
    # the card with an empty traceback run, measured as sent, leaves this much room
    room = MESSAGE_BYTES - len(_chat.encode_json(_message(body)))
    body[-2] = _code(_chat.traceback_text(alert, room, size=_chat.json_size, escape=printable))
    return _message(body)


def _message(body: list[dict[str, Any]]) -> dict[str, Any]:
    card = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def _head(alert: Alert) -> list[dict[str, Any]]:
    color = "Good" if alert.status is AlertStatus.RESOLVED else _COLORS[alert.severity]
    facts = [
        {"title": key, "value": cut_escaped(value, VALUE_CHARS, markdown_escape)}
        for key, value in _chat.facts(alert)
    ]
    return [
        {
            "type": "TextBlock",
            "text": cut_escaped(_chat.headline(alert), HEADLINE_CHARS, markdown_escape),
            "weight": "Bolder",
            "size": "Medium",
            "color": color,
            "wrap": True,
        },
        _run(printable(cut_end(alert.title, TITLE_CHARS)), weight="Bolder"),
        {"type": "FactSet", "facts": facts},
    ]


def _footer(alert: Alert) -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "text": cut_escaped(_chat.footer(alert), FOOTER_CHARS, markdown_escape),
        "isSubtle": True,
        "size": "Small",
        "wrap": True,
    }


def _code(text: str) -> dict[str, Any]:
    return _run(text, fontType="Monospace")


def _run(text: str, **style: str) -> dict[str, Any]:
    # a TextRun is never parsed as Markdown, and keeps the traceback's line breaks
    return {
        "type": "RichTextBlock",
        "inlines": [{"type": "TextRun", "text": text, **style}],
    }


class TeamsNotifier:
    """POST alerts as Adaptive Cards to a Teams Workflows webhook."""

    Options: ClassVar[type[TeamsOptions]] = TeamsOptions
    # more than 4 requests/s are throttled (research/notifiers.md §0, §2: MS Learn
    # "Create an Incoming Webhook"; stated for connectors, assumed for Workflows)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=4, per_s=1.0),)

    def __init__(self, name: str, options: TeamsOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._mask = _http.Masker.for_url(options.url)

    async def send(self, alert: Alert) -> Receipt:
        return await _http.post(
            self._client,
            self._options.url,
            content=_chat.encode_json(render(alert)),
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
