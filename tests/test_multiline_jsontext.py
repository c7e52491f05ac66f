"""A lone surrogate escaped in a JSON log line is read as U+FFFD.

Before, it stayed in the event: no notifier could encode the alert (retried
forever), and `logwatch replay` died on printing it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from logwatch.multiline import jsontext
from tests.daemon_harness import Receiver, logwatch, running_daemon, wait_for

RECORD = r'{"level": "ERROR", "logger": "app", "message": "bad \ud800 value"}'
DOCKER = (r'{"log":"2026-01-01 10:00:00,000 ERROR app bad \udc80 x\n","stream":"stderr",'
          r'"time":"2026-01-01T10:00:00Z"}')


def test_lone_surrogates_become_replacement_characters_and_pairs_stay() -> None:
    text = r'{"m": "a \ud800 b", "\udc00k": ["\uDFFF", 1], "ok": "\ud83d\ude00", "n": null}'
    assert jsontext.loads(text) == {
        "m": "a \ufffd b", "\ufffdk": ["\ufffd", 1], "ok": "\U0001f600", "n": None,
    }


@pytest.mark.parametrize("text", [r'{"m": "plain \\ud800 text"}', '{"m": "é"}'])
def test_a_line_with_no_lone_surrogate_reads_as_json_reads_it(text: str) -> None:
    assert jsontext.loads(text) == json.loads(text)


def test_replay_prints_such_records(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"{RECORD}\n{DOCKER}\n", encoding="utf-8")
    result = logwatch("replay", "--json", str(log))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["message"] for r in records] == ["bad \ufffd value", "bad \ufffd x"]


def test_the_daemon_delivers_such_an_alert(tmp_path: Path, httpserver: HTTPServer) -> None:
    receiver = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(receiver.handle)
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    log.touch()
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""state_dir: {tmp_path / "state"}
sources: [{{name: app, paths: ["{tmp_path / "logs"}/*.log"]}}]
rules: [{{name: errors, match: {{level: [ERROR]}}, notify: [hook]}}]
notifiers: {{hook: {{type: webhook, url: "{httpserver.url_for("/alerts")}"}}}}
""",
        encoding="utf-8",
    )
    with running_daemon(config, tmp_path):
        with log.open("a", encoding="utf-8") as out:
            out.write(RECORD + "\n")
        wait_for(lambda: receiver.count() == 1, 10, "the alert")
    assert receiver.bodies[0]["message"] == "bad \ufffd value"
