"""s02: KeyboardInterrupt, logged and uncaught: a final line with the type alone."""

from __future__ import annotations

import signal

from ._recorder import Recorder


def wait_for_work() -> None:
    # What Ctrl-C does: the default SIGINT handler raises KeyboardInterrupt here.
    # (A shell starts a background job with SIGINT ignored, and Python keeps it so.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.raise_signal(signal.SIGINT)


def interrupted(rec: Recorder) -> None:
    rec.uncaught("uncaught KeyboardInterrupt", wait_for_work)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("logged KeyboardInterrupt", wait_for_work, "interrupted while waiting for work")
    rec.noise()
    rec.run_child("interrupted")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"interrupted": interrupted})
