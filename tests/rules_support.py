"""Helpers for the rules tests: logs written by the real `logging` module, at times the test says.

Tracebacks come from exceptions really raised and logged with
``logger.exception``; nothing here types a traceback by hand. The log text
then goes through the public path: YAML -> load_config_text -> the engine the
daemon builds (``build_engine``), or ``logwatch replay``'s ``replay_inputs``.
"""

from __future__ import annotations

import functools
import io
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from logwatch.config import Config, load_config_text
from logwatch.daemon.engine import build_engine
from logwatch.model import Alert, Event, ExceptionInfo, Origin
from logwatch.multiline import Assembler
from logwatch.multiline.context import RecentLines
from logwatch.replay import replay_inputs
from logwatch.rules import Decision, RuleEngine, RuleState, Silencer
from logwatch.sources.framing import LineFramer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class _Clock(logging.Formatter):
    now = T0

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return self.now.strftime("%Y-%m-%d %H:%M:%S,") + f"{self.now.microsecond // 1000:03d}"


def charge(error: BaseException) -> None:
    """The application code that fails (an in-app frame named `charge`)."""
    raise error


class Log:
    """An application log in memory, written by a real logger with a clock the test sets."""

    def __init__(self, name: str = "shop.billing", start: datetime = T0) -> None:
        self._stream = io.StringIO()
        self._clock = _Clock("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._clock.now = start
        self._start = start
        handler = logging.StreamHandler(self._stream)
        handler.setFormatter(self._clock)
        self.logger = logging.getLogger(f"{name}.{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.handlers[:] = [handler]

    def at(self, seconds: float) -> Log:
        self._clock.now = self._start + timedelta(seconds=seconds)
        return self

    def exception(self, message: str, error: BaseException) -> Log:
        try:
            charge(error)
        except BaseException:
            self.logger.exception(message)
        return self

    def write(self, text: str) -> Log:
        """Another writer's text between the records (a process's stderr, same file)."""
        self._stream.write(text)
        return self

    def text(self) -> str:
        return self._stream.getvalue()


# A worker that dies of an uncaught exception, raised two calls deep.
UNCAUGHT = """\
def gateway(order):
    raise ConnectionError(f"gateway timeout for order {order}")


def charge(order):
    gateway(order)


charge(42)
"""


def stderr_of(script: str) -> str:
    """What CPython prints on stderr running ``script`` (as a file, so frames show source)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "worker.py"
        path.write_text(script, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
    return done.stderr


@functools.cache
def killed_traceback() -> str:
    """``UNCAUGHT``'s traceback as a worker killed before its exception line left it."""
    *printed, last = stderr_of(UNCAUGHT).splitlines(keepends=True)
    assert last.startswith("ConnectionError: gateway timeout for order 42"), [*printed, last]
    return "".join(printed)


def distinct_error(index: int) -> Exception:
    """An exception of a type of its own: a different fingerprint for each index."""
    kind: type[Exception] = type(f"Failure{index}", (Exception,), {"__module__": "shop.workers"})
    return kind(f"worker {index} failed")


def config(yaml_text: str) -> Config:
    return load_config_text(yaml_text, path="cfg.yaml", environ={})


def engine(
    yaml_text: str, *, state: RuleState | None = None, silences: Silencer | None = None
) -> RuleEngine:
    """The engine the daemon would build for this config."""
    return build_engine(config(yaml_text), state=state, silences=silences)


def events(
    text: str, *, source: str = "app", path: str = "/srv/shop/app.log", context_lines: int = 0
) -> list[Event]:
    """The events the daemon's reader makes of this log text (with `context_lines`)."""
    assembler = Assembler(Origin(source=source, path=path, file_uid=f"uid:{path}"))
    recent = RecentLines(context_lines)
    lines = LineFramer().feed(text.encode())
    recent.add(lines)
    found = [recent.attach(event) for event in assembler.feed(lines)]
    found.extend(recent.attach(event) for event in assembler.flush())
    return found


def run(rules: RuleEngine, log_events: list[Event]) -> Iterator[Decision]:
    """Evaluate each event at its own time, ticking before it as the daemon does."""
    for event in log_events:
        assert event.timestamp is not None
        yield from rules.tick(event.timestamp)
        yield from rules.evaluate(event, event.timestamp)


def sent(decisions: Iterator[Decision] | list[Decision]) -> list[Alert]:
    return [decision.alert for decision in decisions if decision.alert is not None]


def replay(yaml_text: str, text: str, *, name: str = "app.log") -> list[dict[str, Any]]:
    """What `logwatch replay --json` prints for this log under this config."""
    return list(replay_inputs(config(yaml_text), [(name, [text.encode()])], all_events=False))


def delivered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replay records that would reach a notifier."""
    return [record for record in records if record["suppressed"] is None]


def host_event(host: str, offset: int) -> Event:
    """The same traceback (one fingerprint) in ``host``'s own log file."""
    return Event(
        origin=Origin(source="web", path="/var/log/shop/app.log", file_uid=f"uid-{host}"),
        first_line=offset + 1,
        last_line=offset + 3,
        start_offset=offset,
        end_offset=offset + 1,
        text="ERROR app.db query failed\nOperationalError: could not connect",
        message="query failed",
        level="ERROR",
        logger="app.db",
        chain=(ExceptionInfo("OperationalError", "could not connect"),),
        fingerprint="fp1:db",
    )
