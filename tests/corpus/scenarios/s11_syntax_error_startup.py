"""s11: a SyntaxError at start-up: a bare block from its ``File`` line, no Traceback header."""

from __future__ import annotations

import sys

from ._recorder import C_PRINTER, Recorder

SOURCES = {
    "unclosed.py": "import os\n\nsettings = dict(\n    debug=True,\n",
    "badexpr.py": "import sys\ntotal = 1 +* 2\nprint(total)\n",
}


def start(rec: Recorder, name: str, relative: bool) -> None:
    path = rec.scratch / name
    source = SOURCES[name]
    path.write_text(source, "utf-8")
    shown = name if relative else str(path)  # the File line shows the path as typed
    try:
        compile(source, shown, "exec")
    except SyntaxError as exc:
        rec.pending(exc, "SyntaxError at start-up", C_PRINTER)
    rec.run_process([sys.executable, "-B", shown], 1, cwd=rec.scratch)


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    start(rec, "unclosed.py", relative=False)
    rec.noise()
    start(rec, "badexpr.py", relative=True)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
