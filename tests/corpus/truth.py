"""What a generated corpus holds: per (scenario, python) a log file and its expected events.

Only exception events are listed: a log record or bare block that carries a
traceback (or, with ``sys.tracebacklimit = 0``, just an exception line after a
header). Plain records, warnings, ``print_stack`` output and faulthandler
dumps are in the logs to be *not* reported as exception events; the scorer
counts any traceback event found there as spurious.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.corpus.interpreters import Interpreter

MANIFEST = "corpus.json"


@dataclass(frozen=True, slots=True)
class ExpectedEvent:
    """One exception event, located by the bytes written around it at generation time."""

    first_line: int  # the record's header line, or the first line of a bare block
    last_line: int  # the final exception line, or the last note / trailer after it
    exc_type: str  # as printed: "ValueError", "pkg.errors.Outer.PaymentError"
    exc_message: str  # first line after "Type: ", "" when there is none
    chain: tuple[str, ...]  # types in printed order; the last is exc_type
    what: str  # which edge case the scenario wrote here

    def to_json(self) -> dict[str, Any]:
        return {
            "first_line": self.first_line,
            "last_line": self.last_line,
            "exc_type": self.exc_type,
            "exc_message": self.exc_message,
            "chain": list(self.chain),
            "what": self.what,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExpectedEvent:
        return cls(
            first_line=data["first_line"],
            last_line=data["last_line"],
            exc_type=data["exc_type"],
            exc_message=data["exc_message"],
            chain=tuple(data["chain"]),
            what=data["what"],
        )


@dataclass(frozen=True, slots=True)
class Case:
    """One scenario's log as one interpreter wrote it."""

    scenario: str  # "s21_logger_exception"
    python: str  # "3.12"
    log_path: Path
    events: tuple[ExpectedEvent, ...]

    @property
    def name(self) -> str:
        return f"{self.scenario}@{self.python}"

    @property
    def truth_path(self) -> Path:
        return self.log_path.with_suffix(".truth.json")

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "python": self.python,
            "log": self.log_path.name,
            "events": [event.to_json() for event in self.events],
        }

    @classmethod
    def load(cls, truth_path: Path) -> Case:
        data = json.loads(truth_path.read_text("utf-8"))
        return cls(
            scenario=data["scenario"],
            python=data["python"],
            log_path=truth_path.with_name(data["log"]),
            events=tuple(ExpectedEvent.from_json(event) for event in data["events"]),
        )


@dataclass(frozen=True, slots=True)
class Skipped:
    scenario: str
    python: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus:
    root: Path
    interpreters: tuple[Interpreter, ...]
    cases: tuple[Case, ...]
    skipped: tuple[Skipped, ...] = ()

    @property
    def expected_events(self) -> int:
        return sum(len(case.events) for case in self.cases)

    def save(self) -> None:
        """Write the manifest; each case's truth file is written when the case is."""
        manifest = {
            "interpreters": [
                {"version": item.full_version, "path": item.path} for item in self.interpreters
            ],
            "cases": [str(case.truth_path.relative_to(self.root)) for case in self.cases],
            "skipped": [
                {"scenario": item.scenario, "python": item.python, "reason": item.reason}
                for item in self.skipped
            ],
        }
        (self.root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, root: Path) -> Corpus:
        """Read a corpus written by ``python -m tests.corpus.gen OUTDIR``."""
        manifest = json.loads((root / MANIFEST).read_text("utf-8"))
        interpreters = tuple(
            Interpreter(_version(item["version"]), item["path"])
            for item in manifest["interpreters"]
        )
        return cls(
            root=root,
            interpreters=interpreters,
            cases=tuple(Case.load(root / path) for path in manifest["cases"]),
            skipped=tuple(Skipped(**item) for item in manifest["skipped"]),
        )


def _version(text: str) -> tuple[int, int, int]:
    major, minor, micro = (int(part) for part in text.split("."))
    return major, minor, micro
