"""Generate real Python log output, with its truth recorded while it is written.

Run by every CPython found on the machine (3.8+, so this file keeps to 3.8
syntax): ``python scenarios.py OUTDIR``. For each scenario it writes
``OUTDIR/<name>.log`` and, in ``OUTDIR/truth.json``, the events that log must
assemble into. The truth never comes from parsing the log: line spans are the
file's line count before and after each logging call (or each child process
that crashes with its stderr appended to the log), and exception types and
messages come from the live exception objects.
"""

# ruff: noqa: UP017, UP031
# This script runs under every CPython from 3.8 on (datetime.UTC is 3.11+), and
# its %-formatting mirrors what the logging calls themselves do.

from __future__ import annotations

import atexit
import contextlib
import datetime
import gc
import importlib
import json
import logging
import os
import subprocess
import sys
import threading
import traceback
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations are never evaluated, so 3.8 never sees these
    Truth = dict[str, Any]

HERE = Path(__file__).resolve()
PY = sys.version_info[:2]

FORMATS = {
    "std": ("%(asctime)s %(levelname)s %(name)s %(message)s", None),
    "dash": ("%(asctime)s - %(name)s - %(levelname)s - %(message)s", None),
    "basic": ("%(levelname)s:%(name)s:%(message)s", None),
    "bracket": ("%(asctime)s [%(levelname)s] %(name)s: %(message)s", None),
    "gunicorn": ("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S %z"),
    "celery": ("[%(asctime)s: %(levelname)s/%(processName)s] %(message)s", None),
    "uvicorn": ("%(levelprefix)s %(message)s", None),
    "iso": ("%(isotime)s %(levelname)s %(name)s %(message)s", None),
    "django": ("%(message)s", None),
}
# Which header fields a format shows, so the truth only claims what is printed.
SHOWS = {
    "std": ("level", "logger", "timestamp"),
    "dash": ("level", "logger", "timestamp"),
    "basic": ("level", "logger"),
    "bracket": ("level", "logger", "timestamp"),
    "gunicorn": ("level", "timestamp"),
    "celery": ("level", "timestamp"),
    "uvicorn": ("level",),
    "iso": ("level", "logger", "timestamp"),
    "django": (),
}


class _Formatter(logging.Formatter):
    """The stdlib formatter plus the two fields uvicorn and ISO formats need."""

    def format(self, record: logging.LogRecord) -> str:
        name = record.levelname
        record.levelprefix = name + ":" + " " * (8 - len(name))
        moment = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        record.isotime = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return super().format(record)


def type_name(cls: type) -> str:
    """The exception type as traceback.py prints it."""
    module, qualname = cls.__module__, cls.__qualname__
    return qualname if module in ("builtins", "__main__") else module + "." + qualname


def exc_message(exc: BaseException) -> str:
    """The first line after "Type: " as traceback.py prints this live exception.

    Not str(exc): the printer adds "Did you mean" hints (3.12+), prints
    SyntaxError's msg alone and stands in for a failing __str__.
    """
    printed = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    prefix = type_name(type(exc))
    for chunk in printed.format_exception_only():
        if chunk.startswith(prefix + ": "):
            return chunk[len(prefix) + 2 :].split("\n", 1)[0]
        if chunk.rstrip("\n") == prefix:
            return ""
    raise AssertionError("no exception line printed for %r" % (type(exc),))


def printed_chain(exc: BaseException) -> list[BaseException]:
    """The exceptions traceback.py prints, oldest (printed first) to newest."""
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
    return list(reversed(chain))


def members(exc: BaseException, depth: int = 1) -> list[Truth]:
    """Group members as traceback.py prints them: 15 per group, 10 groups deep."""
    inner: list[BaseException] | None = getattr(exc, "exceptions", None)
    if inner is None or depth >= 10:
        return []
    return [{"type": type_name(type(m)), "members": members(m, depth + 1)} for m in inner[:15]]


