"""Clocks for the benchmarks: wall and CPU time of child processes, /proc readings, percentiles."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

_TICKS = os.sysconf("SC_CLK_TCK")
# Children run as an installed package does: byte-compiled once, not compiled
# again from source at every start (some environments set this variable).
_INSTALLED = {name: value for name, value in os.environ.items()
              if name != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True, slots=True)
class Timing:
    wall_s: float
    cpu_s: float  # user + system of the child
    stdout_lines: int = 0


def timed(
    argv: Sequence[str], *, stdout: IO[bytes] | None = None, best_of: int = 1,
    env: dict[str, str] | None = None,
) -> Timing:
    """Run ``argv`` to completion ``best_of`` times; the fastest run's wall and CPU time."""
    best: Timing | None = None
    for _ in range(best_of):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        # a pipe, not /dev/null: GNU grep stops at the first match when output is discarded
        subprocess.run(argv, stdout=stdout or subprocess.PIPE, check=True,
                       env={**_INSTALLED, **(env or {})})
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if best is None or wall < best.wall_s:
            best = Timing(wall, cpu)
    assert best is not None
    return best


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def run_seconds(pid: int) -> float:
    """CPU time the live threads of a process have run, in nanoseconds' resolution.

    For a nearly idle process: ``cpu_seconds`` counts in clock ticks (10 ms),
    a third of the idle budget over 30 s, where the scheduler's own figure
    (``/proc/<pid>/task/*/schedstat``) is exact. Threads that ended are not counted.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile
            continue
    return total / 1e9


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil without float surprises at 1.0
    return ordered[int(rank) - 1]


def machine() -> dict[str, str]:
    """What the README's Performance section names: cores, CPU model, Python."""
    import platform

    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cores": str(os.cpu_count()), "cpu": model, "python": platform.python_version()}
