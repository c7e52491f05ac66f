"""Rules stage, ahead of time: the text a line must contain for any rule to take it.

Worked out once when the rules load, so a reader can pass over whole runs of
lines with ``bytes.find`` instead of assembling each into an event that no
rule would take. For every rule the answer is one of:

- it only matches events with a traceback (``traceback: true``, ``exception``,
  ``function``, ``module``) or, in a text source, JSON ``fields``: a one-line
  text record never satisfies it, so it needs no literal (in a JSON source,
  any record may have the fields: a rule on them alone makes every line matter);
- some literal out of a set: those its ``message`` regex cannot match without
  (of the sets that would do, the one quickest to look for), or else the
  spellings of the levels it asks for, or else the fixed text of its
  ``logger`` globs (a logger name is a piece of its header line);
- nothing usable (a rule on ``source`` alone, a regex like ``\\d+``): every
  line may matter, and ``logwatch check`` names the rule as slow.

``drop`` rules count too: what they take is shown by ``replay`` and counted
by the daemon's metrics, so it must be read like anything else.
"""

from __future__ import annotations

import fnmatch
import importlib
import math
import re
from collections.abc import Iterable, Iterator, Sequence
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


def rule_literals(
    rules: Sequence[RuleLike], *, json: bool = False, source: str | None = None
) -> RuleLiterals:
    """``json``: for a JSON source, where any record may have the ``fields`` a rule asks for.

    ``source``: for that source's lines alone; a rule for other sources never takes them.
    """
    exact: set[bytes] = set()
    folded: set[bytes] = set()
    slow: list[str] = []
    for rule in rules:
        if source is not None and rule.match.source and source not in rule.match.source:
            continue
        needed = _for_match(rule.match, json=json)
        if needed is None:
            slow.append(rule.name)
            continue
        exact.update(needed.exact)
        folded.update(needed.folded)
    if slow:
        return RuleLiterals(None, tuple(slow))
    return RuleLiterals(Literals(frozenset(exact), frozenset(folded)), ())


def _for_match(spec: MatchSpec, *, json: bool) -> Literals | None:
    """A rule's literals; empty when only an event with a traceback (or, in text, a JSON
    record's ``fields``) can match it; None: unknown."""
    dump: dict[str, Any] = getattr(spec, "model_dump", dict)()
    if any(value for key, value in dump.items() if key not in _KNOWN):
        return None
    if spec.traceback or spec.exception or spec.function or spec.module:
        return Literals(frozenset(), frozenset())
    if spec.fields and not json:
        return Literals(frozenset(), frozenset())
    if spec.message is not None:
        found = message_literals(spec.message)
        if found is not None:
            return found
    levels = _levels(spec)
    if levels:
        spellings = {name for name, level in LEVELS.items() if level in levels} | levels
        return Literals(frozenset(), frozenset(name.lower().encode() for name in spellings))
    if spec.logger:
        return _logger_literals(spec.logger)
    return None


def _logger_literals(globs: Iterable[str]) -> Literals | None:
    """Literals one of which every logger name these globs match (``fnmatchcase``) holds."""
    exact: set[bytes] = set()
    folded: set[bytes] = set()
    for glob in globs:
        found = message_literals(re.compile(fnmatch.translate(glob)))
        if found is None:
            return None
        exact |= found.exact
        folded |= found.folded
    return Literals(frozenset(exact), frozenset(folded))


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
    found = _required(parsed, folding)
    if found is None:
        return None
    if folding:
        return Literals(frozenset(), frozenset(text.encode() for text in found))
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


# Strings: the texts a piece of a regex can match, or the literals to look for.
Texts = frozenset[str]

# Joined texts multiply (two pieces of 3 texts each: 9 joined). Bounds on the
# work; whether a join is worth its scans is for _cost to say.
_MAX_OPTIONS = 8  # texts a piece or a join may have
_MAX_WINDOW = 16  # consecutive pieces joined
_MAX_TIMES = 8  # iterations of a repeat spelled out
_SURROGATE = re.compile("[\ud800-\udfff]")
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def _required(items: Iterable[tuple[Any, Any]], folding: bool) -> Texts | None:
    """The cheapest literals, as searched, one of which every match of this sequence contains.

    Each element may give literals from its inside (a required group, one of
    whose branches each must hold); and where consecutive elements can only
    match a few known texts each, every match holds one of their joined texts.
    """
    texts: list[Texts | None] = []
    candidates: list[Texts] = []
    for op, av in _runs(items):
        texts.append(_texts(op, av))
        inner = _inner(op, av, folding)
        if inner is not None:
            candidates.append(inner)
    for joined in _joins(texts):
        searched = _searched(joined, folding)
        if searched is not None:
            candidates.append(searched)
    return min(candidates, key=_cost, default=None)


