"""Rules stage, what an alert says: ids, titles, severities and group keys of events.

Pure functions of an event and a rule name, so the same bytes re-read after a
crash yield the same id and the same group, and a receiver can drop the repeat.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping

from logwatch.model import Event, Severity
from logwatch.multiline.ansi import strip_ansi
from logwatch.multiline.envelopes import unwrap
from logwatch.multiline.kinds import FRAME_LINE
from logwatch.rules.match import effective_level

TITLE_MAX = 200

GROUP_FIELDS = frozenset(
    {"fingerprint", "exc_type", "logger", "source", "file", "host", "message", "rule"}
)
"""Names `group_by` accepts, besides `fields.NAME` (a field of a JSON record)."""

_SEVERITY_OF_LEVEL = {
    "CRITICAL": Severity.CRITICAL,
    "ERROR": Severity.ERROR,
    "WARNING": Severity.WARNING,
}


def digest(*parts: str) -> str:
    """A stable hex id of the parts; NUL-separated so ("ab", "c") != ("a", "bc")."""
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def occurrence_id(event: Event, rule: str) -> str:
    """The id of this event's alert under this rule: the same bytes give the same id."""
    origin = event.origin
    # Without a file identity (standard input) the path and source stand in.
    file_key = origin.file_uid or f"{origin.source}\0{origin.path}"
    return digest(file_key, str(event.start_offset), rule)


def derived_severity(event: Event) -> Severity:
    """Severity from the record's level; a traceback without a level is an error."""
    level = effective_level(event)
    return _SEVERITY_OF_LEVEL.get(level or "", Severity.INFO)


def short_type(type_name: str) -> str:
    return type_name.rsplit(".", 1)[-1]


def title(
    exc_type: str | None, exc_message: str | None, message: str, text: str, *, cut: bool = False
) -> str:
    """`"ShortType: message"` for a traceback, else the record's message, cut to TITLE_MAX.

    ``cut``: a traceback whose exception line never came. Without a record
    around it there is no message either: it is named by the last frame it shows.

    Call it with redacted parts: cutting first could leave half a secret that
    no pattern recognises any more.
    """
    if exc_type is not None:
        if len(exc_type) + len(exc_message or "") <= _REMEMBERED_CHARS:
            return _traceback_title(exc_type, exc_message)
        short = short_type(exc_type)
        line = f"{short}: {exc_message}" if exc_message else short
    elif cut and not message.strip():
        line = _cut_title(text)
    else:
        line = message.strip() or text.strip().split("\n", 1)[0]
    return clip(line)


# A storm raises the same few exceptions with the same few messages: their
# titles are remembered, those short enough to keep many of.
_REMEMBERED_CHARS = 2 * TITLE_MAX


@functools.lru_cache(maxsize=1024)
def _traceback_title(exc_type: str, exc_message: str | None) -> str:
    short = short_type(exc_type)
    return clip(f"{short}: {exc_message}" if exc_message else short)


def _cut_title(text: str) -> str:
    # The last frame printed is the innermost one Python got to: where it was
    # raised, or as far as the writer got before it died. The text is the
    # file's: a container runtime's envelope may still be around each line.
    for line in reversed(text.split("\n")):
        wrapped = unwrap(line)
        frame = FRAME_LINE.search(strip_ansi(wrapped.text if wrapped else line))
        if frame is not None:
            return f"Traceback cut off: {frame.group(0)}"
    return "Traceback cut off"


def clip(line: str) -> str:
    """One line, whitespace collapsed, cut to TITLE_MAX."""
    line = " ".join(line.split())
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1] + "…"


def check_group_by(names: tuple[str, ...]) -> None:
    """Raise ValueError naming the first field `group_by` cannot use."""
    for name in names:
        if name not in GROUP_FIELDS and not (name.startswith("fields.") and len(name) > 7):
            known = ", ".join(sorted(GROUP_FIELDS))
            raise ValueError(f"cannot group by {name!r}; known: {known}, fields.NAME")


def group_value(
    event: Event,
    name: str,
    *,
    rule: str,
    host: str,
    extracted: Mapping[str, str] | None = None,
) -> str:
    """The value of one `group_by` field for an event.

    ``fields.NAME`` is a named group of the rule's message regex, else a
    field of the JSON record.
    """
    if name.startswith("fields."):
        field = name.removeprefix("fields.")
        if extracted and field in extracted:
            return extracted[field]
        return str(event.fields.get(field, ""))
    # Only the named value is worked out: this runs for every alert.
    value: str | None
    if name == "fingerprint":
        # Records without a traceback may come without a fingerprint; their
        # message is the next best identity.
        value = event.fingerprint or f"message:{event.message}"
    elif name == "exc_type":
        value = event.exc_type
    elif name == "logger":
        value = event.logger
    elif name == "source":
        value = event.origin.source
    elif name == "file":
        value = event.origin.path
    elif name == "host":
        value = host
    elif name == "message":
        value = event.message
    elif name == "rule":
        value = rule
    else:
        raise KeyError(name)
    return value or ""


def group_key(
    event: Event,
    group_by: tuple[str, ...],
    *,
    rule: str,
    host: str,
    extracted: Mapping[str, str] | None = None,
) -> str:
    """The state key of the (rule, group) an event belongs to.

    Hashed: a key built from messages must not carry their secrets into the
    state database.
    """
    values = [
        group_value(event, name, rule=rule, host=host, extracted=extracted) for name in group_by
    ]
    return f"{rule}:{digest(*group_by, '', *values)}"
