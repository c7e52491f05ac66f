"""The Discord notifier: execute-webhook body, no mentions, embed limits, 429 replies."""

from __future__ import annotations

import asyncio
import re

import httpx
import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus, Severity
from logwatch.notifiers import discord
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.discord import DiscordNotifier
from logwatch.testing import check_notifier_contract, sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

HOOK_PATH = "/api/webhooks/112233445566778899/AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_token"
ZWSP = "\u200b"
INJECTIONS = (
    "<!channel>",
    "@everyone",
    "@here",
    '<at user_id="all">all</at>',
    "<@123456789012345678> <@&987654321098765432> <#112233445566778899>",
    "**bold** _em_ ~~gone~~ ||spoiler|| `code`",
    "# heading",
    "> quote",
    "[click here](http://evil.example)",
    "<http://evil.example>",
)
MARKDOWN_SPECIALS = set("\\`*_[]()#-|>~<")


def send(server: HTTPServer, alert: Alert, query: str = "") -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            options = DiscordNotifier.Options.model_validate(
                {"type": "discord", "url": f"http://127.0.0.1:{server.port}{HOOK_PATH}{query}"}
            )
            return await DiscordNotifier("discord", options, client=client).send(alert)

    return asyncio.run(go())


def unescaped_specials(markdown: str) -> set[str]:
    """Markdown characters left live: what remains once every `\\x` escape pair is removed."""
    return set(re.sub(r"\\.", "", markdown)) & MARKDOWN_SPECIALS