def describe(exc: BaseException) -> Truth:
    chain = printed_chain(exc)
    return {
        "exc_type": type_name(type(exc)),
        "exc_message": exc_message(exc),
        "chain": [type_name(type(e)) for e in chain],
        "members": members(exc),
    }


def count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def last_nonblank(path: Path, first: int, last: int) -> int:
    """Events never end in blank lines: a trailing newline of a message is not content."""
    lines = path.read_bytes().split(b"\n")
    while last > first and not lines[last - 1].strip():
        last -= 1
    return last


class Recorder:
    """Writes one scenario's log and records each event's truth as it is written."""

    def __init__(self, outdir: Path, name: str, fmt: str = "std") -> None:
        self.name = name
        self.fmt = fmt
        self.path = outdir / (name + ".log")
        self.path.write_bytes(b"")
        self.handler = logging.FileHandler(self.path, encoding="utf-8")
        pattern, datefmt = FORMATS[fmt]
        self.handler.setFormatter(_Formatter(pattern, datefmt))
        self.events: list[Truth] = []
        self.loggers: list[logging.Logger] = []

    def logger(self, name: str) -> logging.Logger:
        log = logging.getLogger(name)
        log.handlers[:] = [self.handler]
        log.propagate = False
        log.setLevel(logging.DEBUG)
        self.loggers.append(log)
        return log

    def close(self) -> None:
        for log in self.loggers:
            log.handlers[:] = []
        self.handler.close()

    @contextlib.contextmanager
    def span(self, **truth: Any) -> Iterator[Truth]:
        self.handler.flush()
        before = count_lines(self.path)
        box: Truth = {}
        yield box
        self.handler.flush()
        after = count_lines(self.path)
        truth.update(box)
        exc = truth.pop("exc", None)
        if exc is not None:
            truth.update(describe(exc))
        truth.setdefault("exc_type", None)
        truth.setdefault("chain", [])
        if after > before:
            truth["first_line"] = before + 1
            truth["last_line"] = last_nonblank(self.path, before + 1, after)
            self.events.append(truth)

    def header(self, log: logging.Logger, level: str, message: str) -> Truth:
        shows = SHOWS[self.fmt]
        header: Truth = {"message": message if shows else None}
        if "level" in shows:
            header["level"] = level
        if "logger" in shows:
            header["logger"] = log.name
        header["has_timestamp"] = "timestamp" in shows
        return header

    def log(self, log: logging.Logger, level: str, message: str, *args: object) -> None:
        text = message % args if args else message
        with self.span(kind="record", header=self.header(log, level, text)):
            log.log(getattr(logging, level), message, *args)

    def exception(
        self, log: logging.Logger, message: str, *args: object, level: str = "ERROR", **kw: Any
    ) -> None:
        """Log the exception being handled, as logger.exception does."""
        exc = sys.exc_info()[1]
        text = message % args if args else message
        with self.span(kind="traceback", exc=exc, header=self.header(log, level, text)):
            log.log(getattr(logging, level), message, *args, exc_info=True, **kw)

    def child(
        self, scenario: str, kind: str = "traceback", env: dict[str, str] | None = None
    ) -> None:
        """Run a child interpreter whose stderr is appended to the log."""
        sidecar = self.path.with_suffix(".child.json")
        if sidecar.exists():
            sidecar.unlink()
        child_env = dict(os.environ)
        child_env.pop("PYTHONDEVMODE", None)
        child_env["PYTHONIOENCODING"] = "utf-8"
        child_env.update(env or {})
        with self.span(kind=kind) as box, self.path.open("ab") as stderr:
            subprocess.run(
                [sys.executable, "-S", str(HERE), "--child", scenario, str(sidecar)],
                stderr=stderr,
                stdout=subprocess.DEVNULL,
                env=child_env,
                cwd=self.path.parent,
                check=False,
                timeout=60,
            )
            if sidecar.exists():
                box.update(json.loads(sidecar.read_text()))
                sidecar.unlink()


# ---------------------------------------------------------------- application code
# Small functions that fail the way real code does; their frames are what the
# tracebacks show.


