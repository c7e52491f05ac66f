"""s40: a failing atexit callback: "Error in atexit._run_exitfuncs:" or "Exception ignored in"."""

from __future__ import annotations

import atexit
import sys

from ._recorder import C_PRINTER, UNRAISABLE, Recorder


def exiting(rec: Recorder) -> None:
    def flush_buffers() -> None:
        exc = RuntimeError("flush failed: 3 records lost")
        # printed after this process has nothing left to run: the event ends with it
        printer = UNRAISABLE if sys.version_info >= (3, 10) else C_PRINTER
        rec.pending(exc, "atexit callback failed", printer)
        raise exc

    atexit.register(flush_buffers)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.run_child("exiting", expect_status=0, fresh=True)  # atexit runs when an interpreter ends
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"exiting": exiting})
