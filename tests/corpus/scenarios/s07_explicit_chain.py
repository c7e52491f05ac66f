"""s07: "The above exception was the direct cause of the following exception"."""

from __future__ import annotations

from ._recorder import Recorder


class ServiceError(Exception):
    pass


def open_socket() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


def load_orders() -> None:
    try:
        open_socket()
    except ConnectionRefusedError as exc:
        raise ServiceError("cannot load orders") from exc


def mixed() -> None:
    try:
        load_orders()
    except ServiceError:
        raise RuntimeError("page render failed")  # noqa: B904 - implicit after explicit


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught explicit chain", load_orders)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("explicit chain", load_orders, "GET /orders failed")
    rec.noise()
    rec.logged("explicit then implicit chain", mixed, "GET /orders failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
