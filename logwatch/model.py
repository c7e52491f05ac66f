"""The values that flow through the pipeline: Line -> Event -> Alert -> Delivery.

Every value here is a frozen, slotted dataclass: stages hand them on and never
mutate them, so a stage can be tested with plain tables of values.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from logwatch.multiline.knownbodies import KnownBody


class Severity(enum.IntEnum):
    """How loud an alert is; ordered, so rules can say "at or above"."""

    INFO = 10
    WARNING = 20
    ERROR = 30
    CRITICAL = 40

    @classmethod
    def parse(cls, name: str) -> Severity:
        return cls[name.strip().upper()]

    def __str__(self) -> str:
        # a table, not self.name.lower(): every alert is worded, labelled and printed with it
        return _SEVERITY_NAMES[self]


_SEVERITY_NAMES = {severity: severity.name.lower() for severity in Severity}


# Never changed once built, but not declared frozen: a frozen dataclass's
# __init__ sets each field through object.__setattr__, a microsecond a line.
@dataclass(slots=True, unsafe_hash=True)
class Line:
    """One physical line of a file, decoded, without its line terminator."""

    text: str
    offset: int  # byte offset of the first byte of the line
    end: int  # byte offset just past its newline
    lineno: int  # 1-based line number in the file
    truncated: bool = False  # longer than max_line_bytes: the rest was cut


class Lines(Sequence[Line]):
    """Lines kept as columns, each ``Line`` made only when it is looked at.

    A storm's tracebacks are mostly lines seen before, which the assembler
    passes over by their text alone (``multiline.blocks``): building a
    ``Line`` for each cost a quarter of a replay. The columns are filled by
    C-level list operations (``LineFramer``).
    """

    __slots__ = ("cut", "ends", "known", "linenos", "offsets", "texts")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.offsets: list[int] = []
        self.ends: list[int] = []
        self.linenos: list[int] = []
        self.cut: set[int] = set()  # indexes of the truncated lines
        # Header lines framed without the lines under them, which were seen
        # before (``multiline.knownbodies``); the next line follows those.
        self.known: dict[int, KnownBody] = {}

    def __len__(self) -> int:
        return len(self.texts)

    @overload
    def __getitem__(self, index: int) -> Line: ...

    @overload
    def __getitem__(self, index: slice) -> list[Line]: ...

    def __getitem__(self, index: int | slice) -> Line | list[Line]:
        if isinstance(index, slice):
            return [self[at] for at in range(*index.indices(len(self.texts)))]
        if index < 0:
            index += len(self.texts)
        return Line(self.texts[index], self.offsets[index], self.ends[index],
                    self.linenos[index], index in self.cut)

    def __iter__(self) -> Iterator[Line]:
        cut = self.cut
        flags = [at in cut for at in range(len(self.texts))] if cut else repeat(False)
        return map(Line, self.texts, self.offsets, self.ends, self.linenos, flags)

    def append(self, line: Line) -> None:
        if line.truncated:
            self.cut.add(len(self.texts))
        self.texts.append(line.text)
        self.offsets.append(line.offset)
        self.ends.append(line.end)
        self.linenos.append(line.lineno)

    def extend(self, other: Lines) -> None:
        base = len(self.texts)
        self.cut.update(base + at for at in other.cut)
        if other.known:
            self.known.update({base + at: body for at, body in other.known.items()})
        self.texts += other.texts
        self.offsets += other.offsets
        self.ends += other.ends
        self.linenos += other.linenos


@dataclass(frozen=True, slots=True)
class Origin:
    """Where events come from: the configured source and the file it read."""

    source: str
    path: str
    file_uid: str = ""  # stable per file identity; alert ids are built from it


@dataclass(frozen=True, slots=True)
class Frame:
    filename: str
    lineno: int | None
    function: str | None
    source: str | None = None  # the source line(s) as printed, dedented


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    """One exception of a chain (or a member of an exception group)."""

    type: str  # exactly as printed: "ValueError", "pkg.mod.CustomError"
    message: str  # everything after "Type: ", continuation lines included
    frames: tuple[Frame, ...] = ()
    notes: tuple[str, ...] = ()
    group_members: tuple[ExceptionInfo, ...] = ()  # for ExceptionGroup


# Flags of an event that holds a traceback but no exception chain: "cut", one
# whose final exception line never came (its writer was killed mid-print, or
# the file ends there); "faulthandler", the interpreter's own dump of its
# threads' stacks (a crash, a watchdog timeout, a signal). A stack printed on
# purpose (traceback.print_stack(), logging's stack_info) is no traceback.
TRACEBACK_FLAGS = frozenset(("cut", "faulthandler"))


# Never changed once built (dataclasses.replace makes a new one), but not
# declared frozen, for the same reason as Line: a frozen __init__ with fifteen
# fields costs microseconds for every record.
@dataclass(slots=True)
class Event:
    """One log record, with its traceback when it has one."""

    origin: Origin
    first_line: int
    last_line: int
    start_offset: int
    end_offset: int
    text: str  # the whole event as it stood in the file, lines joined by "\n"
    message: str  # the record's message (header text without timestamp/level/logger)
    level: str | None = None  # "ERROR", "CRITICAL", ... as found in the header
    logger: str | None = None
    timestamp: datetime | None = None  # the record's own time, when the header has one
    chain: tuple[ExceptionInfo, ...] = ()  # printed order; the last is the one raised
    fingerprint: str | None = None
    flags: frozenset[str] = frozenset()  # partial, cut, truncated, stack, crash, json, ...
    fields: Mapping[str, Any] = field(default_factory=dict)  # JSON record fields
    # The lines just before the event, when a source or rule asks for context;
    # filled in by the reader (it alone sees the stream), not by the assembler.
    context: tuple[str, ...] = ()

    @property
    def has_traceback(self) -> bool:
        """Whether it holds a traceback: a chain, or frames with no exception line to parse."""
        if self.chain:
            return True
        flags = self.flags  # most records have none: no set operation for them
        return bool(flags) and not TRACEBACK_FLAGS.isdisjoint(flags)

    @property
    def exc_type(self) -> str | None:
        return self.chain[-1].type if self.chain else None

    @property
    def exc_message(self) -> str | None:
        if not self.chain:
            return None
        return self.chain[-1].message.split("\n", 1)[0]

    @property
    def exc_types(self) -> tuple[str, ...]:
        return tuple(exc.type for exc in self.chain)


class AlertStatus(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(slots=True)  # never changed once built; not frozen, as Event
class Alert:
    """What a rule decided to say about an event (or a group going quiet)."""

    id: str  # stable per occurrence: same bytes re-read after a crash, same id
    status: AlertStatus
    rule: str
    severity: Severity
    title: str
    host: str
    source: str
    file: str
    first_line: int
    last_line: int
    exc_type: str | None
    exc_message: str | None
    fingerprint: str | None
    count: int
    first_seen: datetime
    last_seen: datetime
    labels: Mapping[str, str]
    text: str  # the whole event, redacted
    notifiers: tuple[str, ...] = ()
    level: str | None = None
    logger: str | None = None
    message: str = ""
    # Named regex groups and scalar record fields (redacted), and the lines
    # before the event; in the payload only when present.
    fields: Mapping[str, Any] = field(default_factory=dict)
    context: tuple[str, ...] = ()
    # Where the occurrences this alert counts were seen: several hosts when
    # daemons share their rule state (`state: {backend: redis}`); in the
    # payload only when known.
    hosts: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The generic webhook body of SPEC, also what the outbox stores."""
        body = {
            "id": self.id,
            "status": str(self.status),
            "rule": self.rule,
            "severity": str(self.severity),
            "title": self.title,
            "host": self.host,
            "source": self.source,
            "file": self.file,
            "first_line": self.first_line,
            "last_line": self.last_line,
            "exc_type": self.exc_type,
            "exc_message": self.exc_message,
            "fingerprint": self.fingerprint,
            "count": self.count,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "labels": dict(self.labels),
            "text": self.text,
            "level": self.level,
            "logger": self.logger,
            "message": self.message,
        }
        if self.fields:
            body["fields"] = dict(self.fields)
        if self.context:
            body["context"] = list(self.context)
        if self.hosts:
            body["hosts"] = list(self.hosts)
        return body

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Alert:
        return cls(
            id=data["id"],
            status=AlertStatus(data["status"]),
            rule=data["rule"],
            severity=Severity.parse(data["severity"]),
            title=data["title"],
            host=data["host"],
            source=data["source"],
            file=data["file"],
            first_line=data["first_line"],
            last_line=data["last_line"],
            exc_type=data["exc_type"],
            exc_message=data["exc_message"],
            fingerprint=data["fingerprint"],
            count=data["count"],
            first_seen=datetime.fromisoformat(data["first_seen"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
            labels=dict(data["labels"]),
            text=data["text"],
            level=data.get("level"),
            logger=data.get("logger"),
            message=data.get("message", ""),
            fields=dict(data.get("fields") or {}),
            context=tuple(data.get("context") or ()),
            hosts=tuple(data.get("hosts") or ()),
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
