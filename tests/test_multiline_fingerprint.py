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


def ledger_events(tmp_path: Path, python: Interpreter, *, as_typed: bool = False) -> list[Event]:
    """Run the ledger app under ``python`` and assemble its stderr: the logged
    ZeroDivisionError, the logged LedgerError, the uncaught one. Its path is absolute, as
    3.9+ print it, or with ``as_typed`` it is ``python ledger.py`` from its own directory,
    which 3.8 prints as typed."""
    script = tmp_path / "app" / "ledger.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(LEDGER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FORCE_COLOR"))}
    result = subprocess.run(
        [python.path, script.name if as_typed else str(script)],
        cwd=script.parent,
        capture_output=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    events = assemble(result.stderr)
    assert [event.exc_type for event in events][:2] == ["ZeroDivisionError", "LedgerError"]
    assert len(events) == 3
    return events


def _two_or_more() -> list[Interpreter]:
    """The CPythons here, for tests that compare versions: skipped, saying so, with one."""
    interpreters = find_interpreters()
    if len(interpreters) < 2:
        pytest.skip(f"only {interpreters} found; install more CPythons with pyenv")
    return interpreters


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Event]]:
    interpreters = _two_or_more()
    root = tmp_path_factory.mktemp("ledger")
    return {python.version: ledger_events(root, python) for python in interpreters}


@pytest.fixture(scope="module")
def typed_ledgers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Event]]:
    interpreters = _two_or_more()
    root = tmp_path_factory.mktemp("typed-ledger")
    return {python.version: ledger_events(root, python, as_typed=True) for python in interpreters}


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

    def test_a_script_started_from_its_own_directory_keeps_its_keys(
        self, typed_ledgers: dict[str, list[Event]]
    ) -> None:
        """`python ledger.py`: 3.8 prints File "ledger.py" where 3.9+ print the absolute path,
        and the tracebacks start at the script's top level; each bug keeps one key."""
        if "3.8" in typed_ledgers:
            assert typed_ledgers["3.8"][0].chain[-1].frames[0].filename == "ledger.py"
        for position in range(3):
            keys = {v: events[position].fingerprint for v, events in typed_ledgers.items()}
            assert len(set(keys.values())) == 1, (position, keys)

    def test_the_bugs_stay_apart(self, ledgers: dict[str, list[Event]]) -> None:
        """The division and the ledger error are different bugs under every CPython."""
        for version, (division, logged, _) in ledgers.items():
            assert division.fingerprint != logged.fingerprint, version


ORDERS_MODULE = """\
class Checkout:
    class Failed(Exception):
        pass

    class Pricing:
        def average(self, prices):
            return sum(prices) / len(prices)


def checkout(order, pricing):
    try:
        return pricing.average(
            order["prices"],
        )
    except ZeroDivisionError as exc:
        raise Checkout.Failed("order %s has no prices" % order["id"]) from exc


def refund(order):
    return order["refund"]
"""

SHOP_MAIN = """\
import logging
import threading

from billing import orders as billing_orders
from shop import orders as shop_orders

logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
log = logging.getLogger("shop")


class Worker:
    class Job:
        def run(self, order):
            return shop_orders.checkout(
                order,
                shop_orders.Checkout.Pricing(),
            )


def settle():
    shop_orders.refund({"id": 11})


def main():
    for order_id in (7, 8):
        try:
            Worker.Job().run({"id": order_id, "prices": []})
        except shop_orders.Checkout.Failed:
            log.exception("checkout failed")
    for orders in (shop_orders, billing_orders):
        try:
            orders.refund({"id": 9})
        except KeyError:
            log.exception("refund failed")
    worker = threading.Thread(target=settle)
    worker.start()
    worker.join()
    shop_orders.refund({"id": 10})


main()
"""

# A script beside two packages holding the same code; what each event of its stderr is.
SHOP_APP = {
    "main.py": SHOP_MAIN,
    "shop/__init__.py": "",
    "shop/orders.py": ORDERS_MODULE,
    "billing/__init__.py": "",
    "billing/orders.py": ORDERS_MODULE,
}
SHOP_BUGS = ("checkout", "checkout", "refund", "billing refund", "refund in a thread", "uncaught")


def shop_events(app: Path, python: Interpreter) -> list[Event]:
    """Run the shop as ``python main.py`` from its own directory, as a container's CMD
    does (3.8 then prints ``File "main.py"``, 3.9+ the absolute path), and assemble its
    stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FORCE_COLOR"))}
    result = subprocess.run(
        [python.path, "main.py"], cwd=app, capture_output=True, timeout=60, env=env, check=False
    )
    assert result.returncode == 1, result.stderr
    events = assemble(result.stderr)
    checkout = "shop.orders.Checkout.Failed"
    assert [event.exc_type for event in events] == [checkout] * 2 + ["KeyError"] * 4
    return events


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Event]]:
    interpreters = _two_or_more()
    app = tmp_path_factory.mktemp("shop") / "app"
    for name, text in SHOP_APP.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(text)
    return {python.version: shop_events(app, python) for python in interpreters}


class TestOneAppAcrossInterpreters:
    def test_each_bug_has_one_fingerprint_under_every_cpython(
        self, shops: dict[str, list[Event]]
    ) -> None:
        """A script and its packages, a nested class, multi-line calls, a chain: each bug
        keeps its key from 3.8 (which prints the script's path as typed) to 3.13."""
        if "3.8" in shops:
            assert shops["3.8"][0].chain[-1].frames[0].filename == "main.py"
        for position, bug in enumerate(SHOP_BUGS):
            keys = {version: events[position].fingerprint for version, events in shops.items()}
            assert len(set(keys.values())) == 1, (bug, keys)

    def test_its_bugs_stay_apart_under_every_cpython(self, shops: dict[str, list[Event]]) -> None:
        """Five bugs, five fingerprints over every CPython: the same refund code in another
        package is another bug, though the script's own directory does not count."""
        keys: dict[str, set[str | None]] = {bug: set() for bug in SHOP_BUGS}
        for events in shops.values():
            for bug, event in zip(SHOP_BUGS, events, strict=True):
                keys[bug].add(event.fingerprint)
        assert all(len(found) == 1 for found in keys.values()), keys
        assert len(set().union(*keys.values())) == len(keys)
