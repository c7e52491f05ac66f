"""The Slack notifier: Block Kit shape, inert log text, limits, Slack's replies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from logwatch.errors import PermanentDeliveryError, RetryableDeliveryError
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import slack
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.slack import SlackNotifier, SlackOptions
from logwatch.testing import sample_alert
from tests import notifier_support
from tests.notifier_support import posted

# the shared fixtures, bound here so pytest finds them in this module
running_server = notifier_support.running_server
server = notifier_support.server

HOOK_PATH = "/services/T0000TEST/B0000TEST/XXXXtokenXXXXXXXXXXXXXXX"
INJECTIONS = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123ABC>",
    "<#C123ABC>",
    "<!subteam^S123>",
    "<http://evil.example|click here>",
)


def send(server: HTTPServer, alert: Alert) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            options = SlackOptions.model_validate(
                {"type": "slack", "url": f"http://127.0.0.1:{server.port}{HOOK_PATH}"}
            )
            return await SlackNotifier("slack", options, client=client).send(alert)

    return asyncio.run(go())


def all_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_strings(item)


def traceback_text(payload: dict[str, Any]) -> str:
    texts = [
        block["text"]["text"]
        for block in payload["blocks"]
        if block["type"] == "section" and "text" in block
    ]
    [code] = [text for text in texts if text.startswith("```")]
    return str(code)


class TestPayload:
    def test_posts_block_kit_json_to_the_webhook(self, server: HTTPServer) -> None:
        """One POST of JSON to the configured URL; Slack's `ok` is a receipt."""
        server.expect_oneshot_request(
            HOOK_PATH, method="POST", headers={"Content-Type": "application/json"}
        ).respond_with_data("ok", content_type="text/html")

        receipt = send(server, sample_alert())

        assert receipt == Receipt(status=200, detail="ok")
        server.check_assertions()

    def test_block_kit_shape(self) -> None:
        """Header, title, six fields, the traceback, a context line, and a text fallback."""
        payload = slack.render(sample_alert())

        assert [block["type"] for block in payload["blocks"]] == [
            "header",
            "section",
            "section",
            "section",
            "context",
        ]
        header, title, facts, code, context = payload["blocks"]
        assert header["text"] == {"type": "plain_text", "text": "CRITICAL · db-down"}
        assert title["text"]["text"] == "*OperationalError: could not connect*"
        assert [field["text"] for field in facts["fields"]] == [
            "*Severity*\ncritical",
            "*Rule*\ndb-down",
            "*Host*\nweb-1",
            "*Source*\nweb",
            "*File*\n/var/log/shop/app.log:12-18",
            "*Count*\n1",
        ]
        assert code["text"]["text"].startswith("```\n2026-01-01 12:00:00,123 ERROR app.db")
        assert code["text"]["text"].endswith(
            "sqlalchemy.exc.OperationalError: could not connect\n```"
        )
        assert context["elements"][0]["text"].startswith("logwatch · first seen 2026-01-01")
        assert (
            payload["text"] == "[CRITICAL] OperationalError: could not connect (db-down on web-1)"
        )
        assert payload["unfurl_links"] is False
        assert payload["unfurl_media"] is False

    def test_every_mrkdwn_object_is_verbatim(self) -> None:
        """verbatim: Slack must not link host names, paths or #channel-like words."""
        payload = slack.render(sample_alert())
        objects = [block["text"] for block in payload["blocks"] if "text" in block]
        objects += [field for block in payload["blocks"] for field in block.get("fields", [])]
        objects += [element for block in payload["blocks"] for element in block.get("elements", [])]
        mrkdwn = [obj for obj in objects if obj["type"] == "mrkdwn"]
        assert len(mrkdwn) == 9
        assert all(obj["verbatim"] is True for obj in mrkdwn)

    def test_never_asks_slack_to_parse_mentions(self) -> None:
        payload = slack.render(sample_alert())
        assert "link_names" not in payload
        assert "parse" not in payload

    def test_resolved_alert_says_so(self) -> None:
        payload = slack.render(sample_alert(status=AlertStatus.RESOLVED, text=""))
        assert payload["blocks"][0]["text"]["text"] == "RESOLVED · db-down"
        assert payload["text"].startswith("[RESOLVED] ")
        assert all(not text.startswith("```") for text in all_strings(payload))

    def test_a_resolved_alert_shows_a_note_not_the_traceback_again(self) -> None:
        """As the other chats do: the traceback was in the firing message."""
        alert = sample_alert(status=AlertStatus.RESOLVED)
        assert alert.text.strip()
        texts = [block.get("text", {}).get("text", "") for block in slack.render(alert)["blocks"]]
        assert not any("```" in text for text in texts)
        since = alert.last_seen.isoformat(timespec="seconds")
        assert f"Resolved: no new occurrence since {since}." in texts

    def test_fits_the_documented_block_limits(self) -> None:
        """Header ≤150, section text ≤3000, field text ≤2000, whatever the alert holds."""
        huge = "x" * 10_000
        payload = slack.render(
            sample_alert(title=huge, rule="r" * 400, host="&" * 400, file=huge, text=huge)
        )
        header, title, facts, code, context = payload["blocks"]
        assert len(header["text"]["text"]) <= 150
        assert len(title["text"]["text"]) <= 3000
        assert len(code["text"]["text"]) <= 3000
        assert all(len(field["text"]) <= 2000 for field in facts["fields"])
        assert len(context["elements"][0]["text"]) <= 3000
        assert len(payload["text"]) <= 4000