class TestRequest:
    def test_posts_the_documented_webhook_body_with_wait_true(self, server: HTTPServer) -> None:
        """Content line, one embed, no mentions parsed; ?wait=true so a failure is reported."""
        server.expect_oneshot_request(
            HOOK_PATH,
            method="POST",
            query_string={"wait": "true"},
            headers={"Content-Type": "application/json"},
        ).respond_with_json({"id": "1234", "type": 0})

        receipt = send(server, sample_alert())

        server.check_assertions()
        code = sample_alert().text
        assert posted(server) == {
            "content": "[CRITICAL] OperationalError: could not connect (db\\-down on web\\-1)",
            "allowed_mentions": {"parse": []},
            "embeds": [
                {
                    "title": "CRITICAL · db\\-down",
                    "description": f"**OperationalError: could not connect**\n```\n{code}\n```",
                    "color": 0xE74C3C,
                    "fields": [
                        {"name": "Severity", "value": "critical", "inline": True},
                        {"name": "Rule", "value": "db\\-down", "inline": True},
                        {"name": "Host", "value": "web\\-1", "inline": True},
                        {"name": "Source", "value": "web", "inline": True},
                        {
                            "name": "File",
                            "value": "/var/log/shop/app.log:12\\-18",
                            "inline": True,
                        },
                        {"name": "Count", "value": "1", "inline": True},
                    ],
                    "timestamp": "2026-01-01T12:00:00+00:00",
                    "footer": {
                        "text": "logwatch · first seen 2026-01-01T12:00:00+00:00"
                        " · environment=production · service=shop"
                    },
                }
            ],
        }
        assert receipt.status == 200

    def test_a_thread_id_in_the_url_is_kept(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(
            HOOK_PATH, query_string={"thread_id": "42", "wait": "true"}
        ).respond_with_json({"id": "1"})

        send(server, sample_alert(), query="?thread_id=42")

        server.check_assertions()

    @pytest.mark.parametrize(
        ("severity", "color"),
        [
            (Severity.CRITICAL, 0xE74C3C),
            (Severity.ERROR, 0xE67E22),
            (Severity.WARNING, 0xF1C40F),
            (Severity.INFO, 0x3498DB),
        ],
    )
    def test_colour_follows_severity(self, severity: Severity, color: int) -> None:
        assert discord.render(sample_alert(severity=severity))["embeds"][0]["color"] == color


def test_resolved_alert_is_green_and_short() -> None:
    embed = discord.render(sample_alert(status=AlertStatus.RESOLVED))["embeds"][0]
    assert embed["title"] == "RESOLVED · db\\-down"
    assert embed["color"] == 0x2ECC71
    assert embed["description"] == (
        "**OperationalError: could not connect**\n"
        "Resolved: no new occurrence since 2026\\-01\\-01T12:00:00+00:00."
    )


class TestInertLogText:
    def test_nothing_pings_links_or_formats(self, server: HTTPServer) -> None:
        """allowed_mentions parses nothing; Markdown is escaped; `@` is broken up."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_json({"id": "1"})
        attack = " ".join(INJECTIONS)
        alert = sample_alert(
            title=f"ValueError: {attack}",
            message=attack,
            text=f"ERROR {attack}\nTraceback (most recent call last):\nValueError: {attack} ```",
            host=f"web {attack}",
            source=attack,
            file=f"/var/log/{attack}.log",
            labels={"team": attack},
            exc_type="ValueError",
            rule=f"rule {attack}",
        )

        send(server, alert)

        body = posted(server)
        assert body["allowed_mentions"] == {"parse": []}
        embed = body["embeds"][0]
        heading, code = embed["description"].split("\n```\n")
        title = heading.removeprefix("**").removesuffix("**")  # our bold around the title
        markdown = [embed["title"], title, *(field["value"] for field in embed["fields"])]
        assert all(not unescaped_specials(text) for text in markdown)
        content = body["content"].removeprefix("[CRITICAL] ")
        assert not unescaped_specials(content.replace(" (rule ", " rule ").removesuffix(")"))
        for text in [*markdown, body["content"], embed["footer"]["text"]]:
            assert "@" not in text.replace(f"@{ZWSP}", ""), text  # no @everyone, no @here
        # inside the code block nothing renders, and no ``` from the log can close it
        assert code.endswith("\n```")
        assert "```" not in code.removesuffix("\n```")
        assert code.removesuffix("\n```").replace(ZWSP, "").endswith(f"ValueError: {attack} ```")


class TestLimits:
    def test_every_limit_holds_for_the_largest_alert(self) -> None:
        """content 2,000; title 256; description 4,096; field 1,024; 6,000 across the embed."""
        huge = "*@" * 10_000
        frames = [f'  File "/srv/app/mod{n}.py", line {n}\n    f{n}()' for n in range(2000)]
        text = "\n".join(["Traceback (most recent call last):", *frames, "ValueError: boom"])
        alert = sample_alert(
            title=huge,
            rule=huge,
            host=huge,
            source=huge,
            file=huge,
            text=text,
            exc_type="ValueError",
            labels={huge: huge},
        )

        body = discord.render(alert)

        embed = body["embeds"][0]
        assert len(body["content"]) <= 2000
        assert len(embed["title"]) <= 256
        assert len(embed["description"]) <= 4096
        assert all(len(field["value"]) <= 1024 for field in embed["fields"])
        assert len(embed["footer"]["text"]) <= 2048
        total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
        total += sum(len(field["name"]) + len(field["value"]) for field in embed["fields"])
        assert total <= 6000
        assert embed["description"].endswith("\nValueError: boom\n```")


class TestReplies:
    def test_429_waits_what_the_json_body_says(self, server: HTTPServer) -> None:
        """Discord's float `retry_after` in the body is more precise than Retry-After."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(
            {"message": "You are being rate limited.", "retry_after": 1.5, "global": False},
            status=429,
            headers={"Retry-After": "2"},
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 1.5

    def test_429_without_a_json_body_falls_back_to_retry_after(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_data(
            "slow down", status=429, headers={"Retry-After": "3"}
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 3.0

    def test_deleted_webhook_is_permanent_with_a_remedy(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(
            {"message": "Unknown Webhook", "code": 10015}, status=404
        )

        with pytest.raises(PermanentDeliveryError, match="create a new one and update url"):
            send(server, sample_alert())

    def test_invalid_form_body_is_reported_as_a_bug(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_json(
            {"code": 50035, "message": "Invalid Form Body", "errors": {}}, status=400
        )

        with pytest.raises(PermanentDeliveryError, match="report this as a logwatch bug"):
            send(server, sample_alert())

    def test_the_token_never_appears_in_errors(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_data(f"bad {HOOK_PATH}", status=401)

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        assert "AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_token" not in str(caught.value)


def test_keeps_the_notifier_contract() -> None:
    requests = check_notifier_contract(
        DiscordNotifier, {}, f"https://discord.com{HOOK_PATH}", ok_body='{"id": "1"}'
    )
    assert all(request.target == f"{HOOK_PATH}?wait=true" for request in requests)


def test_options_require_and_hide_the_url() -> None:
    with pytest.raises(pydantic.ValidationError, match="url"):
        DiscordNotifier.Options.model_validate({"type": "discord"})
    options = DiscordNotifier.Options.model_validate(
        {"type": "discord", "url": f"https://discord.com{HOOK_PATH}"}
    )
    assert "token" not in repr(options)
