"""Rules stage, ahead of time: the text a line must contain for any rule to alert on it.

Worked out once when the rules load, so a reader can pass over whole runs of
lines with ``bytes.find`` instead of assembling each into an event that no
rule would take. For every alerting rule the answer is one of:

- it only matches events with a traceback (``traceback: true``, ``exception``,
  ``function``, ``module``) or JSON ``fields``: a one-line text record never
  satisfies it, so it needs no literal;
- some literal out of a set: those its ``message`` regex cannot match without,
  or else the spellings of the levels it asks for;
- nothing usable (a rule on ``logger`` alone, a regex like ``\\d+``): every
  line may matter, and ``logwatch check`` names the rule as slow.

``drop`` rules never make an event alert, so they do not count.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from logwatch.multiline.headers import LEVELS
from logwatch.rules.match import LEVEL_RANKS, MatchSpec, canonical_level

# The regex parser of the stdlib, by its 3.11+ name (``sre_parse`` warns on import).
sre_parse: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")

# Match fields this module understands; a rule setting any other is never skipped for.
_KNOWN = frozenset(
    ("exception", "message", "level", "min_level", "source", "logger", "file", "traceback",
     "function", "module", "fields")
)
_MIN_LITERAL = 3  # shorter literals occur on too many lines to be worth searching for


class RuleLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def match(self) -> MatchSpec: ...
    @property
    def action(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Literals:
    """What a line needs for any rule to alert on it: one of these, or to be part of a traceback."""

    exact: frozenset[bytes]  # found as they are, UTF-8
    folded: frozenset[bytes]  # found in the lower-cased line (ASCII only)


@dataclass(frozen=True, slots=True)
class RuleLiterals:
    """The result for a rule set: the literals, or the rules that leave none to look for."""

    literals: Literals | None  # None: every line may matter
    slow_rules: tuple[str, ...]


def rule_literals(rules: Sequence[RuleLike]) -> RuleLiterals:
    exact: set[bytes] = set()
    folded: set[bytes] = set()
    slow: list[str] = []
    for rule in rules:
        if rule.action == "drop":
            continue
        needed = _for_match(rule.match)
        if needed is None:
            slow.append(rule.name)
            continue
        exact.update(needed.exact)
        folded.update(needed.folded)
    if slow:
        return RuleLiterals(None, tuple(slow))
    return RuleLiterals(Literals(frozenset(exact), frozenset(folded)), ())


def _for_match(spec: MatchSpec) -> Literals | None:
    """A rule's literals; empty when one-line text records can never match it; None: unknown."""
    dump: dict[str, Any] = getattr(spec, "model_dump", dict)()
    if any(value for key, value in dump.items() if key not in _KNOWN):
        return None
    if spec.traceback or spec.exception or spec.function or spec.module or spec.fields:
        return Literals(frozenset(), frozenset())
    if spec.message is not None:
        found = message_literals(spec.message)
        if found is not None:
            return found
    levels = _levels(spec)
    if levels:
        spellings = {name for name, level in LEVELS.items() if level in levels} | levels
        return Literals(frozenset(), frozenset(name.lower().encode() for name in spellings))
    return None


def _levels(spec: MatchSpec) -> set[str]:
    wanted = {canonical_level(level) for level in spec.level}
    if spec.min_level is not None:
        floor = LEVEL_RANKS.get(canonical_level(spec.min_level), 0)
        ranked = {level for level, rank in LEVEL_RANKS.items() if rank >= floor}
        wanted = wanted & ranked if wanted else ranked
    return wanted


def message_literals(pattern: re.Pattern[str]) -> Literals | None:
    """Literals of which every match of ``pattern`` contains at least one, or None."""
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None
    folding = bool(pattern.flags & re.IGNORECASE) or _sets_ignorecase(parsed)
    found = _required(parsed)
    if found:
        # Literals are looked for in one line's bytes, and a message is its lines
        # joined by "\n", each stripped at its ends: what one line must hold is the
        # longest piece between line breaks, less the spaces at its ends.
        found = {max(text.split("\n"), key=len).strip() if "\n" in text else text
                 for text in found}
    if not found or any(len(text) < _MIN_LITERAL or "\ufffd" in text for text in found):
        return None
    if folding:
        if not all(text.isascii() for text in found):
            return None
        return Literals(frozenset(), frozenset(text.lower().encode() for text in found))
    return Literals(frozenset(text.encode() for text in found), frozenset())


def _sets_ignorecase(items: Iterable[tuple[Any, Any]]) -> bool:
    for op, av in items:
        if op is sre.SUBPATTERN:
            if av[1] & re.IGNORECASE or _sets_ignorecase(av[3]):
                return True
        elif op is sre.BRANCH:
            if any(_sets_ignorecase(branch) for branch in av[1]):
                return True
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            if _sets_ignorecase(av[2]):
                return True
        elif op in (sre.ASSERT, sre.ASSERT_NOT, sre.ATOMIC_GROUP):
            body = av[1] if op is not sre.ATOMIC_GROUP else av
            if _sets_ignorecase(body):
                return True
    return False


def _required(items: Iterable[tuple[Any, Any]]) -> set[str] | None:
    """Alternatives one of which every match of this sequence contains; the most selective."""
    candidates: list[set[str]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            candidates.append({"".join(run)})
            run.clear()

    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        end_run()
        inner: set[str] | None = None
        if op is sre.SUBPATTERN:
            inner = _required(av[3])
        elif op is sre.BRANCH:
            branches = [_required(branch) for branch in av[1]]
            if all(branch for branch in branches):
                inner = set().union(*(branch for branch in branches if branch))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            inner = _required(av[2])
        elif op is sre.ATOMIC_GROUP:
            inner = _required(av)
        if inner:
            candidates.append(inner)
    end_run()
    if not candidates:
        return None
    return max(candidates, key=lambda options: min(len(text) for text in options))
