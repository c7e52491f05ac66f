"""`logwatch test`: rule unit tests, log text in, expected alerts out (like `promtool test rules`).

A test file is YAML::

    config: grading.yaml        # relative to this file; or an inline mapping; or -c
    tests:
      - name: CRITICAL pages and goes to chat
        input: |
          2026-01-01 12:00:00,000 CRITICAL app.db database gone
        expect:
          - {rule: graded, severity: critical, notifiers: [pagerduty, slack]}

Each test replays its ``input`` through the config exactly as ``logwatch
replay`` does, from a fresh state, and compares the alerts that would be sent
(``include: all`` adds the suppressed decisions) with ``expect``, in order.
Only the keys an expected alert names are compared. A failure prints a
unified diff of expected and actual.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from logwatch.config import Config, load_config, load_config_text
from logwatch.errors import ConfigError
from logwatch.replay import replay_inputs

KEYS = (
    "rule",
    "severity",
    "notifiers",
    "suppressed",
    "status",
    "count",
    "title",
    "exc_type",
    "exc_message",
    "level",
    "logger",
    "message",
    "labels",
    "file",
    "first_line",
    "last_line",
)
"""What an expected alert may say; the keys of `logwatch replay --json`."""


class RuleTestError(Exception):
    """A test file that cannot be run: unreadable, malformed, or its config invalid."""


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    input: str
    expect: list[dict[str, Any]]
    include_suppressed: bool


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    diff: str  # empty when it passed

    @property
    def passed(self) -> bool:
        return not self.diff


def run_file(path: Path, default_config: Callable[[], Config] | None = None) -> list[Result]:
    """Run every test of one file; raise RuleTestError when it cannot be run."""
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RuleTestError(f"{path}: cannot read: {exc}") from exc
    except RecursionError as exc:
        raise RuleTestError(f"{path}: cannot read: collections nested too deeply") from exc
    if not isinstance(document, dict):
        raise RuleTestError(f"{path}: a test file is a mapping with config and tests")
    config = _config(path, text, document, default_config)
    return [run_case(config, case) for case in _cases(path, document)]


def run_case(config: Config, case: Case) -> Result:
    records = replay_inputs(
        config, [(f"<{case.name}>", [case.input.encode()])], all_events=False
    )
    actual = [
        record
        for record in records
        if case.include_suppressed or record.get("suppressed") is None
    ]
    wanted = [_plain(item) for item in case.expect]
    union = sorted({key for item in wanted for key in item}, key=KEYS.index) or ["rule"]
    got = [
        {key: _plain(record.get(key)) for key in (wanted[i] if i < len(wanted) else union)}
        for i, record in enumerate(actual)
    ]
    if got == wanted:
        return Result(case.name, "")
    diff = difflib.unified_diff(
        _dump(wanted), _dump(got), fromfile="expected", tofile="actual", lineterm=""
    )
    return Result(case.name, "\n".join(diff))


def _config(
    path: Path,
    text: str,
    document: Mapping[str, Any],
    default_config: Callable[[], Config] | None,
) -> Config:
    raw = document.get("config")
    try:
        if isinstance(raw, str):
            return load_config((path.parent / raw).expanduser(), sends=False)
        if isinstance(raw, dict):
            return load_config_text(
                _inline_config(text), path=str(path), base_dir=path.absolute().parent,
                sends=False,
            )
        if raw is None and default_config is not None:
            return default_config()
    except ConfigError as exc:
        raise RuleTestError("\n".join(str(problem) for problem in exc.problems)) from exc
    raise RuleTestError(f"{path}: say which config to test: config: FILE, inline, or -c FILE")


def _inline_config(text: str) -> str:
    """The inline `config:` mapping as its own YAML text, at the same lines and columns.

    So a problem in it is reported at its place in the test file.
    """
    node = yaml.compose(text)
    assert isinstance(node, yaml.MappingNode)
    for key, value in node.value:
        if key.value == "config":
            start: yaml.Mark = value.start_mark
            end: yaml.Mark = value.end_mark
            body = text[start.index : end.index]
            return "\n" * int(start.line) + " " * int(start.column) + body + "\n"
    raise AssertionError("called only when the document has a config mapping")


def _cases(path: Path, document: Mapping[str, Any]) -> Iterator[Case]:
    raw_tests = document.get("tests")
    if raw_tests is None and "input" in document:
        raw_tests = [{"name": path.stem, **document}]
    if not isinstance(raw_tests, list) or not raw_tests:
        raise RuleTestError(f"{path}: no tests; add tests: [{{name, input, expect}}]")
    for index, raw in enumerate(raw_tests):
        where = f"{path}: tests[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("input"), str):
            raise RuleTestError(f"{where}: a test needs input: (log text)")
        expect = raw.get("expect") or []
        if not isinstance(expect, list) or not all(isinstance(e, dict) for e in expect):
            raise RuleTestError(f"{where}: expect: must be a list of alerts ({{rule: ...}})")
        for item in expect:
            for key in item:
                if key not in KEYS:
                    raise RuleTestError(
                        f"{where}: unknown key {key!r} in expect; use {', '.join(KEYS)}"
                    )
        include = raw.get("include", "sent")
        if include not in ("sent", "all"):
            raise RuleTestError(f"{where}: include: must be sent or all, not {include!r}")
        name = str(raw.get("name", f"test {index + 1}"))
        yield Case(name, raw["input"], expect, include_suppressed=include == "all")


def _plain(value: Any) -> Any:
    """Compare as YAML shows it: tuples are lists, numbers stay numbers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _dump(alerts: Sequence[Mapping[str, Any]]) -> list[str]:
    text = yaml.safe_dump(list(alerts), sort_keys=False, allow_unicode=True, width=1000)
    return text.rstrip("\n").split("\n")


__all__ = ["KEYS", "Case", "Result", "RuleTestError", "run_case", "run_file"]