class TestInertLogText:
    @pytest.mark.parametrize("attack", INJECTIONS)
    def test_mentions_and_links_arrive_escaped(self, server: HTTPServer, attack: str) -> None:
        """No `<` from a log line reaches Slack: mentions and links cannot form."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_data("ok")
        alert = sample_alert(
            title=f"ValueError: {attack}",
            text=f"{attack}\nTraceback (most recent call last):\nValueError: {attack}",
            host=f"web {attack}",
            source=attack,
            file=f"/var/log/{attack}.log",
            labels={"team": attack},
            exc_type="ValueError",
        )

        send(server, alert)

        payload = posted(server)
        assert attack not in json.dumps(payload, ensure_ascii=False)
        escaped = attack.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for text in (payload["text"], traceback_text(payload)):
            assert escaped in text
        assert not any("<" in text or ">" in text for text in all_strings(payload))

    def test_at_everyone_stays_plain_text(self) -> None:
        """`@everyone` is not Slack syntax; with verbatim text it stays a word."""
        payload = slack.render(sample_alert(title="@everyone look", text="@here @channel"))
        assert "*@everyone look*" in json.dumps(payload)
        assert "@here @channel" in traceback_text(payload)

    def test_ampersand_is_escaped_first(self) -> None:
        """`&lt;` in a log line is shown as typed, not turned into `<`."""
        payload = slack.render(sample_alert(text="a &lt;b&gt; & c"))
        assert "a &amp;lt;b&amp;gt; &amp; c" in traceback_text(payload)

    def test_backticks_cannot_close_the_code_block(self) -> None:
        """A ``` in log text is broken up, so the rest is not rendered as mrkdwn."""
        payload = slack.render(sample_alert(text="before ``` *bold* <!channel> ```` after"))
        code = traceback_text(payload)
        inner = code.removeprefix("```\n").removesuffix("\n```")
        assert "``" not in inner
        assert inner.replace("\u200b", "") == "before ``` *bold* &lt;!channel&gt; ```` after"

    def test_title_is_escaped(self) -> None:
        payload = slack.render(sample_alert(title="KeyError: '<!here>' & more"))
        assert payload["blocks"][1]["text"]["text"] == "*KeyError: '&lt;!here&gt;' &amp; more*"


