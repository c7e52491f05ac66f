"""s17: PEP 678 notes: lines after the exception line (3.11+; older versions print none)."""

from __future__ import annotations

import sys

from ._recorder import Recorder


def with_notes(exc: BaseException, *notes: str) -> BaseException:
    if sys.version_info >= (3, 11):  # noqa: UP036 - also runs on 3.8-3.10
        for note in notes:
            exc.add_note(note)
    return exc


def import_row() -> None:
    raise with_notes(ValueError("invalid literal for int(): 'abc'"), "while importing row 17")


def import_file() -> None:
    raise with_notes(
        KeyError("email"), "while importing users.csv\nrow 17: column 'email' missing", "retry 2/3"
    )


def chained_with_notes() -> None:
    try:
        import_row()
    except ValueError as exc:
        raise with_notes(RuntimeError("import aborted"), "3 rows imported") from exc


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught with notes", import_file)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("one note", import_row, "import failed")
    rec.noise(1)
    rec.logged("multi-line note and a second note", import_file, "import failed")
    rec.noise()
    rec.logged("notes on both links of a chain", chained_with_notes, "import failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
