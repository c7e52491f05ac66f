"""Lines -> which of them are record headers, by a source's own ``header`` pattern.

The assembler reads a line as a record header when the line has no envelope
and ``kinds.classify`` finds nothing else in it first (a blank or indented
line, a traceback's own lines, JSON) before the pattern matches it
(``reads_as_header``). Asked of every line of a read, that is a Python step
a line; ``header_flags`` answers for all of them with the pattern's
``match`` mapped over the lines in C, on the very texts the assembler
matches it against (run over the lines joined instead, a pattern could match
across a line's end). Of the lines it matches, another map finds the few
that may be something else than the pattern says, by how they start, and
one more the lines with ANSI codes (taken out before the assembler reads a
line); only those are asked in Python.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from itertools import compress, count, repeat
from operator import contains, is_not

from logwatch.multiline.ansi import strip_ansi
from logwatch.multiline.envelopes import MONTHS, unwrap
from logwatch.multiline.headers import HeaderParser
from logwatch.multiline.kinds import STRUCTURE_PREFIXES, Kind, classify


# How the lines start that may be no header whatever the pattern says: empty,
# blank or indented (whitespace first, as ``\s`` and ``str.isspace`` agree),
# the first line of something ``kinds`` reads before any header, or an
# envelope (``envelopes.unwrap``, which takes any character for its dots). A
# few more lines than those match, never fewer: what matches is asked exactly.
# Compiled when first asked for, by a source with a header of its own: ~0.5 ms
# of every start-up otherwise.
@functools.cache
def _special() -> re.Pattern[str]:
    return re.compile(
        "|".join(
            [r"\s", r"\Z", r".{10}T", r"\[.{0,80}\] \[pid "]
            + [re.escape(prefix) for prefix in (*STRUCTURE_PREFIXES, "<", *MONTHS)]
        ),
        re.DOTALL,
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
    # Of the lines it matches, those that may be something else, by how they start;
    # and the lines with ANSI codes, which the assembler takes out before it reads.
    special = map(_special().match, compress(texts, flags))
    doubtful = set(compress(compress(count(), flags), special))
    doubtful.update(compress(count(), map(contains, texts, repeat("\x1b"))))
    headers = HeaderParser(header)
    for at in doubtful:
        flags[at] = reads_as_header(texts[at], headers, json_records=json_records)
    return flags
