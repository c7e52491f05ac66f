"""The Telegram notifier: sendMessage with HTML parse mode, escaping, Bot API replies."""

from __future__ import annotations

import asyncio
import html
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
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import telegram
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.telegram import TelegramNotifier
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
METHOD_PATH = f"/bot{TOKEN}/sendMessage"
CHAT = -1001234567890
ZWSP = "\u200b"
OK = {"ok": True, "result": {"message_id": 7}}
INJECTIONS = (
    "<!channel>",
    "@everyone",
    "@here",
    "@some_admin",
    '<at user_id="all">all</at>',
    "<b>bold</b> <i>it</i> <pre>x</pre> <tg-spoiler>s</tg-spoiler>",
    '<a href="http://evil.example">click here</a>',
    "[click](http://evil.example) **md** _md_",
    "&lt;b&gt; & &amp;",
)
OUR_TAGS = {"<b>", "</b>", "<pre>", "</pre>", "<i>", "</i>"}


def send(server: HTTPServer, alert: Alert, **options: Any) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = TelegramNotifier.Options.model_validate(
                {
                    "type": "telegram",
                    "url": f"http://127.0.0.1:{server.port}",
                    "bot_token": TOKEN,
                    "chat_id": CHAT,
                    **options,
                }
            )
            return await TelegramNotifier("tg", parsed, client=client).send(alert)

    return asyncio.run(go())


class TestRequest:
    def test_posts_send_message_with_html_parse_mode(self, server: HTTPServer) -> None:
        """POST /bot<token>/sendMessage; the traceback in <pre>; no link previews."""
        server.expect_oneshot_request(
            METHOD_PATH, method="POST", headers={"Content-Type": "application/json"}
        ).respond_with_data(json.dumps(OK), content_type="application/json")

        receipt = send(server, sample_alert())

        server.check_assertions()
        code = html.escape(sample_alert().text, quote=False)
        assert posted(server) == {
            "chat_id": CHAT,
            "text": (
                "<b>CRITICAL · db-down</b>\n"
                "<b>OperationalError: could not connect</b>\n"
                "Severity: critical\n"
                "Rule: db-down\n"
                "Host: web-1\n"
                "Source: web\n"
                "File: /var/log/shop/app.log:12-18\n"
                "Count: 1\n"
                f"<pre>{code}</pre>\n"
                "<i>logwatch · first seen 2026-01-01T12:00:00+00:00"
                " · environment=production · service=shop</i>"
            ),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        assert receipt == Receipt(status=200, detail=json.dumps(OK))

    def test_forum_topic_and_channel_name(self, server: HTTPServer) -> None:
        """`message_thread_id` posts into a topic; `chat_id` may be "@channelname"."""
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(OK)

        send(server, sample_alert(), chat_id="@ops_alerts", message_thread_id=42)

        body = posted(server)
        assert (body["chat_id"], body["message_thread_id"]) == ("@ops_alerts", 42)

    def test_url_override_keeps_a_path_prefix(self, server: HTTPServer) -> None:
        """A Bot API behind a proxy path gets /bot<token>/sendMessage below that path."""
        server.expect_oneshot_request(f"/tg{METHOD_PATH}").respond_with_json(OK)

        send(server, sample_alert(), url=f"http://127.0.0.1:{server.port}/tg/")

        server.check_assertions()


def test_resolved_alert_says_so_without_the_traceback() -> None:
    text = telegram.render_text(sample_alert(status=AlertStatus.RESOLVED))
    assert text.startswith("<b>RESOLVED · db-down</b>\n")
    assert "Resolved: no new occurrence since 2026-01-01T12:00:00+00:00." in text
    assert "<pre>" not in text


class TestInertLogText:
    def test_only_our_tags_reach_telegram(self, server: HTTPServer) -> None:
        """Log text is HTML-escaped; outside <pre> no @mention can form."""
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(OK)
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
            rule=f"rule {attack}",
        )

        send(server, alert)

        text = posted(server)["text"]
        assert set(re.findall(r"<[^>]*>", text)) <= OUR_TAGS
        before, code, after = re.split(r"</?pre>", text)
        for outside in (before, after):
            assert "@" not in outside.replace(f"@{ZWSP}", "")
        assert f"\nValueError: {attack[:100]}" in html.unescape(code)
        title = before.split("\n")[1].removeprefix("<b>").removesuffix("</b>")
        shown = f"ValueError: {attack}".replace("@", f"@{ZWSP}")
        assert html.unescape(title) == shown  # as typed, `&lt;` included


