"""The state directory: one daemon at a time, a database locked from outside, deleted or
replaced while the daemon runs."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

from logwatch.daemon.instance import LOCK_NAME
from logwatch.store import DB_NAME
from tests.daemon_harness import AppLog, Receiver, logwatch, running_daemon, stop, wait_for
from tests.test_ops_logging import write_config


def test_a_second_daemon_on_the_same_state_dir_refuses_to_start(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """It would read the same files and send every alert again."""
    config = write_config(tmp_path, httpserver.url_for("/alerts"))
    with running_daemon(config, tmp_path) as first:
        second = subprocess.run(
            [sys.executable, "-m", "logwatch", "run", "-c", str(config)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert second.returncode == 1
        assert second.stderr.splitlines() == [
            f"logwatch: another logwatch daemon (pid {first.pid}) is running with the state"
            f" dir {tmp_path / 'state'}: two would send every alert twice; stop it first,"
            " or give this one a state_dir of its own"
        ]
        assert first.poll() is None  # the first runs on
        code, _ = stop(first)
    assert code == 0
    assert (tmp_path / "state" / LOCK_NAME).exists()
    # once the first is gone, the next starts (the lock went with the process)
    with running_daemon(config, tmp_path) as third:
        code, _ = stop(third)
    assert code == 0


def test_a_database_locked_from_outside_stops_the_daemon_with_a_reason_and_loses_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Past SQLite's busy timeout the daemon cannot commit: it says why and exits 1,
    without a Python traceback; restarted, it alerts what it had read, once."""
    receiver = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(receiver.handle)
    config = write_config(tmp_path, httpserver.url_for("/alerts"))
    app_log = AppLog(tmp_path / "logs" / "app.log")
    try:
        with running_daemon(config, tmp_path, args=()) as daemon:
            holder = sqlite3.connect(tmp_path / "state" / DB_NAME, isolation_level=None)
            try:
                holder.execute("BEGIN EXCLUSIVE")
                app_log.exception(1)
                code = daemon.wait(60)
            finally:
                holder.close()
        assert code == 1
        assert receiver.ids() == []
        stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
        assert "the state database failed (database is locked); stopping with an error" in stderr
        assert "Traceback" not in stderr
        with running_daemon(config, tmp_path, args=()):
            wait_for(lambda: len(receiver.ids()) == 1, 30, "the alert read before the lock")
    finally:
        app_log.close()
    assert len(receiver.ids()) == 1


def test_a_state_dir_deleted_while_running_is_written_back_and_nothing_is_lost(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Before, the daemon wrote on into the deleted file, and its next start was a
    first start: the record logged while it was down was skipped (start_at: end)."""
    receiver = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(receiver.handle)
    config = write_config(tmp_path, httpserver.url_for("/alerts"))
    app_log = AppLog(tmp_path / "logs" / "app.log")
    try:
        with running_daemon(config, tmp_path, args=()) as daemon:
            app_log.exception(1)
            wait_for(lambda: len(receiver.ids()) == 1, 10, "the first alert")
            shutil.rmtree(tmp_path / "state")
            code = daemon.wait(30)
        assert code == 1
        stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
        assert (
            f"the state database {tmp_path / 'state' / DB_NAME} was deleted while running;"
            " it was written back with everything up to now" in stderr
        )
        assert "Traceback" not in stderr
        status = logwatch("status", "-c", str(config))
        assert ("daemon:    stopped with an error (the state database was deleted while"
                " running; exit 1, ") in status.stdout, status.stdout + status.stderr
        app_log.exception(2)  # while it is down
        with running_daemon(config, tmp_path, args=()):
            wait_for(lambda: len(receiver.ids()) == 2, 10, "the alert logged while down")
            app_log.exception(3)
            wait_for(lambda: len(receiver.ids()) == 3, 10, "the alert after the restart")
    finally:
        app_log.close()
    messages = [body["exc_message"] for body in receiver.bodies]
    assert messages == [f"card declined for order {n}" for n in (1, 2, 3)]  # none twice


def test_a_state_database_replaced_while_running_is_left_as_it_is(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    config = write_config(tmp_path, httpserver.url_for("/alerts"))
    database = tmp_path / "state" / DB_NAME
    with running_daemon(config, tmp_path, args=()) as daemon:
        backup = tmp_path / "backup.db"
        with sqlite3.connect(backup) as copy:
            copy.execute("CREATE TABLE restored (x)")
        backup.replace(database)
        code = daemon.wait(30)
    assert code == 1
    stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
    assert f"the state database {database} was replaced while running" in stderr
    with sqlite3.connect(database) as left:
        tables = {row[0] for row in left.execute("SELECT name FROM sqlite_master")}
    assert tables == {"restored"}
