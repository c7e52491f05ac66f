"""s01: an uncaught exception prints a bare traceback (3.11+: with a ~~^~~ caret line).

The first crash is a new interpreter (``python -m``), the second a fork.
"""

from __future__ import annotations

import logging

from ._recorder import Recorder


def ratio(total: int, count: int) -> float:
    return total / count


def crash(rec: Recorder) -> None:
    rec.start_logging()
    logging.getLogger("worker").info("computing ratios for 3 shards")
    rec.uncaught("uncaught ZeroDivisionError", lambda: ratio(10, 0))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.run_child("crash", expect_status=1, fresh=True)  # a new interpreter: from <module>
    rec.noise()
    rec.run_child("crash", expect_status=1)


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
