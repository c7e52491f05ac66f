"""A line the stages choke on is logged and skipped: the daemon goes on alerting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.daemon_harness import AppLog, Receiver, logwatch, running_daemon, stop, wait_for
from tests.test_daemon_e2e import write_config

# JSON nested deeper than the interpreter's recursion limit: json.loads raises
# RecursionError, not ValueError, on it
DEEP_JSON = '{"level": "INFO", "message": ' + "[" * 5000 + "]" * 5000 + "}\n"


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


class TestBadInput:
    def test_deeply_nested_json_line_does_not_stop_the_daemon(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, app_log: AppLog
    ) -> None:
        """A JSON line nested 5000 deep is read past; the traceback after it is alerted."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path) as process:
            with app_log.path.open("a", encoding="utf-8") as out:
                out.write(DEEP_JSON)
            written = app_log.exception(1)
            wait_for(
                lambda: receiver.count() >= 1 or process.poll() is not None,
                10,
                "the alert after the bad line",
            )
            assert process.poll() is None, "the daemon died on the bad line"
            code, _ = stop(process)
        assert code == 0
        assert [body["first_line"] for body in receiver.bodies] == [written.first_line]

    def test_replay_reads_past_deeply_nested_json(self, tmp_path: Path, app_log: AppLog) -> None:
        """`logwatch replay` treats the over-nested line as text and shows the traceback."""
        with app_log.path.open("a", encoding="utf-8") as out:
            out.write(DEEP_JSON)
        written = app_log.exception(1)
        result = logwatch("replay", "--json", str(app_log.path))
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert [record["first_line"] for record in records] == [written.first_line]
