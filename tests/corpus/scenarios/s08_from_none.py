"""s08: ``raise ... from None``: one traceback, no separator ever follows."""

from __future__ import annotations

from ._recorder import Recorder


def find_order(orders: dict[int, str], order: int) -> str:
    try:
        return orders[order]
    except KeyError:
        raise LookupError(f"order {order} not found") from None


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught from None", lambda: find_order({}, 7))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("from None", lambda: find_order({}, 42), "lookup failed")
    rec.noise(1)
    rec.logged("from None again", lambda: find_order({1: "x"}, 43), "lookup failed")
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
