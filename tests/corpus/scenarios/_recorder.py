"""Scenario side of the corpus: write real log output, record where each event landed.

The generator runs every scenario as

    python -u -S -m scenarios.sNN_name LOG TRUTH SCRATCH [--child NAME]

under each CPython it found, with stderr appended to LOG (in fact in a fork of
``scenarios._driver``, which is the same but faster). The scenario writes
through the real `logging` module (and lets CPython print to stderr); around
each write that produces an exception event it records the byte offsets of
LOG before and after, and the exception's type, message and chain as CPython
prints them, taken from the live exception object. The generator turns the
offsets into line numbers once the file is complete: nothing here reads LOG.

This module runs under CPython 3.8 to 3.13, so it keeps to 3.8 syntax.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing costs a child process start-up time for nothing at run time
    from typing import Any, NoReturn

PY = sys.version_info[:2]

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"

# Who prints the traceback decides what the final line looks like (checked on
# 3.8-3.13): "traceback" is Lib/traceback.py (logging, print_exc,
# multiprocessing); "c" is the interpreter's own printer behind
# sys.__excepthook__ and threading.excepthook; "unraisable" is
# sys.__unraisablehook__ (__del__, atexit from 3.10).
TRACEBACK = "traceback"
C_PRINTER = "c"
UNRAISABLE = "unraisable"

# Plain records written between events. A bare traceback is never put right
# after a WARNING/ERROR one: text alone cannot tell that from a record that was
# logged with exc_info=True. After an INFO record it can (research case 3), so
# every run of noise ends with one.
_NOISE = (
    (logging.WARNING, "app.http", "retry 1/3 after ConnectionError: timed out"),
    (logging.ERROR, "app.billing", "payment declined for order 7 (no exception)"),
    (logging.WARNING, "app.db", "slow query took 2.4s: SELECT * FROM orders"),
    (logging.INFO, "app.auth", "user 42 logged in"),
)
_INFO_NOISE = (
    (logging.INFO, "app.http", "GET /api/orders/42 200 in 12ms"),
    (logging.INFO, "jobs", "nightly export finished: 1200 rows"),
    (logging.INFO, "app.cache", "File cache warmed in 3.2s"),
)


def printed_type(cls: type[BaseException], printer: str) -> str:
    """The exception type as ``printer`` writes it on the final line."""
    hidden: tuple[str, ...]
    if printer == TRACEBACK or PY >= (3, 13):
        name, hidden = cls.__qualname__, ("builtins", "__main__")
    else:
        # The C printers used tp_name (no enclosing class) up to 3.8 and kept
        # the "__main__." prefix up to 3.10.
        name = cls.__name__ if PY == (3, 8) else cls.__qualname__
        hidden = ("builtins",) if PY <= (3, 10) else ("builtins", "__main__")
    module = cls.__module__
    return name if module in hidden else module + "." + name


def printed_message(exc: BaseException, printer: str, suggestion: str | None = None) -> str:
    """The first line of what ``printer`` writes after ``Type: ``."""
    if isinstance(exc, SyntaxError) and printer != UNRAISABLE:
        text = exc.msg or "<no detail available>"
    else:
        try:
            text = str(exc)
        except Exception:  # noqa: BLE001 - any failure is what the printer reports
            if printer == TRACEBACK and PY <= (3, 10):
                text = f"<unprintable {type(exc).__name__} object>"
            else:
                text = "<exception str() failed>"
    if suggestion is not None and _offers_suggestions(printer):
        text += f". Did you mean: '{suggestion}'?"
    return text.split("\n", 1)[0]


def _offers_suggestions(printer: str) -> bool:
    if printer == C_PRINTER:
        return PY >= (3, 10)
    return printer == TRACEBACK and PY >= (3, 12)


def printed_chain(exc: BaseException) -> list[BaseException]:
    """The exceptions of a chain in the order a traceback prints them."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    chain.reverse()
    return chain


def describe(
    exc: BaseException, printer: str = TRACEBACK, suggestion: str | None = None
) -> dict[str, Any]:
    """Truth fields of one event whose last exception is ``exc``."""
    return {
        "exc_type": printed_type(type(exc), printer),
        "exc_message": printed_message(exc, printer, suggestion),
        "chain": [printed_type(type(link), printer) for link in printed_chain(exc)],
    }


