"""s21: the record header ``logging`` writes before a traceback belongs to the event."""

from __future__ import annotations

import logging

from ._recorder import Recorder


def charge(order: int) -> None:
    raise ConnectionError(f"gateway timeout after 30s (order {order})")


def main(rec: Recorder) -> None:
    rec.start_logging()
    log = logging.getLogger("payments")
    rec.noise()
    try:
        charge(42)
    except ConnectionError as exc:
        with rec.expect(exc, "logger.exception"):
            log.exception("payment failed for order %d", 42)
    rec.noise()
    try:
        charge(43)
    except ConnectionError as exc:
        with rec.expect(exc, "logger.critical(exc_info=exc)"):
            logging.getLogger("payments.gateway.stripe").critical("gateway down", exc_info=exc)
    try:
        charge(44)
    except ConnectionError as exc:
        with rec.expect(exc, "logger.warning(exc_info=True)"):
            log.warning("will retry order %d", 44, exc_info=True)
    rec.noise(1)
    try:
        charge(45)
    except ConnectionError as exc:
        with rec.expect(exc, "record message over two lines, then the traceback"):
            log.error("payment failed:\norder 45, card ending 4242", exc_info=True)  # noqa: G201
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
