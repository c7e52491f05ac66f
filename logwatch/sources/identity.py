"""Which file is this? Head fingerprint and offset marker, matched against known files.

``(dev, ino)`` is exact only while we hold the file open: ext4 hands a freed
inode to the next file created. So a file found on disk is matched by content:

- head: its first bytes (up to 1 KiB), compared on the prefix both sides have,
  so a file recorded while it was small still matches once it has grown;
- marker: the bytes just before the committed offset; they must still be there
  before we trust that offset (a file truncated and regrown past it fails this).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass

from logwatch.store import FileState

HEAD_MAX = 1024
MARKER_MAX = 64


def read_head(fd: int) -> bytes:
    return os.pread(fd, HEAD_MAX, 0)


def read_marker(fd: int, offset: int) -> bytes:
    length = min(MARKER_MAX, offset)
    return os.pread(fd, length, offset - length)


def heads_agree(ours: bytes, theirs: bytes) -> bool:
    shared = min(len(ours), len(theirs))
    return shared > 0 and ours[:shared] == theirs[:shared]


def marker_holds(fd: int, size: int, offset: int, marker: bytes) -> bool:
    """Are the bytes just before ``offset`` in this file the ones we saw there?"""
    if offset > size or len(marker) > offset:
        return False
    return os.pread(fd, len(marker), offset - len(marker)) == marker


@dataclass(frozen=True, slots=True)
class Probe:
    """A file just opened: what identifies it."""

    fd: int
    dev: int
    ino: int
    size: int
    head: bytes
    path: str
    source: str


class Verdict(enum.Enum):
    RESUME = "resume"  # a known file: continue at its committed offset
    REWRITTEN = "rewritten"  # a known head, but not our bytes at our offset
    INODE_REUSE = "inode-reuse"  # a known inode holding other content
    NEW = "new"  # nothing known matches


def match(probe: Probe, known: Iterable[FileState]) -> tuple[Verdict, FileState | None]:
    """Match ``probe`` against known files (none of them open now)."""
    rows = list(known)

    def same_inode(row: FileState) -> bool:
        return (row.dev, row.ino) == (probe.dev, probe.ino)

    candidates = [
        row
        for row in rows
        if heads_agree(row.head, probe.head)
        # recorded while still empty: only the inode can tell it is the same file
        or (not row.head and row.offset == 0 and same_inode(row))
    ]
    # identical heads (banner lines) are common: prefer the row that was this
    # inode, then this path, then this source
    candidates.sort(
        key=lambda row: (not same_inode(row), row.path != probe.path, row.source != probe.source)
    )
    for row in candidates:
        if marker_holds(probe.fd, probe.size, row.offset, row.marker):
            return Verdict.RESUME, row
    if candidates:
        return Verdict.REWRITTEN, candidates[0]
    reused = next((row for row in rows if same_inode(row)), None)
    if reused is not None:
        return Verdict.INODE_REUSE, reused
    return Verdict.NEW, None
