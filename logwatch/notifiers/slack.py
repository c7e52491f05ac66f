"""Alert -> a Slack incoming-webhook message in Block Kit, log text made inert.

Every log-derived string is escaped (``&``, ``<``, ``>``) and placed in
``mrkdwn`` objects with ``verbatim: true``, so mentions, channel links and
spoofed links in a log line arrive as plain characters, and URLs are neither
linked nor unfurled. The header block, which Slack only accepts as
``plain_text``, carries nothing but the severity and the configured rule name.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import _chat, _http
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import (
    cut_end,
    cut_escaped,
    defuse_backticks,
    shorten_traceback,
    slack_escape,
)

if TYPE_CHECKING:
    import httpx

# Block Kit limits (docs.slack.dev text object, header and section blocks)
HEADER_CHARS = 150
SECTION_CHARS = 3000
# our own, tighter limits (counted after escaping): Slack rejects whole messages
# well below the sum of the per-block limits (msg_blocks_too_long), and a
# notification is read on a phone
TITLE_CHARS = 1000
FALLBACK_TITLE_CHARS = 200  # before escaping; the fallback is one line
VALUE_CHARS = 500
CONTEXT_CHARS = 1000
LINE_CHARS = 1000  # a traceback line longer than this keeps its start
FENCE = "```"

_REPORT_BUG = "Slack rejected the message; please report this as a logwatch bug"
_NEW_HOOK = "the webhook no longer works; create a new one in Slack and update url"
# Slack's documented error words (changelog "Improving error conditions for
# Incoming Webhooks"); the HTTP status decides retryable or permanent, these add the remedy
HINTS = {
    "invalid_payload": _REPORT_BUG,
    "invalid_blocks": _REPORT_BUG,
    "no_text": _REPORT_BUG,
    "msg_blocks_too_long": _REPORT_BUG,
    "user_not_found": _NEW_HOOK,
    "channel_not_found": _NEW_HOOK,
    "no_service": _NEW_HOOK,
    "no_active_hooks": _NEW_HOOK,
    "invalid_token": _NEW_HOOK,
    "channel_is_archived": "the channel is archived; unarchive it or point url at a new webhook",
    "action_prohibited": "a workspace admin restricts posting to this channel",
    "posting_to_general_channel_denied": "only admins may post to this channel",
    "rate_limited": "Slack allows about one message per second per webhook",
    "rollup_error": "an error inside Slack; it will be retried",
}


class SlackOptions(NotifierOptions):
    url: str = Field(repr=False)
    timeout: Duration | None = Field(
        None, gt=0, description="how long to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)


def render(alert: Alert) -> dict[str, Any]:
    """The incoming-webhook JSON body for ``alert``."""
    label = alert.severity.name if alert.status is AlertStatus.FIRING else "RESOLVED"
    title = cut_escaped(alert.title, TITLE_CHARS, slack_escape)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": cut_end(f"{label} · {alert.rule}", HEADER_CHARS),
            },
        },
        {"type": "section", "text": _text(f"*{title}*")},
        {"type": "section", "fields": [_text(f"*{k}*\n{v}") for k, v in _facts(alert)]},
    ]
    if _chat.shows_traceback(alert):
        blocks.append({"type": "section", "text": _text(traceback_block(alert))})
    elif alert.status is AlertStatus.RESOLVED:
        # as in the other chats: a notice that it went quiet, not the traceback again
        blocks.append({"type": "section", "text": _text(slack_escape(_chat.resolved_note(alert)))})
    blocks.append({"type": "context", "elements": [_text(_context(alert))]})
    fallback = (
        f"[{label}] {cut_end(alert.title, FALLBACK_TITLE_CHARS)} ({alert.rule} on {alert.host})"
    )
    return {
        # the notification and screen-reader text; Slack shows the blocks instead
        "text": slack_escape(fallback),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def traceback_block(alert: Alert) -> str:
    """The event text as a mrkdwn code block that fits one section.

    When too long, lines are cut from the middle; the final exception line and
    the lines after it (notes) stay, because that is what people read first.
    """
    body = shorten_traceback(
        alert.text,
        alert.exc_type,
        SECTION_CHARS - len(f"{FENCE}\n\n{FENCE}"),
        line_chars=LINE_CHARS,
        escape=_code_escape,
    )
    return f"{FENCE}\n{body}\n{FENCE}"


def _code_escape(text: str) -> str:
    return defuse_backticks(slack_escape(text))


def _facts(alert: Alert) -> list[tuple[str, str]]:
    raw = [
        ("Severity", str(alert.severity)),
        ("Rule", alert.rule),
        ("Host", alert.host),
        ("Source", alert.source),
        ("File", f"{alert.file}:{alert.first_line}-{alert.last_line}"),
        ("Count", str(alert.count)),
    ]
    return [(key, cut_escaped(value, VALUE_CHARS, slack_escape)) for key, value in raw]


def _context(alert: Alert) -> str:
    parts = ["logwatch", f"first seen {alert.first_seen.isoformat(timespec='seconds')}"]
    parts += [f"{key}={value}" for key, value in sorted(alert.labels.items())]
    return cut_escaped(" · ".join(parts), CONTEXT_CHARS, slack_escape)


def _text(mrkdwn: str) -> dict[str, Any]:
    # verbatim: Slack must not turn host names, paths or #words into links
    return {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}


class SlackNotifier:
    """POST alerts to a Slack incoming webhook."""

    Options: ClassVar[type[NotifierOptions]] = SlackOptions
    # ~1 message/s per webhook, short bursts tolerated (research/notifiers.md §0, §1;
    # slack-api-docs page_rate_limits.md): 3 in any 3 s is 1/s with a burst of 3 (ours)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=3, per_s=3.0),)

    def __init__(self, name: str, options: SlackOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._mask = _http.Masker.for_url(options.url)

    async def send(self, alert: Alert) -> Receipt:
        body = json.dumps(render(alert), ensure_ascii=False).encode()
        return await _http.post(
            self._client,
            self._options.url,
            content=body,
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
            hints=HINTS,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