def charge(order_id: int) -> None:
    gateway(order_id)


def gateway(order_id: int) -> None:
    raise ConnectionError("gateway timeout after 30s for order %d" % order_id)


def load_config(config: dict[str, dict[str, int]]) -> int:
    return config["db"]["port"]


def parse_port(text: str) -> int:
    return int(text)


def recurse(n: int) -> int:
    return recurse(n + 1)


def ping(n: int) -> int:
    return pong(n + 1)


def pong(n: int) -> int:
    return ping(n + 1)


def compute(a: int, b: int) -> float:
    return a / b


class Weird(Exception):  # noqa: N818 - the name printed in the research's sample
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def make_qualified_error() -> type[Exception]:
    """pkg.errors.Outer.PaymentError: a nested class in a package module."""
    module = types.ModuleType("pkg.errors")

    class Outer:
        class PaymentError(Exception):
            pass

    Outer.__module__ = "pkg.errors"
    Outer.PaymentError.__module__ = "pkg.errors"
    Outer.PaymentError.__qualname__ = "Outer.PaymentError"
    module.Outer = Outer  # type: ignore[attr-defined]
    return Outer.PaymentError


def make_type_only_error() -> type[Exception]:
    """anyio.EndOfStream: raised without a message."""
    return type("EndOfStream", (Exception,), {"__module__": "anyio"})


# ---------------------------------------------------------------- logged scenarios


def s_logged_basic(r: Recorder) -> None:
    log = r.logger("app.payments")
    r.log(log, "INFO", "charging order %d", 42)
    try:
        charge(42)
    except ConnectionError:
        r.exception(log, "payment failed for order %d", 42)
    r.log(log, "WARNING", "order %d left pending", 42)


def _chains(r: Recorder) -> None:
    log = r.logger("app.db")
    r.log(log, "INFO", "connecting")
    try:
        try:
            load_config({})
        except KeyError:
            parse_port("eighty")
    except ValueError:
        r.exception(log, "implicit chain")
    try:
        try:
            load_config({})
        except KeyError as exc:
            raise RuntimeError("config broken") from exc
    except RuntimeError:
        r.exception(log, "explicit chain")
    try:
        try:
            load_config({})
        except KeyError:
            raise LookupError("no db section") from None
    except LookupError:
        r.exception(log, "from none")
    r.log(log, "INFO", "done")


def s_chains_std(r: Recorder) -> None:
    _chains(r)


def s_chains_dash(r: Recorder) -> None:
    _chains(r)


def s_chains_basic(r: Recorder) -> None:
    _chains(r)


def s_chains_bracket(r: Recorder) -> None:
    _chains(r)


def s_chains_iso(r: Recorder) -> None:
    _chains(r)


def s_carets(r: Recorder) -> None:
    log = r.logger("app.calc")
    data: dict[str, dict[str, int]] = {"a": {}}
    try:
        data["a"]["b"] += 1
    except KeyError:
        r.exception(log, "subscript")
    try:
        total = 1 + len(data) + None  # type: ignore[operator]
        print(total)
    except TypeError:
        r.exception(log, "binary op")

    def handler() -> float:
        return compute(1, 0)

    try:
        handler()
    except ZeroDivisionError:
        r.exception(log, "whole-line call")


def s_multiline_call(r: Recorder) -> None:
    log = r.logger("app.calc")
    try:
        result = compute(
            1,
            0,
        )
        print(result)
    except ZeroDivisionError:
        r.exception(log, "multi-line call")
    r.log(log, "INFO", "still running")


def s_frames_without_source(r: Recorder) -> None:
    log = r.logger("app.plugins")
    namespace: dict[str, Any] = {}
    exec(compile("def g():\n    return 1 / 0\n", "<string>", "exec"), namespace)
    exec(compile("def ci(f):\n    return f()\n", "<decorator-gen-39>", "exec"), namespace)
    try:
        namespace["ci"](namespace["g"])
    except ZeroDivisionError:
        r.exception(log, "generated code failed")
    try:
        importlib.import_module("no_such_module_for_logwatch")
    except ImportError:
        r.exception(log, "plugin import failed")


