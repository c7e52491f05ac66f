"""s25: JSON lines in structlog's shape: ``event`` and an ``exception`` string field."""

from __future__ import annotations

import json
import logging
import traceback

from ._recorder import Recorder


class StructlogLikeFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
        }
        if record.exc_info:
            document["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(document)


def parse() -> None:
    json.loads("{not json")


def main(rec: Recorder) -> None:
    rec.start_logging(formatter=StructlogLikeFormatter())
    rec.noise()
    rec.logged("JSON record with an exception field", parse, "payload rejected", "api")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
