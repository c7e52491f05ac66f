"""Alert -> a DingTalk (钉钉) custom robot markdown message, optionally signed.

DingTalk's Markdown subset documents no escape, so the characters that start
markup or mentions in log text are swapped for their fullwidth forms (see
``escaping.fullwidth_markup``), and ``at`` names nobody: without ``atMobiles``
or ``isAtAll`` an ``@`` in the text notifies no one. A robot guarded by a
keyword only accepts messages containing it; one guarded by a secret wants
``timestamp`` (ms) and ``sign`` in the query. DingTalk answers HTTP 200 even
when it refuses a message: the ``errcode`` in the body decides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs

from pydantic import Field, field_validator, model_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert
from logwatch.notifiers import _chat, _http, _replies
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import cut_bytes, utf8_len

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://oapi.dingtalk.com/robot/send"
# DingTalk documents no size limit; its own advice is a short digest. Bytes,
# not characters, so that Chinese text (3 bytes a character) stays as short.
TEXT_BYTES = 4096
HEADLINE_BYTES = 200
TITLE_BYTES = 600
VALUE_BYTES = 300
FOOTER_BYTES = 400
HARD_BREAK = "  \n"  # Markdown joins single newlines into one line

THROTTLED = 130101  # "send too fast": more than 20 messages a minute
# a throttled robot stays blocked for 10 minutes; trying sooner only extends that
THROTTLE_S = 600.0
# "system busy": DingTalk's global return codes say to retry later, so it is
# an outage like a 5xx, not a refusal of this message
BUSY = -1
# the codes worth retrying, and how long to wait (None: the outbox's backoff)
RETRY_AFTER_S: Mapping[int, float | None] = {THROTTLED: THROTTLE_S, BUSY: None}
HINTS = {
    THROTTLED: "DingTalk blocks a robot for 10 minutes after 20 messages a minute",
    BUSY: "DingTalk was busy; it will be retried",
    310000: "the robot's security settings refused it: check keyword, secret and IP allow-list",
}


class DingTalkOptions(NotifierOptions):
    url: str = Field(DEFAULT_URL, repr=False)  # may carry ?access_token=... itself
    access_token: str = Field("", repr=False)
    secret: str = Field("", repr=False)  # "SEC...": sign every request
    keyword: str = ""  # one of the robot's custom keywords, added to every message
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)

    @field_validator("access_token", "secret", "keyword", mode="before")
    @classmethod
    def _unset_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _needs_a_token(self) -> DingTalkOptions:
        import httpx

        query = parse_qs(httpx.URL(self.url).query.decode("ascii", "replace"))
        if not self.access_token and not query.get("access_token"):
            raise ValueError(
                "no access_token: set access_token, or url to the robot's webhook URL"
                " (https://oapi.dingtalk.com/robot/send?access_token=...)"
            )
        return self


def sign(secret: str, timestamp_ms: str) -> str:
    """Base64 of HMAC-SHA256 keyed with the secret over ``"<timestamp>\\n<secret>"``."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def render(alert: Alert, *, keyword: str = "") -> dict[str, Any]:
    """The robot's JSON body; the markdown text stays within ``TEXT_BYTES``."""
    inert = _chat.fullwidth_inert
    facts = [f"{key}: {inert(value, VALUE_BYTES)}" for key, value in _chat.facts(alert)]
    head = [
        f"### {inert(_chat.headline(alert), HEADLINE_BYTES)}",
        f"**{inert(alert.title, TITLE_BYTES)}**",
        HARD_BREAK.join(facts),
    ]
    # the keyword is the operator's own word: it must arrive exactly as configured
    tail = [_with_keyword(inert(_chat.footer(alert), FOOTER_BYTES), keyword)]
    if _chat.shows_traceback(alert):
        room = TEXT_BYTES - utf8_len("\n\n".join([*head, "", *tail]))
        traceback = _chat.traceback_text(
            alert, room, size=_layout_size, escape=_chat.fullwidth_escape
        )
        middle = _layout(traceback)
    else:
        middle = inert(_chat.resolved_note(alert), TITLE_BYTES)
    return {
        "msgtype": "markdown",
        "markdown": {
            # what the chat list and the push notification show
            "title": _with_keyword(_title(alert), keyword),
            "text": "\n\n".join([*head, middle, *tail]),
        },
        # nobody is named, so nobody is notified, whatever "@" the text holds
        "at": {"atMobiles": [], "atUserIds": [], "isAtAll": False},
    }


def _title(alert: Alert) -> str:
    return cut_bytes(_chat.summary(alert, _chat.fullwidth_escape), TITLE_BYTES)


def _with_keyword(text: str, keyword: str) -> str:
    return f"{text} · {keyword}" if keyword else text


def _layout(traceback: str) -> str:
    return _chat.keep_lines(traceback, HARD_BREAK)


def _layout_size(traceback: str) -> int:
    return utf8_len(_layout(traceback))


class DingTalkNotifier:
    """POST alerts to a DingTalk custom robot."""

    Options: ClassVar[type[DingTalkOptions]] = DingTalkOptions
    # 20 messages/min per robot, then muted for 10 minutes, errcode 130101
    # (research/notifiers.md §0, §3)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=20, per_s=60.0),)

    def __init__(
        self,
        name: str,
        options: DingTalkOptions,
        *,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._clock = clock
        self._mask = _http.Masker.for_url(options.url, options.access_token, options.secret)
        self._check = _replies.ErrorCodeCheck(
            "DingTalk", ("errcode",), self._mask, throttled=RETRY_AFTER_S, hints=HINTS
        )

    def request_url(self) -> str:
        """The URL with the access token and, when a secret is set, a fresh signature."""
        params: dict[str, str] = {}
        if self._options.access_token:
            params["access_token"] = self._options.access_token
        if self._options.secret:
            # DingTalk refuses a timestamp more than an hour away from its clock
            timestamp = str(int(self._clock() * 1000))
            params["timestamp"] = timestamp
            params["sign"] = sign(self._options.secret, timestamp)
        import httpx

        # httpx percent-encodes "+", "/" and "=" of the signature exactly once
        return str(httpx.URL(self._options.url).copy_merge_params(params))

    async def send(self, alert: Alert) -> Receipt:
        body = render(alert, keyword=self._options.keyword)
        return await _http.post(
            self._client,
            self.request_url(),
            content=_chat.encode_json(body),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": _http.user_agent(),
            },
            timeout_s=self._options.timeout,
            mask=self._mask,
            check=self._check,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
