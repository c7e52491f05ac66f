"""Alert -> a WeCom (企业微信) group robot markdown message.

WeCom's Markdown documents no escape, so the characters that start markup,
``<font>`` tags and ``<@userid>`` mentions in log text are swapped for their
fullwidth forms (see ``escaping.fullwidth_markup``). The content may hold
4,096 bytes of UTF-8 (not characters: a Chinese character takes 3). The
robot's ``key`` is its only credential. WeCom answers HTTP 200 even when it
refuses a message: the ``errcode`` in the body decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs

from pydantic import Field, field_validator, model_validator

from logwatch.config.fields import Duration
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import _chat, _http, _replies
from logwatch.notifiers.base import NotifierOptions, RateLimit, Receipt
from logwatch.notifiers.escaping import utf8_len

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
CONTENT_BYTES = 4096  # markdown.content, UTF-8
HEADLINE_BYTES = 200
TITLE_BYTES = 600
VALUE_BYTES = 300
FOOTER_BYTES = 400
# a blank line ends the quoted facts: Markdown would pull the next line into the quote
_SECTION_BREAK = "\n\n"

THROTTLED = 45009  # API frequency limit: 20 messages a minute per robot
THROTTLE_S = 60.0
# "system busy": WeCom's global error codes say to retry later, so it is an
# outage like a 5xx, not a refusal of this message
BUSY = -1
# the codes worth retrying, and how long to wait (None: the outbox's backoff)
RETRY_AFTER_S: Mapping[int, float | None] = {THROTTLED: THROTTLE_S, BUSY: None}
HINTS = {
    THROTTLED: "WeCom allows a robot 20 messages a minute",
    BUSY: "WeCom was busy; it will be retried",
    93000: "the webhook key is invalid; copy the robot's webhook URL again",
}
# the three colours WeCom's markdown knows: orange-red, grey, green
_COLORS = {
    Severity.CRITICAL: "warning",
    Severity.ERROR: "warning",
    Severity.WARNING: "comment",
    Severity.INFO: "comment",
}


class WeComOptions(NotifierOptions):
    url: str = Field(DEFAULT_URL, repr=False)  # may carry ?key=... itself
    key: str = Field("", repr=False)
    timeout: Duration | None = Field(
        None, gt=0, description="seconds to wait for the reply; default: delivery.timeout"
    )

    _check_url = field_validator("url")(_http.check_http_url)

    @field_validator("key", mode="before")
    @classmethod
    def _unset_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _needs_a_key(self) -> WeComOptions:
        import httpx

        query = parse_qs(httpx.URL(self.url).query.decode("ascii", "replace"))
        if not self.key and not query.get("key"):
            raise ValueError(
                "no key: set key, or url to the robot's webhook URL"
                " (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...)"
            )
        return self


def render(alert: Alert) -> dict[str, Any]:
    """The robot's JSON body; the content stays within ``CONTENT_BYTES``."""
    inert = _chat.fullwidth_inert
    resolved = alert.status is AlertStatus.RESOLVED
    color = "info" if resolved else _COLORS[alert.severity]
    rule = inert(alert.rule, HEADLINE_BYTES)
    head = "\n".join(
        [
            f'**<font color="{color}">{_chat.label(alert)}</font> · {rule}**',
            f"**{inert(alert.title, TITLE_BYTES)}**",
            *(f"> {key}: {inert(value, VALUE_BYTES)}" for key, value in _chat.facts(alert)),
        ]
    )
    tail = f'<font color="comment">{inert(_chat.footer(alert), FOOTER_BYTES)}</font>'
    if _chat.shows_traceback(alert):
        room = CONTENT_BYTES - utf8_len(_SECTION_BREAK.join([head, "", tail]))
        traceback = _chat.traceback_text(
            alert, room, size=_layout_size, escape=_chat.fullwidth_escape
        )
        middle = _chat.keep_lines(traceback)
    else:
        middle = inert(_chat.resolved_note(alert), TITLE_BYTES)
    content = _SECTION_BREAK.join([head, middle, tail])
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _layout_size(traceback: str) -> int:
    return utf8_len(_chat.keep_lines(traceback))


class WeComNotifier:
    """POST alerts to a WeCom group robot."""

    Options: ClassVar[type[WeComOptions]] = WeComOptions
    # 20 messages/min per robot (research/notifiers.md §0, §4: the official doc)
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit(count=20, per_s=60.0),)

    def __init__(self, name: str, options: WeComOptions, *, client: httpx.AsyncClient) -> None:
        self.name = name
        self._options = options
        self._client = client
        self._mask = _http.Masker.for_url(options.url, options.key)
        self._check = _replies.ErrorCodeCheck(
            "WeCom", ("errcode",), self._mask, throttled=RETRY_AFTER_S, hints=HINTS
        )

    def request_url(self) -> str:
        if not self._options.key:
            return self._options.url
        import httpx

        return str(httpx.URL(self._options.url).copy_merge_params({"key": self._options.key}))

    async def send(self, alert: Alert) -> Receipt:
        return await _http.post(
            self._client,
            self.request_url(),
            content=_chat.encode_json(render(alert)),
            headers={"Content-Type": "application/json", "User-Agent": _http.user_agent()},
            timeout_s=self._options.timeout,
            mask=self._mask,
            check=self._check,
        )

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the daemon."""
