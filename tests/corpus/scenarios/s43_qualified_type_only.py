"""s43: a module-qualified type without a message: ``chanlib.EndOfStream``."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from ._recorder import Recorder

CHANLIB = """
class EndOfStream(Exception):
    pass


def receive(channel):
    raise EndOfStream
"""


def chanlib(rec: Recorder) -> ModuleType:
    (rec.scratch / "chanlib.py").write_text(CHANLIB, "utf-8")
    sys.path.insert(0, str(rec.scratch))
    return importlib.import_module("chanlib")


def crash(rec: Recorder) -> None:
    module = chanlib(rec)
    rec.uncaught("uncaught qualified type without a message", lambda: module.receive(1))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    module = chanlib(rec)
    rec.logged("qualified type without a message", lambda: module.receive(1), "stream ended")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
