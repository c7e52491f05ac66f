"""The DingTalk notifier: markdown body, signed URL, keyword, errcode replies."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import dingtalk
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.dingtalk import DingTalkNotifier
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

TOKEN = "0123456789abcdef0123456789abcdef"
SECRET = "SECf00dfacecafe0123456789"
NOW_S = 1767268800.123  # 2026-01-01 12:00:00.123 UTC
OK = {"errcode": 0, "errmsg": "ok"}
NBSP = "\u00a0"
INJECTIONS = (
    "<!channel>",
    "@everyone",
    "@here",
    '<at user_id="all">所有人</at>',
    "**bold** _em_ ~~gone~~ `code`",
    "# heading",
    "> quote",
    "[click here](http://evil.example)",
    "![pixel](http://evil.example/p.png)",
    '<font color="warning">red</font> <b>html</b>',
    "<@zhangsan>",
)


def robot_url(server: HTTPServer, query: str = f"?access_token={TOKEN}") -> str:
    return f"http://127.0.0.1:{server.port}/robot/send{query}"


def send(
    server: HTTPServer,
    alert: Alert,
    *,
    clock: Callable[[], float] = lambda: NOW_S,
    **options: Any,
) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = DingTalkNotifier.Options.model_validate(
                {"type": "dingtalk", "url": robot_url(server), **options}
            )
            return await DingTalkNotifier("ding", parsed, client=client, clock=clock).send(alert)

    return asyncio.run(go())


def fullwidth(text: str) -> str:
    """The fullwidth form (U+FF01..U+FF5E) of each ASCII character that starts markup."""
    return "".join(chr(ord(c) + 0xFEE0) if c in "<>[]*_`#~|@" else c for c in text)


def expected_sign(timestamp_ms: str) -> str:
    """The documented algorithm: HMAC-SHA256 keyed with the secret, Base64."""
    string_to_sign = f"{timestamp_ms}\n{SECRET}".encode()
    digest = hmac.new(SECRET.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class TestRequest:
    def test_posts_the_documented_markdown_message(self, server: HTTPServer) -> None:
        """msgtype markdown with a title and text; `at` names nobody."""
        server.expect_oneshot_request(
            "/robot/send",
            method="POST",
            query_string={"access_token": TOKEN},
            headers={"Content-Type": "application/json; charset=utf-8"},
        ).respond_with_data(json.dumps(OK), content_type="application/json")

        receipt = send(server, sample_alert())

        server.check_assertions()
        indent = NBSP * 2
        assert posted(server) == {
            "msgtype": "markdown",
            "markdown": {
                "title": "[CRITICAL] OperationalError: could not connect (db-down on web-1)",
                "text": (
                    "### CRITICAL · db-down\n\n"
                    "**OperationalError: could not connect**\n\n"
                    "Severity: critical  \n"
                    "Rule: db-down  \n"
                    "Host: web-1  \n"
                    "Source: web  \n"
                    "File: /var/log/shop/app.log:12-18  \n"
                    "Count: 1\n\n"
                    "2026-01-01 12:00:00,123 ERROR app.db query failed  \n"
                    "Traceback (most recent call last):  \n"
                    f'{indent}File "/srv/shop/app/db.py", line 88, in query  \n'
                    f"{indent * 2}conn = self.pool.connect()  \n"
                    f'{indent}File "/srv/shop/app/pool.py", line 41, in connect  \n'
                    f'{indent * 2}raise OperationalError("could not connect")  \n'
                    "sqlalchemy.exc.OperationalError: could not connect\n\n"
                    "logwatch · first seen 2026-01-01T12:00:00+00:00"
                    " · environment=production · service=shop"
                ),
            },
            "at": {"atMobiles": [], "atUserIds": [], "isAtAll": False},
        }
        assert receipt == Receipt(status=200, detail=json.dumps(OK))

    def test_access_token_option_goes_into_the_query(self, server: HTTPServer) -> None:
        """`access_token:` with the default-style URL is the same as the token in the URL."""
        server.expect_oneshot_request(
            "/robot/send", query_string={"access_token": TOKEN}
        ).respond_with_json(OK)

        async def go() -> None:
            async with httpx.AsyncClient() as client:
                options = DingTalkNotifier.Options.model_validate(
                    {"type": "dingtalk", "url": robot_url(server, ""), "access_token": TOKEN}
                )
                await DingTalkNotifier("ding", options, client=client).send(sample_alert())

        asyncio.run(go())
        server.check_assertions()

    def test_secret_adds_timestamp_and_sign_to_the_query(self, server: HTTPServer) -> None:
        """timestamp is the clock in ms; sign is Base64(HMAC-SHA256(secret, "ts\\nsecret"))."""
        timestamp = "1767268800123"
        server.expect_oneshot_request(
            "/robot/send",
            query_string={
                "access_token": TOKEN,
                "timestamp": timestamp,
                "sign": expected_sign(timestamp),
            },
        ).respond_with_json(OK)

        send(server, sample_alert(), secret=SECRET)

        server.check_assertions()

    def test_sign_is_percent_encoded_exactly_once(self, server: HTTPServer) -> None:
        """`+`, `/` and `=` of the Base64 arrive encoded once: twice is "sign not match"."""
        server.expect_oneshot_request("/robot/send").respond_with_json(OK)
        # this timestamp's signature contains "+", "/" and "=" (checked below)
        timestamp = next(
            str(ms)
            for ms in range(1767268800000, 1767268900000)
            if {"+", "/"} <= set(expected_sign(str(ms)))
        )

        send(server, sample_alert(), secret=SECRET, clock=lambda: int(timestamp) / 1000)

        request, _ = server.log[-1]
        raw = request.query_string.decode()
        assert "%25" not in raw
        assert "+" not in raw.split("sign=", 1)[1]
        assert parse_qs(raw)["sign"] == [expected_sign(timestamp)]

    def test_each_send_signs_with_the_current_time(self, server: HTTPServer) -> None:
        """A stored signature would be refused an hour later; every request gets a new one."""
        server.expect_request("/robot/send").respond_with_json(OK)
        times = iter([1767268800.0, 1767272400.5])

        async def go() -> None:
            async with httpx.AsyncClient() as client:
                options = DingTalkNotifier.Options.model_validate(
                    {"type": "dingtalk", "url": robot_url(server), "secret": SECRET}
                )
                notifier = DingTalkNotifier(
                    "ding", options, client=client, clock=lambda: next(times)
                )
                await notifier.send(sample_alert())
                await notifier.send(sample_alert())

        asyncio.run(go())
        stamps = [parse_qs(req.query_string.decode())["timestamp"][0] for req, _ in server.log]
        assert stamps == ["1767268800000", "1767272400500"]

    def test_keyword_appears_in_title_and_text(self, server: HTTPServer) -> None:
        """A keyword-guarded robot refuses messages without it; it arrives unescaped."""
        server.expect_oneshot_request("/robot/send").respond_with_json(OK)

        send(server, sample_alert(), keyword="告警_alert")

        markdown = posted(server)["markdown"]
        assert markdown["title"].endswith(" · 告警_alert")
        assert markdown["text"].endswith(" · 告警_alert")


class TestInertLogText:
    def test_markup_mentions_and_links_arrive_as_fullwidth_text(self, server: HTTPServer) -> None:
        """No markup character from a log line reaches DingTalk in its ASCII form."""
        server.expect_oneshot_request("/robot/send").respond_with_json(OK)
        attack = " ".join(INJECTIONS)
        alert = sample_alert(
            title=f"ValueError: {attack}",
            message=attack,
            text=f"ERROR {attack}\nTraceback (most recent call last):\nValueError: {attack}",
            host=f"web {attack}",
            source=attack,
            file=f"/var/log/{attack}.log",
            labels={"team": attack},
            exc_type="ValueError",
            rule="db*down",
        )

        send(server, alert)

        body = posted(server)
        everything = json.dumps(body, ensure_ascii=False)
        for piece in (
            "<at",
            "<!",
            '<font color="warning">red',
            "<b>",
            "](",
            "@everyone",
            "@here",
            "**bold",
            "# heading",
            "> quote",
            "`code`",
            "<@zhangsan",
        ):
            assert piece not in everything, piece
        assert fullwidth('<at user_id="all">所有人</at>') in body["markdown"]["text"]
        assert fullwidth("[click here](http://evil.example)") in body["markdown"]["text"]
        assert fullwidth("@everyone @here") in body["markdown"]["title"]
        assert body["at"] == {"atMobiles": [], "atUserIds": [], "isAtAll": False}

    def test_the_message_template_keeps_its_own_markup(self) -> None:
        """Only log text is made inert: the heading and bold of the template stay."""
        text = dingtalk.render(sample_alert(title="a*b"))["markdown"]["text"]
        assert text.startswith(f"### CRITICAL · db-down\n\n**{fullwidth('a*b')}**\n\n")


class TestLimits:
    def test_text_stays_within_4096_bytes_and_keeps_the_final_line(self) -> None:
        """Cut in UTF-8 bytes (Chinese takes 3), frames from the middle, the final line kept."""
        frames = [
            f'  File "/srv/应用/模块{n}.py", line {n}, in 函数{n}\n    调用()' for n in range(300)
        ]
        text = "\n".join(
            [
                "2026-01-01 12:00:00,123 ERROR app 任务失败",
                "Traceback (most recent call last):",
                *frames,
                "ValueError: 数据错误",
                "note: 重试 3 次",
            ]
        )
        alert = sample_alert(
            text=text, exc_type="ValueError", title="数" * 5000, labels={"k": "v" * 9000}
        )

        markdown = dingtalk.render(alert, keyword="告警")["markdown"]

        assert len(markdown["text"].encode()) <= dingtalk.TEXT_BYTES
        lines = markdown["text"].split("  \n")
        assert "2026-01-01 12:00:00,123 ERROR app 任务失败" in markdown["text"]
        assert "ValueError: 数据错误" in lines
        assert any(line.startswith("… ") and "lines cut" in line for line in lines)
        assert markdown["text"].endswith(" · 告警")

    def test_a_huge_final_line_keeps_its_start(self) -> None:
        alert = sample_alert(
            text="Traceback (most recent call last):\nValueError: " + "错" * 20_000,
            exc_type="ValueError",
        )
        text = dingtalk.render(alert)["markdown"]["text"]
        assert len(text.encode()) <= dingtalk.TEXT_BYTES
        assert "ValueError: 错错错" in text


def test_resolved_alert_says_so_without_the_traceback() -> None:
    """A resolved notice is short: RESOLVED in the heading and title, no traceback."""
    markdown = dingtalk.render(sample_alert(status=AlertStatus.RESOLVED))["markdown"]
    assert markdown["title"].startswith("[RESOLVED] ")
    assert markdown["text"].startswith("### RESOLVED · db-down\n\n")
    assert "Resolved: no new occurrence since 2026-01-01T12:00:00+00:00." in markdown["text"]
    assert "Traceback" not in markdown["text"]


class TestReplies:
    def test_errcode_0_is_delivered(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/robot/send").respond_with_json(OK)
        assert send(server, sample_alert()).status == 200

    def test_throttled_robot_retries_after_its_ten_minute_block(self, server: HTTPServer) -> None:
        """130101 "send too fast": DingTalk blocks the robot 10 minutes; HTTP was 200."""
        server.expect_oneshot_request("/robot/send").respond_with_json(
            {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        )

        with pytest.raises(RetryableDeliveryError, match=r"HTTP 200 .*130101") as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 600.0

    def test_system_busy_is_retryable(self, server: HTTPServer) -> None:
        """-1 "system busy": DingTalk's global return codes say retry later; not a dead letter."""
        server.expect_oneshot_request("/robot/send").respond_with_json(
            {"errcode": -1, "errmsg": "系统繁忙"}
        )

        with pytest.raises(RetryableDeliveryError, match=r"HTTP 200 .*-1") as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s is None  # the outbox's own backoff

    def test_security_refusal_is_permanent_with_a_remedy(self, server: HTTPServer) -> None:
        """310000 (keyword, signature or IP) cannot succeed on retry."""
        server.expect_oneshot_request("/robot/send").respond_with_json(
            {"errcode": 310000, "errmsg": "keywords not in content"}
        )

        with pytest.raises(PermanentDeliveryError, match="check keyword, secret and IP"):
            send(server, sample_alert())

    def test_other_errcodes_are_permanent(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/robot/send").respond_with_json(
            {"errcode": 300001, "errmsg": "token is not exist"}
        )

        with pytest.raises(PermanentDeliveryError, match="300001"):
            send(server, sample_alert())

    def test_200_without_errcode_is_not_a_delivery(self, server: HTTPServer) -> None:
        """A proxy's or a wrong host's "ok" is not DingTalk's success signal."""
        server.expect_oneshot_request("/robot/send").respond_with_data("ok")

        with pytest.raises(PermanentDeliveryError, match="not a DingTalk reply; check url"):
            send(server, sample_alert())

    def test_5xx_is_retryable(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/robot/send").respond_with_data("busy", status=502)

        with pytest.raises(RetryableDeliveryError, match="HTTP 502"):
            send(server, sample_alert())

    def test_token_and_secret_never_appear_in_errors(self, server: HTTPServer) -> None:
        echo = {"errcode": 310000, "errmsg": f"bad token {TOKEN} secret {SECRET}"}
        server.expect_oneshot_request("/robot/send").respond_with_json(echo)

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert(), secret=SECRET)
        assert TOKEN not in str(caught.value)
        assert SECRET not in str(caught.value)


