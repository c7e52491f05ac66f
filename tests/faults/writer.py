"""The fault tests' workload: numbered `logger.exception` records, paced, through real logging.

Run as a script (no project imports), so the writer is a process of its own
that the daemon's crashes never touch:

    python writer.py COUNT DURATION_S LOG [LOG...]

Order ``n`` goes to ``LOGS[n % len(LOGS)]``. A log named ``*copytruncate*``
gets a plain ``FileHandler`` (O_APPEND, as copytruncate needs); any other a
``WatchedFileHandler``, which reopens its path when logrotate's ``create``
replaces it. Every record carries a real traceback whose message names the
order; every fifth is a chained one (``raise ... from``).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class CardDeclinedError(ValueError):
    pass


def _lookup(order: int) -> None:
    raise KeyError(f"no card on file for order {order}")


def _charge(order: int) -> None:
    if order % 5 == 0:
        try:
            _lookup(order)
        except KeyError as exc:
            raise CardDeclinedError(f"card declined for order {order}") from exc
    raise CardDeclinedError(f"card declined for order {order}")


def _logger(index: int, path: str) -> logging.Logger:
    handler: logging.Handler
    if "copytruncate" in path:
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger(f"shop.payments.w{index}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def main(argv: list[str]) -> int:
    count, duration_s, paths = int(argv[0]), float(argv[1]), argv[2:]
    loggers = [_logger(index, path) for index, path in enumerate(paths)]
    started = time.monotonic()
    for order in range(count):
        # the pace is the workload itself: `count` records spread over `duration_s`
        delay_s = started + order * duration_s / count - time.monotonic()
        if delay_s > 0:
            time.sleep(delay_s)
        try:
            _charge(order)
        except CardDeclinedError:
            loggers[order % len(loggers)].exception("payment failed for order %d", order)
    logging.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
