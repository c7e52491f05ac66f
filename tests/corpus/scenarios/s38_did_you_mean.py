"""s38: NameError/AttributeError hints: ". Did you mean: 'value'?" (printer and version vary)."""

from __future__ import annotations

from typing import Any

from ._recorder import Recorder


class Order:
    def __init__(self) -> None:
        self.total = 10


def misspelled_name() -> int:
    value = 1
    return int(valeu) + value  # type: ignore[name-defined] # noqa: F821 - the typo is the point


def misspelled_attribute(order: Any) -> int:
    return int(order.totl)


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught NameError with a hint", misspelled_name, suggestion="value")


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("NameError", misspelled_name, "render failed", suggestion="value")
    rec.noise()
    rec.logged(
        "AttributeError", lambda: misspelled_attribute(Order()), "render failed", suggestion="total"
    )
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
