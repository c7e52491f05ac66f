"""Bytes -> the starts of the lines holding any of the rules' literals.

The standard library finds each literal with its own ``bytes.find`` pass over
the buffer: ten literals, ten passes. With the optional ``hyperscan`` package
(``pip install 'logwatch[fast]'``) all of them are found in one pass, several
times faster, and the same pass finds the runs of lines that do not start
with a digit, which ``coldlines`` otherwise looks for with a regex; without
it the passes stay, and the answer is the same. ``LOGWATCH_ACCELERATE=0`` in
the environment turns it off.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

# Given a buffer, append to the list the start of each line with a hit (repeats
# allowed); return the runs of lines that do not start with a digit, as
# (start, end) spans, if the scan found them too, else None. (Lines that start
# like an ISO date with its "T" are then among the hits.)
Runs = list[tuple[int, int]]
Scan = Callable[[bytes, list[int]], Runs | None]

# One report where a run of such lines begins (after a line that starts with a
# digit) and one where it ends (before one), so a traceback costs two calls
# into Python, not one a line. Each reports just past the first byte of a line.
_RUN_BEGINS = rb"(?:^|\n)[0-9][^\n]*\n(?:[^0-9\n]|\n)"
_RUN_ENDS = rb"(?:^|\n)(?:[^0-9\n][^\n]*)?\n[0-9]"
# A line that starts like an ISO date with its "T" (a CRI or ISO syslog
# envelope): reported as if it held a literal, which keeps it the same way.
_ISO_T = rb"(?:^|\n)[0-9][^\n]{9}T"
_ISO_T_AT = 11  # reported just past the "T"


def literal_scan(
    exact: Iterable[bytes],
    folded: Iterable[bytes],
    *,
    accelerate: bool = True,
    patterns: Iterable[bytes] = (),
    with_runs: bool = True,
) -> Scan:
    """The scan for these literals; ``folded`` ones are found in any ASCII case.

    It is asked about whole lines: with an anchored pattern beside them,
    hyperscan 0.9 misses a literal that ends a buffer of 16 bytes or more.

    ``with_runs``: the accelerated scan finds the runs of lines that do not start
    with a digit too (and reports the lines that start like an ISO date with
    its "T" as hits); without, it finds the literals and ``patterns`` alone.

    ``patterns``: regexes whose lines count as hits too, in the same pass with
    the accelerator; a leading ``^`` matches at each line's start (nowhere else
    may one be). Each must match within one line (no newline, no ``\\s``), and
    be one both ``re`` and hyperscan read alike.
    """
    exact, folded = tuple(sorted(exact)), tuple(sorted(folded))
    patterns = tuple(patterns)
    if accelerate and (scan := _hyperscan(exact, folded, patterns, with_runs)) is not None:
        return scan
    # ``re`` tries a line-start ``^`` at every byte; after a newline it looks for
    # the newline alone, ten times faster
    anchored = [(re.compile(pattern[1:]), re.compile(b"\n(?:" + pattern[1:] + b")"))
                for pattern in patterns if pattern.startswith(b"^")]
    anywhere = [re.compile(pattern) for pattern in patterns if not pattern.startswith(b"^")]

    def find_all(body: bytes, starts: list[int]) -> None:
        _finds(body, exact, starts)
        if folded:
            _finds(body.lower(), folded, starts)
        for regex in anywhere:
            starts.extend(body.rfind(b"\n", 0, match.start()) + 1
                          for match in regex.finditer(body))
        for first, after_newline in anchored:
            if first.match(body) is not None:
                starts.append(0)
            starts.extend(match.start() + 1 for match in after_newline.finditer(body))

    return find_all


def accelerated() -> bool:
    """Whether the one-pass scan is installed."""
    return _module() is not None


def _finds(body: bytes, literals: tuple[bytes, ...], starts: list[int]) -> None:
    for literal in literals:
        at = body.find(literal)
        while at >= 0:
            starts.append(body.rfind(b"\n", 0, at) + 1)
            at = body.find(b"\n", at)  # one hit per line is enough
            if at < 0:
                break
            at = body.find(literal, at)


def _module() -> Any:
    if os.environ.get("LOGWATCH_ACCELERATE", "1") == "0":
        return None  # to compare, or to save the accelerator's few MB of memory
    try:
        import hyperscan  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return hyperscan


@functools.lru_cache(maxsize=16)  # sources share their rules: one database and scratch for all
def _hyperscan(
    exact: tuple[bytes, ...],
    folded: tuple[bytes, ...],
    patterns: tuple[bytes, ...],
    with_runs: bool,
) -> Scan | None:
    hs = _module()
    if hs is None:
        return None
    literals = exact + folded
    count = len(literals)
    run_patterns = [_RUN_BEGINS, _RUN_ENDS, _ISO_T] if with_runs else []
    expressions = (
        # every byte as \xHH: literals may hold regex syntax, or a NUL
        [b"".join(b"\\x%02x" % byte for byte in literal) for literal in literals]
        + run_patterns
        # an anchor binds the whole pattern, as in the ``re`` scan's rewrite
        + [b"^(?:" + pattern[1:] + b")" if pattern.startswith(b"^") else pattern
           for pattern in patterns]
    )
    # the ids say what matched: literals, then the three run patterns (left
    # out, their ids unused, without ``with_runs``), then the patterns
    ids = [*range(count + len(run_patterns)), *range(count + 3, count + 3 + len(patterns))]
    database = hs.Database(mode=hs.HS_MODE_BLOCK)
    try:
        database.compile(
            expressions=expressions,
            ids=ids,
            elements=len(expressions),
            flags=[0] * len(exact) + [hs.HS_FLAG_CASELESS] * len(folded)
            + [0] * len(run_patterns) + [hs.HS_FLAG_MULTILINE] * len(patterns),
        )
    except hs.error:
        return None  # past one of its limits (a literal of thousands of bytes): the passes do
    sizes = [len(literal) for literal in literals]
    lock = threading.Lock()  # one scratch space per database

    def scan(body: bytes, starts: list[int]) -> Runs:
        runs: Runs = []
        begun = -1

        def hit(found: int, _start: int, end: int, _flags: int, _context: object) -> None:
            nonlocal begun
            if found < count:
                starts.append(body.rfind(b"\n", 0, end - sizes[found]) + 1)
            elif found == count:
                begun = end - 1
            elif found == count + 2:
                starts.append(end - _ISO_T_AT)
            elif found > count + 2:  # a pattern's match ends on its line
                starts.append(body.rfind(b"\n", 0, end - 1) + 1)
            elif begun >= 0:  # a run that began in this buffer ends
                runs.append((begun, end - 1))
                begun = -1

        with lock:
            database.scan(body, match_event_handler=hit)
        if begun >= 0:
            runs.append((begun, len(body)))
        return runs

    return scan
