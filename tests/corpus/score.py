"""Score a parser's events against the corpus truth, and explain every miss.

    python -m tests.corpus.score OUTDIR     score logwatch's Assembler on a written corpus

An expected event is *exact* when one emitted event has the same first_line,
last_line, exc_type and exc_message. An emitted event with a chain (a
traceback event) whose lines overlap no expected event is *spurious*. Emitted
events without a chain are plain records: not scored.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from logwatch.model import Event, Origin
from tests.corpus.truth import Case, Corpus, ExpectedEvent

Assemble = Callable[[Path], Sequence[Event]]


@dataclass(frozen=True, slots=True)
class Found:
    """An emitted event, reduced to what is scored."""

    first_line: int
    last_line: int
    exc_type: str | None
    exc_message: str | None
    chain: tuple[str, ...]

    @classmethod
    def of(cls, event: Event) -> Found:
        return cls(
            event.first_line, event.last_line, event.exc_type, event.exc_message, event.exc_types
        )

    def overlaps(self, expected: ExpectedEvent) -> bool:
        return self.first_line <= expected.last_line and expected.first_line <= self.last_line

    def matches(self, expected: ExpectedEvent) -> bool:
        return (self.first_line, self.last_line, self.exc_type, self.exc_message) == (
            expected.first_line,
            expected.last_line,
            expected.exc_type,
            expected.exc_message,
        )

    def __str__(self) -> str:
        return _describe(self.first_line, self.last_line, self.exc_type, self.exc_message)


@dataclass(frozen=True, slots=True)
class Miss:
    case: Case
    expected: ExpectedEvent
    found: tuple[Found, ...]  # every emitted event overlapping the expected lines

    @property
    def kind(self) -> str:
        """The failure class, so that a table of misses points at what to fix."""
        tracebacks = [found for found in self.found if found.chain]
        expected = self.expected
        if not self.found:
            return "not found"
        if not tracebacks:
            return "found without a traceback"
        if len(tracebacks) > 1:
            return "split"
        found = tracebacks[0]
        first, last = found.first_line - expected.first_line, found.last_line - expected.last_line
        if (first, last) == (0, 0):
            return "wrong type" if found.exc_type != expected.exc_type else "wrong message"
        if first < 0 and last > 0:
            return "merged with neighbours"
        if first > 0 and last == 0:
            return "header line missed"
        if first < 0 and last == 0:
            return "starts too early"
        if first == 0:
            return "ends too early" if last < 0 else "ends too late"
        return "wrong span"


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    exact: int
    misses: tuple[Miss, ...]
    spurious: tuple[Found, ...]
    chain_mismatches: tuple[tuple[ExpectedEvent, Found], ...]  # exact, but another chain


@dataclass(frozen=True, slots=True)
class Score:
    results: tuple[CaseResult, ...]

    @property
    def expected(self) -> int:
        return sum(len(result.case.events) for result in self.results)

    @property
    def exact(self) -> int:
        return sum(result.exact for result in self.results)

    @property
    def ratio(self) -> float:
        return self.exact / self.expected if self.expected else 1.0

    @property
    def misses(self) -> tuple[Miss, ...]:
        return tuple(miss for result in self.results for miss in result.misses)

    @property
    def spurious(self) -> tuple[tuple[Case, Found], ...]:
        return tuple((r.case, found) for r in self.results for found in r.spurious)

    @property
    def chain_mismatches(self) -> int:
        return sum(len(result.chain_mismatches) for result in self.results)

    def summary(self) -> str:
        return (
            f"{self.exact}/{self.expected} exact ({self.ratio:.2%}), "
            f"{len(self.spurious)} spurious, {self.chain_mismatches} exact with another chain"
        )

    def failure_classes(self) -> Counter[str]:
        return Counter(miss.kind for miss in self.misses)

    def report(self, max_rows: int = 400) -> str:
        """The summary, the failure classes, then every miss grouped by scenario."""
        lines = [f"traceback corpus: {self.summary()}"]
        lines += [f"  {count:4d} {kind}" for kind, count in self.failure_classes().most_common()]
        rows: list[str] = []
        for scenario in sorted({miss.case.scenario for miss in self.misses}):
            misses = [miss for miss in self.misses if miss.case.scenario == scenario]
            versions = " ".join(sorted({miss.case.python for miss in misses}, key=_version_key))
            rows.append(
                f"{scenario}: {len(misses)} missed on {versions}  ({misses[0].case.log_path})"
            )
            for miss in misses:
                rows.append(f"  {miss.case.python:<5} {miss.expected.what}  [{miss.kind}]")
                rows.append(f"        expected {_expected(miss.expected)}")
                got = " | ".join(str(found) for found in miss.found) or "nothing"
                rows.append(f"        got      {got}")
        for case, found in self.spurious:
            rows.append(f"spurious {case.name}: {found}  ({case.log_path})")
        for result in self.results:
            for expected, found in result.chain_mismatches:
                rows.append(
                    f"chain {result.case.name} line {expected.first_line}: "
                    f"expected {list(expected.chain)}, got {list(found.chain)}"
                )
        if len(rows) > max_rows:
            rows = [*rows[:max_rows], f"... {len(rows) - max_rows} more rows"]
        return "\n".join(lines + rows)


def score_case(case: Case, emitted: Sequence[Event]) -> CaseResult:
    found = [Found.of(event) for event in emitted]
    exact = 0
    misses: list[Miss] = []
    chains: list[tuple[ExpectedEvent, Found]] = []
    for expected in case.events:
        match = next((item for item in found if item.matches(expected)), None)
        if match is None:
            overlapping = tuple(item for item in found if item.overlaps(expected))
            misses.append(Miss(case, expected, overlapping))
            continue
        exact += 1
        if match.chain != expected.chain:
            chains.append((expected, match))
    spurious = tuple(
        item
        for item in found
        if item.chain and not any(item.overlaps(expected) for expected in case.events)
    )
    return CaseResult(case, exact, tuple(misses), spurious, tuple(chains))


def score(corpus: Corpus, assemble: Assemble) -> Score:
    return Score(tuple(score_case(case, assemble(case.log_path)) for case in corpus.cases))


def assemble_with_logwatch(path: Path) -> list[Event]:
    """Read a whole log the way the daemon reads new data: LineFramer, Assembler, flush."""
    from logwatch.multiline import Assembler  # here: the corpus works without it
    from logwatch.sources.framing import LineFramer

    assembler = Assembler(Origin(source="corpus", path=str(path)))
    events = list(assembler.feed(LineFramer().feed(path.read_bytes())))
    return events + list(assembler.flush())


def _expected(event: ExpectedEvent) -> str:
    return _describe(event.first_line, event.last_line, event.exc_type, event.exc_message)


def _describe(first: int, last: int, exc_type: str | None, exc_message: str | None) -> str:
    exception = "(no exception)" if exc_type is None else f"{exc_type}: {exc_message!r}"
    return f"lines {first}-{last} {exception}"


def _version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.split("."))


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print("usage: python -m tests.corpus.score OUTDIR", file=sys.stderr)
        return 2
    result = score(Corpus.load(Path(args[0])), assemble_with_logwatch)
    print(result.report())
    return 0 if not result.misses and not result.spurious else 1


if __name__ == "__main__":
    raise SystemExit(main())