class Recorder:
    """The log file, the truth sidecar and the scratch directory of one scenario run."""

    def __init__(self, argv: list[str]) -> None:
        self.log_path = Path(argv[0])
        self.truth_path = Path(argv[1])
        self.scratch = Path(argv[2])
        self.child = argv[4] if len(argv) > 4 and argv[3] == "--child" else None
        self.handler: logging.Handler | None = None
        self.children: dict[str, Callable[[Recorder], None]] = {}
        self._noise_index = 0

    @classmethod
    def run(
        cls,
        main: Callable[[Recorder], None],
        children: Mapping[str, Callable[[Recorder], None]] | None = None,
    ) -> None:
        """Run ``main`` (or the child named on the command line) and mark the run done."""
        rec = cls(sys.argv[1:])
        rec.children = dict(children or {})
        if rec.child is not None:
            rec.children[rec.child](rec)
            return
        rec.scratch.mkdir(parents=True, exist_ok=True)
        main(rec)
        rec.write_truth({"done": True})

    # -- writing the log ------------------------------------------------------

    def start_logging(
        self,
        fmt: str = TEXT_FORMAT,
        formatter: logging.Formatter | None = None,
        newline: str | None = None,
    ) -> logging.Handler:
        """Send every logger's records to LOG, the way an application's config would."""
        stream = self.log_path.open("a", encoding="utf-8", newline=newline)
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter or logging.Formatter(fmt))
        root = logging.getLogger()
        if self.handler is not None:  # a forked child inherits its parent's handler
            root.removeHandler(self.handler)
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        self.handler = handler
        return handler

    def noise(self, count: int = 2) -> None:
        """Plain one-line records between events, the last one at INFO: no exception event."""
        for number in range(count):
            table = _NOISE if number < count - 1 else _INFO_NOISE
            level, name, message = table[self._noise_index % len(table)]
            self._noise_index += 1
            logging.getLogger(name).log(level, message)

    def offset(self) -> int:
        """Flush every writer of LOG and return its size: the next byte's offset."""
        sys.stdout.flush()
        sys.stderr.flush()
        if self.handler is not None:
            self.handler.flush()
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    # -- recording the truth --------------------------------------------------

    def write_truth(self, entry: Mapping[str, Any]) -> None:
        # One write per line: children and forked workers append to the same file.
        data = (json.dumps(entry) + "\n").encode("utf-8")
        fd = os.open(str(self.truth_path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def record(
        self,
        start: int,
        end: int | None,
        exc: BaseException,
        what: str,
        printer: str = TRACEBACK,
        suggestion: str | None = None,
    ) -> None:
        """Record one expected event spanning LOG bytes [start, end)."""
        entry = {"start": start, "end": end, "what": what}
        entry.update(describe(exc, printer, suggestion))
        self.write_truth(entry)

    @contextmanager
    def expect(
        self,
        exc: BaseException,
        what: str,
        printer: str = TRACEBACK,
        suggestion: str | None = None,
    ) -> Iterator[None]:
        """Everything written inside the block is one event whose exception is ``exc``."""
        start = self.offset()
        yield
        self.record(start, self.offset(), exc, what, printer, suggestion)

    def logged(
        self,
        what: str,
        call: Callable[[], object],
        message: str = "request failed",
        logger: str = "app",
        level: int = logging.ERROR,
        suggestion: str | None = None,
    ) -> None:
        """Call ``call`` and log what it raises with its traceback: one event, header first."""
        try:
            call()
        except BaseException as exc:  # scenarios raise KeyboardInterrupt too
            with self.expect(exc, what, TRACEBACK, suggestion):
                logging.getLogger(logger).log(level, message, exc_info=True)
            return
        raise AssertionError(f"{what}: {call} raised nothing")

    def uncaught(
        self, what: str, call: Callable[[], object], suggestion: str | None = None
    ) -> None:
        """Let what ``call`` raises end this process through CPython's default hook."""
        self.record_uncaught(what, suggestion)
        call()
        raise AssertionError(f"{what}: {call} raised nothing")

    def pending(
        self, exc: BaseException, what: str, printer: str, suggestion: str | None = None
    ) -> None:
        """The event starts now and ends when this process does (atexit, start-up errors)."""
        self.record(self.offset(), None, exc, what, printer, suggestion)

    def skip(self, reason: str) -> NoReturn:
        """This scenario does not apply to the running interpreter."""
        self.write_truth({"skip": reason})
        raise SystemExit(0)

    # -- processes that die ---------------------------------------------------

    def record_uncaught(self, what: str, suggestion: str | None = None) -> None:
        """Record the traceback CPython's default hook prints when this process dies."""

        def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
            with self.expect(exc, what, C_PRINTER, suggestion):
                sys.__excepthook__(exc_type, exc, tb)

        sys.excepthook = hook

    def run_child(self, name: str, expect_status: int | None = None, fresh: bool = False) -> int:
        """Run child ``name`` of this scenario with stderr appended to LOG.

        A fresh child is a new interpreter (``python -m``), so its uncaught
        traceback starts at ``<module>``. Otherwise it is a fork that hands what
        it raises to sys.excepthook, as the interpreter does, and exits: the
        same printer and output, with a shorter stack, and no start-up cost.
        """
        if fresh:
            command = [sys.executable, "-u", "-S", "-m", _main_module()]
            return self.run_process([*command, *self._argv(), "--child", name], expect_status)
        before = self.offset()
        pid = os.fork()
        if pid == 0:
            status = 70  # EX_SOFTWARE, should the recorder itself fail here
            try:
                status = self._forked_child(name)
            finally:
                os._exit(status)
        status = _exit_status(os.waitpid(pid, 0)[1])
        if expect_status is not None and status != expect_status:
            raise RuntimeError(f"child {name} exited {status}, expected {expect_status}")
        self._close_pending(before, self.offset())
        return status

    def _forked_child(self, name: str) -> int:
        try:
            self.children[name](self)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        except BaseException as exc:  # noqa: BLE001 - as the interpreter does with any uncaught
            sys.excepthook(type(exc), exc, exc.__traceback__)
            return 1
        finally:
            sys.stderr.flush()
        return 0

    def run_process(
        self, argv: list[str], expect_status: int | None = None, cwd: Path | None = None
    ) -> int:
        """Run ``argv`` with stderr appended to LOG; close events it left pending."""
        import subprocess  # here: most children never start a process

        before = self.offset()
        with self.log_path.open("ab") as log:
            status = subprocess.call(
                argv, stderr=log, stdout=subprocess.DEVNULL, cwd=cwd, timeout=60
            )
        if expect_status is not None and status != expect_status:
            raise RuntimeError(f"{argv} exited {status}, expected {expect_status}")
        self._close_pending(before, self.offset())
        return status

    def _close_pending(self, since: int, end: int) -> None:
        lines = self.truth_path.read_text("utf-8").splitlines() if self.truth_path.exists() else []
        entries = [json.loads(line) for line in lines]
        for entry in entries:
            if entry.get("end", 0) is None and entry["start"] >= since:
                entry["end"] = end
        self.truth_path.write_text("".join(json.dumps(e) + "\n" for e in entries), "utf-8")

    def _argv(self) -> list[str]:
        return [str(self.log_path), str(self.truth_path), str(self.scratch)]


def _exit_status(wait_status: int) -> int:
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def _main_module() -> str:
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    if spec is None:
        raise RuntimeError("scenarios run with python -m scenarios.NAME")
    return str(spec.name)


def hook_threads(rec: Recorder, what: str) -> None:
    """Record what threading.excepthook prints ("Exception in thread NAME:" + traceback)."""
    original = threading.excepthook

    def hook(args: Any) -> None:
        with rec.expect(args.exc_value, what, C_PRINTER):
            original(args)

    threading.excepthook = hook


def hook_unraisable(rec: Recorder, what: str) -> None:
    """Record what sys.unraisablehook prints ("Exception ignored in: ..." + traceback)."""
    original = sys.unraisablehook

    def hook(args: Any) -> None:
        with rec.expect(args.exc_value, what, UNRAISABLE):
            original(args)

    sys.unraisablehook = hook
