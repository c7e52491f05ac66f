"""s03: ``raise ValueError`` and a custom exception without arguments print the type alone."""

from __future__ import annotations

from ._recorder import Recorder


class QueueEmpty(Exception):  # noqa: N818 - named like asyncio.QueueEmpty on purpose
    pass


def validate(value: str) -> int:
    if not value.isdigit():
        raise ValueError
    return int(value)


def pop() -> None:
    raise QueueEmpty


def popper(rec: Recorder) -> None:
    rec.uncaught("uncaught custom exception without arguments", pop)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("bare raise ValueError", lambda: validate("x1"), "validation failed")
    rec.noise()
    rec.logged("custom exception without arguments", pop, "queue drained", logger="app.queue")
    rec.noise()
    rec.run_child("popper", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"popper": popper})