def s_recursion(r: Recorder) -> None:
    log = r.logger("app.tree")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(120)
    try:
        recurse(0)
    except RecursionError:
        sys.setrecursionlimit(limit)
        r.exception(log, "walk failed")
    finally:
        sys.setrecursionlimit(limit)


def s_mutual_recursion(r: Recorder) -> None:
    log = r.logger("app.tree")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(160)
    try:
        ping(0)
    except RecursionError:
        sys.setrecursionlimit(limit)
        r.exception(log, "ping-pong failed")
    finally:
        sys.setrecursionlimit(limit)
    r.log(log, "INFO", "after the long one")


def s_type_only(r: Recorder) -> None:
    log = r.logger("app.stream")
    try:
        raise ValueError
    except ValueError:
        r.exception(log, "bare raise")
    try:
        raise ValueError("")
    except ValueError:
        r.exception(log, "empty message")
    end_of_stream = make_type_only_error()
    try:
        raise end_of_stream
    except end_of_stream:
        r.exception(log, "stream ended")
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        r.exception(log, "interrupted")
    try:
        sys.exit(3)
    except SystemExit:
        r.exception(log, "exit requested")


def s_str_failure(r: Recorder) -> None:
    log = r.logger("app.weird")
    try:
        raise Weird("hidden")
    except Weird:
        r.exception(log, "weird failure")


def s_multiline_message(r: Recorder) -> None:
    log = r.logger("app.config")
    try:
        raise RuntimeError("config invalid:\n  key 'port' must be int\nkey 'host' missing")
    except RuntimeError:
        r.exception(log, "bad config")
    try:
        raise TypeError("expected int\ngot: str\nValueError: not really")
    except TypeError:
        r.exception(log, "looks like structure")
    try:
        parse_port("eighty")
    except ValueError as exc:
        # the message's second line reads like a frameless exception line
        r.exception(log, "bad port:\n%s: %s", type(exc).__name__, exc)
    r.log(log, "INFO", "multi-line\nrecord message\n  indented too")
    r.log(log, "ERROR", "multi-line error\nsecond line")


def s_message_with_traceback(r: Recorder) -> None:
    log = r.logger("app.runner")
    try:
        raise ValueError("bad input: Traceback (most recent call last): was in the payload")
    except ValueError:
        r.exception(log, "inline")
    try:
        compute(1, 0)
    except ZeroDivisionError:
        child_text = traceback.format_exc()
    try:
        raise RuntimeError("child failed:\n" + child_text.rstrip("\n"))
    except RuntimeError:
        r.exception(log, "child process failed")
    r.log(log, "INFO", "next")


def s_notes(r: Recorder) -> None:
    log = r.logger("app.import")
    if PY < (3, 11):
        return
    try:
        try:
            parse_port("x")
        except ValueError as exc:
            exc.add_note("while importing row 17 of users.csv")
            exc.add_note("second note\nspanning two lines")
            raise
    except ValueError:
        r.exception(log, "import failed")
    r.log(log, "INFO", "next")


def _task(i: int) -> None:
    raise ValueError("task %d failed" % i)


def s_exception_groups(r: Recorder) -> None:
    log = r.logger("app.batch")
    if PY < (3, 11):
        return
    eg_type = ExceptionGroup  # 3.11+, checked above
    errors: list[Exception] = []
    for i in range(2):
        try:
            _task(i)
        except ValueError as exc:
            errors.append(exc)
    try:
        try:
            load_config({})
        except KeyError as exc:
            raise TypeError("typed") from exc
    except TypeError as exc:
        errors.append(exc)
    errors.append(eg_type("inner batch", [TypeError("task 3 failed"), OSError("disk full")]))
    try:
        group = eg_type("batch failed", errors)
        group.add_note("group note")
        raise group
    except eg_type:
        r.exception(log, "batch failed")
    try:
        raise eg_type("many", [ValueError(i) for i in range(17)])
    except eg_type:
        r.exception(log, "many failed")
    deep: Exception = ValueError("leaf")
    for i in range(12):
        deep = eg_type("level %d" % i, [deep])
    try:
        raise deep
    except eg_type:
        r.exception(log, "deep failed")
    try:
        try:
            raise eg_type("first", [ValueError(1)])
        except eg_type as exc:
            raise RuntimeError("after group") from exc
    except RuntimeError:
        r.exception(log, "group as cause")
    r.log(log, "INFO", "next")


