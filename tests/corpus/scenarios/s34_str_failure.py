"""s34: ``str(exc)`` raises: the printer writes a placeholder message instead."""

from __future__ import annotations

import threading

from ._recorder import Recorder, hook_threads


class Weird(Exception):  # noqa: N818 - the name the research notes use
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def weird() -> None:
    raise Weird("payload")


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught with a failing __str__", weird)


def main(rec: Recorder) -> None:
    rec.start_logging()
    hook_threads(rec, "thread exception with a failing __str__")
    rec.noise()
    rec.logged("logged with a failing __str__", weird, "weird failure")
    rec.noise()
    worker = threading.Thread(target=weird, name="weird-worker")
    worker.start()
    worker.join()
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
