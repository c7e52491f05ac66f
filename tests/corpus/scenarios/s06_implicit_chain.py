"""s06: "During handling of the above exception, another exception occurred"."""

from __future__ import annotations

from ._recorder import Recorder


def lookup(settings: dict[str, str]) -> str:
    return settings["db"]


def connect() -> str:
    try:
        return lookup({})
    except KeyError:
        raise RuntimeError("cannot configure the database")  # noqa: B904 - implicit chain


def three_deep() -> None:
    try:
        connect()
    except RuntimeError:
        raise OSError("startup aborted")  # noqa: B904 - implicit chain


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught implicit chain", connect)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("implicit chain of two", connect, "startup failed")
    rec.noise()
    rec.logged("implicit chain of three", three_deep, "startup failed", "app.boot")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
