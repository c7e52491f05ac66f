"""The values the tailer takes in (what to follow) and hands out (lines, file stats)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from logwatch.model import Line, Origin
from logwatch.sources.framing import DEFAULT_MAX_LINE_BYTES


class SourceSpec(Protocol):
    """What the tailer needs of a configured source (``SourceConfig`` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def paths(self) -> tuple[str, ...]: ...  # absolute globs
    @property
    def exclude(self) -> tuple[str, ...]: ...  # globs on the full path or the file name
    @property
    def start_at(self) -> str: ...  # "end" | "beginning": files present at the first start
    @property
    def new_files_from(self) -> str: ...  # "beginning" | "end": files discovered later
    @property
    def max_line_bytes(self) -> int: ...
    @property
    def encoding(self) -> str: ...  # one that ``framing.reads_ascii_as_ascii``


@dataclass(frozen=True, slots=True)
class Source:
    """A plain ``SourceSpec``, for callers (and tests) without a config file."""

    name: str
    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    start_at: str = "end"
    new_files_from: str = "beginning"
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    encoding: str = "utf-8"


@dataclass(frozen=True, slots=True)
class Chunk:
    """Complete lines of one file, in file order, read by one ``Tailer.poll``."""

    origin: Origin  # source name, current path, file uid
    lines: list[Line]
    at_eof: bool  # the reader reached the end of the bytes available now
    # Lines before the last one that a keep filter passed over: each would have been
    # a one-line event no rule alerts on (``coldlines``); counted, never framed.
    passed_lines: int = 0
    passed_bytes: int = 0


@dataclass(frozen=True, slots=True)
class FileStat:
    """One followed file, for ``logwatch status``."""

    uid: str
    path: str
    source: str
    offset: int  # bytes read so far
    size: int  # as of the last check
    lag_bytes: int
    state: str  # active | draining (rotated away or deleted) | idle (fd given back)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A path a source matches that cannot be opened (permissions), for ``logwatch status``."""

    path: str
    source: str
    error: str  # e.g. "[Errno 13] Permission denied"


@dataclass(slots=True)
class TailCounters:
    """What went wrong or needed care, since start; exposed as metrics."""

    rotations: int = 0  # a followed path now names another file (or none)
    truncations: int = 0  # a file shrank or was rewritten in place
    copies_caught_up: int = 0  # rotated copies read from our offset after a truncation
    bytes_lost: int = 0  # unread bytes of truncated files with no rotated copy
    inode_reuses: int = 0
    rewritten: int = 0  # same head, other content at our offset: read again from 0
    unreadable: int = 0  # paths that matched a glob but could not be opened (once until it opens)
