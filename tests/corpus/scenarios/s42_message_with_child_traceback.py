"""s42: a message that carries a whole child-process traceback, unindented or indented."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from ._recorder import Recorder


def child_traceback() -> str:
    result = subprocess.run(
        [sys.executable, "-S", "-c", "def f():\n    return 1 / 0\nf()"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    return result.stderr.decode("utf-8").rstrip("\n")


def run_child_job(output: str) -> None:
    raise RuntimeError("child failed:\n" + output)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    output = child_traceback()
    rec.logged(
        "message holds an unindented child traceback", lambda: run_child_job(output), "job failed"
    )
    rec.noise()
    indented = textwrap.indent(output, "    ")
    rec.logged(
        "message holds an indented child traceback", lambda: run_child_job(indented), "job failed"
    )
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
