"""s23: JSON lines whose ``exc_info`` field holds the whole traceback: one line, one event."""

from __future__ import annotations

import json
import logging

from ._recorder import Recorder


class JsonFormatter(logging.Formatter):
    """What python-json-logger writes: one object per record, the traceback as a string."""

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            document["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(document)


def lookup() -> None:
    raise KeyError("missing")


def chained() -> None:
    try:
        lookup()
    except KeyError as exc:
        raise RuntimeError("profile unavailable:\nuser 7") from exc


def main(rec: Recorder) -> None:
    rec.start_logging(formatter=JsonFormatter())
    rec.noise()
    rec.logged("JSON record with exc_info", lookup, "lookup failed")
    rec.noise()
    rec.logged("JSON record with a chained exc_info", chained, "profile failed", "app.profile")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