def test_keeps_the_notifier_contract() -> None:
    requests = check_notifier_contract(
        DingTalkNotifier,
        {"secret": SECRET},
        f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}",
        ok_body=json.dumps(OK),
    )
    assert all(request.target.startswith("/robot/send?access_token=") for request in requests)


class TestOptions:
    def test_defaults(self) -> None:
        options = DingTalkNotifier.Options.model_validate(
            {"type": "dingtalk", "access_token": TOKEN}
        )
        assert options.url == "https://oapi.dingtalk.com/robot/send"
        assert (options.secret, options.keyword, options.timeout) == ("", "", None)

    def test_a_token_is_required(self) -> None:
        """Without access_token anywhere, `logwatch check` says how to give one."""
        with pytest.raises(pydantic.ValidationError, match="no access_token"):
            DingTalkNotifier.Options.model_validate({"type": "dingtalk"})

    def test_unset_secret_means_unsigned(self) -> None:
        """`secret: ${DINGTALK_SECRET:-}` left empty, or null, sends unsigned."""
        options = DingTalkNotifier.Options.model_validate(
            {"type": "dingtalk", "access_token": TOKEN, "secret": None}
        )
        assert options.secret == ""

    def test_repr_hides_token_and_secret(self) -> None:
        options = DingTalkNotifier.Options.model_validate(
            {
                "type": "dingtalk",
                "url": f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}",
                "secret": SECRET,
            }
        )
        assert TOKEN not in repr(options)
        assert SECRET not in repr(options)
