"""Record header lines -> timestamp, level, logger and message.

A header is the first line of a log record: what ``logging`` (or a framework
formatter) writes before the message. The built-in heuristics know the usual
shapes: a leading timestamp followed by a level token somewhere in the next
few tokens (``asctime levelname name``, ``asctime - name - levelname``,
gunicorn, celery, loguru, structlog's console renderer), or a leading level
(``ERROR:root:msg`` from ``basicConfig``, uvicorn's ``ERROR:    msg``), and
Python's ``path:N: SomeWarning: msg`` warning lines. A user pattern replaces
them when the heuristics guess wrong for a file.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from logwatch.multiline.timestamps import UTC_TIMES, TimeReader

LEVELS = {
    "TRACE": "DEBUG",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "NOTICE": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERR": "ERROR",
    "ERROR": "ERROR",
    "CRIT": "CRITICAL",
    "CRITICAL": "CRITICAL",
    "FATAL": "CRITICAL",
    "ALERT": "CRITICAL",
    "EMERG": "CRITICAL",
}

# the first tokens after a timestamp, with their positions, in one match
_TOKENS = re.compile(r"\s*(\S+)" + r"(?:\s+(\S+))?" * 5)
_LEVEL_FIRST = re.compile(r"([A-Z]{3,8})(?=[:\s/\]])")
_BASIC = re.compile(r"([A-Z]{3,8}):([^:\s]+):")  # logging.basicConfig: LEVEL:name:message
# Flask's default "[asctime] LEVEL in module: message": the module stands for the logger
_IN_MODULE = re.compile(r"\]? ([A-Z]{3,8}) in ([A-Za-z_]\w*): ")
_WARNING = re.compile(r".*?:\d+: (?:[\w.]+\.)?[A-Z]\w*Warning: ")
_LOGGER = re.compile(r"[A-Za-z_<][\w.<>-]*(?::[\w.<>-]+)*")
_SEPARATORS = frozenset(("-", "|", ":", "--", "::", "-:", "]", "[", "|:"))
_STRIP = "[]()|:,"
_SCAN_TOKENS = 6  # how far after the timestamp a level may appear (groups in _TOKENS)


def normalise_level(name: str) -> str | None:
    return LEVELS.get(name.strip(_STRIP).upper())


# Never changed once built, but not declared frozen: a frozen dataclass's
# __init__ sets each field through object.__setattr__, which costs more than
# the rest of reading a header (as for ``model.Line``).
@dataclass(slots=True, unsafe_hash=True)
class Header:
    """What a record's first line says about the record."""

    level: str | None
    logger: str | None
    message: str
    timestamp: datetime | None


class HeaderParser:
    """Recognise record headers, with the built-in heuristics or a user pattern.

    ``times`` reads their timestamps: it knows the zone of those without one.
    """

    def __init__(
        self, pattern: re.Pattern[str] | None = None, times: TimeReader = UTC_TIMES
    ) -> None:
        self._pattern = pattern
        self._times = times

    def parse(self, text: str) -> Header | None:
        """The header this line is, or None when it does not start a record."""
        if self._pattern is not None:
            return self._parse_with_pattern(self._pattern, text)
        first = text[:1]
        if first.isdigit() or first == "[":
            return _after_timestamp(text, self._times)
        if "A" <= first <= "Z":
            return _level_first(text) or _after_timestamp(text, self._times)
        if first == "/" or first == "<" or first == ".":
            return _warning(text)
        if first.islower():
            return _warning(text)
        return None

    def _parse_with_pattern(self, pattern: re.Pattern[str], text: str) -> Header | None:
        match = pattern.match(text)
        if match is None:
            return None
        groups = match.groupdict()
        level = groups.get("level")
        stamp = groups.get("timestamp")
        message = groups.get("message")
        return Header(
            level=normalise_level(level) if level else None,
            logger=groups.get("logger") or None,
            message=message if message is not None else text[match.end() :].lstrip(),
            timestamp=self._times.parse(stamp) if stamp else None,
        )


def _after_timestamp(text: str, times: TimeReader) -> Header | None:
    pos = 1 if text.startswith("[") else 0
    found = times.leading(text, pos)
    if found is None:
        return None
    timestamp, end = found
    if len(text) - end <= _TAIL_KEPT:
        level, logger, message = _read_tail(text[end:])
    else:
        level, logger, message_at = _scan(text, end)
        message = text[message_at:].rstrip()
    return Header(level, logger, message, timestamp)


# A storm repeats its record's header but for the time: what follows the time
# is read once. ``_scan`` reads nothing before its start, so it gives the same
# for the tail alone. Only short tails are kept: 128 of at most 200 characters
# (key, message and logger) stay within a few hundred KiB.
_TAIL_KEPT = 200


@functools.lru_cache(maxsize=128)
def _read_tail(tail: str) -> tuple[str | None, str | None, str]:
    """Level, logger and message of what follows a header's timestamp."""
    level, logger, message_at = _scan(tail, 0)
    return level, logger, tail[message_at:].rstrip()


