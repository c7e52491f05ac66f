"""s15: PEP 657 caret and tilde lines (3.11+; 3.13 also under whole-line calls)."""

from __future__ import annotations

from typing import Any

from ._recorder import Recorder


def nested_lookup(config: dict[str, dict[str, str]]) -> str:
    return config["db"]["host"]


def call_method(client: Any) -> Any:
    return client.fetch_orders(limit=10)


def handler() -> None:
    raise TimeoutError("upstream took 31s")


def dispatch() -> None:
    handler()


def divide(a: int, b: int) -> float:
    return (a + 1) / (b * 0)


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught under a whole-line call", dispatch)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("subscript carets", lambda: nested_lookup({"db": {}}), "config lookup failed")
    rec.logged("attribute call carets", lambda: call_method(None), "fetch failed")
    rec.noise()
    rec.logged("whole-line call carets (3.13)", dispatch, "dispatch failed")
    rec.logged("binary operator carets", lambda: divide(1, 2), "math failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
