"""JSON log records -> level, logger, message, time, fields and exception.

A JSON line is already one record, so nothing is reassembled: the common keys
of python-json-logger, structlog, ECS and friends are read, and a traceback
string found in the record is handed to the same grammar as text logs, so its
frames and fingerprint come out the same. structlog's ``dict_tracebacks``
(a list of exception dicts, the raised one first) is converted directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from logwatch.model import ExceptionInfo, Frame
from logwatch.multiline.headers import normalise_level
from logwatch.multiline.timestamps import UTC_TIMES, TimeReader

LEVEL_KEYS = ("level", "levelname", "severity", "log.level", "loglevel", "lvl")
LOGGER_KEYS = ("logger", "name", "logger_name", "log.logger", "loggerName")
MESSAGE_KEYS = ("message", "msg", "event", "@message")
TIME_KEYS = ("timestamp", "time", "asctime", "@timestamp", "ts")
TRACEBACK_KEYS = (
    "exc_info",
    "exception",
    "stack_trace",
    "traceback",
    "error.stack",
    "error.stack_trace",
    "exc_text",
)
_EPOCH_S = (1e9, 1e11)  # plausible seconds since 1970 (2001..5138)
_EPOCH_MS = (1e12, 1e14)


@dataclass(frozen=True, slots=True)
class JsonRecord:
    level: str | None
    logger: str | None
    message: str
    timestamp: datetime | None
    traceback: str | None  # a formatted traceback, for the text grammar
    structured: tuple[ExceptionInfo, ...] = ()  # structlog dict_tracebacks, converted
    fields: Mapping[str, Any] = field(default_factory=dict)


def read_record(doc: Mapping[str, Any], times: TimeReader = UTC_TIMES) -> JsonRecord:
    """Pick the well-known keys out of a JSON record; the rest become ``fields``.

    ``times`` reads a time written as text (an epoch number has no zone to guess).
    """
    used: set[str] = set()
    level_key, level = _lookup(doc, LEVEL_KEYS)
    logger_key, logger = _lookup(doc, LOGGER_KEYS)
    message_key, message = _lookup(doc, MESSAGE_KEYS)
    time_key, stamp = _lookup(doc, TIME_KEYS)
    trace_key, trace = _lookup(doc, TRACEBACK_KEYS)
    used.update(k for k in (level_key, logger_key, message_key, time_key, trace_key) if k)
    text: str | None = None
    structured: tuple[ExceptionInfo, ...] = ()
    if isinstance(trace, str) and trace.strip():
        text = trace
    elif isinstance(trace, list):
        structured = structlog_chain(trace)
    return JsonRecord(
        level=normalise_level(level) if isinstance(level, str) else None,
        logger=logger if isinstance(logger, str) else None,
        message=message if isinstance(message, str) else "" if message is None else str(message),
        timestamp=_timestamp(stamp, times),
        traceback=text,
        structured=structured,
        fields={key: value for key, value in doc.items() if key not in used},
    )


def structlog_chain(stacks: Sequence[Any]) -> tuple[ExceptionInfo, ...]:
    """structlog's exception dicts (raised first, causes after) in printed order."""
    chain: list[ExceptionInfo] = []
    for stack in reversed(stacks):
        if not isinstance(stack, dict):
            continue
        frames = tuple(
            Frame(
                filename=str(frame.get("filename") or "?"),
                lineno=frame["lineno"] if isinstance(frame.get("lineno"), int) else None,
                function=str(frame["name"]) if frame.get("name") is not None else None,
                source=frame.get("line") or None,
            )
            for frame in stack.get("frames") or ()
            if isinstance(frame, dict)
        )
        members: list[ExceptionInfo] = []
        for member in stack.get("exceptions") or ():
            inner = member.get("stacks") if isinstance(member, dict) else member
            if isinstance(inner, list):
                member_chain = structlog_chain(inner)
                members.extend(member_chain[-1:])
        syntax = stack.get("syntax_error")
        message = stack.get("exc_value")
        if isinstance(syntax, dict) and isinstance(syntax.get("msg"), str):
            message = syntax["msg"]
        chain.append(
            ExceptionInfo(
                type=str(stack.get("exc_type") or "Exception"),
                message=str(message) if message is not None else "",
                frames=frames,
                notes=tuple(str(note) for note in stack.get("exc_notes") or ()),
                group_members=tuple(members),
            )
        )
    return tuple(chain)


def _lookup(doc: Mapping[str, Any], keys: Sequence[str]) -> tuple[str | None, Any]:
    """The first key present, also as a nested path ("error.stack" in {"error": {...}})."""
    for key in keys:
        if key in doc:
            return key, doc[key]
        if "." in key:
            outer, inner = key.split(".", 1)
            nested = doc.get(outer)
            if isinstance(nested, dict) and inner in nested:
                # a nested key is consumed only if nothing else lives under it
                return (outer if len(nested) == 1 else None), nested[inner]
    return None, None


def _timestamp(value: Any, times: TimeReader) -> datetime | None:
    if isinstance(value, str):
        return times.parse(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _EPOCH_S[0] < value < _EPOCH_S[1]:
            return datetime.fromtimestamp(value, UTC)
        if _EPOCH_MS[0] < value < _EPOCH_MS[1]:
            return datetime.fromtimestamp(value / 1000, UTC)
    return None
