"""s32: ``traceback.print_stack()`` and a stack_info record: frames, but no exception event."""

from __future__ import annotations

import logging
import sys
import traceback

from ._recorder import Recorder


def where_am_i() -> None:
    traceback.print_stack(file=sys.stderr)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    where_am_i()
    rec.noise()
    traceback.print_stack(limit=1, file=sys.stderr)
    rec.noise()
    logging.getLogger("app").info("checkpoint reached", stack_info=True)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
