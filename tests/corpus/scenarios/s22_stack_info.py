"""s22: ``stack_info=True`` appends a "Stack (most recent call last):" block to the record.

The event is the whole record: header, traceback, and the stack block after it.
A record with a stack block but no exception is not an exception event.
"""

from __future__ import annotations

import logging

from ._recorder import Recorder


def refresh() -> None:
    raise PermissionError(13, "Permission denied", "/var/cache/app/index")


def warm_cache() -> None:
    logging.getLogger("app.cache").warning("cache cold, rebuilding", stack_info=True)


def main(rec: Recorder) -> None:
    rec.start_logging()
    log = logging.getLogger("app.cache")
    rec.noise()
    try:
        refresh()
    except PermissionError as exc:
        with rec.expect(exc, "logger.exception(stack_info=True)"):
            log.exception("refresh failed", stack_info=True)
    rec.noise()
    warm_cache()
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
