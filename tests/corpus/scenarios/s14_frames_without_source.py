"""s14: frames without a source line: ``<string>`` and ``<frozen importlib._bootstrap>``."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from ._recorder import Recorder

GENERATED = (
    "def lookup(table, key):\n"
    "    return table[key]\n"
    "\n"
    "def handler(table):\n"
    "    return lookup(table, 'id')\n"
)


def run_generated() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(GENERATED, "<string>", "exec"), namespace)
    namespace["handler"]({})


def import_crashing(rec: Recorder) -> None:
    (rec.scratch / "crashing_module.py").write_text(
        "import os\nSETTING = os.environ['LOGWATCH_CORPUS_UNSET_VARIABLE']\n", "utf-8"
    )
    sys.path.insert(0, str(rec.scratch))
    importlib.import_module("crashing_module")


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught through <string> frames", run_generated)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("<string> frames without source", run_generated, "handler failed")
    rec.noise()
    rec.logged("frozen importlib frames", lambda: import_crashing(rec), "plugin import failed")
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
