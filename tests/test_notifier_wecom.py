"""The WeCom notifier: markdown body within 4,096 bytes, inert log text, errcode replies."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import wecom
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.wecom import WeComNotifier
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
OK = {"errcode": 0, "errmsg": "ok"}
NBSP = "\u00a0"
# the markup of the message template itself, around the log-derived words
TEMPLATE_MARKUP = re.compile(
    r'^\*\*<font color="\w+">[A-Z]+</font> · |\*\*$|^\*\*|^> |^<font color="comment">|</font>$',
    re.MULTILINE,
)
INJECTIONS = (
    "<!channel>",
    "@everyone",
    "@here",
    "@all",
    '<at user_id="all">所有人</at>',
    "**bold** *em* `code`",
    "# heading",
    "> quote",
    "[click here](http://evil.example)",
    '<font color="warning">red</font> <b>html</b>',
    "<@zhangsan>",
)


def send(server: HTTPServer, alert: Alert, **options: Any) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = WeComNotifier.Options.model_validate(
                {
                    "type": "wecom",
                    "url": f"http://127.0.0.1:{server.port}/cgi-bin/webhook/send?key={KEY}",
                    **options,
                }
            )
            return await WeComNotifier("wecom", parsed, client=client).send(alert)

    return asyncio.run(go())


def fullwidth(text: str) -> str:
    """The fullwidth form (U+FF01..U+FF5E) of each ASCII character that starts markup."""
    return "".join(chr(ord(c) + 0xFEE0) if c in "<>[]*_`#~|@" else c for c in text)


class TestRequest:
    def test_posts_the_documented_markdown_message(self, server: HTTPServer) -> None:
        """msgtype markdown, one content string: headline, quoted facts, traceback, footer."""
        server.expect_oneshot_request(
            "/cgi-bin/webhook/send",
            method="POST",
            query_string={"key": KEY},
            headers={"Content-Type": "application/json"},
        ).respond_with_data(json.dumps(OK), content_type="application/json")

        receipt = send(server, sample_alert())

        server.check_assertions()
        indent = NBSP * 2
        assert posted(server) == {
            "msgtype": "markdown",
            "markdown": {
                "content": (
                    '**<font color="warning">CRITICAL</font> · db-down**\n'
                    "**OperationalError: could not connect**\n"
                    "> Severity: critical\n"
                    "> Rule: db-down\n"
                    "> Host: web-1\n"
                    "> Source: web\n"
                    "> File: /var/log/shop/app.log:12-18\n"
                    "> Count: 1\n\n"
                    "2026-01-01 12:00:00,123 ERROR app.db query failed\n"
                    "Traceback (most recent call last):\n"
                    f'{indent}File "/srv/shop/app/db.py", line 88, in query\n'
                    f"{indent * 2}conn = self.pool.connect()\n"
                    f'{indent}File "/srv/shop/app/pool.py", line 41, in connect\n'
                    f'{indent * 2}raise OperationalError("could not connect")\n'
                    "sqlalchemy.exc.OperationalError: could not connect\n\n"
                    '<font color="comment">logwatch · first seen 2026-01-01T12:00:00+00:00'
                    " · environment=production · service=shop</font>"
                )
            },
        }
        assert receipt == Receipt(status=200, detail=json.dumps(OK))

    def test_key_option_goes_into_the_query(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(
            "/cgi-bin/webhook/send", query_string={"key": KEY}
        ).respond_with_json(OK)

        async def go() -> None:
            async with httpx.AsyncClient() as client:
                options = WeComNotifier.Options.model_validate(
                    {
                        "type": "wecom",
                        "url": f"http://127.0.0.1:{server.port}/cgi-bin/webhook/send",
                        "key": KEY,
                    }
                )
                await WeComNotifier("wecom", options, client=client).send(sample_alert())

        asyncio.run(go())
        server.check_assertions()

    @pytest.mark.parametrize(
        ("severity", "color"),
        [
            (Severity.CRITICAL, "warning"),
            (Severity.ERROR, "warning"),
            (Severity.WARNING, "comment"),
            (Severity.INFO, "comment"),
        ],
    )
    def test_severity_picks_one_of_the_three_colours(self, severity: Severity, color: str) -> None:
        content = wecom.render(sample_alert(severity=severity))["markdown"]["content"]
        assert content.startswith(f'**<font color="{color}">{severity.name}</font>')


def test_resolved_alert_is_green_and_short() -> None:
    content = wecom.render(sample_alert(status=AlertStatus.RESOLVED))["markdown"]["content"]
    assert content.startswith('**<font color="info">RESOLVED</font> · db-down**\n')
    assert "Resolved: no new occurrence since 2026-01-01T12:00:00+00:00." in content
    assert "Traceback" not in content


class TestInertLogText:
    def test_markup_mentions_and_links_arrive_as_fullwidth_text(self, server: HTTPServer) -> None:
        """No tag, mention, link or emphasis from a log line survives in its ASCII form."""
        server.expect_oneshot_request("/cgi-bin/webhook/send").respond_with_json(OK)
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

        content = posted(server)["markdown"]["content"]
        log_text = TEMPLATE_MARKUP.sub("", content)
        assert not set(log_text) & set("<>[]*_`#~|@")
        assert fullwidth("<@zhangsan>") in content
        assert fullwidth("[click here](http://evil.example)") in content
        assert fullwidth('<font color="warning">red</font>') in content
        assert fullwidth("db*down") in content.split("\n", 1)[0]


class TestLimits:
    def test_content_stays_within_4096_bytes_not_characters(self) -> None:
        """1,365 Chinese characters already fill 4,096 bytes; the final line stays."""
        frames = [f'  File "/srv/应用/模块{n}.py", line {n}\n    调用()' for n in range(300)]
        text = "\n".join(
            [
                "2026-01-01 12:00:00,123 ERROR app 任务失败",
                "Traceback (most recent call last):",
                *frames,
                "ValueError: 数据错误",
            ]
        )
        alert = sample_alert(text=text, exc_type="ValueError", title="数" * 3000)

        content = wecom.render(alert)["markdown"]["content"]

        assert len(content.encode("utf-8")) <= wecom.CONTENT_BYTES
        assert len(content) < wecom.CONTENT_BYTES  # a character count alone would allow more
        lines = content.split("\n")
        assert "2026-01-01 12:00:00,123 ERROR app 任务失败" in lines
        assert "ValueError: 数据错误" in lines
        assert any(line.startswith("… ") and line.endswith(" lines cut …") for line in lines)

    def test_every_field_at_its_worst_still_fits(self) -> None:
        huge = "界<" * 10_000
        alert = sample_alert(
            title=huge, rule=huge, host=huge, source=huge, file=huge, text=huge, labels={huge: huge}
        )
        content = wecom.render(alert)["markdown"]["content"]
        assert len(content.encode("utf-8")) <= wecom.CONTENT_BYTES

    @settings(max_examples=50, deadline=None)
    @given(st.text(min_size=1, max_size=3000), st.text(max_size=600))
    def test_any_text_fits_in_bytes(self, text: str, title: str) -> None:
        """Whatever the log holds (emoji take 4 bytes), the content fits 4,096 bytes."""
        content = wecom.render(sample_alert(text=text, title=title))["markdown"]["content"]
        assert len(content.encode("utf-8")) <= wecom.CONTENT_BYTES


class TestReplies:
    def test_frequency_limit_is_retryable_after_a_minute(self, server: HTTPServer) -> None:
        """45009: 20 messages a minute per robot; HTTP says 200 all the same."""
        server.expect_oneshot_request("/cgi-bin/webhook/send").respond_with_json(
            {"errcode": 45009, "errmsg": "api freq out of limit"}
        )

        with pytest.raises(RetryableDeliveryError, match="45009") as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 60.0

    def test_system_busy_is_retryable(self, server: HTTPServer) -> None:
        """-1 "system busy": WeCom's global error codes say retry later; not a dead letter."""
        server.expect_oneshot_request("/cgi-bin/webhook/send").respond_with_json(
            {"errcode": -1, "errmsg": "system busy"}
        )

        with pytest.raises(RetryableDeliveryError, match="-1") as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s is None  # the outbox's own backoff

    def test_invalid_key_is_permanent_with_a_remedy(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/cgi-bin/webhook/send").respond_with_json(
            {"errcode": 93000, "errmsg": "invalid webhook url"}
        )

        with pytest.raises(PermanentDeliveryError, match="copy the robot's webhook URL again"):
            send(server, sample_alert())

    def test_other_errcodes_are_permanent(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/cgi-bin/webhook/send").respond_with_json(
            {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        )

        with pytest.raises(PermanentDeliveryError, match="40058"):
            send(server, sample_alert())

    def test_200_without_errcode_is_not_a_delivery(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/cgi-bin/webhook/send").respond_with_data("<html>hi</html>")

        with pytest.raises(PermanentDeliveryError, match="not a WeCom reply"):
            send(server, sample_alert())

    def test_key_never_appears_in_errors(self, server: HTTPServer) -> None:
        server.expect_oneshot_request("/cgi-bin/webhook/send").respond_with_json(
            {"errcode": 93000, "errmsg": f"invalid webhook url, key={KEY}"}
        )

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        assert KEY not in str(caught.value)


def test_keeps_the_notifier_contract() -> None:
    check_notifier_contract(
        WeComNotifier,
        {},
        f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
        ok_body=json.dumps(OK),
    )


class TestOptions:
    def test_default_url_with_a_key(self) -> None:
        options = WeComNotifier.Options.model_validate({"type": "wecom", "key": KEY})
        assert options.url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"

    def test_a_key_is_required(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="no key"):
            WeComNotifier.Options.model_validate({"type": "wecom"})

    def test_repr_hides_the_key(self) -> None:
        options = WeComNotifier.Options.model_validate({"type": "wecom", "key": KEY})
        url_options = WeComNotifier.Options.model_validate(
            {"type": "wecom", "url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"}
        )
        assert KEY not in repr(options) + repr(url_options)
