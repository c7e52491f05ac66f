"""A config's sources -> what to tell of them: settings that are valid and do nothing.

`check` prints these as notes and the daemon logs them as warnings, at start
and at each reload: the config is not wrong, but it will not do what it says.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

_MAGIC = frozenset("*?[")
# What the framer decodes every file as; ASCII is a part of it.
_READ_AS = frozenset((codecs.lookup("utf-8").name, codecs.lookup("ascii").name))


class SourceLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def paths(self) -> Sequence[str]: ...
    @property
    def encoding(self) -> str: ...


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
        if codecs.lookup(source.encoding).name not in _READ_AS:
            notes.append(
                f"source {source.name!r}: encoding {source.encoding} is not applied:"
                " its files are read as UTF-8, and a byte that is not UTF-8 becomes U+FFFD"
            )
    return notes
