"""s10: mutual recursion is never collapsed: a traceback of 800+ lines."""

from __future__ import annotations

import sys

from ._recorder import Recorder


def ping(depth: int) -> int:
    return pong(depth + 1)


def pong(depth: int) -> int:
    return ping(depth + 1)


def crash(rec: Recorder) -> None:
    sys.setrecursionlimit(400)
    rec.uncaught("uncaught mutual recursion", lambda: ping(0))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    sys.setrecursionlimit(400)
    rec.logged("logged mutual recursion", lambda: ping(0), "ping-pong failed")
    sys.setrecursionlimit(1000)
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
