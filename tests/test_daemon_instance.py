"""One daemon per state directory: a second refuses to start, naming the first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

from logwatch.daemon.instance import LOCK_NAME
from tests.daemon_harness import running_daemon, stop
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
