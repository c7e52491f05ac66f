"""s13: IndentationError, at start-up (bare block) and from an import (inside a traceback)."""

from __future__ import annotations

import importlib
import sys

from ._recorder import C_PRINTER, Recorder

STARTUP = "def main():\nreturn 1\n"
IMPORTED = "if True:\n    x = 1\n  y = 2\n"


def import_misindented(rec: Recorder) -> None:
    (rec.scratch / "misindented.py").write_text(IMPORTED, "utf-8")
    sys.path.insert(0, str(rec.scratch))
    importlib.import_module("misindented")


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    path = rec.scratch / "startup.py"
    path.write_text(STARTUP, "utf-8")
    try:
        compile(STARTUP, str(path), "exec")
    except IndentationError as exc:
        rec.pending(exc, "IndentationError at start-up", C_PRINTER)
    rec.run_process([sys.executable, "-B", str(path)], 1)
    rec.noise()
    rec.logged("IndentationError from an import", lambda: import_misindented(rec), "import failed")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