class TestLongTracebacks:
    def long_alert(self, frames: int = 400, notes: tuple[str, ...] = ()) -> Alert:
        lines = ["2026-01-01 12:00:00,123 ERROR app.worker job failed"]
        lines.append("Traceback (most recent call last):")
        for n in range(frames):
            lines.append(f'  File "/srv/app/mod{n}.py", line {n}, in f{n}')
            lines.append(f"    return f{n + 1}(x)  # <{n}> & more")
        lines.append("RecursionError: maximum recursion depth exceeded")
        lines.extend(notes)
        return sample_alert(
            text="\n".join(lines),
            exc_type="RecursionError",
            title="RecursionError: maximum recursion depth exceeded",
        )

    def test_middle_is_cut_and_the_final_exception_line_kept(self) -> None:
        """Too long for a section: frames go from the middle, head and final line stay."""
        code = traceback_text(slack.render(self.long_alert()))

        lines = code.split("\n")
        assert len(code) <= 3000
        assert lines[1] == "2026-01-01 12:00:00,123 ERROR app.worker job failed"
        assert lines[-2] == "RecursionError: maximum recursion depth exceeded"
        assert lines[-3] == "    return f400(x)  # &lt;399&gt; &amp; more"
        assert any(line.startswith("… ") and line.endswith(" lines cut …") for line in lines)

    def test_notes_after_the_final_line_are_kept(self) -> None:
        """PEP 678 notes follow the exception line and explain it; they stay too."""
        alert = self.long_alert(notes=("note: while handling job 42",))
        lines = traceback_text(slack.render(alert)).split("\n")
        assert lines[-3:-1] == [
            "RecursionError: maximum recursion depth exceeded",
            "note: while handling job 42",
        ]

    def test_a_huge_final_line_keeps_its_start(self) -> None:
        """A 20 kB exception message is cut at its end; its type is what matters."""
        alert = sample_alert(
            text="Traceback (most recent call last):\nValueError: " + "v" * 20_000,
            exc_type="ValueError",
        )
        code = traceback_text(slack.render(alert))
        assert len(code) <= 3000
        assert "\nValueError: vvv" in code

    def test_short_traceback_is_sent_whole(self) -> None:
        alert = sample_alert()
        code = traceback_text(slack.render(alert))
        assert code == f"```\n{alert.text}\n```"


class TestReplies:
    @pytest.mark.parametrize(
        ("status", "word"),
        [
            (400, "invalid_payload"),
            (400, "user_not_found"),
            (403, "action_prohibited"),
            (404, "channel_not_found"),
            (404, "no_service"),
            (404, "no_active_hooks"),
            (410, "channel_is_archived"),
        ],
    )
    def test_documented_errors_are_permanent_with_a_remedy(
        self, server: HTTPServer, status: int, word: str
    ) -> None:
        """Slack's documented 4xx replies cannot succeed on retry; the message says what to do."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_data(word, status=status)

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        message = str(caught.value)
        assert message.startswith(
            f"POST http://127.0.0.1:{server.port}/***: HTTP {status} {word} ("
        )
        assert slack.HINTS[word] in message

    def test_rate_limited_is_retryable_after_retry_after(self, server: HTTPServer) -> None:
        """429 + Retry-After: Slack asks us to wait; sending sooner risks the app being disabled."""
        server.expect_oneshot_request(HOOK_PATH).respond_with_data(
            "rate_limited", status=429, headers={"Retry-After": "17"}
        )

        with pytest.raises(RetryableDeliveryError) as caught:
            send(server, sample_alert())
        assert caught.value.retry_after_s == 17.0

    def test_rollup_error_is_retryable(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_data("rollup_error", status=500)

        with pytest.raises(RetryableDeliveryError, match="HTTP 500 rollup_error"):
            send(server, sample_alert())

    def test_the_webhook_token_never_appears_in_errors(self, server: HTTPServer) -> None:
        server.expect_oneshot_request(HOOK_PATH).respond_with_data(
            f"no_service {HOOK_PATH}", status=404
        )

        with pytest.raises(PermanentDeliveryError) as caught:
            send(server, sample_alert())
        for secret in ("T0000TEST", "B0000TEST", "XXXXtokenXXXXXXXXXXXXXXX"):
            assert secret not in str(caught.value)


def test_options_repr_hides_the_webhook_url() -> None:
    options = SlackOptions.model_validate(
        {"type": "slack", "url": f"https://hooks.slack.com{HOOK_PATH}"}
    )
    assert "XXXXtoken" not in repr(options)
    assert options.timeout is None  # delivery.timeout
