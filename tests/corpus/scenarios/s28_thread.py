"""s28: a thread dies: "Exception in thread NAME:" heads the traceback."""

from __future__ import annotations

import threading

from ._recorder import Recorder, hook_threads


def upload() -> None:
    raise ConnectionResetError(104, "Connection reset by peer")


def main(rec: Recorder) -> None:
    rec.start_logging()
    hook_threads(rec, "thread exception")
    rec.noise()
    worker = threading.Thread(target=upload, name="uploader")
    worker.start()
    worker.join()
    rec.noise()
    worker = threading.Thread(target=upload)
    worker.start()
    worker.join()
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
