"""Deterministic benchmark logs and the config that watches them.

Lines look like an ordinary web service writing through ``logging`` with
``%(asctime)s %(levelname)s %(name)s %(message)s`` (about 150 bytes a line);
a given share of records carry one of the real tracebacks from ``corpus``,
mostly under a ``logger.exception`` header, one in ten bare (uncaught).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.corpus import Sample, capture

SEED = 20260301
START = datetime(2026, 3, 1, tzinfo=UTC)

# Ten ordinary rules: POSIX ERE and Python `re` alike, so `grep -cE` runs the same set.
RULES = (
    ("db-down", r"could not connect to (database|server)"),
    ("slow-upstream", r"timed out after [0-9]+ ms"),
    ("deadlock", r"deadlock detected"),
    ("disk", r"(disk|quota) (full|exceeded)"),
    ("permissions", r"[Pp]ermission denied"),
    ("resets", r"connection reset by peer"),
    ("tls", r"certificate verify failed"),
    ("fds", r"[Tt]oo many open files"),
    ("payments", r"card declined for order [0-9]+"),
    ("oom", r"[Oo]ut of memory"),
)
# What the rare lines that should alert say (each matches one rule above).
_ALERTING = (
    "could not connect to database at db-1:5432",
    "upstream inventory timed out after 3000 ms",
    "deadlock detected while updating stock",
    "disk full on /var/lib/shop/uploads",
    "Permission denied: '/var/lib/shop/cache/index'",
    "connection reset by peer while streaming export",
    "certificate verify failed for api.payments.example",
    "Too many open files in worker 3",
    "card declined for order 77812",
    "Out of memory while resizing image",
)
_LOGGERS = (
    "shop.http", "shop.http", "shop.http", "shop.orders", "shop.payments", "shop.cache",
    "shop.db", "shop.worker", "shop.auth", "uvicorn.access", "celery.worker",
)
_PATHS = (
    "/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/cart", "/api/v1/products/{id}",
    "/api/v1/users/{id}/profile", "/healthz", "/api/v1/search", "/api/v1/checkout",
)
_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1",
    "python-httpx/0.27.0",
    "okhttp/4.12.0",
)


@dataclass(frozen=True, slots=True)
class LogStats:
    path: Path
    lines: int
    size: int
    tracebacks: int


class Writer:
    """Endless realistic records from one seed; ``record`` returns one record's lines."""

    def __init__(self, seed: int = SEED, samples: list[Sample] | None = None) -> None:
        self.rng = random.Random(seed)
        self.samples = samples if samples is not None else capture()
        self._ms = 0  # since START
        self._second = -1
        self._second_text = ""

    def stamp(self) -> str:
        self._ms += self.rng.randrange(0, 170)
        second, ms = divmod(self._ms, 1000)
        if second != self._second:
            self._second = second
            self._second_text = (START + timedelta(seconds=second)).strftime("%Y-%m-%d %H:%M:%S")
        return f"{self._second_text},{ms:03d}"

    def plain(self) -> str:
        rng = self.rng
        stamp = self.stamp()
        roll = rng.random()
        if roll < 0.0005:
            return f"{stamp} ERROR {rng.choice(_LOGGERS)} {rng.choice(_ALERTING)}"
        logger = rng.choice(_LOGGERS)
        if roll < 0.03:
            return (f"{stamp} WARNING {logger} retrying request {rng.getrandbits(64):016x}"
                    f" after {rng.randrange(1, 5)} attempts (backoff {rng.random():.2f}s,"
                    f" pool size {rng.randrange(4, 64)}, queue depth {rng.randrange(0, 500)})")
        if roll < 0.15:
            return (f"{stamp} DEBUG {logger} cache lookup key=product:{rng.randrange(10**6)}"
                    f" hit={rng.random() < 0.8} ttl={rng.randrange(60, 3600)}s"
                    f" size={rng.randrange(100, 90000)}B shard={rng.randrange(16)}")
        path = rng.choice(_PATHS).replace("{id}", str(rng.randrange(1, 10**6)))
        return (f"{stamp} INFO {logger} {rng.choice(('GET', 'GET', 'POST', 'PUT'))} {path}"
                f" {rng.choice((200, 200, 200, 201, 204, 304, 404))}"
                f" {rng.random() * 80:.1f}ms user={rng.randrange(1, 99999)}"
                f" request_id={rng.getrandbits(64):016x} ua=\"{rng.choice(_AGENTS)}\"")

    def traceback(self) -> list[str]:
        sample = self.rng.choice(self.samples)
        body = sample.traceback.split("\n")
        if self.rng.random() < 0.1:
            return body  # uncaught: printed to stderr, which goes to the same file
        return [f"{self.stamp()} ERROR shop.worker {sample.message}", *body]

    def records(self, traceback_share: float) -> Iterator[list[str]]:
        while True:
            if self.rng.random() < traceback_share:
                yield self.traceback()
            else:
                yield [self.plain()]


