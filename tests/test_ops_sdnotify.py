"""sd_notify and signals, as systemd sees them: a real NOTIFY_SOCKET, real SIGHUP and SIGTERM."""

from __future__ import annotations

import itertools
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.daemon_harness import (
    AppLog,
    NotifySocket,
    Receiver,
    running_daemon,
    stop,
    wait_for,
)

WATCHDOG_USEC = "2000000"  # WatchdogSec=2s: pings due every second


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    recorder = Receiver()
    httpserver.expect_request("/alerts", method="POST").respond_with_handler(recorder.handle)
    return recorder


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[AppLog]:
    (tmp_path / "logs").mkdir()
    log = AppLog(tmp_path / "logs" / "app.log")
    log.info("service started")
    yield log
    log.close()


def config_text(tmp_path: Path, url: str, *, worker_source: bool = False) -> str:
    worker = (
        f"""
  - name: worker
    paths: ["{tmp_path / "worker-logs"}/*.log"]
    start_at: beginning"""
        if worker_source
        else ""
    )
    return f"""
state_dir: {tmp_path / "state"}
sources:
  - name: app
    paths: ["{tmp_path / "logs"}/*.log"]{worker}
rules:
  - name: tracebacks
    match: {{traceback: true}}
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{url}"}}
delivery: {{initial_backoff: 100ms, max_backoff: 500ms, timeout: 2s}}
"""


def write_config(tmp_path: Path, url: str, **kwargs: bool) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(config_text(tmp_path, url, **kwargs), encoding="utf-8")
    return config


def lines_read(notify: NotifySocket) -> int:
    """The line count of the daemon's latest STATUS= message (-1 before the first)."""
    notify.receive()
    statuses = [field for field in notify.fields() if field.startswith("STATUS=")]
    if not statuses:
        return -1
    found = re.match(r"STATUS=(\d+) lines", statuses[-1])
    assert found is not None, statuses[-1]
    return int(found.group(1))


class TestNotifyProtocol:
    def test_ready_watchdog_reload_and_stopping_in_order(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, notify: NotifySocket
    ) -> None:
        """READY=1 once started, WATCHDOG=1 while running, RELOADING=1 then READY=1 on
        SIGHUP, STOPPING=1 on SIGTERM, then a clean exit."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        env = {"WATCHDOG_USEC": WATCHDOG_USEC}
        with running_daemon(config, tmp_path, notify=notify, env=env) as process:
            notify.wait_for_count("WATCHDOG=1", 2)
            process.send_signal(signal.SIGHUP)
            notify.wait_for_count("READY=1", 2)
            code, _ = stop(process)
            notify.wait_for("STOPPING=1")
        assert code == 0
        fields = notify.fields()
        milestones = [f for f in fields if f in ("READY=1", "RELOADING=1", "STOPPING=1")]
        assert milestones == ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]
        reloading = fields.index("RELOADING=1")
        # systemd (253+) wants the reload's start time next to RELOADING=1
        assert fields[reloading + 1].startswith("MONOTONIC_USEC=")
        assert fields.index("WATCHDOG=1") > fields.index("READY=1")
        assert any(f.startswith("STATUS=") for f in fields)

    def test_an_idle_daemon_pings_well_within_the_watchdog_interval(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, notify: NotifySocket,
        app_log: AppLog,
    ) -> None:
        """Idle, the reader loop sleeps up to seconds between turns: never so long that
        systemd, missing a ping for WatchdogSec (2 s here), would kill the daemon."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        env = {"WATCHDOG_USEC": WATCHDOG_USEC}
        with running_daemon(config, tmp_path, notify=notify, env=env) as process:
            seen = []  # (running_daemon waited for READY=1)
            for count in range(notify.count("WATCHDOG=1") + 1, notify.count("WATCHDOG=1") + 7):
                notify.wait_for_count("WATCHDOG=1", count)
                seen.append(time.monotonic())
            stop(process)
        gaps = [later - earlier for earlier, later in itertools.pairwise(seen)]
        assert max(gaps) < 1.5, gaps  # pings are due 1 s apart (half of WatchdogSec)

    def test_no_watchdog_pings_unless_asked(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, notify: NotifySocket,
        app_log: AppLog,
    ) -> None:
        """Without WATCHDOG_USEC the daemon does not ping: systemd did not ask."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path, notify=notify) as process:
            app_log.exception(1)
            wait_for(lambda: receiver.count() == 1, 15, "an alert, so the loop has turned")
            stop(process)
            notify.wait_for("STOPPING=1")
        assert notify.count("WATCHDOG=1") == 0

    def test_a_watchdog_for_another_pid_is_ignored(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, notify: NotifySocket,
        app_log: AppLog,
    ) -> None:
        """WATCHDOG_PID names another process (we were forked by it): not our watchdog."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        env = {"WATCHDOG_USEC": WATCHDOG_USEC, "WATCHDOG_PID": "1"}
        with running_daemon(config, tmp_path, notify=notify, env=env) as process:
            app_log.exception(1)
            wait_for(lambda: receiver.count() == 1, 15, "an alert, so the loop has turned")
            stop(process)
            notify.wait_for("STOPPING=1")
        assert notify.count("WATCHDOG=1") == 0


