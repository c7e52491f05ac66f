"""The live daemon: ingest rate and CPU, write-to-webhook latency, RSS, soak, idle CPU.

Every daemon runs as ``logwatch run`` in a subprocess (through the tests'
``running_daemon``), watching files in a temp dir and posting to a webhook
server on 127.0.0.1 in this process.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import subprocess
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.data import Writer, write_config
from bench.measure import cpu_seconds, percentile, rss_mib, run_seconds
from tests.daemon_harness import running_daemon


@dataclass
class Hook:
    """What the local webhook endpoint received, with the monotonic time of arrival."""

    arrivals: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


@contextmanager
def webhook() -> Iterator[tuple[str, Hook]]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrived = time.monotonic()
            with hook.lock:
                hook.arrivals.append((arrived, json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts", hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _committed(state_dir: Path, path: Path) -> tuple[int, int]:
    """The daemon's committed (offset, line number) for a file; (0, 1) before its first commit."""
    db = state_dir / "state.db"
    if not db.exists():
        return 0, 1
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute(
            "SELECT offset, lineno FROM files WHERE path = ? AND state = 'active'", (str(path),)
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 1)


def _daemon_args() -> tuple[str, ...]:
    return ("--log-level", "warning")


# The daemon as the default install runs it: without the optional literal
# accelerator (logwatch[fast] adds a few MiB), and byte-compiled as an
# installed package is (an empty value turns the variable off).
DAEMON_ENV = {"LOGWATCH_ACCELERATE": "0", "PYTHONDONTWRITEBYTECODE": ""}


def _daemon(config: Path, workdir: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return running_daemon(config, workdir, args=_daemon_args(), env=DAEMON_ENV)


def _fresh(root: Path, name: str) -> Path:
    workdir = root / name
    (workdir / "logs").mkdir(parents=True)
    return workdir


# -- ingest -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestRun:
    drain_lines_per_s: float  # everything written at once: how fast it is worked off
    drain_cpu: float  # cores busy while draining
    sustained_lines_per_s: float  # highest paced rate tried whose lag stayed under 1 s
    sustained_max_lag_s: float
    sustained_cpu: float
    alerts: int
    drain_rss_before_mib: float  # the daemon idle, before the append
    drain_rss_peak_mib: float  # the most seen while it worked the append off


@dataclass(frozen=True, slots=True)
class DrainRun:
    lines_per_s: float
    cpu: float  # cores busy while draining
    rss_before_mib: float  # the daemon idle, before the append
    rss_peak_mib: float  # the most seen while it worked the append off


def drain(
    root: Path, name: str, data: bytes, url: str, *, seconds: float, header: str | None = None
) -> DrainRun:
    """Append ``data`` at once to a watched file; how fast a fresh daemon works it off.

    ``header``: the source's own header pattern, in place of the built-in ones.
    """
    workdir = _fresh(root, name)
    log = workdir / "logs" / "app.log"
    log.touch()
    config = write_config(workdir, url=url, header=header)
    with _daemon(config, workdir) as process:
        rss_before = rss_peak = rss_mib(process.pid)
        cpu0, started = cpu_seconds(process.pid), time.monotonic()
        with log.open("ab") as out:
            out.write(data)
        deadline = started + seconds
        while time.monotonic() < deadline:
            rss_peak = max(rss_peak, rss_mib(process.pid))
            offset, _ = _committed(workdir / "state", log)
            if offset >= len(data):
                break
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        _, lineno = _committed(workdir / "state", log)
        cpu = (cpu_seconds(process.pid) - cpu0) / elapsed
    return DrainRun((lineno - 1) / elapsed, cpu, rss_before, rss_peak)


def ingest(
    root: Path, source: Path, *, drain_s: float, paced_s: float, header: str
) -> tuple[IngestRun, DrainRun]:
    """Drain a big append, then pace writes at shares of that rate until lag stays < 1 s;
    and drain it again with the source's own ``header`` pattern."""
    data = source.read_bytes()
    with webhook() as (url, hook):
        drained = drain(root, "ingest", data, url, seconds=drain_s)
        drain_rate, drain_cpu = drained.lines_per_s, drained.cpu
        rss_before, rss_peak = drained.rss_before_mib, drained.rss_peak_mib
        own = drain(root, "ingest-own-header", data, url, seconds=drain_s, header=header)
        # paced, each step on a fresh daemon: the same lines at a share of the drain rate
        lines = data.splitlines(keepends=True)
        result = (0.0, float("inf"), 0.0)
        for share in (0.9, 0.7, 0.5, 0.3):
            rate = drain_rate * share
            workdir = _fresh(root, f"paced-{round(share * 100)}")
            log = workdir / "logs" / "app.log"
            log.touch()
            config = write_config(workdir, url=url)
            with _daemon(config, workdir) as process:
                lag, cpu = _paced(process.pid, workdir / "state", log, lines, rate, paced_s)
            result = (rate, lag, cpu)
            if lag < 1.0:
                break
        alerts = hook.count()
    return IngestRun(drain_rate, drain_cpu, result[0], result[1], result[2], alerts,
                     rss_before, rss_peak), own


def _paced(
    pid: int, state_dir: Path, log: Path, lines: list[bytes], rate: float, seconds: float
) -> tuple[float, float]:
    """Append ``rate`` lines/s for ``seconds``; the worst lag seen (s) and cores used."""
    written: list[tuple[float, int]] = []  # (when, file size after the write)
    stop = threading.Event()
    size = base = log.stat().st_size

    def write() -> None:
        nonlocal size
        index, started = 0, time.monotonic()
        with log.open("ab", buffering=0) as out:
            while not stop.is_set():
                due = int((time.monotonic() - started) * rate) - index
                if due > 0:
                    batch = b"".join(lines[(index + i) % len(lines)] for i in range(due))
                    out.write(batch)
                    index += due
                    size += len(batch)
                    written.append((time.monotonic(), size))
                stop.wait(0.01)

    cpu0, started = cpu_seconds(pid), time.monotonic()
    writer = threading.Thread(target=write)
    writer.start()
    worst = 0.0
    try:
        while time.monotonic() - started < seconds:
            time.sleep(0.25)
            offset, _ = _committed(state_dir, log)
            now = time.monotonic()
            # lag: how long ago the writer had already put down the committed offset's bytes
            behind = next((when for when, end in written if end > max(offset, base)), None)
            if behind is not None:
                worst = max(worst, now - behind)
    finally:
        stop.set()
        writer.join()
    cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - started)
    return worst, cpu


