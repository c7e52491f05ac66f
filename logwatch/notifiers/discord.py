"""Alert -> a Discord execute-webhook message: a short content line and one embed.

``allowed_mentions: {"parse": []}`` makes Discord ping nobody, whatever the
text says; Markdown in log text is backslash-escaped and every ``@`` is
followed by a zero-width space, so ``@everyone`` does not even look like a
mention. The traceback sits in a code block whose backticks cannot be closed
from inside. ``?wait=true`` makes Discord confirm that the message was saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.errors import PermanentDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import _chat, _http, _replies
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import (
    break_mentions,
    cut_end,
    cut_escaped,
    defuse_backticks,
    markdown_escape,
    printable,
)

if TYPE_CHECKING:
    import httpx

# Discord's limits, in characters (message.mdx "Embed Limits")
CONTENT_CHARS = 2000
EMBED_TITLE_CHARS = 256
DESCRIPTION_CHARS = 4096
FIELD_VALUE_CHARS = 1024
EMBED_TOTAL_CHARS = 6000  # title, description, field names and values, footer together
# ours, tighter: a notification is read on a phone
SUMMARY_CHARS = 500  # each of title, rule and host in the content line
TITLE_CHARS = 500
VALUE_CHARS = 200
FOOTER_CHARS = 300
FENCE = "```"

_COLORS = {
    Severity.CRITICAL: 0xE74C3C,
    Severity.ERROR: 0xE67E22,
    Severity.WARNING: 0xF1C40F,
    Severity.INFO: 0x3498DB,
}
RESOLVED_COLOR = 0x2ECC71
HINTS = {
    10015: "unknown webhook: it was deleted; create a new one and update url",
    50027: "invalid webhook token; copy the webhook URL again",
    50035: "Discord rejected the message; please report this as a logwatch bug",
}


class DiscordOptions(NotifierOptions):
    url: str = Field(repr=False)  # https://discord.com/api/webhooks/<id>/<token>
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)


def render(alert: Alert) -> dict[str, Any]:
    """The execute-webhook JSON body, within every one of Discord's limits."""
    resolved = alert.status is AlertStatus.RESOLVED
    heading = f"**{cut_escaped(alert.title, TITLE_CHARS, _escape)}**"
    embed: dict[str, Any] = {
        "title": cut_escaped(_chat.headline(alert), EMBED_TITLE_CHARS, _escape),
        "description": heading,
        "color": RESOLVED_COLOR if resolved else _COLORS[alert.severity],
        "fields": [
            {"name": key, "value": cut_escaped(value, VALUE_CHARS, _escape), "inline": True}
            for key, value in _chat.facts(alert)
        ],
        "timestamp": alert.last_seen.isoformat(),
        # footers are not Markdown: escaping would show, and mentions never ping there
        "footer": {"text": break_mentions(printable(cut_end(_chat.footer(alert), FOOTER_CHARS)))},
    }
    if _chat.shows_traceback(alert):
        frame = f"{heading}\n{FENCE}\n\n{FENCE}"
        room = min(
            DESCRIPTION_CHARS - len(frame),
            EMBED_TOTAL_CHARS - _embed_chars({**embed, "description": frame}),
        )
        code = _chat.traceback_text(alert, room, escape=_code_escape)
        embed["description"] = f"{heading}\n{FENCE}\n{code}\n{FENCE}"
    else:
        embed["description"] = f"{heading}\n{_escape(_chat.resolved_note(alert))}"
    return {
        "content": _chat.summary(alert, lambda words: cut_escaped(words, SUMMARY_CHARS, _escape)),
        "allowed_mentions": {"parse": []},
        "embeds": [embed],
    }


def _escape(text: str) -> str:
    return break_mentions(markdown_escape(printable(text)))


def _code_escape(text: str) -> str:
    # inside a code block only a closing fence is special
    return defuse_backticks(printable(text))


def _embed_chars(embed: dict[str, Any]) -> int:
    fields = sum(len(field["name"]) + len(field["value"]) for field in embed["fields"])
    return len(embed["title"]) + len(embed["description"]) + fields + len(embed["footer"]["text"])


class DiscordCheck:
    """Discord's replies: the wait of a 429 and the error codes of a 4xx, from the JSON body."""

    def __init__(self, mask: _http.Masker) -> None:
        self._mask = mask

    def __call__(self, response: httpx.Response, where: str) -> None:
        data = _replies.reply_json(response) or {}
        if response.status_code == 429:
            # the body's float seconds are more precise than the Retry-After header
            raise _replies.retry_later(response, where, self._mask, data.get("retry_after"))
        code = data.get("code")
        if response.is_client_error and isinstance(code, int) and code in HINTS:
            raise PermanentDeliveryError(
                _replies.describe(response, where, self._mask, HINTS[code])
            )


class DiscordNotifier:
    """POST alerts to a Discord channel webhook."""

    Options: ClassVar[type[DiscordOptions]] = DiscordOptions
    # Discord announces its per-webhook bucket in X-RateLimit-* headers and 429s
    # (research/notifiers.md §8); 5 per 2 s is the bucket commonly observed (unverified)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=5, per_s=2.0),)

    def __init__(self, name: str, options: DiscordOptions, *, client: httpx.AsyncClient) -> None:
        import httpx

        self.name = name
        self._options = options
        self._client = client
        # without wait=true Discord answers 204 even for a message it did not save
        self._url = str(httpx.URL(options.url).copy_merge_params({"wait": "true"}))
        self._mask = _http.Masker.for_url(options.url)
        self._check = DiscordCheck(self._mask)

    async def send(self, alert: Alert) -> Receipt:
        return await _http.post(
            self._client,
            self._url,
            content=_chat.encode_json(render(alert)),
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
            check=self._check,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