EXPLODING_PLUGIN = """\
from typing import ClassVar

from logwatch.notifiers.base import NotifierOptions


class Exploding:
    \"\"\"A broken plugin whose send() ends the delivery thread.\"\"\"

    Options: ClassVar[type[NotifierOptions]] = NotifierOptions

    def __init__(self, name, options, *, client):
        self.name = name

    async def send(self, alert):
        raise SystemExit("a plugin that takes the delivery thread down with it")

    async def aclose(self):
        pass
"""


def install_exploding_plugin(site: Path) -> None:
    """A real distribution on PYTHONPATH registering notifier type `exploding`."""
    (site / "lw_exploding.py").write_text(EXPLODING_PLUGIN, encoding="utf-8")
    dist = site / "lw_exploding-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lw-exploding\nVersion: 0\n",
                                   encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[logwatch.notifiers]\nexploding = lw_exploding:Exploding\n", encoding="utf-8"
    )


class TestWhenDeliveryDies:
    def test_a_dead_delivery_thread_stops_the_daemon_with_an_error(
        self, tmp_path: Path, notify: NotifySocket, app_log: AppLog
    ) -> None:
        """A plugin that kills the delivery thread: no more watchdog pings, STOPPING=1 and
        exit status 1, so that systemd (Restart=on-failure) starts a logwatch that sends."""
        site = tmp_path / "site"
        site.mkdir()
        install_exploding_plugin(site)
        config = tmp_path / "logwatch.yaml"
        config.write_text(
            f"""
state_dir: {tmp_path / "state"}
sources: [{{name: app, paths: ["{tmp_path / "logs"}/*.log"]}}]
rules: [{{name: tracebacks, match: {{traceback: true}}, notify: [boom]}}]
notifiers: {{boom: {{type: exploding}}}}
""",
            encoding="utf-8",
        )
        env = {"WATCHDOG_USEC": WATCHDOG_USEC, "PYTHONPATH": str(site)}
        with running_daemon(config, tmp_path, notify=notify, env=env) as process:
            notify.wait_for_count("WATCHDOG=1", 2)
            app_log.exception(1)
            code = process.wait(15)
            notify.wait_for("STOPPING=1")
        assert code == 1
        fields = notify.fields()
        assert "WATCHDOG=1" not in fields[fields.index("STOPPING=1"):]
        stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
        assert "delivery thread failed" in stderr
        assert "the delivery thread has ended; stopping with an error" in stderr


class TestReload:
    def test_broken_config_keeps_the_old_one_alerting(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, notify: NotifySocket,
        app_log: AppLog,
    ) -> None:
        """SIGHUP with an invalid config: reported, the daemon keeps running and alerting on
        the config it had."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        with running_daemon(config, tmp_path, notify=notify) as process:
            config.write_text("rules: [{name: x, match: {level: NOPE}}]\nbogus: 1\n",
                              encoding="utf-8")
            process.send_signal(signal.SIGHUP)
            notify.wait_for_count("READY=1", 2)
            assert process.poll() is None
            app_log.exception(1)
            wait_for(lambda: receiver.count() == 1, 15, "an alert through the old config")
            code, _ = stop(process)
        assert code == 0
        stderr = (tmp_path / "daemon.stderr").read_text(encoding="utf-8")
        assert "reload refused, keeping the running config" in stderr
        assert "unknown key 'bogus'" in stderr

    def test_new_source_is_tailed_without_rereading_the_others(
        self, tmp_path: Path, httpserver: HTTPServer, receiver: Receiver, notify: NotifySocket,
        app_log: AppLog,
    ) -> None:
        """SIGHUP after adding a source: its file is followed; the old source's file goes on
        from where it was, so no line of it is read twice.

        The new source says `start_at: beginning`: a source added by a reload starts the
        way a first start does, and the worker's file may appear before or after the
        daemon's first look at it."""
        url = httpserver.url_for("/alerts")
        config = write_config(tmp_path, url)
        env = {"WATCHDOG_USEC": WATCHDOG_USEC}  # pings carry STATUS=, with the line count
        with running_daemon(config, tmp_path, notify=notify, env=env) as process:
            first = app_log.exception(1)
            wait_for(lambda: receiver.count() == 1, 15, "the first alert")
            app_lines = first.last_line - first.first_line + 1
            wait_for(lambda: lines_read(notify) == app_lines, 15, "the STATUS line count")

            (tmp_path / "worker-logs").mkdir()
            config.write_text(config_text(tmp_path, url, worker_source=True), encoding="utf-8")
            process.send_signal(signal.SIGHUP)
            notify.wait_for_count("READY=1", 2)
            worker = AppLog(tmp_path / "worker-logs" / "worker.log", name="app.worker")
            try:
                second = worker.exception(2)
            finally:
                worker.close()
            wait_for(lambda: receiver.count() == 2, 15, "the alert from the new source")
            total = app_lines + second.last_line
            notify.wait_for_count("WATCHDOG=1", notify.count("WATCHDOG=1") + 2)
            wait_for(lambda: lines_read(notify) >= total, 15, "the worker's lines counted")
            assert lines_read(notify) == total
        assert [body["source"] for body in receiver.bodies] == ["app", "worker"]
        assert len(set(receiver.ids())) == 2
