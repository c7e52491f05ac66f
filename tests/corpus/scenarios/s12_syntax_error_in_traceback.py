"""s12: a SyntaxError inside a traceback: a ``File`` line without ", in func", then a caret."""

from __future__ import annotations

import importlib
import sys

from ._recorder import Recorder


def load_plugin(source: str) -> None:
    exec(compile(source, "<plugin>", "exec"), {})


def import_broken(rec: Recorder) -> None:
    (rec.scratch / "badplugin.py").write_text("def broken(:\n    pass\n", "utf-8")
    sys.path.insert(0, str(rec.scratch))
    importlib.import_module("badplugin")


def crash(rec: Recorder) -> None:
    sys.path.insert(0, str(rec.scratch))
    rec.uncaught("uncaught SyntaxError raised by an import", lambda: __import__("badplugin"))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("SyntaxError from compile()", lambda: load_plugin("x = = 1"), "plugin rejected")
    rec.noise()
    rec.logged("SyntaxError from an import", lambda: import_broken(rec), "plugin import failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
