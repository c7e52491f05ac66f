"""The alert lifecycle with the real daemon: silences added while it runs, templates, secrets.

A real `logwatch run` subprocess tails a file written by the real `logging`
module and POSTs to a webhook on 127.0.0.1. "Nothing was sent" is proven with
a canary: a record of another rule written after it, whose POST must arrive
alone.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.daemon_harness import (
    AppLog,
    NotifySocket,
    Receiver,
    logwatch,
    running_daemon,
    wait_for,
)
from tests.rules_support import Log, killed_traceback

INJECTION = "order 7 {{ ''.__class__.__mro__ }} {% for x in range(3) %}x{% endfor %}"
SECRETS = ("hunter2", "s3cr3tpw", "4711", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    recorder = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(recorder.handle)
    return recorder


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[AppLog]:
    (tmp_path / "logs").mkdir()
    log = AppLog(tmp_path / "logs" / "app.log")
    log.info("service started")
    yield log
    log.close()


def append(app_log: AppLog, log: Log) -> None:
    """Append records written by a real logger (in memory) to the watched file at once."""
    with app_log.path.open("a", encoding="utf-8") as stream:
        stream.write(log.text())


def write_config(
    tmp_path: Path, url: str, rules: str, extra: str = "", source: str = ""
) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
host: test-host
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
    context_lines: 2
{source}
redact: {{patterns: ['customer=(\\d+)']}}
rules:
  - name: canary
    match: {{message: "^canary"}}
    notify: [hook]
{rules}
notifiers:
  hook:
    type: webhook
    url: "{url}"
{extra}
delivery: {{initial_backoff: 100ms, max_backoff: 500ms, timeout: 2s}}
""",
        encoding="utf-8",
    )
    return config


def titles(receiver: Receiver) -> list[str]:
    with receiver.lock:
        return [str(body["title"]) for body in receiver.bodies]


