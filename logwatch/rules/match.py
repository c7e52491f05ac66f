"""Rules stage, first step: does an event satisfy a rule's ``match`` block?

``Matcher`` turns a match config into one function once, when the engine is
built; evaluating an event then runs only the constraints the rule actually
sets. An empty field is no constraint. ``Matcher.extract``
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
    who writes ``level: [ERROR]`` means it too; so does one cut off before its
    exception line, and a faulthandler dump (a crash has its level: CRITICAL).
    """
    if event.level:
        return canonical_level(event.level)
    return "ERROR" if event.has_traceback else None


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


# What a compiled rule runs per event: the event and its `exc_message`, which
# the engine works out once per event instead of once per rule.
_Check = Callable[[Event, str | None], bool]
Extract = Callable[[Event, str | None], dict[str, str] | None]


class Matcher:
    """A rule's match block, compiled: call it with an event.

    The constraints run cheapest and most selective first, and a ``message``
    regex only runs on texts holding one of the literals it cannot match
    without (``literals.message_literals``): most records hold none.
    ``needs_chain``, ``refuses_chain`` and ``literals`` let the engine pass
    over a whole rule set at once for an event that cannot match any of it.
    """

    def __init__(self, spec: MatchSpec) -> None:
        message = spec.message
        self._message = message if message is not None and message.groupindex else None
        # Only a traceback satisfies these; an event without one (``Event.has_traceback``)
        # never matches.
        self.needs_chain = bool(
            spec.traceback or spec.exception or spec.function or spec.module
        )
        self.refuses_chain = spec.traceback is False
        exact, folded = _message_literals(message)
        # Set when every match needs one of these in `message` or `exc_message`.
        self.literals: tuple[str, ...] | None = exact
        self.extract_with: Extract = _compile(spec, exact, folded)

    def __call__(self, event: Event) -> bool:
        return self.extract_with(event, event.exc_message) is not None

    def extract(self, event: Event) -> dict[str, str] | None:
        """None when the event does not match, else the named groups of ``message``.

        Groups that did not take part are left out, so a template can tell
        "absent" (``fields.x is defined``) from "empty".
        """
        return self.extract_with(event, event.exc_message)

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


