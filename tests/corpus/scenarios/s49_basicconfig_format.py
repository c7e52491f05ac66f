"""s49: ``logging.basicConfig``'s default format, "LEVEL:logger:message", with no timestamp."""

from __future__ import annotations

import logging

from ._recorder import Recorder


def connect() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


def main(rec: Recorder) -> None:
    rec.start_logging(fmt=logging.BASIC_FORMAT)
    rec.noise()
    rec.logged("basicConfig format", connect, "cannot reach redis", "app.cache")
    rec.noise()
    rec.logged("basicConfig format, CRITICAL", connect, "giving up", level=logging.CRITICAL)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
