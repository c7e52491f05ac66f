"""s37: a multiprocessing child dies: "Process Process-1:" heads its traceback."""

from __future__ import annotations

import multiprocessing

from ._recorder import Recorder


def make_error() -> OSError:
    return OSError("worker lost its database connection")


def target() -> None:
    raise make_error()


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    process = multiprocessing.get_context("fork").Process(target=target)
    # The child prints and exits; an identical exception built here stands for its truth.
    with rec.expect(make_error(), "multiprocessing Process"):
        process.start()
        process.join()
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
