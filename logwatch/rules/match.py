"""Rules stage, first step: does an event satisfy a rule's ``match`` block?

``Matcher`` turns a match config into a list of small predicates once, when
the engine is built; evaluating an event then runs only the constraints the
rule actually sets. An empty field is no constraint. ``Matcher.extract``
also returns the named groups of the ``message`` regex, which become the
alert's ``fields`` (for ``group_by: [fields.NAME]``, labels and templates).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any, Protocol

from logwatch.model import Event, ExceptionInfo, Frame
from logwatch.multiline.fingerprint import is_in_app, module_of

REGEX_PREFIX = "re:"  # `match.fields` values: a glob, or a regex after this prefix

# Levels ranked lowest first, as the config names them; `min_level` says
# "at or above". Other spellings seen in logs fold onto these names.
LEVEL_RANKS = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "NOTICE": 25,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}
LEVEL_ALIASES = {
    "WARN": "WARNING",
    "ERR": "ERROR",
    "CRIT": "CRITICAL",
    "FATAL": "CRITICAL",
    "ALERT": "CRITICAL",
    "EMERG": "CRITICAL",
    "EMERGENCY": "CRITICAL",
}


class MatchSpec(Protocol):
    """The match block of a rule, as the config package provides it."""

    @property
    def exception(self) -> tuple[str, ...]: ...
    @property
    def message(self) -> re.Pattern[str] | None: ...
    @property
    def level(self) -> tuple[str, ...]: ...
    @property
    def min_level(self) -> str | None: ...
    @property
    def source(self) -> tuple[str, ...]: ...
    @property
    def logger(self) -> tuple[str, ...]: ...
    @property
    def file(self) -> tuple[str, ...]: ...
    @property
    def traceback(self) -> bool | None: ...
    @property
    def function(self) -> tuple[str, ...]: ...
    @property
    def module(self) -> tuple[str, ...]: ...
    @property
    def fields(self) -> Mapping[str, str]: ...


def effective_level(event: Event) -> str | None:
    """The event's level, canonical; a traceback without a header counts as ERROR.

    An uncaught exception printed to stderr carries no level, yet an operator
    who writes ``level: [ERROR]`` means it too.
    """
    if event.level:
        return canonical_level(event.level)
    return "ERROR" if event.chain else None


def canonical_level(name: str) -> str:
    level = name.strip().upper()
    return LEVEL_ALIASES.get(level, level)


def level_rank(name: str) -> int:
    """The rank of a level name; the config package validates `min_level` with it."""
    try:
        return LEVEL_RANKS[canonical_level(name)]
    except KeyError:
        known = ", ".join(sorted(LEVEL_RANKS, key=LEVEL_RANKS.__getitem__))
        raise ValueError(f"unknown level {name!r}; known: {known}") from None


def exception_types(chain: tuple[ExceptionInfo, ...]) -> Iterator[str]:
    """Every exception type of a chain, members of exception groups included."""
    for exc in chain:
        yield exc.type
        yield from exception_types(exc.group_members)


def _short(type_name: str) -> str:
    return type_name.rsplit(".", 1)[-1]


_Predicate = Callable[[Event], bool]


class Matcher:
    """A rule's match block, compiled: call it with an event."""

    def __init__(self, spec: MatchSpec) -> None:
        self._predicates: tuple[_Predicate, ...] = tuple(self._compile(spec))
        message = spec.message
        self._message = message if message is not None and message.groupindex else None

    def __call__(self, event: Event) -> bool:
        return all(predicate(event) for predicate in self._predicates)

    def extract(self, event: Event) -> dict[str, str] | None:
        """None when the event does not match, else the named groups of ``message``.

        Groups that did not take part are left out, so a template can tell
        "absent" (``fields.x is defined``) from "empty".
        """
        if not self(event):
            return None
        return self.groups(event.message, event.exc_message)

    def groups(self, message: str, exc_message: str | None) -> dict[str, str]:
        """The named groups of the ``message`` regex in these texts (message first)."""
        pattern = self._message
        if pattern is None:
            return {}
        found = pattern.search(message)
        if found is None and exc_message:
            found = pattern.search(exc_message)
        if found is None:
            return {}
        return {name: value for name, value in found.groupdict().items() if value is not None}

    @staticmethod
    def _compile(spec: MatchSpec) -> Iterator[_Predicate]:
        if spec.source:
            sources = frozenset(spec.source)
            yield lambda event: event.origin.source in sources
        if spec.traceback is not None:
            wanted = spec.traceback
            yield lambda event: bool(event.chain) == wanted
        if spec.level:
            levels = frozenset(canonical_level(level) for level in spec.level)
            yield lambda event: effective_level(event) in levels
        if spec.min_level is not None:
            floor = level_rank(spec.min_level)
            yield lambda event: LEVEL_RANKS.get(effective_level(event) or "", -1) >= floor
        if spec.exception:
            yield _exception_predicate(spec.exception)
        if spec.logger:
            loggers = spec.logger
            yield lambda event: event.logger is not None and any(
                fnmatchcase(event.logger, glob) for glob in loggers
            )
        if spec.file:
            yield _file_predicate(spec.file)
        if spec.function or spec.module:
            yield _frame_predicate(spec.function, spec.module)
        for name, pattern_text in spec.fields.items():
            yield _field_predicate(name, pattern_text)
        if spec.message is not None:
            pattern = spec.message
            yield lambda event: bool(
                pattern.search(event.message)
                or (event.exc_message and pattern.search(event.exc_message))
            )


