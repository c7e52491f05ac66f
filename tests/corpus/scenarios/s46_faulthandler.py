"""s46: faulthandler dumps ("Thread 0x... (most recent call first):"): no exception event."""

from __future__ import annotations

import faulthandler
import sys
import threading

from ._recorder import Recorder

SEGFAULT = (
    "import faulthandler, resource\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"  # no core file
    "faulthandler.enable()\n"
    "def crash():\n"
    "    faulthandler._sigsegv()\n"
    "crash()\n"
)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    release = threading.Event()
    idle = threading.Thread(target=release.wait, name="idle")
    idle.start()
    rec.offset()
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    release.set()
    idle.join()
    rec.noise()
    rec.run_process([sys.executable, "-B", "-c", SEGFAULT])
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
