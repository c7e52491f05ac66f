"""s20: chains and notes inside ExceptionGroup members, and a note on the group (3.11+)."""

from __future__ import annotations

import sys

from ._recorder import Recorder


def member(number: int) -> Exception:
    try:
        try:
            raise ConnectionResetError(f"peer {number} reset")
        except ConnectionResetError as exc:
            raise RuntimeError(f"upload {number} failed") from exc
    except RuntimeError as exc:
        if number == 1:
            exc.add_note(f"member note {number}")
        return exc


def uploads() -> None:
    group = ExceptionGroup("uploads failed", [member(0), member(1)])
    group.add_note("group note")
    raise group


def wrapped() -> None:
    try:
        uploads()
    except ExceptionGroup as exc:
        raise RuntimeError("sync aborted") from exc


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught group with chained members", uploads)


def main(rec: Recorder) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - also runs on 3.8-3.10
        rec.skip("ExceptionGroup is new in 3.11")
    rec.start_logging()
    rec.noise()
    rec.logged("group with chained members and notes", uploads, "sync failed")
    rec.noise()
    rec.logged("group as the cause of another exception", wrapped, "sync failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
