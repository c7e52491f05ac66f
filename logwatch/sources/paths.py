"""A source's path globs -> whether they name a file: the daemon's answer, for one path.

The daemon finds a source's files with ``glob`` (``discovery``); ``replay``
is given a file and asks which source names it. Both must agree: through
symlinks (to the file, or to a directory before a ``..``) and ``exclude``.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable
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

    A file is named when the globs find it, under any of its names, as the
    daemon's do; a name that is no file (a rule test's input) by its text.
    """
    try:
        wanted = Path(name).stat()
    except OSError:
        return _names_by_text(paths, exclude, name)
    exclude = tuple(exclude)
    for pattern in paths:
        for found in glob.glob(pattern, recursive=True):  # noqa: PTH207 - as discovery globs
            if not excluded(found, exclude) and _same(found, wanted):
                return True
    return False


def _same(path: str, wanted: os.stat_result) -> bool:
    try:
        return os.path.samestat(Path(path).stat(), wanted)
    except OSError:  # gone since the glob
        return False


def _names_by_text(paths: Iterable[str], exclude: Iterable[str], name: str) -> bool:
    resolved = str(Path(name).resolve())
    return any(fnmatch.fnmatch(resolved, _resolved(pattern)) for pattern in paths) and not (
        excluded(resolved, exclude)
    )


def _resolved(pattern: str) -> str:
    """The glob with the directories before its first wildcard resolved, as ``glob``
    follows them (symlinks, then ``..``); the rest as written."""
    parts = Path(pattern).parts
    fixed = next((at for at, part in enumerate(parts) if _MAGIC & set(part)), len(parts))
    if fixed == 0:
        return pattern
    return str(Path(*parts[:fixed]).resolve().joinpath(*parts[fixed:]))
