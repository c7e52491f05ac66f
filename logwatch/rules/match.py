"""Rules stage, first step: does an event satisfy a rule's ``match`` block?

``Matcher`` turns a match config into a list of small predicates once, when
the engine is built; evaluating an event then runs only the constraints the
rule actually sets. An empty field is no constraint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Protocol

from logwatch.model import Event, ExceptionInfo

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

    def __call__(self, event: Event) -> bool:
        return all(predicate(event) for predicate in self._predicates)

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
