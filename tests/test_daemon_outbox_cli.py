"""`logwatch outbox list|retry` as an operator types it, against the daemon's state dir."""

from __future__ import annotations

import time
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from logwatch.store import DB_NAME, Delivery, Store
from logwatch.testing import sample_alert
from tests.daemon_harness import AppLog, Receiver, logwatch, running_daemon, wait_for


def write_config(tmp_path: Path, state_dir: Path) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {state_dir}
sources: [{{name: app, paths: ["{tmp_path}/*.log"]}}]
rules: [{{name: all, match: {{traceback: true}}, notify: [console]}}]
notifiers: {{console: {{type: console}}}}
""",
        encoding="utf-8",
    )
    return config


def one_dead_letter(tmp_path: Path) -> tuple[str, int]:
    """A config whose state holds one dead letter ("db down"), and that row's id."""
    state = tmp_path / "state"
    store = Store.in_dir(state)
    store.commit([], [Delivery(sample_alert(id="a1", title="db down"), "console")], now=1.0)
    row = store.outbox()[0]
    store.mark_dead(row.id, "HTTP 400")
    store.close()
    return str(write_config(tmp_path, state)), row.id


class TestOutboxCommand:
    def test_config_option_after_the_subcommand(self, tmp_path: Path) -> None:
        """`outbox list -c CFG` and `outbox retry -c CFG` work like `outbox -c CFG list`."""
        config, row_id = one_dead_letter(tmp_path)
        listed = logwatch("outbox", "list", "-c", config)
        assert listed.returncode == 0, listed.stderr
        assert "db down" in listed.stdout
        retried = logwatch("outbox", "retry", "-c", config, str(row_id))
        assert retried.returncode == 0, retried.stderr
        assert "requeued 1" in retried.stdout
        before = logwatch("outbox", "-c", config, "list", "--state", "pending")
        assert before.returncode == 0, before.stderr
        assert "db down" in before.stdout

    def test_retrying_an_id_that_is_no_dead_letter_fails_naming_it(self, tmp_path: Path) -> None:
        config, row_id = one_dead_letter(tmp_path)
        typo = logwatch("outbox", "retry", "-c", config, str(row_id + 100))
        assert typo.returncode == 1
        assert f"no dead letter with id {row_id + 100}" in typo.stderr
        assert "requeued 0" in typo.stdout
        both = logwatch("outbox", "retry", "-c", config, str(row_id), str(row_id + 100))
        assert both.returncode == 1
        assert "requeued 1" in both.stdout
        again = logwatch("outbox", "retry", "-c", config, str(row_id))  # pending now, not dead
        assert again.returncode == 1
        assert f"no dead letter with id {row_id}" in again.stderr

    def test_no_state_yet_is_reported_and_nothing_is_created(self, tmp_path: Path) -> None:
        """Before the daemon ever ran, list and retry say so and leave the state dir alone."""
        state = tmp_path / "state"
        config = str(write_config(tmp_path, state))
        for args in (("list",), ("retry",)):
            result = logwatch("outbox", *args, "-c", config)
            assert result.returncode == 0, result.stderr
            assert "no state yet" in result.stdout + result.stderr
        assert not (state / DB_NAME).exists()

    def test_unreadable_state_is_an_error_message_not_a_traceback(self, tmp_path: Path) -> None:
        """A state database that cannot be opened exits 1 with one line naming it."""
        state = tmp_path / "state"
        state.mkdir()
        (state / DB_NAME).mkdir()  # a directory where the database should be
        config = str(write_config(tmp_path, state))
        started = time.monotonic()
        result = logwatch("outbox", "list", "-c", config)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert DB_NAME in result.stderr
        assert time.monotonic() - started < 30


def test_a_dead_letter_requeued_while_the_daemon_runs_goes_out_at_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Found by an operator's audit: `outbox retry` in another process was heard of at
    the worker's idle recheck, 27 s later, while `outbox list` still said pending."""
    receiver = Receiver()
    refused = {"first": True}

    def handle(request: Request) -> Response:
        if refused.pop("first", False):
            return Response("bad request", status=400)  # dead-lettered at once
        return receiver.handle(request)

    httpserver.expect_request("/alerts", method="POST").respond_with_handler(handle)
    config = tmp_path / "logwatch.yaml"
    (tmp_path / "logs").mkdir()
    config.write_text(
        f"""state_dir: {tmp_path / "state"}
sources: [{{name: app, paths: ["{tmp_path / "logs"}/*.log"]}}]
rules: [{{name: tb, match: {{traceback: true}}, notify: [hook]}}]
notifiers: {{hook: {{type: webhook, url: "{httpserver.url_for("/alerts")}"}}}}
""",
        encoding="utf-8",
    )
    app_log = AppLog(tmp_path / "logs" / "app.log")
    try:
        with running_daemon(config, tmp_path):
            app_log.exception(1)
            def dead() -> str:
                return logwatch("outbox", "list", "--state", "dead", "-c", str(config)).stdout

            wait_for(lambda: "HTTP 400" in dead(), 10, "the dead letter")
            retried = logwatch("outbox", "retry", "-c", str(config))
            assert retried.stdout.strip() == "requeued 1 dead letter(s)"
            wait_for(lambda: receiver.count() == 1, 10, "the requeued alert")
    finally:
        app_log.close()
