"""The Lark notifier: Feishu's custom bot on Lark's international host."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import httpx
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError
from logwatch.notifiers.feishu import LarkNotifier
from logwatch.notifiers.registry import load
from logwatch.testing import check_notifier_contract, sample_alert

TOKEN = "8a7b6c5d-4e3f-2a1b-0c9d-8e7f6a5b4c3d"
HOOK_PATH = f"/open-apis/bot/v2/hook/{TOKEN}"
SECRET = "lArKsEcReT12345678"
OK = {"code": 0, "data": {}, "msg": "success"}


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    httpd = HTTPServer(host="127.0.0.1", port=0)
    httpd.start()
    yield httpd
    httpd.stop()


def test_default_url_is_larks_host() -> None:
    options = LarkNotifier.Options.model_validate({"type": "lark", "token": TOKEN})
    assert options.webhook_url() == f"https://open.larksuite.com{HOOK_PATH}"


def test_is_registered_as_lark() -> None:
    assert load("lark") is LarkNotifier


def test_signs_and_posts_the_same_card_as_feishu(server: HTTPServer) -> None:
    """Same body and signature; Lark's name in errors."""
    server.expect_oneshot_request(HOOK_PATH, method="POST").respond_with_json(
        {"code": 19021, "msg": "sign match fail"}
    )

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            options = LarkNotifier.Options.model_validate(
                {
                    "type": "lark",
                    "url": f"http://127.0.0.1:{server.port}/open-apis/bot/v2/hook",
                    "token": TOKEN,
                    "secret": SECRET,
                }
            )
            await LarkNotifier("lark", options, client=client, clock=lambda: 1767268800.0).send(
                sample_alert()
            )

    with pytest.raises(PermanentDeliveryError, match="check secret"):
        asyncio.run(go())
    request, _ = server.log[-1]
    body = json.loads(request.get_data())
    key = f"1767268800\n{SECRET}".encode()
    assert body["timestamp"] == "1767268800"
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "interactive"


def test_a_reply_without_a_code_names_lark(server: HTTPServer) -> None:
    server.clear()
    server.expect_oneshot_request(HOOK_PATH).respond_with_data("ok")

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            options = LarkNotifier.Options.model_validate(
                {"type": "lark", "url": f"http://127.0.0.1:{server.port}{HOOK_PATH}"}
            )
            await LarkNotifier("lark", options, client=client).send(sample_alert())

    with pytest.raises(PermanentDeliveryError, match="not a Lark reply"):
        asyncio.run(go())


def test_keeps_the_notifier_contract() -> None:
    check_notifier_contract(
        LarkNotifier, {}, f"https://open.larksuite.com{HOOK_PATH}", ok_body=json.dumps(OK)
    )
