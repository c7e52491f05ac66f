"""A source's path globs -> whether they name a file: the daemon's answer, for one path.

The daemon finds a source's files with ``glob`` (``discovery``); ``replay``
is given a file and asks which source names it. It answers from the names
alone, as ``glob`` matches them (a wildcard stays within one directory, and
passes over hidden names; ``**`` spans directories), without listing any
directory: a tree of 50,000 files, one the user may not list, or a symlink
loop under ``**`` costs nothing. A file is named under the name it was given
or under its real path, the directories before the pattern's first wildcard
resolved too (a link before a ``..``), unless an ``exclude`` glob matches the
name the daemon would have for it.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

_MAGIC = frozenset("*?[")


def excluded(path: str, patterns: Iterable[str]) -> bool:
    """Does an ``exclude`` glob match the path, or its file name?"""
    name: str | None = None  # a Path per path costs more than the glob itself: only if asked
    for pattern in patterns:
        if name is None:
            name = Path(path).name
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, pattern):
            return True
    return False


def names_file(paths: Iterable[str], exclude: Iterable[str], name: str) -> bool:
    """Do a source's ``paths`` (absolute globs) name the file ``name``, less its ``exclude``?

    ``exclude`` is matched against the name the daemon's glob would give the
    file: the one that matched, spelled under the pattern as written.
    """
    exclude = tuple(exclude)
    if "\0" in name:
        return False
    real = os.path.realpath(name)  # (no error on a symlink loop, unlike Path.resolve)
    # a ".." in the name is the real path's to resolve: lexically, it may be another file
    given = real if ".." in Path(name).parts else str(Path(name).absolute())
    for pattern in paths:
        written = Path(pattern).parts
        fixed = _fixed(written)
        real_prefix = os.path.realpath(Path(*written[:fixed])) if fixed else ""
        resolved = Path(real_prefix, *written[fixed:]).parts if fixed else written
        for spelling in dict.fromkeys((given, real)):
            parts = Path(spelling).parts
            if _glob_match(parts, written) and not excluded(spelling, exclude):
                return True
            if resolved != written and _glob_match(parts, resolved):
                # the daemon's spelling: the rest of the path under the prefix as written
                rest = parts[len(Path(real_prefix).parts) :]
                daemon = str(Path(*written[:fixed]).joinpath(*rest))
                if not excluded(daemon, exclude):
                    return True
    return False


def _fixed(parts: Sequence[str]) -> int:
    """How many of a glob's leading parts hold no wildcard."""
    return next((at for at, part in enumerate(parts) if _MAGIC & set(part)), len(parts))


def _glob_match(parts: Sequence[str], pattern: Sequence[str]) -> bool:
    """Would ``glob.glob(pattern, recursive=True)`` list the path of these parts?"""

    @functools.cache  # by position: each ``**`` tries every split, once
    def match(at: int, step: int) -> bool:
        if step == len(pattern):
            return at == len(parts)
        head = pattern[step]
        if head == "**":  # any number of directories, none hidden
            for skip in range(at, len(parts) + 1):
                if match(skip, step + 1):
                    return True
                if skip < len(parts) and parts[skip].startswith("."):
                    return False
            return False
        if at == len(parts):
            return False
        part = parts[at]
        if _MAGIC & set(head):
            if part.startswith(".") and not head.startswith("."):
                return False  # glob's wildcards pass over hidden names
            if not fnmatch.fnmatchcase(part, head):
                return False
        elif part != head:
            return False
        return match(at + 1, step + 1)

    return match(0, 0)