def s_syntax_in_traceback(r: Recorder) -> None:
    log = r.logger("app.plugins")
    try:
        compile("x = (1,\n", "<plugin>", "exec")
    except SyntaxError:
        r.exception(log, "plugin failed to compile")
    try:
        exec("def f(:\n    pass\n")
    except SyntaxError:
        r.exception(log, "exec failed")
    try:
        compile("def f():\n  x = 1\n    y = 2\n", "<plugin2>", "exec")
    except SyntaxError:
        r.exception(log, "indentation")


def s_name_error_hint(r: Recorder) -> None:
    log = r.logger("app.calc")
    value = 1
    try:
        print(valeu)  # type: ignore[name-defined]
    except NameError:
        r.exception(log, "typo")
    try:
        print(value.real_part)  # type: ignore[attr-defined]
    except AttributeError:
        r.exception(log, "attribute typo")


def s_qualified_types(r: Recorder) -> None:
    log = r.logger("app.payments")
    error = make_qualified_error()
    try:
        raise error("card declined: code=51")
    except error:
        r.exception(log, "declined")


def _pool_divide(a: int, b: int) -> float:
    return a / b


def s_process_pool(r: Recorder) -> None:
    import concurrent.futures

    log = r.logger("app.pool")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_pool_divide, 1, 0)
        try:
            future.result()
        except ZeroDivisionError:
            r.exception(log, "remote failure")
    r.log(log, "INFO", "pool closed")


def s_stack_info(r: Recorder) -> None:
    log = r.logger("app.audit")
    text = "checkpoint reached"
    with r.span(kind="record", header=r.header(log, "ERROR", text)):
        log.error(text, stack_info=True)
    try:
        parse_port("x")
    except ValueError:
        r.exception(log, "with stack", stack_info=True)
    r.log(log, "INFO", "next")


def s_tracebacklimit_zero(r: Recorder) -> None:
    log = r.logger("django.request")
    old = getattr(sys, "tracebacklimit", None)
    sys.tracebacklimit = 0
    try:
        parse_port("x")
    except ValueError:
        r.exception(log, "Internal Server Error: /api/orders/")
    finally:
        if old is None:
            del sys.tracebacklimit
        else:
            sys.tracebacklimit = old
    r.log(log, "INFO", "next")


def s_warning_level_traceback(r: Recorder) -> None:
    log = r.logger("app.retry")
    try:
        charge(7)
    except ConnectionError:
        r.exception(log, "retrying order %d", 7, level="WARNING")
    try:
        charge(8)
    except ConnectionError:
        r.exception(log, "order %d failed hard", 8, level="CRITICAL")


def s_framework_gunicorn(r: Recorder) -> None:
    log = r.logger("gunicorn.error")
    r.log(log, "INFO", "Booting worker with pid: 4242")
    try:
        charge(1)
    except ConnectionError:
        r.exception(log, "Error handling request /api/orders")


def s_framework_celery(r: Recorder) -> None:
    log = r.logger("celery.app.trace")
    r.log(log, "INFO", "Task app.tasks.charge[3f2a9c] received")
    try:
        charge(2)
    except ConnectionError:
        r.exception(log, "Task app.tasks.charge[3f2a9c] raised unexpected: ConnectionError()")


def s_framework_uvicorn(r: Recorder) -> None:
    log = r.logger("uvicorn.error")
    r.log(log, "INFO", "Started server process [4242]")
    try:
        charge(3)
    except ConnectionError:
        r.exception(log, "Exception in ASGI application")


