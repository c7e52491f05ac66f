"""s16: a statement over several lines: 3.13 prints every line of it in the frame."""

from __future__ import annotations

from ._recorder import Recorder


def compute(a: int, b: int) -> float:
    return a / b


def report() -> float:
    result = compute(
        1,
        0,
    )
    return result  # noqa: RET504 - an assignment spread over lines is the point


def settings() -> dict[str, int]:
    return {
        "port": int("80a"),
        "workers": 4,
    }


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught multi-line statement", report)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("multi-line call", report, "report failed")
    rec.noise()
    rec.logged("multi-line dict literal", settings, "settings failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
