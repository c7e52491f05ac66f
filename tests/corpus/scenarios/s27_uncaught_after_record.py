"""s27: an uncaught traceback right after an unrelated INFO record must not join it."""

from __future__ import annotations

import logging

from ._recorder import Recorder


def export() -> None:
    raise OSError(28, "No space left on device")


def after_info(rec: Recorder) -> None:
    rec.start_logging()
    logging.getLogger("jobs").info("nightly export finished")
    rec.uncaught("uncaught right after an INFO record", export)


def after_multiline_info(rec: Recorder) -> None:
    rec.start_logging()
    logging.getLogger("jobs").info("export summary:\n  rows: 1200\n  files: 3")
    rec.uncaught("uncaught right after a multi-line INFO record", export)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.run_child("after_info", expect_status=1, fresh=True)
    rec.run_child("after_multiline_info", expect_status=1, fresh=True)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"after_info": after_info, "after_multiline_info": after_multiline_info})
