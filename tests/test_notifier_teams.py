"""The Teams notifier: an Adaptive Card in a Workflows webhook message, within 28 KB."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import _chat, teams
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.teams import TeamsNotifier
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

FLOW_PATH = "/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke"
SIG = "Zm9vYmFyYmF6cXV4LXNpZ25hdHVyZS0xMjM0NTY"
QUERY = {"api-version": "2016-06-01", "sp": "/triggers/manual/run", "sv": "1.0", "sig": SIG}
INJECTIONS = (
    "<!channel>",
    "@everyone",
    "@here",
    '<at user_id="all">all</at>',
    "<at>Jane Doe</at>",
    "**bold** _em_ ~~gone~~ `code`",
    "# heading",
    "> quote",
    "- item",
    "[click here](http://evil.example)",
    "<a href='http://evil.example'>x</a>",
)
# Markdown syntax characters; in a TextBlock each must be backslash-escaped
MARKDOWN_SPECIALS = set("\\`*_[]()#-|>~<")


def flow_url(server: HTTPServer) -> str:
    query = "&".join(f"{key}={value}" for key, value in QUERY.items())
    return f"http://127.0.0.1:{server.port}{FLOW_PATH}?{query}"


def send(server: HTTPServer, alert: Alert) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            options = TeamsNotifier.Options.model_validate(
                {"type": "teams", "url": flow_url(server)}
            )
            return await TeamsNotifier("teams", options, client=client).send(alert)

    return asyncio.run(go())


def card_of(body: dict[str, Any]) -> dict[str, Any]:
    [attachment] = body["attachments"]
    card: dict[str, Any] = attachment["content"]
    return card


def text_run(text: str, **style: str) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def markdown_texts(card: dict[str, Any]) -> list[str]:
    """Every string Teams renders as Markdown: TextBlock texts and FactSet titles and values."""
    texts = [element["text"] for element in card["body"] if element["type"] == "TextBlock"]
    for element in card["body"]:
        if element["type"] == "FactSet":
            texts += [fact["title"] for fact in element["facts"]]
            texts += [fact["value"] for fact in element["facts"]]
    return texts


def unescaped_specials(markdown: str) -> set[str]:
    """Markdown characters left live: what remains once every `\\x` escape pair is removed."""
    return set(re.sub(r"\\.", "", markdown)) & MARKDOWN_SPECIALS


class TestRequest:
    def test_posts_the_documented_adaptive_card_message(self, server: HTTPServer) -> None:
        """A `message` whose attachments hold one Adaptive Card, as Workflows expect."""
        server.expect_oneshot_request(
            FLOW_PATH,
            method="POST",
            query_string=QUERY,
            headers={"Content-Type": "application/json"},
        ).respond_with_data("", status=202)

        receipt = send(server, sample_alert())

        server.check_assertions()
        request, _ = server.log[-1]
        assert json.loads(request.get_data()) == {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "msteams": {"width": "Full"},
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": "CRITICAL · db\\-down",
                                "weight": "Bolder",
                                "size": "Medium",
                                "color": "Attention",
                                "wrap": True,
                            },
                            text_run("OperationalError: could not connect", weight="Bolder"),
                            {
                                "type": "FactSet",
                                "facts": [
                                    {"title": "Severity", "value": "critical"},
                                    {"title": "Rule", "value": "db\\-down"},
                                    {"title": "Host", "value": "web\\-1"},
                                    {"title": "Source", "value": "web"},
                                    {"title": "File", "value": "/var/log/shop/app.log:12\\-18"},
                                    {"title": "Count", "value": "1"},
                                ],
                            },
                            text_run(sample_alert().text, fontType="Monospace"),
                            {
                                "type": "TextBlock",
                                "text": "logwatch · first seen 2026\\-01\\-01T12:00:00+00:00"
                                " · environment=production · service=shop",
                                "isSubtle": True,
                                "size": "Small",
                                "wrap": True,
                            },
                        ],
                    },
                }
            ],
        }
        assert receipt == Receipt(status=202, detail="")

    @pytest.mark.parametrize(
        ("severity", "color"),
        [
            (Severity.CRITICAL, "Attention"),
            (Severity.ERROR, "Attention"),
            (Severity.WARNING, "Warning"),
            (Severity.INFO, "Accent"),
        ],
    )
    def test_header_colour_follows_severity(self, severity: Severity, color: str) -> None:
        card = card_of(teams.render(sample_alert(severity=severity)))
        assert card["body"][0]["color"] == color


def test_resolved_alert_is_green_and_short() -> None:
    card = card_of(teams.render(sample_alert(status=AlertStatus.RESOLVED)))
    assert card["body"][0]["text"] == "RESOLVED · db\\-down"
    assert card["body"][0]["color"] == "Good"
    assert card["body"][3] == text_run(
        "Resolved: no new occurrence since 2026-01-01T12:00:00+00:00."
    )
    assert "Traceback" not in json.dumps(card)


class TestInertLogText:
    def test_markdown_is_escaped_and_log_text_sits_in_text_runs(self, server: HTTPServer) -> None:
        """TextRuns are never Markdown; every TextBlock and fact has its syntax escaped."""
        server.expect_oneshot_request(FLOW_PATH).respond_with_data("", status=202)
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

        request, _ = server.log[-1]
        body = json.loads(request.get_data())
        card = card_of(body)
        assert all(not unescaped_specials(text) for text in markdown_texts(card))
        runs = [element for element in card["body"] if element["type"] == "RichTextBlock"]
        assert runs[0]["inlines"][0]["text"] == f"ValueError: {attack}"  # shown as typed
        assert runs[1]["inlines"][0]["text"].endswith(f"\nValueError: {attack}")
        # a mention needs msteams.entities: none are ever sent
        assert card["msteams"] == {"width": "Full"}
        assert "entities" not in json.dumps(body)


class TestLimits:
    def test_message_stays_within_28_kb_and_keeps_the_final_line(self) -> None:
        """Measured on the bytes sent: quotes cost two in JSON, Chinese three."""
        frames = [f'  File "/srv/应用/模块{n}.py", line {n}\n    call("{n}")' for n in range(3000)]
        text = "\n".join(
            [
                "2026-01-01 12:00:00,123 ERROR app 任务失败",
                "Traceback (most recent call last):",
                *frames,
                'ValueError: "数据错误"',
                "note: retried 3 times",
            ]
        )
        huge = '"*' * 5000
        alert = sample_alert(
            text=text, exc_type="ValueError", title=huge, host=huge, labels={huge: huge}
        )

        body = teams.render(alert)

        assert len(json.dumps(body, ensure_ascii=False).encode()) <= teams.MESSAGE_BYTES
        lines = card_of(body)["body"][3]["inlines"][0]["text"].split("\n")
        assert lines[0] == "2026-01-01 12:00:00,123 ERROR app 任务失败"
        assert lines[-2:] == ['ValueError: "数据错误"', "note: retried 3 times"]
        assert any(line.startswith("… ") and line.endswith(" lines cut …") for line in lines)

    def test_the_monospace_run_is_counted_in_the_28_kb(self) -> None:
        """The traceback's room is measured with its run's style: with plain lines (one
        byte a character) that leave no slack, the card still ends within 28 KB."""
        for width in range(1, 600, 21):
            alert = sample_alert(text="\n".join(["y" * width] * 400), exc_type=None)

            sent = _chat.encode_json(teams.render(alert))

            assert len(sent) <= teams.MESSAGE_BYTES, f"{width}-character lines"


class TestReplies:
    @pytest.mark.parametrize("status", [400, 401, 404])
    def test_bad_url_or_signature_is_permanent(self, server: HTTPServer, status: int) -> None:
        server.expect_oneshot_request(FLOW_PATH).respond_with_json(
            {"error": {"code": "DirectApiAuthorizationRequired", "message": "bad sig"}},
            status=status,
        )

        with pytest.raises(PermanentDeliveryError, match=f"HTTP {status}"):
            send(server, sample_alert())

    def test_throttling_is_retryable_after_retry_after(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(FLOW_PATH).respond_with_data(
            "", status=429, headers={"Retry-After": "12"}
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 12.0

    def test_the_signature_never_appears_in_errors(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(FLOW_PATH).respond_with_data(f"bad sig={SIG}", status=401)

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        assert SIG not in str(caught.value)


def test_keeps_the_notifier_contract() -> None:
    query = "&".join(f"{key}={value}" for key, value in QUERY.items())
    check_notifier_contract(
        TeamsNotifier,
        {},
        f"https://prod-12.westeurope.logic.azure.com:443{FLOW_PATH}?{query}",
        ok_status=202,
        ok_body="",
    )


class TestOptions:
    def test_url_is_required_and_hidden(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="url"):
            TeamsNotifier.Options.model_validate({"type": "teams"})
        options = TeamsNotifier.Options.model_validate(
            {"type": "teams", "url": f"https://example.logic.azure.com{FLOW_PATH}?sig={SIG}"}
        )
        assert SIG not in repr(options)
        assert options.timeout is None  # delivery.timeout
