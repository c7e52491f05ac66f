"""`logwatch status`: is the daemon alive, where each file stands, what waits in the outbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from logwatch.cli import main
from logwatch.daemon.heartbeat import HEARTBEAT_KEY, Heartbeat, daemon_state
from logwatch.rules import LabelMatcher, SilenceStore
from logwatch.status import collect_status, render_status
from logwatch.store import Delivery, FileState, Store
from logwatch.testing import sample_alert
from tests.daemon_harness import AppLog, Receiver, logwatch, running_daemon, stop, wait_for
from tests.test_sources_support import Logrotate

NOW = 1_800_000_000.0
COUNTS = {"lines": 10, "events": 2, "alerts": 1, "suppressed": 0}


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.in_dir(tmp_path)
    yield store
    store.close()


class TestHeartbeat:
    def test_a_fresh_heartbeat_means_running(self, store: Store) -> None:
        """Beats a few seconds old: running, with pid, uptime and counters."""
        clock = Clock()
        Heartbeat(store, clock=clock).beat(COUNTS)
        state = daemon_state(store.get_meta(HEARTBEAT_KEY), NOW + 4)
        assert state["running"] is True
        assert state["state"] == "running"
        assert state["pid"] == os.getpid()
        assert state["uptime_s"] == 4
        assert state["counters"] == COUNTS

    def test_beats_are_rate_limited(self, store: Store) -> None:
        """The reader loop calls it every turn; the row is written once per interval."""
        clock = Clock()
        heartbeat = Heartbeat(store, interval_s=5, clock=clock)
        heartbeat.beat(COUNTS)
        clock.now += 4
        heartbeat.beat({**COUNTS, "lines": 11})
        assert json.loads(store.get_meta(HEARTBEAT_KEY) or "")["counters"]["lines"] == 10
        clock.now += 1
        heartbeat.beat({**COUNTS, "lines": 12})
        assert json.loads(store.get_meta(HEARTBEAT_KEY) or "")["counters"]["lines"] == 12

    def test_it_says_when_the_next_beat_is_due(self, store: Store) -> None:
        """An idle reader loop sleeps until then, and no longer."""
        clock = Clock()
        heartbeat = Heartbeat(store, interval_s=5, clock=clock)
        assert heartbeat.due_in_s() == 0.0  # never beaten: at once
        heartbeat.beat(COUNTS)
        clock.now += 3
        assert heartbeat.due_in_s() == 2.0
        clock.now += 4
        assert heartbeat.due_in_s() == 0.0

    def test_a_clean_stop_is_recorded(self, store: Store) -> None:
        """After SIGTERM the row says stopped, not merely silent."""
        clock = Clock()
        heartbeat = Heartbeat(store, clock=clock)
        heartbeat.beat(COUNTS)
        heartbeat.stopped(COUNTS)
        state = daemon_state(store.get_meta(HEARTBEAT_KEY), NOW + 1)
        assert (state["running"], state["state"]) == (False, "stopped")

    def test_an_error_stop_is_recorded_with_its_reason(self, store: Store) -> None:
        """Exit 1 after the state database failed is no clean stop (status said it was)."""
        heartbeat = Heartbeat(store, clock=Clock())
        heartbeat.beat(COUNTS)
        heartbeat.stopped(COUNTS, exit_code=1, reason="the state database failed (locked)")
        state = daemon_state(store.get_meta(HEARTBEAT_KEY), NOW + 1)
        assert (state["state"], state["exit_code"]) == ("stopped", 1)
        line = render_status(collect_status(store.path.parent)).splitlines()[0]
        assert line == ("daemon:    stopped with an error (the state database failed (locked);"
                        f" exit 1, {line.rsplit(', ', 1)[1]}")

    def test_a_stale_heartbeat_of_a_live_process_is_unresponsive(self, store: Store) -> None:
        """The process exists but its loop stopped beating: a wedged daemon, said loudly."""
        Heartbeat(store, interval_s=5, clock=Clock()).beat(COUNTS)
        state = daemon_state(store.get_meta(HEARTBEAT_KEY), NOW + 60)
        assert (state["running"], state["state"]) == (False, "unresponsive")

    def test_a_stale_heartbeat_of_a_dead_process_is_gone(self, store: Store) -> None:
        """No clean stop and no such process: it was killed or crashed."""
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        Heartbeat(store, interval_s=5, clock=Clock()).beat(COUNTS)
        record = json.loads(store.get_meta(HEARTBEAT_KEY) or "")
        store.set_meta(HEARTBEAT_KEY, json.dumps({**record, "pid": child.pid}))
        state = daemon_state(store.get_meta(HEARTBEAT_KEY), NOW + 60)
        assert state["state"] == "gone"

    def test_a_fresh_heartbeat_of_a_dead_process_is_gone(self, store: Store) -> None:
        """kill -9 a moment ago: its last beat still looks fresh, but the process is gone
        (status said "running", its uptime counting on, for 15 s)."""
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        Heartbeat(store, interval_s=5, clock=Clock()).beat(COUNTS)
        record = json.loads(store.get_meta(HEARTBEAT_KEY) or "")
        store.set_meta(HEARTBEAT_KEY, json.dumps({**record, "pid": child.pid}))
        state = daemon_state(store.get_meta(HEARTBEAT_KEY), NOW + 1)
        assert (state["running"], state["state"]) == (False, "gone")

    def test_no_heartbeat_means_never_started(self) -> None:
        assert daemon_state(None, NOW) == {"running": False, "state": "never-started"}


class TestCollectAndRender:
    def test_everything_an_operator_asks_first(self, store: Store, tmp_path: Path) -> None:
        """Daemon state, files with offset and lag, outbox depth, dead letters, recent alerts."""
        log = tmp_path / "app.log"
        log.write_bytes(b"y" * 2048)
        Heartbeat(store, clock=Clock()).beat(COUNTS)
        store.commit(
            [FileState("u1", "web", str(log), 1, 2, b"", 1024, 40, b"")],
            [Delivery(sample_alert(id=f"a{n}"), "hook") for n in range(3)],
            now=NOW - 30,
        )
        first, second, third = sorted(store.outbox(), key=lambda row: row.id)
        store.mark_sent(first.id, NOW - 20)
        store.mark_dead(second.id, "HTTP 400: no such hook")
        status = collect_status(tmp_path, now=NOW + 2)
        assert status["daemon"]["state"] == "running"
        assert status["files"] == [{
            "path": str(log), "source": "web", "uid": "u1", "offset": 1024, "line": 40,
            "size": 2048, "lag_bytes": 1024,
        }]
        assert status["outbox"] == {"pending": 1, "sent": 1, "dead": 1, "folded": 0,
                                    "oldest_pending_age_s": 32.0}
        assert [dead["id"] for dead in status["dead_letters"]] == [second.id]
        assert status["dead_letters"][0]["error"] == "HTTP 400: no such hook"
        assert [alert["notifier"] for alert in status["recent_alerts"]] == ["hook"]
        assert status["recent_alerts"][0]["rule"] == "db-down"
        json.dumps(status)  # --json prints it as is

        text = render_status(status, now=NOW + 2)
        assert text.splitlines()[0].startswith(f"daemon:    running (pid {os.getpid()}, up 2s")
        assert "1.0 KiB" in text
        assert "outbox: 1 pending, 1 sent, 1 dead; oldest pending for 32s" in text
        assert "HTTP 400: no such hook" in text
        assert "logwatch outbox retry" in text
        assert "22s ago" in text  # the sent alert
        assert third.state == "pending"

    def test_columns_line_up(self, store: Store, tmp_path: Path) -> None:
        """The file table is aligned however long the paths are."""
        short, long = tmp_path / "a.log", tmp_path / ("very-long-name-" * 4 + ".log")
        for path in (short, long):
            path.write_bytes(b"z" * 10)
        store.commit(
            [FileState("u1", "web", str(short), 1, 2, b"", 10, 2, b""),
             FileState("u2", "worker", str(long), 1, 3, b"", 5, 1, b"")],
            [], now=NOW,
        )
        lines = render_status(collect_status(tmp_path, now=NOW), now=NOW).splitlines()
        header, first, second = [
            line for line in lines if line.startswith(("FILE", str(tmp_path)))
        ]
        assert header.index("SOURCE") == first.index("web") == second.index("worker")
        assert header.index("LAG") + len("LAG") == len(first) == len(second)

    def test_files_the_daemon_cannot_open_are_listed_with_the_error(
        self, store: Store, tmp_path: Path
    ) -> None:
        """They have no offset to show: the daemon reports them with its heartbeat."""
        heartbeat = Heartbeat(store, clock=Clock())
        unreadable = [{"path": "/var/log/shop/secret.log", "source": "web",
                       "error": "[Errno 13] Permission denied"}]
        heartbeat.set_field("unreadable", unreadable)
        heartbeat.beat(COUNTS)
        status = collect_status(tmp_path, now=NOW + 2)
        assert status["unreadable"] == unreadable
        assert "unreadable" not in status["daemon"]
        assert status["files"] == []
        lines = render_status(status, now=NOW + 2).splitlines()
        at = lines.index("unreadable (read as soon as their permissions allow):")
        assert lines[at + 1].split() == ["FILE", "SOURCE", "ERROR"]
        assert lines[at + 2].split() == [
            "/var/log/shop/secret.log", "web", "[Errno", "13]", "Permission", "denied"]
        Heartbeat(store, clock=Clock()).beat(COUNTS)  # none: no section
        status = collect_status(tmp_path, now=NOW + 2)
        assert status["unreadable"] == []
        assert "unreadable" not in render_status(status, now=NOW + 2)

    def test_an_unopenable_state_database_is_an_error_not_a_traceback(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """As a user who may not read the service's state: one line saying why, exit 1."""
        (tmp_path / "state" / "state.db").mkdir(parents=True)  # cannot be opened as a database
        config = tmp_path / "logwatch.yaml"
        config.write_text(f"state_dir: {tmp_path / 'state'}\n", encoding="utf-8")
        assert main(["status", "-c", str(config)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("logwatch: cannot open state database")
        assert "Traceback" not in err

    def test_a_state_dir_the_daemon_never_used(self, tmp_path: Path) -> None:
        """No database yet: say so, and create nothing."""
        status = collect_status(tmp_path / "nothing-here")
        assert status["daemon"]["state"] == "never-started"
        assert status["silences"] == []
        assert "has not run here" in render_status(status)
        assert not (tmp_path / "nothing-here").exists()


class TestSilencesInStatus:
    def test_active_and_pending_are_listed_expired_ones_are_not(
        self, store: Store, tmp_path: Path
    ) -> None:
        """What mutes now or will: id, state, matchers, span, author and comment; not the past."""
        at = datetime.fromtimestamp(NOW, UTC)
        ids = iter(["expired-1", "active-1", "pending-1"])
        silences = SilenceStore(tmp_path / "state.db", new_id=lambda: next(ids))
        for start, end, comment in [
            (at - timedelta(hours=2), at - timedelta(hours=1), "old drill"),
            (at - timedelta(minutes=5), at + timedelta(hours=1), "failover drill"),
            (at + timedelta(minutes=10), at + timedelta(hours=2), "tonight's migration"),
        ]:
            silences.add([LabelMatcher.parse("rule=db-down"), LabelMatcher.parse("host=~web-.*")],
                         starts_at=start, ends_at=end, comment=comment, created_by="ops")
        silences.close()

        status = collect_status(tmp_path, now=NOW)
        assert status["silences"] == [
            {"id": "active-1", "state": "active", "matchers": ["rule=db-down", "host=~web-.*"],
             "starts_at": (at - timedelta(minutes=5)).isoformat(),
             "ends_at": (at + timedelta(hours=1)).isoformat(),
             "comment": "failover drill", "created_by": "ops"},
            {"id": "pending-1", "state": "pending", "matchers": ["rule=db-down", "host=~web-.*"],
             "starts_at": (at + timedelta(minutes=10)).isoformat(),
             "ends_at": (at + timedelta(hours=2)).isoformat(),
             "comment": "tonight's migration", "created_by": "ops"},
        ]
        json.dumps(status)

        lines = render_status(status, now=NOW).splitlines()
        section = lines.index("silences (end one with `logwatch silence expire ID`):")
        header, active, pending = lines[section + 1:section + 4]
        assert header.split() == ["ID", "STATE", "ENDS", "MATCHERS", "BY", "COMMENT"]
        assert active.split()[:4] == ["active-1", "active", "in", "1h00m"]
        assert "  rule=db-down host=~web-.*  " in active
        assert active.endswith("ops  failover drill")
        assert "in 2h00m, starts in 10m" in pending
        assert pending.endswith("ops  tonight's migration")
        assert header.index("MATCHERS") == active.index("rule=") == pending.index("rule=")
        assert not any("expired" in line or "old drill" in line for line in lines)

    def test_no_silences_no_section(self, store: Store, tmp_path: Path) -> None:
        """Like dead letters and recent alerts, an empty list prints nothing."""
        Heartbeat(store, clock=Clock()).beat(COUNTS)
        status = collect_status(tmp_path, now=NOW + 1)
        assert status["silences"] == []
        text = render_status(status, now=NOW + 1)
        assert "outbox: 0 pending" in text
        assert not any(line.startswith("silences") for line in text.splitlines())

    def test_the_cli_shows_what_silence_list_shows(self, tmp_path: Path) -> None:
        """Silences added and expired with `logwatch silence`; status agrees with `silence list`."""
        config = tmp_path / "c.yaml"
        config.write_text(
            f"state_dir: {tmp_path / 'state'}\n"
            "rules: [{name: db-down, match: {}, notify: [log]}]\n"
            "notifiers: {log: {type: console}}\n",
            encoding="utf-8",
        )

        def add(*matchers: str, comment: str) -> str:
            added = logwatch("silence", "add", "-c", str(config), "--author", "ops",
                             *(arg for m in matchers for arg in ("--match", m)),
                             "--for", "2h", "--comment", comment)
            assert added.returncode == 0, added.stderr
            return added.stdout.strip()

        active = add("rule=db-down", "severity=~crit.*", comment="failover drill")
        expired = add("host=web-1", comment="reboot")
        assert logwatch("silence", "expire", "-c", str(config), expired).returncode == 0
        # `silence add` always starts now: a silence that starts later comes from its store
        later = datetime.now(UTC) + timedelta(hours=1)
        store = SilenceStore.in_dir(tmp_path / "state")
        pending = store.add([LabelMatcher.parse("source=web")], starts_at=later,
                            ends_at=later + timedelta(hours=1), comment="migration").id
        store.close()

        result = logwatch("status", "--json", "-c", str(config))
        assert result.returncode == 0, result.stderr
        shown = json.loads(result.stdout)["silences"]
        assert [(item["id"], item["state"]) for item in shown] == [
            (active, "active"), (pending, "pending")]
        listed = logwatch("silence", "list", "-c", str(config), "--json").stdout
        assert shown == [json.loads(line) for line in listed.splitlines()]

        text = logwatch("status", "-c", str(config)).stdout
        assert active in text
        assert pending in text
        assert expired not in text
        assert "rule=db-down severity=~crit.*" in text
        assert "failover drill" in text
        assert "reboot" not in text

    def test_a_fresh_config_shows_none_and_writes_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = tmp_path / "c.yaml"
        config.write_text(f"state_dir: {tmp_path / 'state'}\n", encoding="utf-8")
        assert main(["status", "--json", "-c", str(config)]) == 0
        assert json.loads(capsys.readouterr().out)["silences"] == []
        assert main(["status", "-c", str(config)]) == 0
        assert "has not run here" in capsys.readouterr().out
        assert sorted(tmp_path.iterdir()) == [config]


# -- against the running daemon ----------------------------------------------


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[AppLog]:
    (tmp_path / "logs").mkdir()
    log = AppLog(tmp_path / "logs" / "app.log")
    log.info("service started")
    yield log
    log.close()


# Run by the daemon under test (as sitecustomize): opening a file nobody may read fails
# as it does for the service's user, even when the tests run as root.
_REFUSING = """
import errno
import os

from logwatch.sources import rotation

_real_open = rotation.open_readonly


def _open_readonly(path):
    if os.stat(path).st_mode & 0o444 == 0:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return _real_open(path)


rotation.open_readonly = _open_readonly
"""


def refusing_env(tmp_path: Path) -> dict[str, str]:
    """The daemon's environment for ``_REFUSING``."""
    shim = tmp_path / "refusing"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(_REFUSING, encoding="utf-8")
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(shim) if not path else f"{shim}{os.pathsep}{path}"}


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]
rules:
  - name: tracebacks
    match: {{traceback: true}}
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{url}"}}
""",
        encoding="utf-8",
    )
    return config


class TestStatusOfARunningDaemon:
    def test_status_json_follows_the_daemon_through_its_life(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """Running with its pid while up, the file caught up, the alert listed; stopped after."""
        receiver = Receiver()
        httpserver.expect_request("/alerts").respond_with_handler(receiver.handle)
        config = write_config(tmp_path, httpserver.url_for("/alerts"))

        def status() -> dict[str, object]:
            result = logwatch("status", "--json", "-c", str(config))
            assert result.returncode == 0, result.stderr
            parsed: dict[str, object] = json.loads(result.stdout)
            return parsed

        def caught_up() -> bool:
            files = status()["files"]
            assert isinstance(files, list)
            return len(files) == 1 and files[0]["lag_bytes"] == 0

        with running_daemon(config, tmp_path) as process:
            app_log.exception(7)
            wait_for(lambda: receiver.count() == 1, 15, "the alert")
            wait_for(caught_up, 15, "the committed offset to reach the end of app.log")
            running = status()
            daemon = running["daemon"]
            assert isinstance(daemon, dict)
            assert (daemon["state"], daemon["pid"]) == ("running", process.pid)
            recent = running["recent_alerts"]
            assert isinstance(recent, list)
            assert recent[0]["title"] == "ValueError: card declined for order 7"
            text = logwatch("status", "-c", str(config)).stdout
            assert f"running (pid {process.pid}" in text
            assert str(tmp_path / "logs" / "app.log") in text
            code, _ = stop(process)
        assert code == 0
        stopped = status()["daemon"]
        assert isinstance(stopped, dict)
        assert stopped["state"] == "stopped"

    def test_a_file_unreadable_at_start_is_listed_then_alerted_once_readable(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """Its traceback, written while it could not be read, is alerted after the chmod
        alone (no write, no name changed in its directory); its history from before
        the start is not (start_at: end)."""
        receiver = Receiver()
        httpserver.expect_request("/alerts").respond_with_handler(receiver.handle)
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        secret = tmp_path / "logs" / "secret.log"
        writer = AppLog(secret, name="app.secret")
        writer.exception(10)  # history
        secret.chmod(0o200)  # nobody may read it; its writer still writes it

        def status() -> dict[str, Any]:
            result = logwatch("status", "--json", "-c", str(config))
            assert result.returncode == 0, result.stderr
            parsed: dict[str, Any] = json.loads(result.stdout)
            return parsed

        refused = [{"path": str(secret), "source": "app", "error": "[Errno 13] Permission denied"}]
        with running_daemon(config, tmp_path, env=refusing_env(tmp_path)):
            wait_for(lambda: status()["unreadable"] == refused, 15, "secret.log listed unreadable")
            text = logwatch("status", "-c", str(config)).stdout
            assert "unreadable (read as soon as their permissions allow):" in text
            assert str(secret) in text
            assert receiver.count() == 0
            written = writer.exception(11)
            writer.close()
            secret.chmod(0o644)
            wait_for(lambda: receiver.count() == 1, 15, "the alert of the traceback")
            body = receiver.bodies[0]
            assert (body["exc_message"], body["first_line"]) == (
                written.exc_message, written.first_line)
            wait_for(lambda: status()["unreadable"] == [], 15, "secret.log no longer listed")
            assert str(secret) in [entry["path"] for entry in status()["files"]]

    def test_a_killed_daemon_is_reported_gone(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """kill -9 leaves no clean-stop mark; status says so at once, the last beat fresh
        or stale."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path) as process:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        store = Store.in_dir(tmp_path / "state")
        raw = store.get_meta(HEARTBEAT_KEY)
        store.close()
        assert raw is not None
        beat_at = json.loads(raw)["beat_at"]
        # a beat ages in wall-clock time: judge it as `status` would a little and a while later
        assert daemon_state(raw, beat_at + 1)["state"] == "gone"
        assert daemon_state(raw, beat_at + 60)["state"] == "gone"

    def test_a_silence_added_while_it_runs_is_shown(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """The daemon holds the database open; status reads the silence next to it."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path) as process:
            added = logwatch("silence", "add", "-c", str(config), "--match", "rule=tracebacks",
                             "--for", "30m", "--comment", "deploy")
            assert added.returncode == 0, added.stderr
            result = logwatch("status", "--json", "-c", str(config))
            assert result.returncode == 0, result.stderr
            [shown] = json.loads(result.stdout)["silences"]
            assert (shown["id"], shown["state"], shown["matchers"]) == (
                added.stdout.strip(), "active", ["rule=tracebacks"])
            text = logwatch("status", "-c", str(config)).stdout
            assert "rule=tracebacks" in text
            assert "deploy" in text
            assert process.poll() is None

    def test_a_file_rotated_to_a_name_the_glob_matches_is_listed_under_it(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """logrotate `create` renames app.log to app.log.1, which `app.log*` follows: status
        lists it there, caught up, not as a second app.log measured against the new file
        (which read as a lag growing with the new file, all day, after a nightly rotation)."""
        receiver = Receiver()
        httpserver.expect_request("/alerts").respond_with_handler(receiver.handle)
        logs = tmp_path / "logs"
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        config.write_text(config.read_text().replace("/*.log", "/app.log*"), encoding="utf-8")
        rotate = Logrotate(tmp_path, app_log.path, "rotate 3\ncreate\nmissingok")

        def files() -> list[tuple[str, int | None]]:
            result = logwatch("status", "--json", "-c", str(config))
            assert result.returncode == 0, result.stderr
            return sorted((f["path"], f["lag_bytes"]) for f in json.loads(result.stdout)["files"])

        with running_daemon(config, tmp_path):
            app_log.exception(1)
            wait_for(lambda: receiver.count() == 1, 15, "the alert of app.log")
            wait_for(lambda: files() == [(str(logs / "app.log"), 0)], 15, "app.log caught up")
            app_log.close()
            rotate.rotate()
            reopened = AppLog(logs / "app.log")  # the application reopens its log
            reopened.info("after the rotation, a longer line than the first file had")
            reopened.exception(2)
            reopened.close()
            wait_for(lambda: receiver.count() == 2, 15, "the alert of the new app.log")
            expected = [(str(logs / "app.log"), 0), (str(logs / "app.log.1"), 0)]
            wait_for(lambda: files() == expected, 15, "app.log.1 listed under its name")