# -- latency ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencyRun:
    logged_ms: list[float]
    bare_ms: list[float]
    lost: int
    flush_after_s: float
    # detection alone: from the write to the alert decided, when the daemon
    # begins committing it to the outbox (``created``, taken before the commit)
    logged_detect_ms: list[float]
    bare_detect_ms: list[float]

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, values in (("logged", self.logged_ms), ("bare", self.bare_ms),
                             ("logged_detect", self.logged_detect_ms),
                             ("bare_detect", self.bare_detect_ms)):
            for share in (0.5, 0.95, 0.99):
                # none at all (every record lost) shows as nan, not as a crash
                value = percentile(values, share) if values else float("nan")
                out[f"{name}_p{round(share * 100)}"] = value
        return out


def _fail(order: int) -> None:
    raise ValueError(f"card declined for order {order}")


def latency(root: Path, *, samples: int, flush_after_s: float = 0.25) -> LatencyRun:
    """From the write of a record to its webhook request, for logged and bare tracebacks."""
    rng = random.Random(8)
    with webhook() as (url, hook):
        workdir = _fresh(root, "latency")
        path = workdir / "logs" / "app.log"
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        app = logging.getLogger("bench.shop.payments")
        app.propagate = False
        app.addHandler(handler)
        app.info("service started")
        config = write_config(workdir, url=url, flush_after=f"{round(flush_after_s * 1000)}ms")
        # exc_message -> (kind, written at: monotonic, and wall-clock as the outbox has it)
        sent: dict[str, tuple[str, float, float]] = {}
        try:
            with _daemon(config, workdir), path.open("ab") as raw:
                for i in range(samples * 2):
                    key = f"card declined for order {i}"
                    try:
                        _fail(i)
                    except ValueError:
                        if i % 2 == 0:
                            sent[key] = ("logged", time.monotonic(), time.time())
                            app.exception("payment failed for order %d", i)
                        else:
                            text = traceback.format_exc().encode()
                            sent[key] = ("bare", time.monotonic(), time.time())
                            raw.write(text)
                            raw.flush()
                    # a quiet gap longer than flush_after, so no record closes the one before
                    time.sleep(flush_after_s + 0.05 + rng.random() * 0.05)
                deadline = time.monotonic() + 5
                while hook.count() < len(sent) and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            app.removeHandler(handler)
            handler.close()
    arrived: dict[str, float] = {}
    with hook.lock:
        for when, body in hook.arrivals:
            arrived.setdefault(str(body.get("exc_message")), when)
    committed = _outbox_times(workdir / "state")
    logged: list[float] = []
    bare: list[float] = []
    logged_detect: list[float] = []
    bare_detect: list[float] = []
    for key, (kind, written, written_wall) in sent.items():
        if key in arrived:
            (logged if kind == "logged" else bare).append((arrived[key] - written) * 1000)
        if key in committed:
            detected = (committed[key] - written_wall) * 1000
            (logged_detect if kind == "logged" else bare_detect).append(detected)
    return LatencyRun(logged, bare, len(sent) - len(logged) - len(bare), flush_after_s,
                      logged_detect, bare_detect)