def s_framework_django(r: Recorder) -> None:
    log = r.logger("django.request")
    with r.span(kind="record", header={"message": "GET /api/orders/ 200"}):
        log.info("GET /api/orders/ 200")
    try:
        charge(4)
    except ConnectionError:
        with r.span(kind="traceback", exc=sys.exc_info()[1]):
            # django.request's own call: error() with exc_info, not exception()
            log.error("Internal Server Error: /api/orders/", exc_info=True)  # noqa: G201
    with r.span(kind="record", header={"message": "GET /health 200"}):
        log.info("GET /health 200")
    r.child("uncaught_value")


def s_asyncio_logged(r: Recorder) -> None:
    import asyncio  # here, not at the top: it costs every child process 0.1 s

    loop = asyncio.new_event_loop()  # before the handler: it logs its selector at DEBUG
    log = r.logger("asyncio")
    box: dict[str, BaseException] = {}

    async def job() -> None:
        exc = ValueError("never retrieved")
        box["exc"] = exc
        raise exc

    async def main() -> None:
        task = asyncio.ensure_future(job())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        del task

    with r.span(kind="traceback", header=r.header(log, "ERROR", "")) as span_box:
        loop.run_until_complete(main())
        gc.collect()
        span_box.update(describe(box["exc"]))
    loop.close()
    r.events[-1]["header"]["message"] = None  # the message has a second `future:` line
    r.log(log, "INFO", "loop closed")


def s_json_records(r: Recorder) -> None:
    """JSON lines written by a stdlib json formatter, as python-json-logger does."""

    class JsonFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            doc = {
                "timestamp": datetime.datetime.fromtimestamp(
                    record.created, datetime.timezone.utc
                ).isoformat(),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                "request_id": "r-17",
            }
            if record.exc_info:
                doc["exc_info"] = self.formatException(record.exc_info)
            return json.dumps(doc)

    r.handler.setFormatter(JsonFormatter())
    log = r.logger("app.api")
    with r.span(kind="json", header={"level": "INFO", "logger": "app.api", "message": "hello"}):
        log.info("hello")
    try:
        load_config({"db": {}})
    except KeyError:
        with r.span(
            kind="json",
            exc=sys.exc_info()[1],
            header={"level": "ERROR", "logger": "app.api", "message": "lookup failed"},
        ):
            log.exception("lookup failed")
    try:
        try:
            load_config({})
        except KeyError as exc:
            raise RuntimeError("config broken") from exc
    except RuntimeError:
        with r.span(kind="json", exc=sys.exc_info()[1], header={"message": "chained"}):
            log.exception("chained")


def s_structlog_dicts(r: Recorder) -> None:
    """structlog's dict_tracebacks shape, built from a live traceback."""
    log = r.logger("app.structured")

    class DictFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            doc: Truth = {"event": record.getMessage(), "level": record.levelname.lower()}
            if record.exc_info:
                stacks: list[Truth] = []
                exc: BaseException | None = record.exc_info[1]
                is_cause = False
                while exc is not None:
                    stacks.append(
                        {
                            "exc_type": type(exc).__name__,
                            "exc_value": str(exc),
                            "syntax_error": None,
                            "is_cause": is_cause,
                            "frames": [
                                {
                                    "filename": summary.filename,
                                    "lineno": summary.lineno,
                                    "name": summary.name,
                                    "locals": None,
                                }
                                for summary in traceback.extract_tb(exc.__traceback__)
                            ],
                        }
                    )
                    if exc.__cause__ is not None:
                        exc, is_cause = exc.__cause__, True
                    elif exc.__context__ is not None and not exc.__suppress_context__:
                        exc, is_cause = exc.__context__, False
                    else:
                        exc = None
                doc["exception"] = stacks
            return json.dumps(doc)

    r.handler.setFormatter(DictFormatter())
    try:
        try:
            load_config({})
        except KeyError as exc:
            raise RuntimeError("config broken") from exc
    except RuntimeError:
        with r.span(kind="json", exc=sys.exc_info()[1], header={"message": "structured"}):
            log.exception("structured")


