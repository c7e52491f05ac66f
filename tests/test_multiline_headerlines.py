"""Which lines a source's own header pattern makes headers: all at once as one at a time."""

from __future__ import annotations

import ast
import inspect
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.multiline import kinds
from logwatch.multiline.headerlines import header_flags, reads_as_header
from logwatch.multiline.headers import HeaderParser


def _structural_texts() -> list[str]:
    """Every string ``kinds._structural`` compares a line with, and the module's constants."""
    tree = ast.parse(inspect.getsource(kinds._structural))
    found = {node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    found |= {kinds.TRACEBACK_LINE, *kinds.SEPARATORS, *kinds.CONTEXT_PREFIXES}
    return sorted(text for text in found if len(text) > 1)


STRUCTURAL = _structural_texts()


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(STRUCTURAL), st.integers(min_value=1, max_value=80),
       st.text(max_size=30), st.booleans())
def test_every_line_structural_reads_starts_with_a_listed_prefix(
    text: str, keep: int, tail: str, json_records: bool
) -> None:
    """A prefix of one of its strings, or one with more after it: what it says."""
    line = text[:keep] + tail
    if line and kinds._structural(line, line[0], json_records) is not None:
        assert line.startswith(kinds.STRUCTURE_PREFIXES), line


# Lines a pattern may match that are no headers, and headers with something odd about them.
LINES = [
    "[2026-03-01 12:00:00] ERROR app.db could not connect",
    "[2026-03-01 12:00:00] INFO app plain",
    "ERROR app.db: basicConfig-like",
    "WARNING app: retrying",
    "The above exception was the direct cause of the outage below",
    "During handling of the above exception, another exception occurred:",
    "Traceback (most recent call last):",
    '  File "a.py", line 1, in f',
    "\x1b[33m    hint: set WARNING level\x1b[0m",
    "\x1b[31m[2026-03-01 12:00:00] ERROR app coloured\x1b[0m",
    "[a\nb] [wsgi:error] [pid 42] a newline inside the text",
    "[Sun Mar 01 12:00:00.1 2026] [pid 42] [error] apache",
    "Mar  1 12:00:00 host app[42]: ERROR app in syslog",
    "2026-03-01T12:00:00.1Z stderr F ERROR app in CRI",
    '{"level": "error"}',
    "{not json",
    "Process Worker-1:",
    "Process ERROR app",
    "",
    " ",
    "\u2003ERROR em space first",
    "\u0662\u0660\u0662\u0666-03-01T12:00:00 ERROR other digits",
]
PATTERNS = [
    re.compile(r"\[(?P<timestamp>[^\]]+)\] (?P<level>[A-Z]+) (?P<logger>[\w.]+)"),
    re.compile(r".*"),
    re.compile(r"\S+"),
    re.compile(r"(?P<level>\w+) (?P<logger>\S+) "),
    re.compile(r".*?\b(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\b"),
    re.compile(r"(?s).*ERROR"),
]


@pytest.mark.parametrize("header", PATTERNS, ids=lambda p: p.pattern)
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=20), st.booleans())
def test_flags_are_what_the_assembler_reads_line_by_line(
    header: re.Pattern[str], texts: list[str], json_records: bool
) -> None:
    parser = HeaderParser(header)
    assert header_flags(texts, header, json_records=json_records) == [
        reads_as_header(text, parser, json_records=json_records) for text in texts
    ]
