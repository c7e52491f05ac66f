"""Globs -> paths to follow, and the directories to watch for new ones."""

from __future__ import annotations

import enum
import glob
import logging
from collections.abc import Iterable
from pathlib import Path

from logwatch.sources.paths import excluded
from logwatch.sources.values import SourceSpec

logger = logging.getLogger(__name__)


class Scope(enum.Enum):
    """What in a watched directory can change what the globs match."""

    FILES = "files"  # its entries: the globs match files in it
    SUBDIRS = "subdirs"  # only its subdirectories: a wildcard directory component above


def expand(sources: Iterable[SourceSpec]) -> dict[str, str]:
    """Every path a source's globs match now, mapped to the first source that claims it."""
    owners: dict[str, str] = {}
    for source in sources:
        for pattern in source.paths:
            # glob.glob, not Path.glob: the patterns are absolute
            for path in sorted(glob.glob(pattern, recursive=True)):  # noqa: PTH207
                if excluded(path, source.exclude):
                    continue
                owner = owners.setdefault(path, source.name)
                if owner != source.name:
                    logger.debug("%s matches sources %s and %s; %s reads it",
                                 path, owner, source.name, owner)
    return owners


def watch_dirs(sources: Iterable[SourceSpec]) -> dict[str, Scope]:
    """The directories whose entries the globs look at (each watched non-recursively).

    For ``/var/log/apps/*/*.log`` that is every ``apps/<name>/`` now, and also
    ``apps/`` itself, for its subdirectories: without it a new ``apps/svc2/``
    would wait for the next scan.
    """
    dirs: dict[str, Scope] = {}
    for source in sources:
        for pattern in source.paths:
            parent = Path(pattern).parent
            if not glob.has_magic(str(parent)):
                dirs[str(parent)] = Scope.FILES
                continue
            parts = parent.parts
            first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
            dirs.setdefault(str(Path(*parts[:first])), Scope.SUBDIRS)
            for depth in range(first + 1, len(parts) + 1):
                scope = Scope.FILES if depth == len(parts) else Scope.SUBDIRS
                level = str(Path(*parts[:depth]))
                for match in glob.glob(level, recursive=True):  # noqa: PTH207
                    if Path(match).is_dir():
                        # normalised: "**" matches "logs/" as well as "logs"
                        found = str(Path(match))
                        if dirs.get(found) is not Scope.FILES:
                            dirs[found] = scope
    return dirs