def _runs(items: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The elements, with each run of single characters made one ``LITERAL`` of its text."""
    merged: list[tuple[Any, Any]] = []
    run: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if run:
            merged.append((sre.LITERAL, "".join(run)))
            run.clear()
        merged.append((op, av))
    if run:
        merged.append((sre.LITERAL, "".join(run)))
    return merged


def _inner(op: Any, av: Any, folding: bool) -> Texts | None:
    """Literals every match of this element holds, from what it contains."""
    if op is sre.SUBPATTERN:
        return _required(av[3], folding)
    if op is sre.ATOMIC_GROUP:
        return _required(av, folding)
    if op is sre.BRANCH:
        branches = [_required(branch, folding) for branch in av[1]]
        if any(branch is None for branch in branches):
            return None
        return frozenset().union(*(branch for branch in branches if branch is not None))
    if op in _REPEATS and av[0] >= 1:
        candidates = [_required(av[2], folding)]
        body = _texts_of(av[2])
        if body is not None:
            # its first iterations are back to back: (ab){2,} holds "abab"
            candidates.append(_searched(_power(body, min(av[0], _MAX_TIMES)), folding))
        return min((found for found in candidates if found is not None), key=_cost, default=None)
    return None


def _texts(op: Any, av: Any) -> Texts | None:
    """Every text a match of this element can be (up to case), if they are few; else None."""
    if op is sre.LITERAL:
        return frozenset((av,))  # a run, from _runs
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return frozenset(("",))  # matches no text, only a position
    if op is sre.IN:
        return _class_texts(av)
    if op is sre.SUBPATTERN:
        return _texts_of(av[3])
    if op is sre.ATOMIC_GROUP:
        return _texts_of(av)
    if op is sre.BRANCH:
        branches = [_texts_of(branch) for branch in av[1]]
        if any(branch is None for branch in branches):
            return None  # a branch that only *contains* a literal cannot be joined on
        return _bounded(frozenset().union(*(branch for branch in branches if branch is not None)))
    if op in _REPEATS and av[1] <= _MAX_TIMES:
        body = _texts_of(av[2])
        if body is None:
            return None
        found: set[str] = set()
        for count in range(av[0], av[1] + 1):
            power = _power(body, count)
            if power is None:
                return None
            found |= power
        return _bounded(frozenset(found))
    return None  # anything else (\d, ., backreferences, ...) matches too many texts


def _texts_of(items: Iterable[tuple[Any, Any]]) -> Texts | None:
    """Every text a match of this sequence can be, if they are few; else None."""
    joined: Texts | None = frozenset(("",))
    for op, av in _runs(items):
        element = _texts(op, av)
        if element is None or joined is None:
            return None
        joined = _product(joined, element)
    return joined


def _class_texts(items: list[tuple[Any, Any]]) -> Texts | None:
    """The characters of a small class like ``[Pp]`` or ``[0-3]``; None for others."""
    found: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            found.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < _MAX_OPTIONS:
            found.update(chr(code) for code in range(av[0], av[1] + 1))
        else:
            return None  # a negation, a category (\d, \w) or a wide range
    return _bounded(frozenset(found))


def _joins(texts: Sequence[Texts | None]) -> Iterator[Texts]:
    """For each window of consecutive elements whose texts are known: their joined texts."""
    for start in range(len(texts)):
        joined, end = texts[start], start + 1
        while joined is not None:
            yield joined
            if end == len(texts) or end - start == _MAX_WINDOW:
                break
            following = texts[end]
            joined = None if following is None else _product(joined, following)
            end += 1


def _product(left: Texts, right: Texts) -> Texts | None:
    return _bounded(frozenset(a + b for a in left for b in right))


def _power(texts: Texts, count: int) -> Texts | None:
    joined: Texts | None = frozenset(("",))
    for _ in range(count):
        if joined is None:
            return None
        joined = _product(joined, texts)
    return joined


def _bounded(texts: Texts) -> Texts | None:
    return texts if len(texts) <= _MAX_OPTIONS else None


def _searched(texts: Texts | None, folding: bool) -> Texts | None:
    """The literals a reader would look for to find these texts; None if they are no use."""
    if texts is None:
        return None
    found: set[str] = set()
    for text in texts:
        if "\n" in text:
            # Literals are looked for in one line's bytes, and a message is its lines
            # joined by "\n", each stripped at its ends: what one line must hold is the
            # longest piece between line breaks, less the spaces at its ends.
            text = max(text.split("\n"), key=len).strip()
        if len(text) < _MIN_LITERAL or "\ufffd" in text or _SURROGATE.search(text):
            # lines are decoded with errors="replace": such a literal is never in one,
            # and a lone surrogate (YAML lets a config write "\udcff") has no UTF-8 bytes
            return None
        if folding:
            # a case-insensitive regex matches some non-ASCII letters to ASCII ones
            if not text.isascii():
                return None
            text = text.lower()
        found.add(text)
    return frozenset(found)


def _cost(literals: Texts) -> float:
    """About the time of the ``bytes.find`` passes these literals take, one pass each."""
    return sum(_scan_cost(size) for size in sorted(len(text) for text in literals))


def _scan_cost(size: int) -> float:
    # One pass per literal, and CPython's find skips ahead less for short ones.
    # Timed over a 150 MB log in 1 MiB buffers (median of ~20 literals each):
    # 130 ms at 3 bytes, 90 at 5, 72 at 8, 54 at 12, 43 at 16, 38 at 20,
    # 31 at 30, 22 at 64; close to (3 / size) ** 0.6 of the 3-byte time.
    # Past 64 bytes it gains little more, and the figures get noisy.
    return math.pow(min(size, 64), -0.6)
