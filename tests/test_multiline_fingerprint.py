"""Fingerprints group the same bug and tell different ones apart, on real tracebacks.

Each case writes a small module to a temporary directory, imports it, lets it
fail, logs the failure through a real logging.FileHandler and assembles the
file: nothing is typed by hand.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import types
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pytest

from logwatch.model import Event, ExceptionInfo
from logwatch.multiline import fingerprint
from logwatch.multiline.fingerprint import is_in_app, module_of, normalise_message
from tests.multiline_support import (
    Interpreter,
    Samples,
    assemble,
    find_interpreters,
    generate_samples,
)

ORDERS = """\
def lookup(orders, order_id):
    return orders[order_id]


def handle(order_id):
    return lookup({{}}, order_id)


def handle_elsewhere(order_id):
    orders = {{}}
    return orders[order_id]


def deep(n):
    return deep(n + 1)

"""

_unique = count()


def load(path: Path, padding: int = 0) -> types.ModuleType:
    """Write the orders module at ``path`` (shifted down by ``padding`` lines) and import it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n" * padding + ORDERS.format())
    name = f"lw_orders_{next(_unique)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calling(module: types.ModuleType, function: str, argument: int) -> Callable[[], object]:
    """One call site for every case, so the caller's own frame is the same in all of them."""

    def call() -> object:
        return getattr(module, function)(argument)

    return call


def logged(tmp_path: Path, call: Callable[[], object], *, formatter: logging.Formatter) -> Event:
    """Run ``call``, log its exception with ``formatter`` to a file, assemble the file."""
    log_path = tmp_path / f"app-{next(_unique)}.log"
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(formatter)
    logger = logging.getLogger("app.orders")
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        try:
            call()
        except Exception:
            logger.exception("order failed")
    finally:
        handler.close()
    [event] = assemble(log_path.read_bytes())
    return event


def text_event(tmp_path: Path, call: Callable[[], object]) -> Event:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    return logged(tmp_path, call, formatter=formatter)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(doc)


class TestSameBugSameFingerprint:
    def test_shifted_line_numbers_do_not_matter(self, tmp_path: Path) -> None:
        """A deploy that moves the code down keeps the fingerprint."""
        before = load(tmp_path / "v1" / "app" / "orders.py")
        after = load(tmp_path / "v2" / "app" / "orders.py", padding=7)
        first = text_event(tmp_path, calling(before, "handle", 17))
        second = text_event(tmp_path, calling(after, "handle", 17))
        assert first.chain[-1].frames[-1].lineno != second.chain[-1].frames[-1].lineno
        assert first.fingerprint == second.fingerprint

    def test_different_ids_in_the_message_do_not_matter(self, tmp_path: Path) -> None:
        """Another order id in the KeyError is the same bug."""
        module = load(tmp_path / "app" / "orders.py")
        first = text_event(tmp_path, calling(module, "handle", 17))
        second = text_event(tmp_path, calling(module, "handle", 42))
        assert first.exc_message != second.exc_message
        assert first.fingerprint == second.fingerprint

    def test_another_checkout_or_container_prefix_does_not_matter(self, tmp_path: Path) -> None:
        """/srv/app/orders.py and /home/deploy/app/orders.py are the same module."""
        srv = load(tmp_path / "srv" / "app" / "orders.py")
        home = load(tmp_path / "home" / "deploy" / "app" / "orders.py")
        assert (
            text_event(tmp_path, calling(srv, "handle", 1)).fingerprint
            == text_event(tmp_path, calling(home, "handle", 1)).fingerprint
        )

    def test_recursion_depth_does_not_matter(self, tmp_path: Path) -> None:
        """A RecursionError reached at another depth is the same bug."""
        module = load(tmp_path / "app" / "orders.py")
        limit = sys.getrecursionlimit()
        events = []
        for new_limit in (120, 180):
            sys.setrecursionlimit(new_limit)
            try:
                events.append(text_event(tmp_path, calling(module, "deep", 0)))
            finally:
                sys.setrecursionlimit(limit)
        assert events[0].exc_type == "RecursionError"
        assert events[0].fingerprint == events[1].fingerprint

    def test_json_and_text_logs_agree(self, tmp_path: Path) -> None:
        """The same exception logged as text and as JSON exc_info: same frames, same key."""
        module = load(tmp_path / "app" / "orders.py")
        text = text_event(tmp_path, calling(module, "handle", 3))
        as_json = logged(tmp_path, calling(module, "handle", 3), formatter=JsonFormatter())
        assert "json" in as_json.flags
        assert as_json.chain == text.chain
        assert as_json.fingerprint == text.fingerprint


class TestDifferentBugDifferentFingerprint:
    def test_another_call_site_is_another_bug(self, tmp_path: Path) -> None:
        """The same KeyError raised from another function groups apart."""
        module = load(tmp_path / "app" / "orders.py")
        first = text_event(tmp_path, calling(module, "handle", 1))
        second = text_event(tmp_path, calling(module, "handle_elsewhere", 1))
        assert first.exc_type == second.exc_type == "KeyError"
        assert first.fingerprint != second.fingerprint

    def test_another_package_is_another_bug(self, tmp_path: Path) -> None:
        """app/orders.py and billing/orders.py are different modules."""
        app = load(tmp_path / "app" / "orders.py")
        billing = load(tmp_path / "billing" / "orders.py")
        assert (
            text_event(tmp_path, calling(app, "handle", 1)).fingerprint
            != text_event(tmp_path, calling(billing, "handle", 1)).fingerprint
        )


NEWEST = find_interpreters()[-1].version


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return generate_samples(tmp_path_factory)


