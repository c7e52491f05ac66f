"""Signals reach the daemon however busy its main thread is, without deadlocking it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The main thread takes a signal between two bytecodes, possibly while it holds
# the lock inside one of the daemon's own threading.Event objects (in wait() or
# clear()). Here it holds that lock on purpose when the signal arrives.
SCRIPT = """
import signal, sys
from pathlib import Path
from logwatch.daemon import runner

def run(self):
    with self._reload._cond:
        signal.raise_signal(signal.SIGHUP)
    with self._stop._cond:
        signal.raise_signal(signal.SIGTERM)
    if not (self._reload.wait(5) and self._stop.wait(5)):
        return 3
    return 0

runner.Daemon.run = run
sys.exit(runner.run_daemon(Path(sys.argv[1])))
"""


def test_a_signal_while_the_main_thread_holds_an_event_lock(tmp_path: Path) -> None:
    """SIGHUP and SIGTERM arriving inside Event.wait/clear are both acted on, no deadlock."""
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
sources: [{{name: app, paths: ["{tmp_path}/*.log"]}}]
rules: [{{name: all, match: {{traceback: true}}, notify: [console]}}]
notifiers: {{console: {{type: console}}}}
""",
        encoding="utf-8",
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(config)],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("the daemon deadlocked in its signal handler") from None
    assert result.returncode == 0, result.stderr
