"""Where a rotated file went: the names logrotate and logging handlers give old logs.

Only uncompressed siblings can be read on from an offset; ``delaycompress``
keeps ``app.log.1`` readable for a whole cycle, which is why the docs
recommend it. Compressed ones are still looked at, by the head of their
content, to tell which readable generations are newer than a file we lost.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from logwatch.sources.identity import HEAD_MAX, heads_agree, marker_holds, read_head

_OPENERS: dict[str, Callable[[str], BinaryIO]] = {
    ".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open,  # type: ignore[dict-item]
}
COMPRESSED = (*_OPENERS, ".zst", ".lz4", ".lzma", ".Z", ".zip")

_NUMBERED = re.compile(r"\.(\d+)")  # app.log.1 (logrotate, RotatingFileHandler)
_DATED = re.compile(r"[-.]\d[\d_.-]*")  # app.log-20260101, app.log.2026-01-01_10 (dateext, Timed*)
_SUFFIX = re.compile(r"(?:\.\d+|[-.]\d[\d_.-]*)$")


def rotated_siblings(path: str, *, compressed: bool = False) -> list[str]:
    """Rotated generations of ``path`` in its directory, newest first."""
    directory, name = os.path.split(path)
    try:
        entries = [entry.name for entry in Path(directory or ".").iterdir()]
    except OSError:
        return []
    numbered: list[tuple[int, str]] = []
    dated: list[tuple[str, str]] = []
    for entry in entries:
        if not entry.startswith(name):
            continue
        suffix = entry[len(name) :]
        if suffix.endswith(COMPRESSED):
            if not compressed:
                continue
            suffix = suffix[: suffix.rindex(".")]
        if found := _NUMBERED.fullmatch(suffix):
            numbered.append((int(found[1]), entry))
        elif _DATED.fullmatch(suffix):
            dated.append((suffix, entry))
    # app.log.1 is newer than app.log.2; app.log-20260102 is newer than app.log-20260101
    ordered = [entry for _, entry in sorted(numbered)]
    ordered += [entry for _, entry in sorted(dated, reverse=True)]
    return [str(Path(directory, entry)) for entry in ordered]


@dataclass(frozen=True, slots=True)
class Found:
    """The rotated sibling holding the bytes we had read; open unless compressed."""

    path: str
    fd: int | None  # None: compressed, so the rest after our offset cannot be read
    st: os.stat_result
    head: bytes
    newer: tuple[str, ...]  # readable siblings rotated after it: generations we never saw


def find_rotated(
    path: str,
    head: bytes,
    offset: int,
    marker: bytes,
    *,
    skip: Callable[[os.stat_result], bool],
    compressed: bool = False,
) -> Found | None:
    """Find where the file we read up to ``offset`` went: same head, same marker there.

    ``skip`` rejects files that are followed already (by their stat). With
    ``compressed``, a compressed sibling whose content starts with our head
    also counts (its marker cannot be checked without decompressing it all).
    """
    siblings = rotated_siblings(path, compressed=compressed)
    for generation, sibling in enumerate(siblings):
        newer = tuple(p for p in siblings[:generation] if not p.endswith(COMPRESSED))
        if sibling.endswith(COMPRESSED):
            found = _compressed_match(sibling, head, newer)
            if found is not None:
                return found
            continue
        try:
            fd = open_readonly(sibling)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            sibling_head = read_head(fd)
            if (
                stat.S_ISREG(st.st_mode)
                and not skip(st)
                and heads_agree(head, sibling_head)
                and marker_holds(fd, st.st_size, offset, marker)
            ):
                found = Found(sibling, fd, st, sibling_head, newer)
                fd = -1  # handed over
                return found
        finally:
            if fd >= 0:
                os.close(fd)
    return None


def _compressed_match(path: str, head: bytes, newer: tuple[str, ...]) -> Found | None:
    opener = _OPENERS.get(Path(path).suffix)
    if opener is None:
        return None
    try:
        with opener(path) as stream:
            content_head = stream.read(HEAD_MAX)
        st = Path(path).stat()
    except (OSError, EOFError, lzma.LZMAError):
        return None
    return Found(path, None, st, content_head, newer) if heads_agree(head, content_head) else None


def live_name(path: str) -> str | None:
    """The file ``path`` would be a rotated generation of (``app.log.1`` -> ``app.log``)."""
    base = _SUFFIX.sub("", path)
    return base if base != path and "/" not in path[len(base) :] else None


def open_readonly(path: str) -> int:
    # O_NONBLOCK: a FIFO matched by a glob must not block the reading thread
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
