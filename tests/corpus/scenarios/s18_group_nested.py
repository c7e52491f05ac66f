"""s18: ExceptionGroup boxes, nested, with ``|`` gutters (3.11+)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from ._recorder import Recorder


def task(number: int) -> None:
    if number == 1:
        raise TypeError(f"task {number} failed")
    if number == 2:
        raise KeyError(f"task{number}")
    raise ValueError(f"task {number} failed")


def gather(name: str, jobs: list[Callable[[], None]]) -> None:
    errors: list[Exception] = []
    for job in jobs:
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - collecting every failure is the point
            errors.append(exc)
    raise ExceptionGroup(name, errors)


def run_all() -> None:
    inner = [lambda: task(1), lambda: task(2)]
    gather("batch failed", [lambda: task(0), lambda: gather("inner batch", inner)])


def shutdown() -> None:
    raise BaseExceptionGroup("shutdown", [KeyboardInterrupt(), ValueError("flush failed")])


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught nested ExceptionGroup", run_all)


def main(rec: Recorder) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - also runs on 3.8-3.10
        rec.skip("ExceptionGroup is new in 3.11")
    rec.start_logging()
    rec.noise()
    rec.logged("nested ExceptionGroup", run_all, "batch failed")
    rec.noise()
    rec.logged("BaseExceptionGroup", shutdown, "shutdown failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
