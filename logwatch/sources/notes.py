"""A config's sources -> what to tell of them: settings that are valid and do nothing.

`check` prints these as notes and the daemon logs them as warnings, at start
and at each reload: the config is not wrong, but it will not do what it says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

_MAGIC = frozenset("*?[")


class SourceLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def paths(self) -> Sequence[str]: ...


def source_notes(sources: Iterable[SourceLike]) -> list[str]:
    """One line for each such setting of each source."""
    notes = []
    for source in sources:
        for pattern in source.paths:
            # Paths name files: a directory follows nothing, and nothing else would
            # say so (a glob that matches nothing yet is as quiet, and usual).
            if not _MAGIC & set(pattern) and Path(pattern).is_dir():
                notes.append(
                    f"source {source.name!r}: {pattern} is a directory, and paths name"
                    f" files; did you mean {Path(pattern, '*.log')}?"
                )
    return notes
