"""The Feishu notifier: interactive card of plain text, signature in the body, code replies."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import feishu
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.feishu import FeishuNotifier
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

TOKEN = "2f0b8e4c-1d3a-4e5f-9a7b-6c5d4e3f2a1b"
HOOK_PATH = f"/open-apis/bot/v2/hook/{TOKEN}"
SECRET = "qR7sT9uV1wX3yZ5a"
NOW_S = 1767268800.9  # 2026-01-01 12:00:00.9 UTC
OK = {"code": 0, "data": {}, "msg": "success"}
ZWSP = "\u200b"
INJECTIONS = (
    "<!channel>",
    "@everyone",
    "@here",
    '<at user_id="all">所有人</at>',
    "<at id=all></at>",
    "**bold** _em_ ~~gone~~ `code`",
    "# heading",
    "[click here](http://evil.example)",
    "<a href='http://evil.example'>x</a> <font color='red'>red</font>",
)


def send(
    server: HTTPServer,
    alert: Alert,
    *,
    clock: Callable[[], float] = lambda: NOW_S,
    **options: Any,
) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            parsed = FeishuNotifier.Options.model_validate(
                {"type": "feishu", "url": f"http://127.0.0.1:{server.port}{HOOK_PATH}", **options}
            )
            return await FeishuNotifier("feishu", parsed, client=client, clock=clock).send(alert)

    return asyncio.run(go())


def expected_sign(timestamp_s: str) -> str:
    """The documented algorithm: HMAC-SHA256 keyed with "ts\\nsecret" over an empty message."""
    key = f"{timestamp_s}\n{SECRET}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def text_objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every text object of the card: the dicts whose tag says how to render content."""
    if isinstance(value, dict):
        if "content" in value:
            yield value
        for item in value.values():
            yield from text_objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from text_objects(item)


def plain(content: str) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "plain_text", "content": content}}


