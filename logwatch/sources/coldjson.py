"""Bytes -> the lines worth framing in a JSON source: pass over records no rule can take.

In a ``format: json`` source every line is a record of its own, so a line no
rule can take is passed over alone, and what a rule looks at can be found in
the line's bytes before it is decoded:

- a string reads in the bytes as it decodes but for its escapes. A ``\\u``
  escape may stand for any character: every line with one is kept. The
  others stand for a quote, a backslash, a slash or a control character:
  where no literal holds one of those, a literal in a decoded string is
  in the bytes as it is (the message, the logger, the level a rule matches;
  the level in any case: ``normalise_level`` upper-cases it). Where one does,
  every line with a backslash is kept;
- a message that is no string (a number, an object) reads as Python prints
  it, not as the bytes hold it: every line where a message key is followed by
  something other than a string is kept;
- an exception is under one of ``jsonrecords.TRACEBACK_KEYS``: every line
  naming one is kept;
- lines that are not JSON are records of their own all the same, read as
  text: what a rule matches is a piece of the line. But a container
  runtime's record may be one piece of a line it split (a CRI ``P`` record,
  a Docker one whose ``log`` does not end its line), joined to the pieces
  after it: every line that may be a CRI or a Docker record is kept.

So a line is framed when it holds a literal of the rules (``rules.literals``,
found as ``coldlines`` finds them, with the optional accelerator or not), an
escape that may hide one, a traceback key or a message that is no string; with
``context_lines``, the lines before it too; and the buffer's last lines, whose
successors are unknown. A rule on ``fields`` makes every line matter.
"""

from __future__ import annotations

import re

from logwatch.multiline.jsonrecords import MESSAGE_KEYS, TRACEBACK_KEYS
from logwatch.rules.literals import Literals
from logwatch.sources.coldlines import DENSE_BYTES, lines_back
from logwatch.sources.literalscan import literal_scan

# a dotted key ("error.stack") is a key of its own, or the last of a nested path
_TRACEBACK_KEYS = frozenset(
    f'"{name}"'.encode() for key in TRACEBACK_KEYS for name in (key, key.rsplit(".", 1)[-1])
)
# What JSON's short escapes (\" \\ \/ \b \f \n \r \t) stand for.
_ESCAPED = frozenset(b'"\\/\b\f\n\r\t')
# JSON's blanks within a line; what follows them is a value, which is a string or not
_NOT_A_STRING = (
    rb'"(?:' + b"|".join(re.escape(key.encode()) for key in MESSAGE_KEYS)
    + rb')"[ \t\r]*:[ \t\r]*[^ \t\r\n"]'
)
# The lines the assembler may read as a Docker record (a "log" key, whatever the keys'
# order), or ``envelopes.unwrap`` as a CRI one (it starts like an ISO date with its "T";
# an ISO syslog line too, never split: kept all the same; or with a digit that is not
# ASCII, which ``str.isdigit`` takes too).
_DOCKER = rb'"log"[ \t\r]*:'
_ISO_T = rb"^(?:[0-9][^\n]{9}T|[\x80-\xff])"


class ColdJsonLines:
    """A callable: spans of a buffer of complete JSON lines to frame, in order, disjoint."""

    def __init__(
        self, literals: Literals, *, accelerate: bool = True, dense_bytes: int = DENSE_BYTES,
        context: int = 0,
    ) -> None:
        """``context``: the lines before each kept line are kept too (``context_lines``)."""
        self._folded = bool(literals.folded)
        self._dense_bytes = dense_bytes
        self._context = context
        every = literals.exact | literals.folded
        escape = b"\\" if any(_ESCAPED.intersection(literal) for literal in every) else b"\\u"
        exact = literals.exact | _TRACEBACK_KEYS | {escape}
        self._scan = literal_scan(
            exact, literals.folded, accelerate=accelerate,
            patterns=(_NOT_A_STRING, _DOCKER, _ISO_T),
        )

    def __call__(self, body: bytes) -> list[tuple[int, int]]:
        size = len(body)
        whole = [(0, size)] if size else []
        # ANSI codes and a hole's NULs go before a line is read (an envelope may follow
        # them); lower-casing finds case-insensitive literals in ASCII only
        if (size == 0 or b"\x1b" in body or b"\0" in body
                or (self._folded and not body.isascii())):
            return whole
        starts = [body.rfind(b"\n", 0, size - 1) + 1]  # its successor is unknown
        self._scan(body, starts)  # the runs it may also find are the text format's
        if len(starts) * self._dense_bytes > size:
            return whole  # nearly every line matters: framing them all is cheaper
        starts.sort()
        context = self._context
        spans: list[tuple[int, int]] = []
        for start in starts:
            floor = spans[-1][1] if spans else 0
            if start < floor:
                continue  # a line with more than one hit
            end = body.find(b"\n", start) + 1 or size
            if context:
                start = lines_back(body, start, context, floor)
            if spans and start <= floor:
                start = spans.pop()[0]
            spans.append((start, end))
        return spans
