"""s04: empty messages: ValueError(""), a __str__ returning "", a type-only link in a chain."""

from __future__ import annotations

from ._recorder import Recorder


class SilentError(Exception):
    def __str__(self) -> str:
        return ""


def empty_value_error() -> None:
    raise ValueError("")


def silent() -> None:
    raise SilentError("hidden")


def chain_with_empty_link() -> None:
    settings: dict[str, str] = {}
    try:
        settings["x"]
    except KeyError:
        try:
            raise TimeoutError()
        except TimeoutError:
            raise RuntimeError("gave up after the timeout")  # noqa: B904 - implicit chain


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged('ValueError("")', empty_value_error, "empty message")
    rec.noise()
    rec.logged("__str__ returns an empty string", silent, "silent failure")
    rec.logged("type-only link inside an implicit chain", chain_with_empty_link, "job failed")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