def _outbox_times(state_dir: Path) -> dict[str, float]:
    """When the daemon decided each alert (wall clock), by exception message.

    The outbox's ``created`` is taken as the commit that queues the alert
    begins, before its fsync: it is when detection ended.
    """
    with sqlite3.connect(f"file:{state_dir / 'state.db'}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute("SELECT payload, created FROM outbox").fetchall()
    times: dict[str, float] = {}
    for payload, created in rows:
        times.setdefault(str(json.loads(payload).get("exc_message")), float(created))
    return times


# -- memory and idle ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FootprintRun:
    rss_one_mib: float
    rss_many_mib: float
    files: int
    idle_cpu_share: float  # of one core, watching ``files`` files
    idle_seconds: float


def footprint(root: Path, *, files: int, idle_s: float) -> FootprintRun:
    """RSS with one watched file and with ``files``; CPU while nothing is written to them."""
    with webhook() as (url, _hook):
        one = _fresh(root, "one")
        (one / "logs" / "app.log").write_text("2026-03-01 00:00:00,000 INFO app started\n")
        with _daemon(write_config(one, url=url), one) as process:
            time.sleep(3)
            rss_one = rss_mib(process.pid)
        many = _fresh(root, "many")
        for index in range(files):
            (many / "logs" / f"svc-{index:04d}.log").write_text(
                "".join(f"2026-03-01 00:00:{n:02d},000 INFO svc.{index} started\n"
                        for n in range(10))
            )
        with _daemon(write_config(many, url=url), many) as process:
            time.sleep(5)  # let the first scans and commits settle
            rss_many = rss_mib(process.pid)
            cpu0, started = run_seconds(process.pid), time.monotonic()
            time.sleep(idle_s)
            elapsed = time.monotonic() - started
            idle = (run_seconds(process.pid) - cpu0) / elapsed
            rss_many = max(rss_many, rss_mib(process.pid))
    return FootprintRun(rss_one, rss_many, files, idle, elapsed)


@dataclass(frozen=True, slots=True)
class SoakRun:
    seconds: float
    lines_per_s: float
    rss_start_mib: float
    rss_end_mib: float
    cpu: float
    alerts: int

    @property
    def growth_mib(self) -> float:
        return self.rss_end_mib - self.rss_start_mib


def soak(root: Path, *, seconds: float, rate: float, warmup_s: float = 10.0) -> SoakRun:
    """Steady records (0.1% tracebacks) for ``seconds``: RSS after warm-up and at the end."""
    writer = Writer(seed=99)
    records = writer.records(0.001)
    with webhook() as (url, hook):
        workdir = _fresh(root, "soak")
        path = workdir / "logs" / "app.log"
        path.touch()
        config = write_config(workdir, url=url)
        with _daemon(config, workdir) as process, path.open(
            "a", encoding="utf-8"
        ) as out:
            started = time.monotonic()
            written = 0
            rss_start: float | None = None
            cpu0 = 0.0
            while (now := time.monotonic()) - started < seconds + warmup_s:
                due = int((now - started) * rate) - written
                if due > 0:
                    batch: list[str] = []
                    while len(batch) < due:
                        batch.extend(next(records))
                    out.write("\n".join(batch) + "\n")
                    out.flush()
                    written += len(batch)
                if rss_start is None and now - started >= warmup_s:
                    rss_start, cpu0 = rss_mib(process.pid), cpu_seconds(process.pid)
                time.sleep(0.02)
            assert rss_start is not None
            cpu = (cpu_seconds(process.pid) - cpu0) / seconds
            rss_end = rss_mib(process.pid)
        alerts = hook.count()
    return SoakRun(seconds, rate, rss_start, rss_end, cpu, alerts)