def _level_first(text: str) -> Header | None:
    match = _LEVEL_FIRST.match(text)
    if match is None or match.group(1) not in LEVELS:
        return _warning(text)
    level = LEVELS[match.group(1)]
    basic = _BASIC.match(text)
    if basic is not None:
        return Header(level, basic.group(2), text[basic.end() :], None)
    if text[match.end()] == ":":
        # uvicorn's "ERROR:    message": the colon ends the level, no logger follows
        return Header(level, None, text[match.end() + 1 :].strip(), None)
    _, logger, message_at = _scan(text, match.end(), level_found=True)
    return Header(level, logger, text[message_at:].rstrip(), None)


def _warning(text: str) -> Header | None:
    # "path:N: DeprecationWarning: msg" from warnings.showwarning
    if _WARNING.match(text) is None:
        return None
    return Header("WARNING", None, text, None)


def _scan(text: str, pos: int, *, level_found: bool = False) -> tuple[str | None, str | None, int]:
    """Find level and logger in the tokens after ``pos``; return where the message starts."""
    if not level_found:
        plain = _scan_plain(text, pos)
        if plain is not None:
            return plain
        flask = _IN_MODULE.match(text, pos)
        if flask is not None and (named := LEVELS.get(flask[1])) is not None:
            return named, flask[2], flask.end()
    match = _TOKENS.match(text, pos)
    if match is None:
        return None, None, len(text)
    # spans and groups in two C calls, not two method calls per token
    tokens = [
        (span[0], word)
        for span, word in zip(match.regs[1:], match.groups(), strict=True)
        if word is not None
    ]
    level: str | None = None
    level_at = -1
    structlog = False
    boxed = False  # "[ERROR]", "ERROR/MainProcess]": bracket formats that name no bare logger
    if not level_found and (name := LEVELS.get(tokens[0][1])) is not None:
        # the usual "LEVEL name message": the loop below would stop at once, saying this
        level, level_at = name, 0
    elif not level_found:
        for index, (_, word) in enumerate(tokens[:4]):
            core = word.strip(_STRIP).split("/", 1)[0]
            name = LEVELS.get(core.upper())
            # A lower-case level only counts in brackets (structlog's "[error    ]"),
            # so a message word like "error" is not taken for one.
            if name is not None and (core.isupper() or word.startswith("[")):
                level, level_at = name, index
                structlog = not core.isupper()
                boxed = word.startswith("[") or word.endswith("]") or "/" in word
                break
        if level is None:
            first = _skip_separators(tokens, 0)
            return None, None, tokens[first][0] if first < len(tokens) else len(text)
    after = _skip_separators(tokens, level_at + 1)
    logger: str | None = None
    if structlog:
        # structlog's console renderer puts the event right after the level
        return level, None, tokens[after][0] if after < len(tokens) else len(text)
    before = _skip_separators(tokens, level_at - 1, step=-1)
    if before >= 0 and _looks_like_logger(tokens[before][1], strict=False):
        # "asctime - name - levelname - message": the logger came first
        logger = tokens[before][1].strip(_STRIP)
    elif after < len(tokens) and _looks_like_logger(tokens[after][1], bare=not boxed):
        logger = tokens[after][1].strip(_STRIP)
        after = _skip_separators(tokens, after + 1)
    if after < len(tokens):
        return level, logger, tokens[after][0]
    return level, logger, len(text)


def _scan_plain(text: str, pos: int) -> tuple[str, str | None, int] | None:
    """``_scan`` for " LEVEL word message" without the regex; None for any other shape.

    It answers only where ``_scan`` must say the same: single spaces between the
    tokens, an exact upper-case level first, no separator tokens after it.
    """
    if text[pos : pos + 1] != " ":
        return None
    level_end = text.find(" ", pos + 1)
    level = LEVELS.get(text[pos + 1 : level_end]) if level_end > 0 else None
    if level is None:
        return None  # (an exact key is all letters: no other whitespace inside)
    word_at = level_end + 1
    word_end = text.find(" ", word_at)
    if word_end <= word_at:
        return None
    word = text[word_at:word_end]
    # isprintable() is False for every whitespace character but " ", so this is a token
    if not word.isprintable() or word in _SEPARATORS or word == "in":
        return None  # ("in": Flask's "LEVEL in module:", left to ``_scan``)
    if not _looks_like_logger(word, bare=True):
        return level, None, word_at
    message_at = word_end + 1
    after = text[message_at : message_at + 1]
    if not after or after.isspace() or after in "-|:[]":
        return None  # a separator, more spaces or nothing: leave it to the general path
    return level, word.strip(_STRIP), message_at


def _skip_separators(tokens: list[tuple[int, str]], index: int, step: int = 1) -> int:
    while 0 <= index < len(tokens) and tokens[index][1] in _SEPARATORS:
        index += step
    return index


@functools.lru_cache(maxsize=1024)  # the same few logger names come line after line
def _looks_like_logger(word: str, *, strict: bool = True, bare: bool = True) -> bool:
    """A logger name next to the level: dotted, bracketed, colon-ended or (``bare``) lower-case.

    A bare lower-case word is the ambiguous case: "ERROR app start" names logger
    "app", while "ERROR query failed" from a format without %(name)s does not.
    """
    core = word.strip(_STRIP)
    if not core or _LOGGER.fullmatch(core) is None or core.isdigit():
        return False
    if not strict:
        return not core[0].isupper() or "." in core
    return (
        "." in core
        or ":" in core
        or word.endswith(":")
        or word.startswith("[")
        or (bare and (core[0].islower() or core[0] == "_"))
    )
