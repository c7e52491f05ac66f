"""s35: module-qualified and nested exception types: ``pkg.errors.Outer.PaymentError``."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType

from ._recorder import Recorder

ERRORS = """
class Outer:
    class PaymentError(Exception):
        pass


def charge(order):
    raise Outer.PaymentError("card declined: code=51")
"""


def errors_module(rec: Recorder) -> ModuleType:
    package = rec.scratch / "pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("", "utf-8")
    (package / "errors.py").write_text(ERRORS, "utf-8")
    sys.path.insert(0, str(rec.scratch))
    return importlib.import_module("pkg.errors")


def crash(rec: Recorder) -> None:
    module = errors_module(rec)
    rec.uncaught("uncaught nested type", lambda: module.charge(7))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    module = errors_module(rec)
    rec.logged("nested type in a package", lambda: module.charge(42), "payment failed")
    rec.noise()
    rec.logged("stdlib qualified type", lambda: json.loads("{"), "bad payload")
    rec.logged(
        "stdlib qualified type with a long message",
        lambda: subprocess.run([sys.executable, "-S", "-c", "raise SystemExit(3)"], check=True),
        "helper failed",
    )
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