def _message_literals(
    message: re.Pattern[str] | None,
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The literals a match of ``message`` needs: as found, or lower-cased (ASCII)."""
    from logwatch.rules.literals import message_literals  # it imports this module

    if message is None:
        return None, None
    found = message_literals(message)
    if found is None:
        return None, None
    if found.exact and not found.folded:
        return tuple(sorted(text.decode() for text in found.exact)), None
    if found.folded and not found.exact:
        return None, tuple(sorted(text.decode() for text in found.folded))
    return None, None


def _compile(
    spec: MatchSpec, exact: tuple[str, ...] | None, folded: tuple[str, ...] | None
) -> Extract:
    checks = [check for _cost, check in sorted(_checks(spec, exact, folded), key=_cost_of)]
    pre = _all_of(checks)
    pattern = spec.message
    if pattern is None:
        if pre is None:
            return lambda event, exc_message: {}
        return lambda event, exc_message: {} if pre(event, exc_message) else None
    named = bool(pattern.groupindex)
    search = pattern.search

    def extract(event: Event, exc_message: str | None) -> dict[str, str] | None:
        if pre is not None and not pre(event, exc_message):
            return None
        # Message first, as `Matcher.groups` looks: the same match gives the groups.
        found = search(event.message)
        if found is None:
            if not exc_message:
                return None
            found = search(exc_message)
            if found is None:
                return None
        if not named:
            return {}
        return {name: value for name, value in found.groupdict().items() if value is not None}

    return extract


def _cost_of(item: tuple[int, _Check]) -> int:
    return item[0]


def _all_of(checks: list[_Check]) -> _Check | None:
    # Nested pairs rather than all() over a generator: a rule sets one or two
    # constraints, and this runs for every rule on every event.
    if not checks:
        return None
    first = checks[0]
    rest = _all_of(checks[1:])
    if rest is None:
        return first
    return lambda event, exc_message: first(event, exc_message) and rest(event, exc_message)


def _checks(
    spec: MatchSpec, exact: tuple[str, ...] | None, folded: tuple[str, ...] | None
) -> Iterator[tuple[int, _Check]]:
    """Each constraint with a rough cost per event; the message regex itself comes last."""
    if spec.traceback is not None:
        # A traceback cut off before its exception line is one too (``has_traceback``).
        if spec.traceback:
            yield 0, lambda event, exc_message: event.has_traceback
        else:
            yield 0, lambda event, exc_message: not event.has_traceback
    if spec.source:
        sources = frozenset(spec.source)
        yield 1, lambda event, exc_message: event.origin.source in sources
    if exact is not None:
        yield 2, _exact_guard(exact)
    elif folded is not None:
        yield 2, _folded_guard(folded)
    if spec.level:
        levels = frozenset(canonical_level(level) for level in spec.level)
        yield 3, lambda event, exc_message: effective_level(event) in levels
    if spec.min_level is not None:
        floor = level_rank(spec.min_level)
        yield 3, lambda event, exc_message: (
            LEVEL_RANKS.get(effective_level(event) or "", -1) >= floor
        )
    if spec.logger:
        loggers = spec.logger
        yield 4, lambda event, exc_message: event.logger is not None and any(
            fnmatchcase(event.logger, glob) for glob in loggers
        )
    if spec.file:
        yield 5, _file_predicate(spec.file)
    for name, pattern_text in spec.fields.items():
        yield 6, _field_predicate(name, pattern_text)
    if spec.exception:
        yield 7, _exception_predicate(spec.exception)
    if spec.function or spec.module:
        yield 8, _frame_predicate(spec.function, spec.module)


def _exact_guard(literals: tuple[str, ...]) -> _Check:
    if len(literals) == 1:
        (literal,) = literals
        return lambda event, exc_message: literal in event.message or (
            exc_message is not None and literal in exc_message
        )

    def guard(event: Event, exc_message: str | None) -> bool:
        message = event.message
        for literal in literals:
            if literal in message or (exc_message is not None and literal in exc_message):
                return True
        return False

    return guard


def _folded_guard(literals: tuple[str, ...]) -> _Check:
    # A case-insensitive regex matches some non-ASCII letters to ASCII ones
    # that lower() leaves apart (U+017F long s to "s", U+0131 dotless i to
    # "i"): a text that is not pure ASCII is left to the regex.
    def holds(text: str) -> bool:
        if not text.isascii():
            return True
        lowered = text.lower()
        return any(literal in lowered for literal in literals)

    return lambda event, exc_message: holds(event.message) or (
        exc_message is not None and holds(exc_message)
    )


def _exception_predicate(globs: tuple[str, ...]) -> _Check:
    # `ValueError` must match a chain that printed `builtins.ValueError` and
    # `OperationalError` one that printed `sqlalchemy.exc.OperationalError`.
    def predicate(event: Event, exc_message: str | None) -> bool:
        for type_name in exception_types(event.chain):
            short = _short(type_name)
            if any(fnmatchcase(type_name, g) or fnmatchcase(short, g) for g in globs):
                return True
        return False

    return predicate


def _file_predicate(globs: tuple[str, ...]) -> _Check:
    # A glob without a slash names a file wherever it lives (`app.log`,
    # `*.err`); with one it is matched against the whole path.
    def predicate(event: Event, exc_message: str | None) -> bool:
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


def _frame_predicate(functions: tuple[str, ...], modules: tuple[str, ...]) -> _Check:
    # In-app frames only, as for the fingerprint: `function: charge*` means
    # the application's code, not a library function of the same name. A
    # stack with no in-app frame at all falls back to every frame.
    def predicate(event: Event, exc_message: str | None) -> bool:
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


def _field_predicate(name: str, wanted: str) -> _Check:
    regex = None
    if wanted.startswith(REGEX_PREFIX):
        regex = re.compile(wanted.removeprefix(REGEX_PREFIX))

    def predicate(event: Event, exc_message: str | None) -> bool:
        value = field_value(event.fields, name)
        if value is None or isinstance(value, Mapping | list):
            return False
        # JSON has no booleans in Python's spelling: `true`, not `True`.
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if regex is not None:
            return regex.search(text) is not None
        return fnmatchcase(text, wanted)

    return predicate
