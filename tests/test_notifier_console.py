"""The console notifier: readable text or one JSON line per alert on stdout."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from logwatch.errors import PermanentDeliveryError
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers.base import Receipt
from logwatch.notifiers.console import ConsoleNotifier, ConsoleOptions
from logwatch.testing import sample_alert


def send(alert: Alert, fmt: str = "text") -> Receipt:
    options = ConsoleOptions.model_validate({"type": "console", "format": fmt})
    return asyncio.run(ConsoleNotifier("console", options).send(alert))


class TestText:
    def test_prints_the_facts_then_the_event_indented(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Title line, one fact per line, then every line of the event indented."""
        alert = sample_alert()

        receipt = send(alert)

        assert receipt == Receipt(status=None, detail="printed")
        out = capsys.readouterr().out
        assert out.splitlines()[:7] == [
            "[CRITICAL] OperationalError: could not connect",
            "  severity: critical",
            "  rule:     db-down",
            "  host:     web-1",
            "  source:   web",
            "  file:     /var/log/shop/app.log:12-18",
            "  count:    1",
        ]
        assert out.splitlines()[7:] == ["    " + line for line in alert.text.splitlines()]
        assert out.endswith("\n")

    def test_resolved_alert_is_labelled_resolved(self, capsys: pytest.CaptureFixture[str]) -> None:
        send(sample_alert(status=AlertStatus.RESOLVED, text=""))
        assert capsys.readouterr().out.startswith("[RESOLVED] OperationalError")

    def test_terminal_control_sequences_are_shown_not_obeyed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An ANSI escape in a log line cannot recolour or rewrite the operator's terminal."""
        send(sample_alert(title="boom \x1b[2J", text="line\x1b]0;pwned\x07\rend"))
        out = capsys.readouterr().out
        assert "\x1b" not in out
        assert "\x07" not in out
        assert "\r" not in out
        assert "boom \\x1b[2J" in out
        assert "    line\\x1b]0;pwned\\x07\\x0dend" in out

    def test_each_alert_is_flushed(self) -> None:
        """A pipe reader sees each alert when it happens, not when a buffer fills."""

        class CountingStream(io.StringIO):
            flushes = 0

            def flush(self) -> None:
                self.flushes += 1

        stream = CountingStream()
        options = ConsoleOptions.model_validate({"type": "console"})
        notifier = ConsoleNotifier("console", options, stream=stream)

        asyncio.run(notifier.send(sample_alert()))
        asyncio.run(notifier.send(sample_alert()))

        assert stream.flushes == 2
        assert stream.getvalue().count("[CRITICAL]") == 2


class TestJson:
    def test_prints_the_payload_on_one_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        """format: json prints the webhook payload, one object per line, for jq."""
        alert = sample_alert(text="multi\nline\x1b")
        send(alert, "json")
        send(alert, "json")

        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 2
        assert json.loads(lines[0]) == alert.payload()
        assert "\x1b" not in lines[0]


def test_unknown_format_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="format"):
        ConsoleOptions.model_validate({"type": "console", "format": "yaml"})


def test_closed_stdout_is_a_permanent_error() -> None:
    """Nobody reads a closed stream; retrying would not change that."""
    stream = io.StringIO()
    stream.close()
    options = ConsoleOptions.model_validate({"type": "console"})

    with pytest.raises(PermanentDeliveryError, match="standard output"):
        asyncio.run(ConsoleNotifier("console", options, stream=stream).send(sample_alert()))
