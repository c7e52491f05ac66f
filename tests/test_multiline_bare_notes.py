"""A bare traceback's notes and message lines belong to it, as SPEC says: "through the
last line of the traceback (the final exception line, and any note lines after it)".

Uncaught exceptions printed to a file that holds nothing else (`python app.py 2>
err.log`): before, each note line after the exception line was an event of its own.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.multiline_support import Interpreter, assemble, find_interpreters

CRASH = """
def load(row):
    exc = ValueError("bad row\\nkey 'host' missing")
    exc.add_note("while importing row 17 of users.csv")
    exc.add_note("second note")
    raise exc

load(17)
"""
NOTED = [i for i in find_interpreters() if tuple(map(int, i.version.split("."))) >= (3, 11)]


@pytest.mark.parametrize("python", NOTED, ids=[i.version for i in NOTED])
def test_notes_after_an_uncaught_exception_are_its_last_lines(
    tmp_path: Path, python: Interpreter
) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASH, encoding="utf-8")
    run = subprocess.run([python.path, str(script)], capture_output=True, timeout=60,
                         check=False)
    assert run.returncode == 1
    data = run.stderr
    lines = data.decode().splitlines()
    assert lines[-3:] == [
        "key 'host' missing", "while importing row 17 of users.csv", "second note"]
    [event] = assemble(data)
    assert (event.first_line, event.last_line) == (1, len(lines))
    assert (event.exc_type, event.exc_message) == ("ValueError", "bad row")


def test_a_stream_of_plain_records_keeps_them_apart(tmp_path: Path) -> None:
    """Records of their message alone ("%(message)s", Django's default): a line after
    the exception line is the next record, as before."""
    script = tmp_path / "app.py"
    script.write_text(
        "import logging, sys\n"
        "logging.basicConfig(stream=sys.stderr, format='%(message)s', level=logging.INFO)\n"
        "logging.info('GET /api/orders/ 200')\n"
        "try:\n    {}['missing']\n"
        "except KeyError:\n    logging.exception('Internal Server Error: /api/orders/')\n"
        "logging.info('GET /health 200')\n",
        encoding="utf-8",
    )
    run = subprocess.run([find_interpreters()[0].path, str(script)], capture_output=True,
                         timeout=60, check=True)
    events = assemble(run.stderr)
    assert [e.message.split("\n")[0] for e in events][-1] == "GET /health 200"
    assert events[-2].exc_type == "KeyError"
