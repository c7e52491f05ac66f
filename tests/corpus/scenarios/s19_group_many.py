"""s19: group truncation: "and 5 more exceptions" and "(max_group_depth is 10)" (3.11+)."""

from __future__ import annotations

import sys

from ._recorder import Recorder


def fail(number: int) -> ValueError:
    try:
        raise ValueError(f"shard {number} unreachable")
    except ValueError as exc:
        return exc


def many() -> None:
    raise ExceptionGroup("20 shards failed", [fail(n) for n in range(20)])


def deep() -> None:
    group: Exception = fail(0)
    for depth in range(12):
        group = ExceptionGroup(f"level {depth}", [group])
    raise group


def main(rec: Recorder) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - also runs on 3.8-3.10
        rec.skip("ExceptionGroup is new in 3.11")
    rec.start_logging()
    rec.noise()
    rec.logged("ExceptionGroup with 20 members", many, "fan-out failed")
    rec.noise()
    rec.logged("ExceptionGroup nested 12 deep", deep, "fan-out failed")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