def s_long_message(r: Recorder) -> None:
    log = r.logger("app.bulk")
    try:
        raise ValueError("rejected ids: " + ",".join(str(i) for i in range(4000)))
    except ValueError:
        r.exception(log, "bulk insert failed")
    r.log(log, "INFO", "next")


def s_captured_warnings(r: Recorder) -> None:
    log = r.logger("py.warnings")
    r.log(r.logger("app"), "INFO", "start")
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            with r.span(kind="record", header={"level": "WARNING", "logger": "py.warnings"}):
                warnings.warn("old() is deprecated", DeprecationWarning, stacklevel=1)
    finally:
        logging.captureWarnings(False)
    del log


# ------------------------------------------------------ uncaught / stderr scenarios


def s_uncaught(r: Recorder) -> None:
    log = r.logger("app.jobs")
    r.log(log, "INFO", "nightly export finished")
    r.child("uncaught_value")
    r.log(log, "INFO", "restarted")
    r.child("uncaught_chain")
    r.log(log, "ERROR", "worker died")
    r.log(log, "INFO", "restarting again")
    r.child("keyboard_interrupt")
    r.log(log, "WARNING", "disk almost full")
    r.child("uncaught_value")


def s_cpython_headers(r: Recorder) -> None:
    log = r.logger("app.main")
    r.log(log, "INFO", "starting workers")
    r.child("thread")
    r.log(log, "INFO", "tick")
    r.child("asyncio_never_retrieved")
    r.log(log, "INFO", "tick")
    r.child("unraisable")
    r.log(log, "INFO", "tick")
    r.child("atexit")
    r.log(log, "INFO", "tick")
    r.child("process")
    r.log(log, "INFO", "tick")
    r.child("logging_error")
    r.log(log, "INFO", "done")


def s_syntax_startup(r: Recorder) -> None:
    log = r.logger("app.boot")
    sources = {
        "bad_paren.py": "def f():\n    x = (1,\n",
        "bad_indent.py": "def f():\n  x = 1\n    y = 2\n",
    }
    for filename, source in sources.items():
        path = r.path.parent / (r.name + "_" + filename)
        path.write_text(source)
        r.log(log, "INFO", "launching %s", filename)
        try:
            compile(source, path, "exec")
        except SyntaxError as exc:
            truth = describe(exc)
        with r.span(kind="traceback", **truth), r.path.open("ab") as stderr:
            subprocess.run([sys.executable, str(path)], stderr=stderr, check=False, timeout=60)


def s_stderr_misc(r: Recorder) -> None:
    log = r.logger("app.main")
    r.log(log, "INFO", "start")
    r.child("print_stack", kind="stack")
    r.log(log, "INFO", "tick")
    r.child("warning", kind="warning")
    r.log(log, "INFO", "tick")
    r.child("faulthandler", kind="crash")
    r.log(log, "INFO", "tick")
    r.child("faulthandler_dump", kind="crash")
    r.log(log, "INFO", "done")


def s_colors(r: Recorder) -> None:
    log = r.logger("app.main")
    r.log(log, "INFO", "start")
    r.child("uncaught_value", env={"PYTHON_COLORS": "1", "FORCE_COLOR": "1"})
    r.log(log, "INFO", "done")


# ---------------------------------------------------------------- child programs


def _record(sidecar: str, exc: BaseException) -> None:
    Path(sidecar).write_text(json.dumps(describe(exc)))


def _hook_excepthook(sidecar: str) -> None:
    original = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        _record(sidecar, value)
        original(kind, value, tb)

    sys.excepthook = hook


def c_uncaught_value(sidecar: str) -> None:
    _hook_excepthook(sidecar)
    charge(5)


def c_uncaught_chain(sidecar: str) -> None:
    _hook_excepthook(sidecar)
    try:
        load_config({})
    except KeyError:
        parse_port("eighty")


