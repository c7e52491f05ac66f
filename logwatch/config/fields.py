"""Config -> typed values: the field types the config models are built from.

Each parser turns one YAML scalar into the value the pipeline wants (float
seconds, int bytes, a compiled regex, a Severity) and raises ``ValueError``
with a remedy, which pydantic reports at the offending value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from logwatch.config.problems import suggest
from logwatch.model import Severity

DURATION_UNITS: Mapping[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
SIZE_UNITS: Mapping[str, int] = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
# Logging levels a rule may name, lowest first; `min_level` compares by this order.
LEVELS: tuple[str, ...] = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL")
LEVEL_ORDER: Mapping[str, int] = {name: rank for rank, name in enumerate(LEVELS)}
# Other spellings seen in logs, folded as the rule matcher folds them (rules/match.py).
LEVEL_ALIASES: Mapping[str, str] = {
    "WARN": "WARNING",
    "ERR": "ERROR",
    "CRIT": "CRITICAL",
    "FATAL": "CRITICAL",
    "ALERT": "CRITICAL",
    "EMERG": "CRITICAL",
    "EMERGENCY": "CRITICAL",
}

_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
# "1h30m" is allowed: a sum of number+unit parts, like Go's time.ParseDuration.
_DURATION = re.compile(rf"(?:(?:{_NUMBER})(?:ms|s|m|h|d|w))+")
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|s|m|h|d|w)")
_PLAIN_NUMBER = re.compile(_NUMBER)
_SIZE = re.compile(rf"({_NUMBER})\s*([kmgt]i?b|b)?", re.IGNORECASE)


def parse_duration(value: object) -> float:
    """Turn ``500ms``, ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m`` or plain seconds into seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        seconds = float(value.strip())
    elif isinstance(value, str) and _DURATION.fullmatch(value.strip()):
        seconds = sum(
            float(number) * DURATION_UNITS[unit]
            for number, unit in _DURATION_PART.findall(value.strip())
        )
    else:
        raise ValueError(
            f"invalid duration {value!r}; use seconds or a number with a unit: "
            "500ms, 30s, 5m, 2h, 1d"
        )
    if seconds < 0:
        raise ValueError(f"invalid duration {value!r}; it must not be negative")
    return seconds


def parse_size(value: object) -> int:
    """Turn ``256KiB``, ``1MiB``, ``10MB``, ``1GiB`` or plain bytes into bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise ValueError(
                f"invalid size {value!r}; use bytes or a number with a unit: "
                "512B, 256KiB, 1MiB, 10MB, 1GiB"
            )
        number, unit = match.groups()
        size = round(float(number) * SIZE_UNITS[(unit or "b").lower()])
    if size < 0:
        raise ValueError(f"invalid size {value!r}; it must not be negative")
    return size


def compile_regex(value: object) -> re.Pattern[str]:
    """Compile a pattern now, so that a bad one fails `logwatch check`, not a match later."""
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str):
        raise ValueError(f"a regular expression must be a string, not {value!r}")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regex {value!r}: {exc}") from exc


def parse_severity(value: object) -> Severity:
    if isinstance(value, Severity):
        return value
    if isinstance(value, str):
        try:
            return Severity.parse(value)
        except KeyError:
            pass
    names = ", ".join(str(severity) for severity in Severity)
    raise ValueError(f"unknown severity {value!r}; use one of {names}")


def normalize_level(value: object) -> str:
    """Upper-case a level name and fold the aliases Python logging also prints."""
    if not isinstance(value, str):
        raise ValueError(f"a level must be a string, not {value!r}")
    level = value.strip().upper()
    level = LEVEL_ALIASES.get(level, level)
    if level not in LEVEL_ORDER:
        hint = suggest(level, LEVELS)
        listing = f"{hint} known: " if hint else "; use one of "
        raise ValueError(f"unknown level {value!r}{listing}{', '.join(LEVELS)}")
    return level


def one_or_many(value: object) -> object:
    """Let a list field also take one string: ``notify: slack`` means ``[slack]``."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return value


_NON_NEGATIVE_NUMBER: dict[str, Any] = {"type": "number", "minimum": 0}

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                _NON_NEGATIVE_NUMBER,
                {"type": "string", "pattern": r"^\s*([0-9.]+(ms|s|m|h|d|w))+\s*$|^\s*[0-9.]+\s*$"},
            ],
            "description": "seconds, or a number with a unit: 500ms, 30s, 5m, 2h, 1d",
        }
    ),
]
Size = Annotated[
    int,
    BeforeValidator(parse_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\s*[0-9.]+\s*([KMGTkmgt]i?[Bb]|[Bb])?\s*$"},
            ],
            "description": "bytes, or a number with a unit: 256KiB, 1MiB, 10MB, 1GiB",
        }
    ),
]
Regex = Annotated[
    re.Pattern[str],
    BeforeValidator(compile_regex),
    PlainSerializer(lambda pattern: pattern.pattern, return_type=str),
    WithJsonSchema({"type": "string", "format": "regex"}),
]
SeverityName = Annotated[
    Severity,
    BeforeValidator(parse_severity),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"enum": [str(severity) for severity in Severity]}),
]
LevelName = Annotated[
    str,
    BeforeValidator(normalize_level),
    WithJsonSchema({"type": "string", "description": "DEBUG, INFO, WARNING, ERROR, CRITICAL"}),
]
_STRINGS_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
}
Strings = Annotated[tuple[str, ...], BeforeValidator(one_or_many), WithJsonSchema(_STRINGS_SCHEMA)]
Levels = Annotated[
    tuple[LevelName, ...], BeforeValidator(one_or_many), WithJsonSchema(_STRINGS_SCHEMA)
]