class TestFallbacks:
    def test_without_frames_the_normalised_message_counts(self, samples: Samples) -> None:
        """A frameless exception (tracebacklimit=0) is keyed by type and normalised message."""
        [event, _] = assemble(samples.log(NEWEST, "tracebacklimit_zero").read_bytes())
        assert event.chain[-1].frames == ()
        same = ExceptionInfo("ValueError", "invalid literal for int() with base 10: 'y'")
        other = ExceptionInfo("ValueError", "something else entirely")
        assert event.fingerprint == fingerprint([same])
        assert event.fingerprint != fingerprint([other])

    def test_identical_error_lines_group(self, samples: Samples) -> None:
        """Plain records are keyed by level, logger and normalised message."""
        events = assemble(samples.log(NEWEST, "cpython_headers").read_bytes())
        ticks = {event.fingerprint for event in events if event.message == "tick"}
        others = {event.fingerprint for event in events if event.message in ("start", "done")}
        assert len(ticks) == 1
        assert ticks.isdisjoint(others)

    def test_crashes_are_keyed_by_their_frames(self, samples: Samples) -> None:
        """A faulthandler dump has no exception; its current thread's frames key it."""
        events = assemble(samples.log(NEWEST, "stderr_misc").read_bytes())
        [crash] = [event for event in events if "crash" in event.flags]
        assert crash.level == "CRITICAL"
        assert crash.message == "Fatal Python error: Segmentation fault"
        assert crash.fingerprint is not None


class TestNormalisation:
    def test_message_normalisation_blanks_what_varies(self) -> None:
        """Numbers, hex ids, UUIDs, quoted values and suggestions are blanked."""
        first = normalise_message(
            "order 17 for 'alice' at 0x7f3a2b1c (3f2a9c1e-1111-2222-3333-444455556666)."
            " Did you mean: 'value'?"
        )
        second = normalise_message(
            "order 42 for 'bob' at 0x7f00aa11 (00000000-aaaa-bbbb-cccc-dddddddddddd)"
        )
        assert first == second == "order <n> for <str> at <hex> (<uuid>)"

    def test_frames_from_real_tracebacks_are_classified(self, samples: Samples) -> None:
        """Standard library and frozen frames are not the application's; ours are."""
        events = assemble(samples.log(NEWEST, "cpython_headers").read_bytes())
        files = {frame.filename for e in events for exc in e.chain for frame in exc.frames}
        stdlib = {name for name in files if name.endswith(("threading.py", "process.py"))}
        assert stdlib
        assert not any(is_in_app(name) for name in stdlib)
        assert is_in_app(str(Path(__file__)))
        assert not is_in_app("<frozen importlib._bootstrap>")

    def test_module_names_survive_other_prefixes(self) -> None:
        """Paths reduce to what another venv, container or checkout keeps."""
        site = "/opt/venv/lib/python3.12/site-packages/requests/adapters.py"
        other_site = "/home/u/.local/lib/python3.11/site-packages/requests/adapters.py"
        assert module_of(site) == module_of(other_site) == "requests/adapters"
        assert module_of("/srv/app/main.py") == module_of("app/main.py") == "app/main"
        assert module_of("<string>") == "<string>"


LEDGER = """\
import logging


class LedgerError(Exception):
    pass


def post(amounts):
    return [100 / amount for amount in amounts]


def close_books():
    raise LedgerError("books for 2026-01 do not balance")


logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
log = logging.getLogger("app.ledger")
try:
    post([4, 0])
except ZeroDivisionError:
    log.exception("posting failed")
try:
    close_books()
except LedgerError:
    log.exception("closing failed")
close_books()
"""


def ledger_events(tmp_path: Path, python: Interpreter) -> list[Event]:
    """Run the ledger app under ``python`` (its path absolute, as 3.9+ prints it) and assemble
    its stderr: the logged ZeroDivisionError, the logged LedgerError, the uncaught one."""
    script = tmp_path / "app" / "ledger.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(LEDGER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FORCE_COLOR"))}
    result = subprocess.run(
        [python.path, str(script)], capture_output=True, timeout=60, env=env, check=False
    )
    assert result.returncode == 1, result.stderr
    events = assemble(result.stderr)
    assert [event.exc_type for event in events][:2] == ["ZeroDivisionError", "LedgerError"]
    assert len(events) == 3
    return events


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Event]]:
    interpreters = find_interpreters()
    if len(interpreters) < 2:
        pytest.skip(f"only {interpreters} found; install more CPythons with pyenv")
    root = tmp_path_factory.mktemp("ledger")
    return {python.version: ledger_events(root, python) for python in interpreters}


class TestSameBugAcrossInterpreters:
    def test_an_uncaught_error_of_the_main_module_groups_with_the_logged_one(
        self, ledgers: dict[str, list[Event]]
    ) -> None:
        """3.8-3.10's excepthook prints "__main__.LedgerError", logging "LedgerError": one bug."""
        for version, (_, logged, uncaught) in ledgers.items():
            assert uncaught.exc_type in ("LedgerError", "__main__.LedgerError"), version
            assert uncaught.fingerprint == logged.fingerprint, version

    def test_each_bug_keeps_its_fingerprint_from_one_cpython_to_the_next(
        self, ledgers: dict[str, list[Event]]
    ) -> None:
        """A failing list comprehension (a frame of its own before 3.12, inlined after) and an
        uncaught error of the main module group the same under every CPython."""
        for position in range(3):
            keys = {version: events[position].fingerprint for version, events in ledgers.items()}
            assert len(set(keys.values())) == 1, (position, keys)

    def test_the_bugs_stay_apart(self, ledgers: dict[str, list[Event]]) -> None:
        """The division and the ledger error are different bugs under every CPython."""
        for version, (division, logged, _) in ledgers.items():
            assert division.fingerprint != logged.fingerprint, version