class TestRequest:
    def test_posts_the_documented_interactive_card(self, server: HTTPServer) -> None:
        """msg_type interactive; header, title, facts, traceback and a note, all plain text."""
        server.expect_oneshot_request(
            HOOK_PATH, method="POST", headers={"Content-Type": "application/json"}
        ).respond_with_data(json.dumps(OK), content_type="application/json")

        receipt = send(server, sample_alert())

        server.check_assertions()
        assert posted(server) == {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "template": "red",
                    "title": {"tag": "plain_text", "content": "CRITICAL · db-down"},
                },
                "elements": [
                    plain("OperationalError: could not connect"),
                    plain(
                        "Severity: critical\nRule: db-down\nHost: web-1\nSource: web\n"
                        "File: /var/log/shop/app.log:12-18\nCount: 1"
                    ),
                    {"tag": "hr"},
                    plain(sample_alert().text),
                    {
                        "tag": "note",
                        "elements": [
                            {
                                "tag": "plain_text",
                                "content": "logwatch · first seen 2026-01-01T12:00:00+00:00"
                                " · environment=production · service=shop",
                            }
                        ],
                    },
                ],
            },
        }
        assert receipt == Receipt(status=200, detail=json.dumps(OK))

    def test_secret_puts_timestamp_and_sign_first_in_the_body(self, server: HTTPServer) -> None:
        """timestamp in seconds; sign is Base64(HMAC-SHA256(key="ts\\nsecret", msg=""))."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(OK)

        send(server, sample_alert(), secret=SECRET)

        body = posted(server)
        assert list(body)[:2] == ["timestamp", "sign"]
        assert body["timestamp"] == "1767268800"
        assert body["sign"] == expected_sign("1767268800")

    def test_no_secret_sends_no_signature(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(OK)

        send(server, sample_alert(), secret=None)

        assert "sign" not in posted(server)
        assert "timestamp" not in posted(server)

    def test_token_option_completes_the_default_url(self, server: HTTPServer) -> None:
        """`token:` is appended to url, which then is the hook base."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(OK)

        send(
            server,
            sample_alert(),
            url=f"http://127.0.0.1:{server.port}/open-apis/bot/v2/hook/",
            token=TOKEN,
        )

        server.check_assertions()

    def test_keyword_is_in_the_note(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(OK)

        send(server, sample_alert(), keyword="告警")

        note = posted(server)["card"]["elements"][-1]["elements"][0]["content"]
        assert note.endswith(" · 告警")

    @pytest.mark.parametrize(
        ("severity", "template"),
        [
            (Severity.CRITICAL, "red"),
            (Severity.ERROR, "orange"),
            (Severity.WARNING, "yellow"),
            (Severity.INFO, "blue"),
        ],
    )
    def test_header_colour_follows_severity(self, severity: Severity, template: str) -> None:
        assert (
            feishu.render(sample_alert(severity=severity))["card"]["header"]["template"] == template
        )


def test_resolved_alert_is_green_and_short() -> None:
    card = feishu.render(sample_alert(status=AlertStatus.RESOLVED))["card"]
    assert card["header"]["template"] == "green"
    assert card["header"]["title"]["content"] == "RESOLVED · db-down"
    assert card["elements"][3] == plain(
        "Resolved: no new occurrence since 2026-01-01T12:00:00+00:00."
    )


class TestInertLogText:
    def test_everything_is_plain_text_and_no_at_tag_forms(self, server: HTTPServer) -> None:
        """plain_text shows Markdown and links as typed; `<` never starts a tag."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(OK)
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
            rule="db<at id=all>",
        )

        send(server, alert)

        body = posted(server)
        objects = list(text_objects(body["card"]))
        assert objects
        assert all(obj["tag"] == "plain_text" for obj in objects)
        contents = [obj["content"] for obj in objects]
        assert all("<" + ZWSP in text for text in contents if "<" in text)
        assert all("<a" not in text and "<at" not in text for text in contents)
        shown = attack.replace("<", "<" + ZWSP)
        assert f"ValueError: {shown}" in contents[1].split("\n")
        assert "[click here](http://evil.example)" in contents[1]


class TestLimits:
    def test_body_stays_within_20_kb_and_keeps_the_final_line(self) -> None:
        """Measured on the JSON bytes sent, where `"` costs two and Chinese three."""
        frames = [f'  File "/srv/应用/模块{n}.py", line {n}\n    call("{n}")' for n in range(2000)]
        text = "\n".join(
            [
                "2026-01-01 12:00:00,123 ERROR app 任务失败",
                "Traceback (most recent call last):",
                *frames,
                'ValueError: "数据错误"',
            ]
        )
        alert = sample_alert(text=text, exc_type="ValueError", labels={"k": '"' * 9000})

        body = feishu.render(alert, signature={"timestamp": "1767268800", "sign": "x" * 44})

        size = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
        assert size <= feishu.BODY_BYTES
        lines = body["card"]["elements"][3]["text"]["content"].split("\n")
        assert lines[0] == "2026-01-01 12:00:00,123 ERROR app 任务失败"
        assert lines[-1] == 'ValueError: "数据错误"'
        assert any(line.startswith("… ") and line.endswith(" lines cut …") for line in lines)


class TestReplies:
    @pytest.mark.parametrize(
        "reply",
        [{"code": 0, "msg": "success", "data": {}}, {"StatusCode": 0, "StatusMessage": "success"}],
    )
    def test_both_success_shapes_are_delivered(
        self, server: HTTPServer, reply: dict[str, Any]
    ) -> None:
        """`code` is current; older deployments answer `StatusCode`."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(reply)
        assert send(server, sample_alert()).status == 200

    @pytest.mark.parametrize(("status", "code"), [(200, 11232), (400, 9499)])
    def test_frequency_limits_are_retryable(
        self, server: HTTPServer, status: int, code: int
    ) -> None:
        """100 a minute and 5 a second per bot: back off and try again."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(
            {"code": code, "msg": "frequency limited", "data": {}}, status=status
        )

        with pytest.raises(RetryableDeliveryError, match=str(code)):
            send(server, sample_alert())

    @pytest.mark.parametrize(
        ("code", "hint"),
        [(19021, "check secret and that this machine's clock"), (19024, "set keyword")],
    )
    def test_signature_and_keyword_refusals_are_permanent(
        self, server: HTTPServer, code: int, hint: str
    ) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(
            {"code": code, "msg": "sign match fail or timestamp is not within one hour"},
            status=400,
        )

        with pytest.raises(PermanentDeliveryError, match=hint):
            send(server, sample_alert(), secret=SECRET)

    def test_old_status_code_errors_are_permanent(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(
            {"StatusCode": 10208, "StatusMessage": "msg_type unsupported"}
        )

        with pytest.raises(PermanentDeliveryError, match="10208"):
            send(server, sample_alert())

    def test_200_without_a_code_is_not_a_delivery(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_data("ok")

        with pytest.raises(PermanentDeliveryError, match="not a Feishu reply; check url"):
            send(server, sample_alert())

    def test_token_and_secret_never_appear_in_errors(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(
            {"code": 19021, "msg": f"bad {TOKEN} {SECRET}"}
        )

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert(), secret=SECRET)
        assert TOKEN not in str(caught.value)
        assert SECRET not in str(caught.value)


def test_keeps_the_notifier_contract() -> None:
    check_notifier_contract(
        FeishuNotifier,
        {"secret": SECRET},
        f"https://open.feishu.cn{HOOK_PATH}",
        ok_body=json.dumps(OK),
    )


class TestOptions:
    def test_default_url_with_a_token(self) -> None:
        options = FeishuNotifier.Options.model_validate({"type": "feishu", "token": TOKEN})
        assert options.webhook_url() == f"https://open.feishu.cn{HOOK_PATH}"

    @pytest.mark.parametrize(
        "url", ["https://open.feishu.cn/open-apis/bot/v2/hook/", "https://open.feishu.cn/"]
    )
    def test_a_token_is_required(self, url: str) -> None:
        with pytest.raises(pydantic.ValidationError, match="no bot token"):
            FeishuNotifier.Options.model_validate({"type": "feishu", "url": url})

    def test_repr_hides_token_and_secret(self) -> None:
        options = FeishuNotifier.Options.model_validate(
            {"type": "feishu", "url": f"https://open.feishu.cn{HOOK_PATH}", "secret": SECRET}
        )
        assert TOKEN not in repr(options)
        assert SECRET not in repr(options)
