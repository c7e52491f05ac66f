"""s48: two processes append records to one file; each record is one write (O_APPEND).

Records interleave at record granularity. Each writer learns where its record
landed from the file offset the kernel leaves after its own write.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from typing import Any

from ._recorder import TEXT_FORMAT, Recorder, describe


class SingleWriteHandler(logging.Handler):
    """A record is one os.write on an O_APPEND descriptor: never torn by the other writer."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__()
        self.rec = rec
        self.fd = os.open(str(rec.log_path), os.O_WRONLY | os.O_APPEND)

    def emit(self, record: logging.LogRecord) -> None:
        data = (self.format(record) + "\n").encode("utf-8")
        written = os.write(self.fd, data)
        end = os.lseek(self.fd, 0, os.SEEK_CUR)
        if record.exc_info and record.exc_info[1] is not None:
            entry: dict[str, Any] = {"start": end - written, "end": end, "what": "two writers"}
            entry.update(describe(record.exc_info[1]))
            self.rec.write_truth(entry)


def handle(order: int) -> None:
    raise ValueError(f"order {order} rejected")


def worker(rec: Recorder, name: str, start: Any) -> None:
    handler = SingleWriteHandler(rec)
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    log = logging.getLogger(name)
    log.handlers = [handler]
    log.propagate = False
    start.wait()
    for number in range(12):
        if number % 3 == 2:
            try:
                handle(number)
            except ValueError:
                log.exception("order %d failed in %s", number, name)
        else:
            log.info("order %d done", number)
    os.close(handler.fd)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.offset()
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [context.Process(target=worker, args=(rec, f"worker-{n}", start)) for n in (1, 2)]
    for process in workers:
        process.start()
    start.set()
    for process in workers:
        process.join()
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
