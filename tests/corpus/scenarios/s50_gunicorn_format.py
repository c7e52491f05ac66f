"""s50: gunicorn's error-log format: "[time] [pid] [LEVEL] Error handling request /path"."""

from __future__ import annotations

import logging

from ._recorder import Recorder

GUNICORN_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"


def view() -> None:
    raise ZeroDivisionError("division by zero")


def main(rec: Recorder) -> None:
    rec.start_logging(formatter=logging.Formatter(GUNICORN_FORMAT, "%Y-%m-%d %H:%M:%S %z"))
    rec.noise()
    rec.logged("gunicorn format", view, "Error handling request /api/orders", "gunicorn.error")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
