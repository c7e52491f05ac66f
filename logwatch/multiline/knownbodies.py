"""Bytes -> a record seen before: what lies under its header, not framed again.

``blocks`` replays what the grammar made of a record it has seen before, but
each copy's lines are still split, decoded and looked up one by one to find
that out: most of what a storm costs replay. In replay's kept spans
(``coldlines``) a storm's record is a header line and the very same bytes
under it, again and again. So the framer looks those bytes up here, whole,
and frames the header line alone, marked with what lies under it
(``Lines.known``); the assembler builds the event from that header and from
what the first copies gave (``Recipe``).

What is kept comes from blocks ``blocks`` replayed, so seen twice at least:
their lines under the header took no part in the grammar's choices but
through their text, the header through its level and whether it ends with a
colon (``BlockMemo.key``). Only bodies whose bytes are their texts joined by
newlines are kept: ASCII, nothing the framer took off (a line's last
``\\r``) or passed over between them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

from logwatch.model import ExceptionInfo
from logwatch.multiline.blocks import RECORD_HEADER_BYTES, Template
from logwatch.multiline.kinds import Kind
from logwatch.multiline.rows import Row

_HEADER = re.compile(RECORD_HEADER_BYTES)
_HEADER_AFTER_NEWLINE = re.compile(b"\n" + RECORD_HEADER_BYTES)
# The bodies' text kept in all, in bytes; past it, start afresh. (With their
# keys, texts and what they made, the memory is a few times that.)
_MAX_BYTES = 2 << 20

Tag = tuple[str | None, bool]  # the header's level, and whether its text ends with ":"


class Recipe(NamedTuple):
    """The event's parts that come from the lines under the header."""

    tail: str  # the message's lines after the header's, each after a newline
    chain: tuple[ExceptionInfo, ...]
    fingerprint: str


@dataclass(slots=True, eq=False)
class KnownBody:
    """The lines under a record's header, seen before, and what they made."""

    texts: tuple[str, ...]
    text: str  # the texts joined by newlines
    size: int  # in bytes, the last newline included
    # Under a header of each tag: the one event of all the lines, or the drafts
    made: dict[Tag, Recipe | Template] = field(default_factory=dict)

    def takes(self, header: re.Match[bytes], line: bytes) -> bool:
        """Whether what the header line ``line`` makes of these lines is known.

        ``header``: its match (``KnownBodies.header_at``). The level is its last
        word, as a header parser reads it (where one reads it otherwise, the
        assembler finds nothing made under that level, and takes the lines one
        by one).
        """
        end = header.end() - 1  # the space after the level
        level = header.string[header.string.rfind(b" ", header.start(), end) + 1 : end]
        return (level.decode("ascii"), line.rstrip()[-1:] == b":") in self.made

    def rows_under(self, head: Row) -> Callable[[int, Kind], Row]:
        """``Template.replay``'s rows of these lines under the header row ``head``."""
        texts = self.texts
        starts = list(accumulate((len(text) + 1 for text in texts), initial=head.end))
        base = head.last_lineno

        def row(at: int, kind: Kind) -> Row:
            text = texts[at - 1]
            return Row(text, text, base + at, base + at, starts[at - 1], starts[at], kind)

        return row


class KnownBodies:
    """The bodies of records seen lately, by their bytes (one file's, one reader's)."""

    def __init__(self) -> None:
        self._bodies: dict[bytes, KnownBody] = {}
        self._by_texts: dict[tuple[str, ...], KnownBody] = {}
        self._bytes = 0
        self.sizes: set[int] = set()  # of the bodies kept, in bytes

    def get(self, body: bytes) -> KnownBody | None:
        return self._bodies.get(body)

    def has(self, texts: tuple[str, ...], tag: Tag) -> bool:
        known = self._by_texts.get(texts)
        return known is not None and tag in known.made

    def add(self, texts: tuple[str, ...], tag: Tag, made: Recipe | Template) -> None:
        """Keep what a record with the lines ``texts`` under a ``tag`` header makes.

        ``texts``: ASCII, none with a ``\\r`` the framer took off.
        """
        known = self._by_texts.get(texts)
        if known is None:
            text = "\n".join(texts)
            size = len(text) + 1
            self._bytes += size
            if self._bytes > _MAX_BYTES:
                self._bodies.clear()
                self._by_texts.clear()
                self.sizes.clear()
                self._bytes = size
            known = KnownBody(texts, text, size)
            self._bodies[text.encode("ascii") + b"\n"] = known
            self._by_texts[texts] = known
            self.sizes.add(size)
        known.made[tag] = made

    @staticmethod
    def header_at(chunk: bytes, at: int) -> re.Match[bytes] | None:
        """The record header the line at ``at`` starts with, if it starts with one."""
        return _HEADER.match(chunk, at)

    @staticmethod
    def next_header(chunk: bytes, newline: int, limit: int) -> re.Match[bytes] | None:
        """The first record header after the newline at ``newline``, before ``limit``;
        the match starts at the newline before it."""
        return _HEADER_AFTER_NEWLINE.search(chunk, newline, limit)
