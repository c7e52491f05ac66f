"""Alert -> a Telegram Bot API ``sendMessage`` call with ``parse_mode: HTML``.

Log text is HTML-escaped (``&``, ``<``, ``>``), so it cannot open a tag or a
link; outside the ``<pre>`` block every ``@`` is followed by a zero-width
space, so no ``@username`` mention forms. Link previews are off. The bot token
sits in the URL path and is masked in every message. Telegram answers
``{"ok": true, ...}``; errors carry ``error_code`` and ``description``, and a
429 says how long to wait in ``parameters.retry_after``.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from logwatch.config.fields import Duration
from logwatch.errors import PermanentDeliveryError
from logwatch.model import Alert
from logwatch.notifiers import _chat, _http, _replies
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import break_mentions, cut_escaped, printable

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://api.telegram.org"
TEXT_CHARS = 4096  # after entity parsing; counting the markup too keeps us below it
HEADLINE_CHARS = 200
TITLE_CHARS = 500
VALUE_CHARS = 300
FOOTER_CHARS = 500

# Telegram's descriptions are sentences; these fragments identify the common ones
_DESCRIPTION_HINTS = {
    "can't parse entities": "Telegram could not parse the HTML; please report this logwatch bug",
    "chat not found": "check chat_id, and that the bot was added to that chat",
    "bot was blocked": "the user blocked the bot",
    "bot was kicked": "the bot was removed from the chat; add it again",
    "not enough rights": "the bot may not post in this chat; make it a member who can",
}
_STATUS_HINTS = {
    401: "the bot token is not valid; check bot_token",
    403: "the bot may not post in this chat",
}


class TelegramOptions(NotifierOptions):
    url: str = Field(DEFAULT_URL, repr=False)  # the Bot API server (a local one, or a proxy)
    bot_token: str = Field(min_length=1, repr=False)
    chat_id: int | str  # -100... for groups and channels, or "@channelname"
    message_thread_id: int | None = None  # a topic of a forum group
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)

    def method_url(self, method: str) -> str:
        return f"{self.url.rstrip('/')}/bot{self.bot_token}/{method}"


def render_text(alert: Alert) -> str:
    """The message HTML, at most ``TEXT_CHARS`` characters."""
    facts = [
        f"{key}: {cut_escaped(value, VALUE_CHARS, _escape)}" for key, value in _chat.facts(alert)
    ]
    head = [
        f"<b>{cut_escaped(_chat.headline(alert), HEADLINE_CHARS, _escape)}</b>",
        f"<b>{cut_escaped(alert.title, TITLE_CHARS, _escape)}</b>",
        *facts,
    ]
    tail = [f"<i>{cut_escaped(_chat.footer(alert), FOOTER_CHARS, _escape)}</i>"]
    if not _chat.shows_traceback(alert):
        return "\n".join([*head, _escape(_chat.resolved_note(alert)), *tail])
    room = TEXT_CHARS - len("\n".join([*head, "<pre></pre>", *tail]))
    code = _chat.traceback_text(alert, room, escape=_code_escape)
    return "\n".join([*head, f"<pre>{code}</pre>", *tail])


def render(alert: Alert, options: TelegramOptions) -> dict[str, Any]:
    """The ``sendMessage`` JSON body."""
    body: dict[str, Any] = {
        "chat_id": options.chat_id,
        "text": render_text(alert),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    if options.message_thread_id is not None:
        body["message_thread_id"] = options.message_thread_id
    return body


def _code_escape(text: str) -> str:
    return html.escape(printable(text), quote=False)


def _escape(text: str) -> str:
    return break_mentions(_code_escape(text))


class TelegramCheck:
    """Telegram's verdict: ``ok`` in the JSON body, the wait of a 429 in ``parameters``."""

    def __init__(self, mask: _http.Masker) -> None:
        self._mask = mask

    def __call__(self, response: httpx.Response, where: str) -> None:
        data = _replies.reply_json(response)
        if data is None:
            if response.is_success:
                hint = "not a Telegram Bot API reply; check url"
                raise PermanentDeliveryError(_replies.describe(response, where, self._mask, hint))
            return  # a proxy's error page: the HTTP status decides
        if data.get("ok") is True:
            return
        parameters = data.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        if response.status_code == 429 or data.get("error_code") == 429:
            raise _replies.retry_later(response, where, self._mask, parameters.get("retry_after"))
        if response.status_code >= 500:
            return
        raise PermanentDeliveryError(
            _replies.describe(response, where, self._mask, _hint(response, data, parameters))
        )


def _hint(response: httpx.Response, data: dict[str, Any], parameters: dict[str, Any]) -> str:
    if "migrate_to_chat_id" in parameters:
        return f"the group became a supergroup: set chat_id to {parameters['migrate_to_chat_id']}"
    description = str(data.get("description", "")).lower()
    for fragment, hint in _DESCRIPTION_HINTS.items():
        if fragment in description:
            return hint
    return _STATUS_HINTS.get(response.status_code, "")


class TelegramNotifier:
    """Send alerts to a Telegram chat through a bot."""

    Options: ClassVar[type[TelegramOptions]] = TelegramOptions
    # about 1 message/s per chat and 20/min to one group (research/notifiers.md §0, §9:
    # Telegram Bot FAQ "My bot is hitting limits"); a chat may be a group, so both
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit(count=1, per_s=1.0),
        RateLimit(count=20, per_s=60.0),
    )

    def __init__(self, name: str, options: TelegramOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._url = options.method_url("sendMessage")
        self._mask = _http.Masker.for_url(self._url, options.bot_token)
        self._check = TelegramCheck(self._mask)

    async def send(self, alert: Alert) -> Receipt:
        return await _http.post(
            self._client,
            self._url,
            content=_chat.encode_json(render(alert, self._options)),
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
            check=self._check,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