def c_keyboard_interrupt(sidecar: str) -> None:
    _hook_excepthook(sidecar)
    raise KeyboardInterrupt


def c_thread(sidecar: str) -> None:
    original = threading.excepthook

    def hook(args: Any) -> None:
        _record(sidecar, args.exc_value)
        original(args)

    threading.excepthook = hook
    worker = threading.Thread(target=charge, args=(6,), name="uploader")
    worker.start()
    worker.join()


def c_asyncio_never_retrieved(sidecar: str) -> None:
    import asyncio

    async def job() -> None:
        exc = ValueError("never retrieved")
        _record(sidecar, exc)
        raise exc

    async def main() -> None:
        task = asyncio.ensure_future(job())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        del task
        gc.collect()

    asyncio.run(main())


class _Conn:
    def __del__(self) -> None:
        raise ValueError("close failed in __del__")


def c_unraisable(sidecar: str) -> None:
    original = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        _record(sidecar, unraisable.exc_value)
        original(unraisable)

    sys.unraisablehook = hook
    _Conn()
    gc.collect()


def c_atexit(sidecar: str) -> None:
    def flush_metrics() -> None:
        exc = OSError("metrics endpoint unreachable")
        _record(sidecar, exc)
        raise exc

    atexit.register(flush_metrics)


def _process_target(sidecar: str) -> None:
    exc = ValueError("worker failed")
    _record(sidecar, exc)
    raise exc


def c_process(sidecar: str) -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    process = context.Process(target=_process_target, args=(sidecar,), name="Process-1")
    process.start()
    process.join()


def c_logging_error(sidecar: str) -> None:
    logging.basicConfig(format=FORMATS["std"][0])
    try:
        print("value is %d" % ("not-a-number",))  # type: ignore[str-format]
    except TypeError as exc:
        _record(sidecar, exc)
    logging.getLogger("app.report").error("value is %d", "not-a-number")


def c_print_stack(sidecar: str) -> None:
    traceback.print_stack()


def c_warning(sidecar: str) -> None:
    warnings.simplefilter("always")
    warnings.warn("old() is deprecated", DeprecationWarning, stacklevel=1)
    Path(sidecar).write_text(json.dumps({"header": {"level": "WARNING"}}))


def c_faulthandler(sidecar: str) -> None:
    import ctypes
    import faulthandler

    Path(sidecar).write_text(json.dumps({"header": {"level": "CRITICAL"}}))
    faulthandler.enable()
    ctypes.string_at(0)


def c_faulthandler_dump(sidecar: str) -> None:
    import faulthandler

    faulthandler.dump_traceback(all_threads=False)


# ---------------------------------------------------------------- driver

SCENARIOS: dict[str, Callable[[Recorder], None]] = {
    name[2:]: func for name, func in sorted(globals().items()) if name.startswith("s_")
}
CHILDREN: dict[str, Callable[[str], None]] = {
    name[2:]: func for name, func in globals().items() if name.startswith("c_")
}
FORMAT_OF = {
    "chains_dash": "dash",
    "chains_basic": "basic",
    "chains_bracket": "bracket",
    "chains_iso": "iso",
    "framework_gunicorn": "gunicorn",
    "framework_celery": "celery",
    "framework_uvicorn": "uvicorn",
    "framework_django": "django",
}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        CHILDREN[argv[1]](argv[2])
        return 0
    outdir = Path(argv[0])
    only = set(argv[1:])
    outdir.mkdir(parents=True, exist_ok=True)
    scenarios: Truth = {}
    truth: Truth = {"python": "%d.%d" % PY, "scenarios": scenarios}
    for name, func in SCENARIOS.items():
        if only and name not in only:
            continue
        recorder = Recorder(outdir, name, FORMAT_OF.get(name, "std"))
        try:
            func(recorder)
        finally:
            recorder.close()
        scenarios[name] = {"format": recorder.fmt, "events": recorder.events}
    (outdir / "truth.json").write_text(json.dumps(truth, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
