"""Lines -> which of them are record headers, by a source's own ``header`` pattern.

The assembler reads a line as a record header when the line has no envelope
and ``kinds.classify`` finds nothing else in it first (a blank or indented
line, a traceback's own lines, JSON) before the pattern matches it
(``reads_as_header``). Asked of every line of a read, that is a Python step
a line; ``header_flags`` answers for all of them with the pattern's
``match`` mapped over the lines in C, on the very texts the assembler
matches it against (run over the lines joined instead, a pattern could match
across a line's end). Of the lines it matches, another map finds the few
that may be something else than the pattern says, by how they start; only
those are asked in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import accumulate, compress, count, repeat
from operator import add, is_not

from logwatch.multiline.ansi import strip_ansi
from logwatch.multiline.envelopes import MONTHS, unwrap
from logwatch.multiline.headers import HeaderParser
from logwatch.multiline.kinds import (
    CONTEXT_PREFIXES,
    GROUP_TRACEBACK_LINE,
    SEPARATORS,
    TRACEBACK_LINE,
    Kind,
    classify,
)

# How the lines start that may be no header whatever the pattern says: empty,
# blank or indented (whitespace first, as ``\s`` and ``str.isspace`` agree),
# the first line of something ``kinds`` reads before any header, or an
# envelope (``envelopes.unwrap``). A few more lines than those match, never
# fewer: what matches is classified exactly.
_STRUCTURE = (
    TRACEBACK_LINE,
    GROUP_TRACEBACK_LINE,
    *SEPARATORS,
    *CONTEXT_PREFIXES,
    "Thread 0x",
    "Timeout (",
    "Stack (most recent call",
    "Call stack:",
    "Current thread 0x",
    "--- Logging error ---",
    "Fatal Python error: ",
    "Windows fatal exception: ",
    "Python runtime state: ",
    "Extension modules: ",
    "Process ",
    '> File "',
    "{",
    "<",
)
_SPECIAL = re.compile(
    "|".join(
        [r"\s", r"\Z", r".{10}T", r"\[.{0,80}\] \[pid "]
        + [re.escape(prefix) for prefix in (*_STRUCTURE, *MONTHS)]
    )
)


def reads_as_header(line: str, headers: HeaderParser, *, json_records: bool) -> bool:
    """Whether a line, alone, is a record header to the assembler (``Assembler._line``).

    ``json_records``: a line that is a JSON object is a record (format ``auto``).
    """
    if unwrap(line) is not None:
        return False  # its text is a stream's of its own
    kind, _ = classify(strip_ansi(line), headers, json_records=json_records)
    return kind is Kind.HEADER


def header_flags(
    texts: Sequence[str], header: re.Pattern[str], *, json_records: bool
) -> list[bool]:
    """``reads_as_header`` of each line, by the source's own pattern ``header``."""
    flags = list(map(is_not, map(header.match, texts), repeat(None)))
    # of the lines it matches, those that may be something else
    matched = compress(count(), flags)
    doubtful = list(compress(matched, map(_SPECIAL.match, compress(texts, flags))))
    headers = HeaderParser(header)
    for at in doubtful:
        if not reads_as_header(texts[at], headers, json_records=json_records):
            flags[at] = False
    return flags


def line_starts(sizes: Iterable[int]) -> list[int]:
    """Where each line of these sizes starts, lines joined by a newline; one more, the end
    of the last newline (as if each line had one)."""
    return list(map(add, accumulate(sizes, initial=0), count()))
