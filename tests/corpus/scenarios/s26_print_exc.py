"""s26: ``traceback.print_exc()`` between records: a bare traceback, sometimes truncated."""

from __future__ import annotations

import sys
import traceback

from ._recorder import Recorder


def inner() -> None:
    raise ValueError("bad checksum")


def outer() -> None:
    try:
        inner()
    except ValueError as exc:
        raise OSError("read failed") from exc


def print_exc(rec: Recorder, what: str, limit: int | None) -> None:
    try:
        outer()
    except OSError as exc:
        with rec.expect(exc, what):
            traceback.print_exc(limit=limit, file=sys.stderr)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    print_exc(rec, "print_exc()", None)
    rec.noise()
    print_exc(rec, "print_exc(limit=1)", 1)
    rec.noise(1)
    print_exc(rec, "print_exc(limit=-1): innermost frame only", -1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
