"""Batch benchmarks: a bare line loop, grep, `logwatch replay`, and the assembler alone."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.data import grep_pattern
from bench.measure import Timing, percentile, timed

_LINE_LOOP = "import sys\nfor line in open(sys.argv[1], 'rb'):\n    pass\n"
_CHUNK = 1 << 16
_BEST_OF = 3


def line_loop(path: Path, *, best_of: int = 3) -> Timing:
    """Python's floor: ``for line in open(f, 'rb'): pass``, interpreter start included."""
    return timed([sys.executable, "-c", _LINE_LOOP, str(path)], best_of=best_of)


def grep(path: Path) -> Timing:
    """``grep -cE`` with the ten rules OR-ed into one pattern."""
    return timed(["grep", "-cE", grep_pattern(), str(path)], best_of=3)


@dataclass(frozen=True, slots=True)
class ReplayRun:
    replay: Timing
    loop: Timing  # the line loop on the same file, timed between the replays


def replay(
    config: Path, path: Path, out: Path, *, accelerate: bool = False, one_process: bool = False
) -> ReplayRun:
    """``logwatch replay --json`` as a user runs it; what it prints goes to ``out``.

    ``accelerate``: with the optional hyperscan literal scan (``logwatch[fast]``);
    without it, as the default install runs. ``one_process``: without the
    helpers on a second core, one scanning reads ahead, one deciding and
    printing (``LOGWATCH_JOBS=1``). The CPU time counts the helpers' too.

    The line loop runs before each replay, and the best of each is kept: the
    machine's speed drifts over minutes, and a ratio of two figures taken
    minutes apart would carry that drift.
    """
    env = {"LOGWATCH_ACCELERATE": "1" if accelerate else "0"}
    if one_process:
        env["LOGWATCH_JOBS"] = "1"
    loops: list[Timing] = []
    replays: list[Timing] = []
    with out.open("wb") as stream:
        for _ in range(_BEST_OF):
            loops.append(line_loop(path, best_of=1))
            replays.append(timed(
                [sys.executable, "-m", "logwatch", "replay", "-c", str(config), "--json",
                 str(path)],
                stdout=stream,
                env=env,
            ))
    with out.open("rb") as stream:
        printed = sum(1 for _ in stream) // _BEST_OF  # every run printed the same
    best = min(replays, key=lambda timing: timing.wall_s)
    return ReplayRun(Timing(best.wall_s, best.cpu_s, printed),
                     min(loops, key=lambda timing: timing.wall_s))


@dataclass(frozen=True, slots=True)
class AssemblerRun:
    seconds: float
    cpu_s: float
    lines: int
    events: int
    tracebacks: int


def assembler_throughput(path: Path) -> AssemblerRun:
    """Framer + assembler over the whole file in 64 KiB chunks, in this process."""
    from logwatch.model import Origin
    from logwatch.multiline import Assembler
    from logwatch.sources.framing import LineFramer

    framer = LineFramer()
    assembler = Assembler(Origin("bench", str(path), "bench"))
    lines = events = tracebacks = 0
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            framed = framer.feed(chunk)
            lines += len(framed)
            for event in assembler.feed(framed):
                events += 1
                tracebacks += bool(event.chain)
    for event in assembler.flush():
        events += 1
        tracebacks += bool(event.chain)
    return AssemblerRun(
        time.perf_counter() - started, time.process_time() - cpu, lines, events, tracebacks
    )


@dataclass(frozen=True, slots=True)
class LatencyRun:
    logged_ms: list[float]  # logger.exception records
    bare_ms: list[float]  # uncaught tracebacks
    flush_after_s: float

    def summary(self) -> dict[str, float]:
        return {
            "logged_p50": percentile(self.logged_ms, 0.5),
            "logged_p95": percentile(self.logged_ms, 0.95),
            "bare_p50": percentile(self.bare_ms, 0.5),
            "bare_p95": percentile(self.bare_ms, 0.95),
        }


def assembler_latency(
    logged: list[str], bare: list[str], *, flush_after_s: float = 0.25
) -> LatencyRun:
    """From the chunk holding a final exception line to its event, with the daemon's idle flush.

    Each record's bytes arrive in one chunk, as one ``write()`` from
    ``logging`` does, after a quiet gap. An event the grammar proves complete
    comes out of ``feed``; one it must hold ("tail") comes out of ``flush``
    once the file has been quiet for ``flush_after``, as the pipeline does.
    """
    from logwatch.model import Origin
    from logwatch.multiline import Assembler
    from logwatch.sources.framing import LineFramer

    framer = LineFramer()
    assembler = Assembler(Origin("bench", "latency.log", "bench"))
    quiet = threading.Event()

    def one(text: str) -> float:
        data = (text + "\n").encode()
        written = time.perf_counter()
        events = assembler.feed(framer.feed(data))
        last_data = time.perf_counter()
        while not events and assembler.pending != "none":
            quiet.wait(max(0.0, last_data + flush_after_s - time.perf_counter()))
            if time.perf_counter() - last_data >= flush_after_s:
                events = assembler.flush()
        if not events:
            raise RuntimeError("the assembler emitted nothing for a whole record")
        return (time.perf_counter() - written) * 1000

    return LatencyRun(
        [one(text) for text in logged], [one(text) for text in bare], flush_after_s
    )
