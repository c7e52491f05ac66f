"""Helpers for the cold-line filter tests: the same input, framed whole and filtered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from logwatch.config import Config
from logwatch.model import Event, Origin
from logwatch.multiline import Assembler
from logwatch.multiline.assembler import Format
from logwatch.multiline.context import RecentLines
from logwatch.replay import replay_files
from logwatch.sources.framing import KeepSpans, LineFramer

# Rules of each kind the filter derives literals from: a drop rule on a logger, a
# message regex, a level, a traceback.
RULES = """  - name: quiet
    match: {logger: ["app.noise"]}
    action: drop
  - name: db
    match: {message: 'could not connect to (database|server)'}
    notify: [hook]
  - name: crit
    match: {level: [CRITICAL]}
    notify: [hook]
  - name: tracebacks
    match: {traceback: true}
    notify: [hook]
"""


def write_config(tmp_path: Path, rules: str, *, source_extra: str = "") -> Path:
    """A config with one source, ``app``, reading ``tmp_path``'s ``*.log`` files."""
    path = tmp_path / "logwatch.yaml"
    path.write_text(
        f"""state_dir: {tmp_path / "state"}
host: h
sources:
  - name: app
    paths: ["{tmp_path}/*.log"]
{source_extra}rules:
{rules}notifiers:
  hook: {{type: webhook, url: "http://127.0.0.1:9/alerts"}}
""",
        encoding="utf-8",
    )
    return path


def events_with_context(
    data: bytes,
    keep: KeepSpans | None,
    chunk: int,
    context: int,
    *,
    format: Format = "auto",
    header: re.Pattern[str] | None = None,
) -> list[Event]:
    """The events with the lines before each, as replay and the daemon attach them."""
    framer = LineFramer()
    assembler = Assembler(Origin("app", "app.log", "uid"), format=format, header_pattern=header)
    recent = RecentLines(context)
    events: list[Event] = []

    def take(found: list[Event]) -> None:
        events.extend(recent.attach(event) for event in found)
        recent.trim(assembler.pending_offset())

    for start in range(0, len(data), chunk):
        lines = framer.feed(data[start : start + chunk], keep)
        recent.add(lines)
        take(assembler.feed(lines))
    take(assembler.flush())
    return events


def replay_both(
    config: Config, log: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What `logwatch replay` prints for ``log``: with the filter, then framing every line."""
    fast = list(replay_files(config, [str(log)], all_events=False))
    with monkeypatch.context() as patch:
        patch.setattr("logwatch.replay._filter", lambda settings: None)
        slow = list(replay_files(config, [str(log)], all_events=False))
    return fast, slow
