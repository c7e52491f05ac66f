"""Alert -> a Feishu (飞书) or Lark custom bot interactive card, optionally signed.

Log text goes only into ``plain_text`` objects, which Feishu shows as typed:
no Markdown, no links, no ``<at id=all>``; a zero-width space after every
``<`` keeps a mention tag from forming even so. A bot guarded by a keyword
only accepts messages containing it; one guarded by a secret wants
``timestamp`` (seconds) and ``sign`` in the body, where the HMAC key is
``"<timestamp>\\n<secret>"`` and the message is empty. Feishu answers with a
``code`` (older deployments: ``StatusCode``) that is 0 on success, with
HTTP 200 or 4xx. Lark is the same bot on Lark's international host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator, model_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import _chat, _http, _replies
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import break_tags, cut_escaped, printable

if TYPE_CHECKING:
    import httpx

FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/"
LARK_URL = "https://open.larksuite.com/open-apis/bot/v2/hook/"
BODY_BYTES = 20_000  # the request body limit, "about 20 KB"; measured as sent
HEADLINE_CHARS = 200
TITLE_CHARS = 500
VALUE_CHARS = 300
FOOTER_CHARS = 500

# frequency limits (100 a minute, 5 a second per bot): the outbox's backoff fits them
THROTTLED: Mapping[int, float | None] = {9499: None, 11232: None}
HINTS = {
    9499: "the bot allows 100 messages a minute and 5 a second",
    11232: "the bot allows 100 messages a minute and 5 a second",
    19021: "signature refused: check secret and that this machine's clock is right",
    19024: "the message lacks the bot's keyword: set keyword to one of them",
}
_TEMPLATES = {
    Severity.CRITICAL: "red",
    Severity.ERROR: "orange",
    Severity.WARNING: "yellow",
    Severity.INFO: "blue",
}


class FeishuOptions(NotifierOptions):
    url: str = Field(FEISHU_URL, repr=False)  # the webhook URL, or its base when token is set
    token: str = Field("", repr=False)  # the last part of the webhook URL
    secret: str = Field("", repr=False)  # signature verification (签名校验)
    keyword: str = ""  # one of the bot's custom keywords, added to every message
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)

    @field_validator("token", "secret", "keyword", mode="before")
    @classmethod
    def _unset_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _needs_a_token(self) -> FeishuOptions:
        import httpx

        last = httpx.URL(self.url).path.rstrip("/").rsplit("/", 1)[-1]
        if not self.token and last in ("", "hook"):
            raise ValueError(
                "no bot token: set token, or url to the bot's whole webhook URL"
                " (.../open-apis/bot/v2/hook/<token>)"
            )
        return self

    def webhook_url(self) -> str:
        return f"{self.url.rstrip('/')}/{self.token}" if self.token else self.url


class LarkOptions(FeishuOptions):
    url: str = Field(LARK_URL, repr=False)


def sign(secret: str, timestamp_s: str) -> str:
    """Base64 of HMAC-SHA256 keyed with ``"<timestamp>\\n<secret>"`` over nothing."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def render(
    alert: Alert, *, keyword: str = "", signature: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The bot's JSON body, ``signature`` fields first; within ``BODY_BYTES`` as sent."""
    template = "green" if alert.status is AlertStatus.RESOLVED else _TEMPLATES[alert.severity]
    facts = [f"{key}: {_inert(value, VALUE_CHARS)}" for key, value in _chat.facts(alert)]
    # the keyword is the operator's own word: it must arrive exactly as configured
    footer = " · ".join(filter(None, [_inert(_chat.footer(alert), FOOTER_CHARS), keyword]))
    elements = [
        _text(_inert(alert.title, TITLE_CHARS)),
        _text("\n".join(facts)),
        {"tag": "hr"},
        _text(""),
        {"tag": "note", "elements": [{"tag": "plain_text", "content": footer}]},
    ]
    card = {
        "config": {"wide_screen_mode": True},
        "header": {
            "template": template,
            "title": {
                "tag": "plain_text",
                "content": _inert(_chat.headline(alert), HEADLINE_CHARS),
            },
        },
        "elements": elements,
    }
    body = {**(signature or {}), "msg_type": "interactive", "card": card}
    if _chat.shows_traceback(alert):
        # the body without its traceback, measured as sent, leaves this much room
        room = BODY_BYTES - len(_chat.encode_json(body))
        elements[3] = _text(_chat.traceback_text(alert, room, size=_chat.json_size, escape=_escape))
    else:
        elements[3] = _text(_escape(_chat.resolved_note(alert)))
    return body


def _escape(text: str) -> str:
    return break_tags(printable(text))


def _inert(text: str, limit: int) -> str:
    return cut_escaped(text, limit, _escape)


def _text(content: str) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "plain_text", "content": content}}


class FeishuNotifier:
    """POST alerts as interactive cards to a Feishu custom bot."""

    Options: ClassVar[type[FeishuOptions]] = FeishuOptions
    # 100 requests/min and 5 requests/s per custom bot (research/notifiers.md §0, §5)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (
        RateLimit(count=5, per_s=1.0),
        RateLimit(count=100, per_s=60.0),
    )
    provider: ClassVar[str] = "Feishu"

    def __init__(
        self,
        name: str,
        options: FeishuOptions,
        *,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._clock = clock
        self._url = options.webhook_url()
        self._mask = _http.Masker.for_url(self._url, options.token, options.secret)
        self._check = _replies.ErrorCodeCheck(
            self.provider, ("code", "StatusCode"), self._mask, throttled=THROTTLED, hints=HINTS
        )

    def signature(self) -> dict[str, str]:
        """``timestamp`` and ``sign`` for the body, or nothing when no secret is set."""
        if not self._options.secret:
            return {}
        # Feishu refuses a timestamp more than an hour away from its clock
        timestamp = str(int(self._clock()))
        return {"timestamp": timestamp, "sign": sign(self._options.secret, timestamp)}

    async def send(self, alert: Alert) -> Receipt:
        body = render(alert, keyword=self._options.keyword, signature=self.signature())
        return await _http.post(
            self._client,
            self._url,
            content=_chat.encode_json(body),
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
            check=self._check,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""


class LarkNotifier(FeishuNotifier):
    """POST alerts as interactive cards to a Lark custom bot."""

    Options: ClassVar[type[FeishuOptions]] = LarkOptions
    provider: ClassVar[str] = "Lark"
