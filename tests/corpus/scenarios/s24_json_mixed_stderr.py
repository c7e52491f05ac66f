"""s24: JSON records and a plain-text uncaught traceback in one file (a container's log)."""

from __future__ import annotations

import json
import logging

from ._recorder import Recorder


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document = {"ts": record.created, "level": record.levelname, "msg": record.getMessage()}
        if record.exc_info:
            document["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(document)


def migrate() -> None:
    raise OSError("disk full")


def crash(rec: Recorder) -> None:
    rec.start_logging(formatter=JsonFormatter())
    logging.getLogger("worker").info("migration starting")
    rec.uncaught("plain-text uncaught traceback between JSON records", migrate)


def main(rec: Recorder) -> None:
    rec.start_logging(formatter=JsonFormatter())
    rec.noise()
    rec.logged("JSON record with exc_info", migrate, "migration failed")
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
