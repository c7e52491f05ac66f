"""s39: ``sys.tracebacklimit = 0``: a header, then the exception line alone (no Traceback)."""

from __future__ import annotations

import sys
import threading

from ._recorder import Recorder, hook_threads


def poll() -> None:
    raise TimeoutError("broker did not answer in 5s")


def main(rec: Recorder) -> None:
    rec.start_logging()
    hook_threads(rec, "thread exception with tracebacklimit=0")
    rec.noise()
    sys.tracebacklimit = 0
    worker = threading.Thread(target=poll, name="poller")
    worker.start()
    worker.join()
    rec.noise()
    rec.logged("logged with tracebacklimit=0", poll, "poll failed", "app.broker")
    del sys.tracebacklimit
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