class TestLimits:
    def test_text_stays_within_4096_characters_and_keeps_the_final_line(self) -> None:
        """Counting the markup and entities too keeps the parsed text below the limit."""
        frames = [f'  File "/srv/app/mod{n}.py", line {n}\n    f<{n}>()' for n in range(2000)]
        text = "\n".join(
            [
                "2026-01-01 12:00:00,123 ERROR app.worker job failed",
                "Traceback (most recent call last):",
                *frames,
                "ValueError: <bad> & worse",
            ]
        )
        huge = "<&>" * 5000
        alert = sample_alert(text=text, exc_type="ValueError", title=huge, labels={huge: huge})

        rendered = telegram.render_text(alert)

        assert len(rendered) <= telegram.TEXT_CHARS
        code = html.unescape(rendered.split("<pre>")[1].split("</pre>")[0]).split("\n")
        assert code[0] == "2026-01-01 12:00:00,123 ERROR app.worker job failed"
        assert code[-1] == "ValueError: <bad> & worse"
        assert any(line.startswith("… ") and line.endswith(" lines cut …") for line in code)
        assert not re.search(r"&[a-z]*…", rendered)  # no entity cut in half

    @settings(max_examples=50, deadline=None)
    @given(st.text(alphabet=st.sampled_from("<&>a\n @"), min_size=1, max_size=9000))
    def test_any_text_fits_and_keeps_entities_whole(self, text: str) -> None:
        rendered = telegram.render_text(sample_alert(text=text))
        assert len(rendered) <= telegram.TEXT_CHARS
        assert set(re.findall(r"<[^>]*>", rendered)) <= OUR_TAGS
        assert not re.search(r"&(?!amp;|lt;|gt;)", rendered)


class TestReplies:
    def test_429_waits_what_parameters_retry_after_says(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 9",
                "parameters": {"retry_after": 9},
            },
            status=429,
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 9.0

    @pytest.mark.parametrize(
        ("status", "description", "hint"),
        [
            (400, "Bad Request: chat not found", "check chat_id"),
            (403, "Forbidden: bot was kicked from the supergroup chat", "add it again"),
            (401, "Unauthorized", "check bot_token"),
            (400, "Bad Request: can't parse entities: unsupported tag", "logwatch bug"),
        ],
    )
    def test_refusals_are_permanent_with_a_remedy(
        self, server: HTTPServer, status: int, description: str, hint: str
    ) -> None:
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(
            {"ok": False, "error_code": status, "description": description}, status=status
        )

        with pytest.raises(PermanentDeliveryError, match=hint):
            send(server, sample_alert())

    def test_group_upgraded_to_supergroup_names_the_new_chat_id(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -1009876543210},
            },
            status=400,
        )

        with pytest.raises(PermanentDeliveryError, match="set chat_id to -1009876543210"):
            send(server, sample_alert())

    def test_ok_false_in_a_200_is_not_a_delivery(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(
            {"ok": False, "description": "odd"}
        )

        with pytest.raises(PermanentDeliveryError, match="HTTP 200"):
            send(server, sample_alert())

    def test_5xx_is_retryable(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(
            {"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502
        )

        with pytest.raises(RetryableDeliveryError, match="HTTP 502"):
            send(server, sample_alert())

    def test_the_bot_token_never_appears_in_errors(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(METHOD_PATH).respond_with_json(
            {"ok": False, "error_code": 404, "description": f"Not Found: {METHOD_PATH}"},
            status=404,
        )

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        assert TOKEN not in str(caught.value)
        assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in str(caught.value)


def test_keeps_the_notifier_contract() -> None:
    requests = check_notifier_contract(
        TelegramNotifier,
        {"bot_token": TOKEN, "chat_id": CHAT},
        "https://api.telegram.org",
        ok_body=json.dumps(OK),
    )
    assert all(request.target == METHOD_PATH for request in requests)


class TestOptions:
    def test_defaults(self) -> None:
        options = TelegramNotifier.Options.model_validate(
            {"type": "telegram", "bot_token": TOKEN, "chat_id": CHAT}
        )
        assert options.url == "https://api.telegram.org"
        assert (options.message_thread_id, options.timeout) == (None, None)
        assert TOKEN not in repr(options)

    @pytest.mark.parametrize("missing", ["bot_token", "chat_id"])
    def test_bot_token_and_chat_id_are_required(self, missing: str) -> None:
        given: dict[str, Any] = {"type": "telegram", "bot_token": TOKEN, "chat_id": CHAT}
        del given[missing]
        with pytest.raises(pydantic.ValidationError, match=missing):
            TelegramNotifier.Options.model_validate(given)
