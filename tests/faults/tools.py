"""The parts of a fault run: the writer process, the logrotate loop, and the truth afterwards.

Truth comes from three places that never ask the daemon: what the writer wrote
(every order number it was given), what is on disk at the end (every
generation of every log), and what the webhook answered 2xx to.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logwatch.status import collect_status
from tests.test_sources_support import logrotate_binary

WRITER = Path(__file__).with_name("writer.py")
HEADER = re.compile(rb"payment failed for order (\d+)\n")
EXC_MESSAGE = re.compile(r"card declined for order (\d+)")


class Writer:
    """The workload process: ``count`` records over ``duration_s``, order n to logs[n % len]."""

    def __init__(self, count: int, duration_s: float, logs: Sequence[Path]) -> None:
        self.count = count
        self.logs = tuple(logs)
        self._process = subprocess.Popen(
            [sys.executable, str(WRITER), str(count), str(duration_s), *map(str, logs)],
            stderr=subprocess.PIPE,
        )

    def orders_for(self, log: Path) -> set[int]:
        """What the writer was told to write to ``log`` (its ledger)."""
        index = self.logs.index(log)
        return {n for n in range(self.count) if n % len(self.logs) == index}

    def running(self) -> bool:
        return self._process.poll() is None

    def finish(self, timeout_s: float) -> None:
        _, stderr = self._process.communicate(timeout=timeout_s)
        assert self._process.returncode == 0, stderr.decode()

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()


class Rotator(threading.Thread):
    """The real ``logrotate -f`` over its own conf and state file, every few (seeded) seconds."""

    def __init__(
        self, workdir: Path, stanzas: Mapping[Path, str], *, every_s: tuple[float, float],
        rng: random.Random,
    ) -> None:
        super().__init__(name="rotator", daemon=True)
        self.binary = logrotate_binary()
        self.conf = workdir / "logrotate.conf"
        self.state = workdir / "logrotate.state"
        self.conf.write_text(
            "".join(f"{log} {{\n{directives}\n}}\n" for log, directives in stanzas.items())
        )
        self.conf.chmod(0o644)  # logrotate refuses a conf others may write
        self.rotations = 0
        self.errors: list[str] = []
        self._every_s = every_s
        self._rng = rng
        self._stopping = threading.Event()

    def run(self) -> None:
        # waiting between rotations is the workload's pace, not synchronisation
        while not self._stopping.wait(self._rng.uniform(*self._every_s)):
            self.rotate()

    def rotate(self) -> None:
        result = subprocess.run(
            [self.binary, "-f", "-s", str(self.state), str(self.conf)],
            capture_output=True, text=True, timeout=30, check=False,
        )
        if result.returncode == 0:
            self.rotations += 1
        else:
            self.errors.append(result.stderr)

    def finish(self) -> None:
        self._stopping.set()
        self.join(timeout=60)
        assert not self.is_alive()
        assert not self.errors, self.errors


def orders_on_disk(log: Path) -> set[int]:
    """Order numbers whose record header is in ``log`` or any rotated generation of it."""
    found: set[int] = set()
    for path in log.parent.glob(f"{log.name}*"):
        found.update(int(number) for number in HEADER.findall(path.read_bytes()))
    return found


@dataclass
class Deliveries:
    """What the webhook accepted, by order number, read from the alert bodies."""

    ids_by_order: dict[int, list[str]] = field(default_factory=dict)
    files_by_order: dict[int, set[str]] = field(default_factory=dict)
    torn: list[dict[str, Any]] = field(default_factory=list)  # bodies that are not one record

    @classmethod
    def of(cls, bodies: Iterable[dict[str, Any]]) -> Deliveries:
        result = cls()
        for body in bodies:
            numbers = {int(n) for n in EXC_MESSAGE.findall(body.get("exc_message") or "")}
            headers = {int(n) for n in HEADER.findall(body["text"].encode() + b"\n")}
            if len(numbers) != 1 or headers != numbers:
                result.torn.append(body)
                continue
            order = numbers.pop()
            result.ids_by_order.setdefault(order, []).append(body["id"])
            result.files_by_order.setdefault(order, set()).add(Path(body["file"]).name)
        return result

    @property
    def orders(self) -> set[int]:
        return set(self.ids_by_order)

    def repeated_ids(self) -> int:
        """Deliveries of an id already delivered: the in-flight sends a crash repeats."""
        return sum(len(ids) - len(set(ids)) for ids in self.ids_by_order.values())

    def reissued(self) -> dict[int, list[str]]:
        """Orders alerted under more than one id: a record read twice as different bytes."""
        return {o: ids for o, ids in self.ids_by_order.items() if len(set(ids)) > 1}

    def counts(self) -> Counter[int]:
        return Counter({order: len(ids) for order, ids in self.ids_by_order.items()})


def outbox_pending(state_dir: Path) -> int:
    """Rows still to deliver, as ``logwatch status`` reports them to an operator."""
    return int(collect_status(state_dir)["outbox"].get("pending", 0))


def pause_until(deadline: float) -> None:
    """Wait for a moment of the fault schedule (a planned kill), not for a condition."""
    time.sleep(max(0.0, deadline - time.monotonic()))


def settle(
    done: Callable[[], bool], *, progress: Callable[[], object], stall_s: float, cap_s: float
) -> bool:
    """Poll until ``done()``; give up once ``progress()`` has not changed for ``stall_s``
    or after ``cap_s`` in all. Unlike ``wait_for`` it answers instead of failing, so the
    assertions after it can tell exactly what is missing."""
    started = last_change = time.monotonic()
    seen = progress()
    while not done():
        now = time.monotonic()
        if now - last_change > stall_s or now - started > cap_s:
            return False
        time.sleep(0.05)
        if (current := progress()) != seen:
            seen, last_change = current, time.monotonic()
    return True
