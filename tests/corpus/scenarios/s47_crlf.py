"""s47: records terminated by CRLF, as written on Windows or by some shippers."""

from __future__ import annotations

from ._recorder import Recorder


def parse(value: str) -> int:
    return int(value)


def chained() -> None:
    try:
        parse("4x")
    except ValueError as exc:
        raise RuntimeError("bad row") from exc


def main(rec: Recorder) -> None:
    rec.start_logging(newline="\r\n")
    rec.noise()
    rec.logged("CRLF traceback", lambda: parse("x"), "parse failed")
    rec.noise()
    rec.logged("CRLF chained traceback", chained, "import failed")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