def _exception_predicate(globs: tuple[str, ...]) -> _Predicate:
    # `ValueError` must match a chain that printed `builtins.ValueError` and
    # `OperationalError` one that printed `sqlalchemy.exc.OperationalError`.
    def predicate(event: Event) -> bool:
        for type_name in exception_types(event.chain):
            short = _short(type_name)
            if any(fnmatchcase(type_name, g) or fnmatchcase(short, g) for g in globs):
                return True
        return False

    return predicate


def _file_predicate(globs: tuple[str, ...]) -> _Predicate:
    # A glob without a slash names a file wherever it lives (`app.log`,
    # `*.err`); with one it is matched against the whole path.
    def predicate(event: Event) -> bool:
        path = event.origin.path
        name = path.rsplit("/", 1)[-1]
        return any(fnmatchcase(path if "/" in glob else name, glob) for glob in globs)

    return predicate


def chain_frames(chain: tuple[ExceptionInfo, ...]) -> Iterator[Frame]:
    """Every frame of a chain, members of exception groups included."""
    for exc in chain:
        yield from exc.frames
        yield from chain_frames(exc.group_members)


def dotted_module(filename: str) -> str:
    """``app/payments`` (the fingerprint's module of a frame) as ``app.payments``."""
    return module_of(filename).replace("/", ".")


def _frame_predicate(functions: tuple[str, ...], modules: tuple[str, ...]) -> _Predicate:
    # In-app frames only, as for the fingerprint: `function: charge*` means
    # the application's code, not a library function of the same name. A
    # stack with no in-app frame at all falls back to every frame.
    def predicate(event: Event) -> bool:
        frames = list(chain_frames(event.chain))
        chosen = [frame for frame in frames if is_in_app(frame.filename)] or frames
        for frame in chosen:
            if functions and not any(fnmatchcase(frame.function or "", g) for g in functions):
                continue
            if modules and not any(fnmatchcase(dotted_module(frame.filename), g) for g in modules):
                continue
            return True
        return False

    return predicate


def field_value(fields: Mapping[str, Any], name: str) -> Any:
    """A record field by name; ``http.status`` also reaches into nested objects."""
    if name in fields:
        return fields[name]
    value: Any = fields
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _field_predicate(name: str, wanted: str) -> _Predicate:
    regex = None
    if wanted.startswith(REGEX_PREFIX):
        regex = re.compile(wanted.removeprefix(REGEX_PREFIX))

    def predicate(event: Event) -> bool:
        value = field_value(event.fields, name)
        if value is None or isinstance(value, Mapping | list):
            return False
        # JSON has no booleans in Python's spelling: `true`, not `True`.
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if regex is not None:
            return regex.search(text) is not None
        return fnmatchcase(text, wanted)

    return predicate