class TestSilencesLive:
    def test_silence_added_while_running_stops_the_rule_and_expiry_restores_it(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """`logwatch silence add` mutes the next occurrence; `silence expire` lets it through."""
        rules = "  - {name: payments, match: {traceback: true}, notify: [hook]}\n"
        config = write_config(tmp_path, httpserver.url_for("/alerts"), rules)
        with running_daemon(config, tmp_path):
            app_log.exception(1)
            wait_for(lambda: receiver.count() == 1, 10, "the first traceback")

            added = logwatch("silence", "add", "-c", str(config), "--match", "rule=payments",
                             "--for", "1h", "--comment", "known outage")
            assert added.returncode == 0, added.stderr
            app_log.exception(2)
            app_log.info("canary 1")
            wait_for(lambda: receiver.count() == 2, 10, "the canary after the silenced record")
            assert titles(receiver)[1] == "canary 1"

            expired = logwatch("silence", "expire", "-c", str(config), added.stdout.strip())
            assert expired.returncode == 0, expired.stderr
            app_log.exception(3)
            wait_for(lambda: receiver.count() == 3, 10, "the traceback after the expiry")
            assert titles(receiver)[2] == "ValueError: card declined for order 3"


class TestCutTracebacksLive:
    def test_a_traceback_cut_off_by_a_killed_worker_alerts_when_the_next_record_comes(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """Frames and no exception line: a `traceback: true` rule takes it, level ERROR."""
        rules = "  - {name: tracebacks, match: {traceback: true}, notify: [hook]}\n"
        config = write_config(tmp_path, httpserver.url_for("/alerts"), rules)
        with running_daemon(config, tmp_path):
            log = Log().write(killed_traceback())
            log.logger.info("worker restarted")
            append(app_log, log)
            wait_for(lambda: receiver.count() == 1, 10, "the cut traceback's alert")
        [body] = receiver.bodies
        assert (body["rule"], body["severity"], body["exc_type"]) == ("tracebacks", "error", None)
        assert (body["first_line"], body["last_line"]) == (2, 8)
        assert re.fullmatch(r'Traceback cut off: File ".*worker\.py", line 2, in gateway',
                            body["title"])


class TestTemplatesLive:
    def test_jinja_in_a_log_line_arrives_as_text(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """A record holding `{{ ... }}` and `{% ... %}` is rendered into the template as data."""
        rules = "  - {name: orders, match: {message: 'order (?P<order>\\d+)'}, notify: [hook]}\n"
        extra = (
            "    template:\n"
            "      title: 'order {{ fields.order }}: {{ message }}'\n"
            "      body: \"{{ text }}\\n{{ lines | length }} line(s)\"\n"
        )
        config = write_config(tmp_path, httpserver.url_for("/alerts"), rules, extra)
        assert logwatch("check", "-c", str(config)).returncode == 0
        with running_daemon(config, tmp_path):
            log = Log()
            log.logger.error(INJECTION)
            append(app_log, log)
            wait_for(lambda: receiver.count() == 1, 10, "the templated alert")
        body = receiver.bodies[0]
        assert body["title"] == f"order 7: {INJECTION}"
        assert INJECTION in body["text"]
        assert body["text"].endswith("\n1 line(s)")
        assert "<class" not in json.dumps(body)


class TestSecretsLive:
    def test_no_secret_reaches_any_payload(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """Secrets in the record, its context lines and its fields appear in no POST:
        not the alert, not the cooldown summary, not the resolved notice."""
        rules = (
            "  - name: refunds\n"
            "    match: {message: 'refund (?P<who>\\S+)'}\n"
            "    labels: {who: '{{ fields.who }}'}\n"
            "    cooldown: 1s\n"
            "    resolve_after: 2s\n"
            "    notify: [hook]\n"
        )
        config = write_config(tmp_path, httpserver.url_for("/alerts"), rules)
        with running_daemon(config, tmp_path):
            log = Log()
            log.logger.info("connect postgres://shop:s3cr3tpw@db:5432/shop")
            log.logger.info("Authorization: Bearer %s", SECRETS[3])
            log.logger.error("refund customer=4711 failed with password=hunter2")
            log.logger.error("refund customer=4711 failed with password=hunter2")
            append(app_log, log)
            wait_for(
                lambda: [b["status"] for b in receiver.bodies] == ["firing", "firing", "resolved"],
                15,
                "the alert, its cooldown summary and the resolved notice",
            )
        first = receiver.bodies[0]
        assert first["labels"] == {"who": "customer=***"}
        assert len(first["context"]) == 2
        assert receiver.bodies[2]["count"] == 2
        for body in receiver.bodies:
            payload = json.dumps(body)
            for secret in SECRETS:
                assert secret not in payload, (secret, payload)

    def test_a_private_key_whose_begin_line_was_elided_reaches_no_payload(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """An event past `max_lines` keeps its head and tail: a key block in its
        exception message loses its BEGIN line to the elided middle, and the base64
        lines left before its END line are masked all the same."""
        key_lines = textwrap.wrap(
            base64.b64encode(b"NOT A REAL KEY: TEST DATA ONLY. " * 12).decode(), 64
        )
        pem = "\n".join(
            ["-----BEGIN RSA PRIVATE KEY-----", *key_lines, "-----END RSA PRIVATE KEY-----"]
        )
        rules = "  - {name: keys, match: {message: '^loading the signing key'}, notify: [hook]}\n"
        source = "    multiline: {max_lines: 8}"
        config = write_config(tmp_path, httpserver.url_for("/alerts"), rules, source=source)
        with running_daemon(config, tmp_path):
            append(app_log, Log().exception(
                "loading the signing key failed", ValueError(f"not a private key:\n{pem}")
            ))
            wait_for(lambda: receiver.count() == 1, 10, "the key's alert")
        [body] = receiver.bodies
        text = str(body["text"])
        assert "truncated" not in text  # the marker line, not a flag, shows the cut
        assert re.search(r"\n\.\.\. logwatch: \d+ lines elided \.\.\.\n", text), text
        assert "-----BEGIN" not in text
        assert text.endswith("\n***-----END RSA PRIVATE KEY-----"), text
        payload = json.dumps(body)
        for line in key_lines:
            assert line not in payload, (line, payload)

class TestReloadLive:
    def test_a_rule_renamed_by_a_reload_still_resolves_its_incident(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """`payments` fires to hook and pager; a SIGHUP renames it and removes pager. The
        old incident still gets its `resolved` notice through hook, and the daemon logs
        that pager, no longer configured, could not have it, and keeps running."""
        pager = Receiver()
        httpserver.expect_request("/pager", method="POST").respond_with_handler(pager.handle)
        rules = (
            "  - name: payments\n"
            "    match: {traceback: true}\n"
            "    resolve_after: 5s\n"
            "    notify: [hook, pager]\n"
        )
        extra = f"  pager: {{type: webhook, url: '{httpserver.url_for('/pager')}'}}\n"
        config = write_config(tmp_path, httpserver.url_for("/alerts"), rules, extra)
        notify = NotifySocket(tmp_path / "notify.sock")
        try:
            with running_daemon(config, tmp_path, notify=notify) as process:
                app_log.exception(1)
                wait_for(lambda: receiver.count() == pager.count() == 1, 10, "the alert")
                write_config(tmp_path, httpserver.url_for("/alerts"),
                             rules.replace("payments", "card-payments").replace(", pager", ""))
                process.send_signal(signal.SIGHUP)
                notify.wait_for_count("READY=1", 2)
                wait_for(lambda: receiver.count() == 2, 15, "the resolved notice")
                assert process.poll() is None
        finally:
            notify.close()
        firing, resolved = receiver.bodies
        assert (resolved["status"], resolved["rule"]) == ("resolved", "payments")
        assert resolved["first_seen"] == firing["first_seen"]
        assert [body["status"] for body in pager.bodies] == ["firing"]
        stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
        assert "rule 'payments' is no longer configured: resolved its open incident" in stderr
        assert "to pager dead-lettered: notifier 'pager' is not configured" in stderr
