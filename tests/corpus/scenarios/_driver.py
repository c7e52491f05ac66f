"""Run many scenarios under one interpreter: fork one process per scenario from this one.

    python -u -S -m scenarios._driver JOBS < runs.jsonl

Each input line is {"name", "log", "truth", "scratch"}; each output line is
"name<TAB>exit status". Starting an interpreter and importing logging costs far
more than a scenario's own work, so the common modules are imported once here
and every scenario runs in a fork of this still-pristine process, as
``__main__``, with stderr appended to its log. Children a scenario starts for
uncaught tracebacks are real new interpreters (see Recorder.run_child).
"""

from __future__ import annotations

import atexit
import json
import logging  # noqa: F401 - imported once for every fork
import os
import runpy
import subprocess  # noqa: F401 - imported once for every fork
import sys
import traceback
from typing import Any

from . import _recorder  # noqa: F401 - imported once for every fork


def run_in_child(run: dict[str, Any]) -> int:
    """Become the scenario's process: its log on stderr, its arguments in sys.argv."""
    log = os.open(run["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(log, 2)
    sys.argv = ["", run["log"], run["truth"], run["scratch"]]
    status = 0
    try:
        runpy.run_module("scenarios." + run["name"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:  # noqa: BLE001 - a broken scenario shows its traceback in its log
        traceback.print_exc()
        status = 1
    # what the interpreter does on a normal exit: atexit (logging.shutdown), flush
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return status


def main() -> None:
    jobs = int(sys.argv[1])
    runs = [json.loads(line) for line in sys.stdin if line.strip()]
    running: dict[int, str] = {}
    while runs or running:
        while runs and len(running) < jobs:
            run = runs.pop(0)
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                status = 70  # EX_SOFTWARE: the driver itself failed in this child
                try:
                    status = run_in_child(run)
                finally:
                    os._exit(status)
            running[pid] = run["name"]
        pid, wait_status = os.wait()
        status = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else -1
        print(f"{running.pop(pid)}\t{status}", flush=True)


if __name__ == "__main__":
    main()
