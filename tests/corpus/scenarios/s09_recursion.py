"""s09: RecursionError: "[Previous line repeated N more times]"."""

from __future__ import annotations

from ._recorder import Recorder


def walk(node: int) -> int:
    return walk(node + 1) + 1


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught RecursionError", lambda: walk(0))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("logged RecursionError", lambda: walk(0), "tree walk failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
