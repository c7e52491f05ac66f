"""The daemon's own log: stderr, with syslog priority prefixes when journald reads it."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest
from pytest_httpserver import HTTPServer

from logwatch.cli import _setup_logging
from tests.daemon_harness import NotifySocket, logwatch, running_daemon, stop


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """_setup_logging replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def journal_stream_of(path: Path) -> str:
    """The JOURNAL_STREAM value systemd would set if ``path`` were the journal's stream."""
    stat = path.stat()
    return f"{stat.st_dev}:{stat.st_ino}"


@pytest.fixture
def stderr_file(tmp_path: Path) -> Iterator[TextIO]:
    """A real file to stand for stderr, as the journal's stream is a real socket."""
    with (tmp_path / "stderr").open("w+", encoding="utf-8") as stream:
        yield stream


def written(stream: TextIO) -> list[str]:
    stream.flush()
    stream.seek(0)
    return stream.read().splitlines()


class TestJournalFormat:
    def test_priority_prefix_per_level_on_every_line(
        self, root_logger: logging.Logger, stderr_file: TextIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """<3> for errors, <4> warnings, <6> info, <7> debug; a traceback keeps its level
        on each of its lines, so journald does not file them as info."""
        # patched here, not in a fixture: pytest's own capture swaps sys.stderr around calls
        monkeypatch.setattr(sys, "stderr", stderr_file)
        monkeypatch.setenv("JOURNAL_STREAM", journal_stream_of(Path(stderr_file.name)))
        _setup_logging("debug")
        log = logging.getLogger("logwatch.test")
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.error("e")
        log.critical("c")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
        lines = written(stderr_file)
        assert lines[:5] == [
            "<7>logwatch.test: d", "<6>logwatch.test: i", "<4>logwatch.test: w",
            "<3>logwatch.test: e", "<2>logwatch.test: c",
        ]
        assert lines[5] == "<3>logwatch.test: failed"
        assert lines[-1] == "<3>ValueError: boom"
        assert all(line.startswith("<3>") for line in lines[5:])

    def test_plain_timestamps_when_stderr_is_not_the_journal(
        self, root_logger: logging.Logger, stderr_file: TextIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """JOURNAL_STREAM inherited from a service but stderr redirected: no prefixes."""
        monkeypatch.setattr(sys, "stderr", stderr_file)
        monkeypatch.setenv("JOURNAL_STREAM", "1:2")
        _setup_logging("info")
        logging.getLogger("logwatch.test").warning("careful")
        (line,) = written(stderr_file)
        assert not line.startswith("<")
        assert line.endswith(" WARNING logwatch.test: careful")


def write_config(tmp_path: Path, url: str, *, log_level: str | None = None) -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    config = tmp_path / "logwatch.yaml"
    level = f"log_level: {log_level}\n" if log_level else ""
    config.write_text(
        f"""{level}state_dir: {tmp_path / "state"}
sources: [{{name: app, paths: ["{tmp_path / "logs"}/*.log"]}}]
rules: [{{name: tracebacks, match: {{traceback: true}}, notify: [hook]}}]
notifiers: {{hook: {{type: webhook, url: "{url}"}}}}
""",
        encoding="utf-8",
    )
    return config


class TestDaemonLog:
    def test_under_journald_with_log_level_warning(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """`--log-level WARNING` (any case) hides start-up info; a refused reload is <3>."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        stderr = tmp_path / "daemon.stderr"
        stderr.touch()
        env = {"JOURNAL_STREAM": journal_stream_of(stderr)}
        notify = NotifySocket(tmp_path / "notify.sock")
        try:
            with running_daemon(config, tmp_path, notify=notify, env=env,
                                args=("--log-level", "WARNING")) as process:
                config.write_text("bogus: 1\n", encoding="utf-8")
                process.send_signal(signal.SIGHUP)
                notify.wait_for_count("READY=1", 2)
                stop(process)
        finally:
            notify.close()
        lines = stderr.read_text(encoding="utf-8").splitlines()
        assert "<3>logwatch.daemon.runner: reload refused, keeping the running config:" in lines
        assert all(line.startswith(("<3>", "<4>", "<2>")) for line in lines), lines
        assert not any("logwatch running" in line for line in lines)

    def test_a_path_naming_a_directory_is_warned_of(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """At start and at each reload: such a path follows nothing, silently."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"))
        text = config.read_text(encoding="utf-8")
        assert f'paths: ["{tmp_path}/logs/*.log"]' in text
        config.write_text(text.replace(f'"{tmp_path}/logs/*.log"', f'"{tmp_path}/logs"'),
                          encoding="utf-8")
        notify = NotifySocket(tmp_path / "notify.sock")
        try:
            with running_daemon(config, tmp_path, notify=notify, env={"JOURNAL_STREAM": ""},
                                args=()) as process:
                process.send_signal(signal.SIGHUP)
                notify.wait_for_count("READY=1", 2)
                stop(process)
        finally:
            notify.close()
        warned = [line for line in (tmp_path / "daemon.stderr").read_text().splitlines()
                  if "is a directory, and paths name files" in line]
        assert len(warned) == 2, warned
        assert f" WARNING logwatch.daemon.runner: source 'app': {tmp_path}/logs is" in warned[0]

    def test_config_log_level_applies_unless_the_flag_says_otherwise(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """`log_level: warning` in the config quiets info; `--log-level info` wins over it."""
        config = write_config(tmp_path, httpserver.url_for("/alerts"), log_level="warning")
        stderr = tmp_path / "daemon.stderr"
        env = {"JOURNAL_STREAM": ""}
        with running_daemon(config, tmp_path, env=env, args=()) as process:
            stop(process)
        assert "logwatch running" not in stderr.read_text(encoding="utf-8")
        with running_daemon(config, tmp_path, env=env, args=("--log-level", "info")) as process:
            stop(process)
        started = [line for line in stderr.read_text(encoding="utf-8").splitlines()
                   if "logwatch running" in line]
        assert len(started) == 1
        assert " INFO logwatch.daemon.runner: logwatch running: 1 source(s)" in started[0]


@pytest.mark.parametrize("level", ["critical", "CRITICAL"])
def test_the_flag_takes_every_level_the_config_takes(tmp_path: Path, level: str) -> None:
    """`log_level: critical` was valid in the config and refused by `--log-level`."""
    result = logwatch("run", "--log-level", level, "-c", str(tmp_path / "missing.yaml"))
    assert "invalid choice" not in result.stderr
    assert "cannot read config" in result.stderr