def write_log(path: Path, lines: int, traceback_share: float, seed: int = SEED,
              samples: list[Sample] | None = None) -> LogStats:
    """Write about ``lines`` lines (whole records only), deterministic for a seed."""
    return _write(path, lines, Writer(seed, samples).records(traceback_share), _text_lines)


def write_json_log(path: Path, lines: int, traceback_share: float, seed: int = SEED,
                   samples: list[Sample] | None = None) -> LogStats:
    """The same records as ``write_log``, one JSON object a line (python-json-logger's
    keys), each traceback in its record's ``exc_info``, bare ones too."""
    writer = Writer(seed, samples)
    return _write(path, lines, writer.records(traceback_share),
                  lambda record: _json_lines(record, writer))


def _text_lines(record: list[str]) -> list[str]:
    return record


def _json_lines(record: list[str], writer: Writer) -> list[str]:
    if len(record) > 1 and not record[0].startswith("Traceback"):
        header, body = record[0], record[1:]
    elif len(record) > 1:
        header, body = f"{writer.stamp()} ERROR shop.worker uncaught", record
    else:
        header, body = record[0], []
    day, clock, level, logger, message = header.split(" ", 4)
    doc = {"asctime": f"{day} {clock}", "levelname": level, "name": logger, "message": message}
    if body:
        doc["exc_info"] = "\n".join(body)
    return [json.dumps(doc)]


def _write(path: Path, lines: int, records: Iterator[list[str]],
           shape: Callable[[list[str]], list[str]]) -> LogStats:
    """About ``lines`` lines of ``records`` as ``shape`` writes them, whole records only."""
    written = tracebacks = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        batch: list[str] = []
        for record in records:
            if written >= lines:
                break
            if len(record) > 1 or record[0].startswith("Traceback"):
                tracebacks += 1
            shaped = shape(record)
            batch.extend(shaped)
            written += len(shaped)
            if len(batch) >= 10_000:
                out.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")
    return LogStats(path, written, path.stat().st_size, tracebacks)


# The logs' header as a user would spell it in a source's ``header``.
OWN_HEADER = (
    r"(?P<timestamp>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
    r" (?P<level>[A-Z]+) (?P<logger>\S+) (?P<message>.*)"
)


def grep_pattern() -> str:
    return "|".join(f"({pattern})" for _, pattern in RULES)


def write_config(root: Path, *, url: str, flush_after: str = "250ms",
                 paths: str = "logs/*.log", start_at: str = "end", format: str = "auto",
                 name: str = "logwatch.yaml", header: str | None = None) -> Path:
    """Ten regex rules and a traceback rule, all routed to one webhook.

    ``header``: the source's own header pattern, in place of the built-in ones.
    """
    rules = "\n".join(
        f"  - name: {name}\n    match: {{message: '{pattern}'}}\n"
        f"    severity: error\n    notify: [hook]"
        for name, pattern in RULES
    )
    header_line = f"\n    header: {json.dumps(header)}" if header is not None else ""
    config = root / name
    config.write_text(
        f"""state_dir: {root / "state"}
host: bench
sources:
  - name: app
    paths: ["{root / paths}"]
    format: {format}{header_line}
    start_at: {start_at}
    multiline: {{flush_after: {flush_after}}}
rules:
{rules}
  - name: tracebacks
    match: {{traceback: true}}
    severity: error
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{url}"}}
delivery: {{initial_backoff: 100ms, max_backoff: 1s, timeout: 5s}}
""",
        encoding="utf-8",
    )
    return config
