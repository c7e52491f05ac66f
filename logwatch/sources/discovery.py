"""Globs -> paths to follow, and the directories to watch for new ones."""

from __future__ import annotations

import fnmatch
import glob
import logging
from collections.abc import Iterable
from pathlib import Path

from logwatch.sources.values import SourceSpec

logger = logging.getLogger(__name__)


def excluded(path: str, patterns: Iterable[str]) -> bool:
    name = Path(path).name
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(name, p) for p in patterns)


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


def watch_dirs(sources: Iterable[SourceSpec]) -> set[str]:
    """The directories whose entries the globs look at (watched non-recursively)."""
    dirs: set[str] = set()
    for source in sources:
        for pattern in source.paths:
            parent = str(Path(pattern).parent)
            if glob.has_magic(parent):
                matches = glob.glob(parent, recursive=True)  # noqa: PTH207
                dirs.update(p for p in matches if Path(p).is_dir())
            else:
                dirs.add(parent)
    return dirs
