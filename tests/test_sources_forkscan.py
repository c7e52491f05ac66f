"""Replay's scans made ahead by a forked helper: the same lines come out, the helper is reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from logwatch.config import load_config
from logwatch.jobs import cpus
from logwatch.model import Line
from logwatch.replay import READ_SIZE, replay_files
from logwatch.rules.literals import Literals
from logwatch.sources import forkscan
from logwatch.sources.coldlines import ColdLines
from logwatch.sources.forkscan import _CLAIM, ForkScan
from logwatch.sources.framing import KeepSpans, LineFramer
from tests.coldlines_support import RULES, write_config
from tests.test_sources_coldlines import _text

KEEP = ColdLines(Literals(frozenset({b"could not connect"}), frozenset()), accelerate=False)


def _reads(path: Path, size: int) -> list[bytes]:
    with path.open("rb") as stream:
        return list(iter(lambda: stream.read(size), b""))


def _frame(
    reads: list[bytes], keep_for: Callable[[LineFramer], KeepSpans], max_line_bytes: int = 1 << 20
) -> list[Line]:
    framer = LineFramer(max_line_bytes=max_line_bytes)
    keep = keep_for(framer)
    lines: list[Line] = []
    for chunk in reads:
        lines += framer.feed(chunk, keep)
    return lines


def _awkward_log(path: Path) -> bytes:
    """A NUL hole, records, a line longer than several reads, CRLF lines."""
    data = (
        b"\0" * 5000  # what a copytruncate leaves a sparse file starting with
        + _text(seed=3, count=1500)
        + b"2026-03-01 12:00:00,000 ERROR app could not connect " + b"x" * 20_000 + b"\n"
        + b"2026-03-01 12:00:00,001 INFO app crlf\r\n" * 50
        + _text(seed=4, count=1500)
    )
    path.write_bytes(data)
    return data


def _wait_until_done(scan: ForkScan) -> None:
    """Until the helper has answered every read and left (it is reaped here).

    Its answers are taken in meanwhile: more than a pipe holds would block it.
    """
    pid = scan._pid
    assert pid is not None
    deadline = time.monotonic() + 30
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        assert time.monotonic() < deadline, "the helper did not finish"
        scan._receive()
        time.sleep(0.01)


def _stopping_in_helper(parent: int) -> KeepSpans:
    """KEEP, but a helper stops itself in its first scan (SIGSTOP), as if it had no core."""

    def keep(body: bytes) -> list[tuple[int, int]]:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGSTOP)
        return KEEP(body)

    return keep


def _wait_until_stopped(scan: ForkScan) -> None:
    deadline = time.monotonic() + 30
    while Path(f"/proc/{scan._pid}/stat").read_text().split(") ")[1][0] != "T":
        assert time.monotonic() < deadline, "the helper did not stop"
        time.sleep(0.001)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "app.log"
    _awkward_log(path)
    return path


class TestForkScan:
    @pytest.mark.parametrize("max_line_bytes", [1 << 20, 50])
    @pytest.mark.parametrize("read_size", [997, 4096, 65536])
    def test_lines_are_the_same_as_scanning_each_buffer_here(
        self, log: Path, read_size: int, max_line_bytes: int
    ) -> None:
        """Every line, offset and line number matches, and each answer was made ahead."""
        asked: list[bytes] = []

        def keep(body: bytes) -> list[tuple[int, int]]:
            asked.append(body)
            return KEEP(body)

        reads = _reads(log, read_size)
        expected = _frame(reads, lambda framer: keep, max_line_bytes)
        scan = ForkScan(str(log), KEEP, read_size, log.stat().st_size)
        _wait_until_done(scan)
        try:
            got = _frame(reads, scan.keep_for, max_line_bytes)
        finally:
            scan.close()
        assert got == expected
        assert any(line.lineno > 1000 for line in got)
        assert any(line.truncated for line in got) == (max_line_bytes == 50)
        assert scan.scanned_in_order == 0
        assert scan.answered_ahead == sum(1 for body in asked if body) > 0  # "" asks nobody

    def test_empty_and_short_buffers(self, tmp_path: Path) -> None:
        """A read whose only line end closes a carried line, and buffers under 16 bytes."""
        log = tmp_path / "app.log"
        # read 1 ends with the newline of a line begun in read 0: an empty buffer;
        # read 2's buffer is one short line
        log.write_bytes(b"a" * 127 + b"\n" + b"short line\n" + b"b" * 60 + b"\n" * 300)
        reads = _reads(log, 64)
        assert reads[1].endswith(b"\n")
        assert reads[1].count(b"\n") == 1
        asked: list[bytes] = []

        def keep(body: bytes) -> list[tuple[int, int]]:
            asked.append(body)
            return [(0, len(body))] if body else []

        expected = _frame(reads, lambda framer: keep)
        assert asked[:2] == [b"", b"short line\n"]
        scan = ForkScan(str(log), keep, 64, log.stat().st_size)
        _wait_until_done(scan)
        try:
            got = _frame(reads, scan.keep_for)
        finally:
            scan.close()
        assert got == expected
        assert scan.scanned_in_order == 0
        assert scan.answered_ahead == sum(1 for body in asked if body)  # "" asks nobody

    def test_a_fork_that_fails_leaves_nothing_open(
        self, log: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Out of processes, replay scans in order: no error, no descriptor left behind."""
        fds = Path("/proc/self/fd")
        before = sorted(fds.iterdir())

        def fail() -> int:
            raise BlockingIOError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(os, "fork", fail)
        monkeypatch.setattr("logwatch.jobs.cpus", lambda: 2)
        monkeypatch.setattr(threading, "active_count", lambda: 1)
        assert ForkScan.start(str(log), KEEP, 4096) is None
        assert sorted(fds.iterdir()) == before

    def test_a_helper_that_dies_costs_only_time(self, log: Path) -> None:
        """Killed before it answers anything, its buffers are scanned here, in order."""
        reads = _reads(log, 4096)
        expected = _frame(reads, lambda framer: KEEP)
        scan = ForkScan(str(log), KEEP, 4096, log.stat().st_size)
        assert scan._pid is not None
        os.kill(scan._pid, signal.SIGKILL)
        try:
            got = _frame(reads, scan.keep_for)
        finally:
            scan.close()
        assert got == expected
        assert scan.scanned_in_order > 0

    def test_a_slow_helper_is_not_waited_for(self, log: Path) -> None:
        """While the helper scans the read replay needs, replay scans reads from the file's end."""
        parent = os.getpid()

        def slow_in_helper(body: bytes) -> list[tuple[int, int]]:
            if os.getpid() != parent:
                time.sleep(0.05)  # a helper on a busy core, not a synchronisation
            return KEEP(body)

        reads = _reads(log, 16384)
        expected = _frame(reads, lambda framer: KEEP)
        scan = ForkScan(str(log), slow_in_helper, 16384, log.stat().st_size)
        deadline = time.monotonic() + 30
        while scan._shared[_CLAIM] < 0:  # a helper not yet running is not a slow one
            assert time.monotonic() < deadline, "the helper did not start"
            time.sleep(0.001)
        try:
            got = _frame(reads, scan.keep_for)
        finally:
            scan.close()
        assert got == expected
        assert scan.taken_from_end > len(reads) // 2
        assert scan.answered_ahead > len(reads) // 2

    def test_a_helper_that_gets_no_core_is_not_waited_for(self, log: Path) -> None:
        """Stopped with the first read claimed (a busy machine, at the idle scheduling
        class): replay takes every other read from the end, then scans that one itself."""
        reads = _reads(log, 16384)
        expected = _frame(reads, lambda framer: KEEP)
        scan = ForkScan(str(log), _stopping_in_helper(os.getpid()), 16384, log.stat().st_size)
        _wait_until_stopped(scan)
        got: list[Line] = []
        framing = threading.Thread(target=lambda: got.extend(_frame(reads, scan.keep_for)))
        framing.start()
        framing.join(timeout=60)
        try:
            assert not framing.is_alive(), "replay waited for a helper that cannot run"
        finally:
            scan.close()  # SIGKILL ends a stopped process too
        assert got == expected
        assert scan.scanned_in_order == 1
        assert scan.taken_from_end == len(reads) - 1

    def test_the_helper_keeps_open_only_what_it_uses(self, log: Path) -> None:
        """Not another helper's pipe (replay's deciding process sees its end by it)."""
        other_read, other_write = os.pipe()
        scan = ForkScan(str(log), _stopping_in_helper(os.getpid()), 997, log.stat().st_size)
        try:
            _wait_until_stopped(scan)  # in its first scan: past where it closes them
            held = {int(path.name) for path in Path(f"/proc/{scan._pid}/fd").iterdir()}
            assert other_write not in held
            assert len(held) == 5  # stdin, stdout, stderr, the file, its pipe
        finally:
            scan.close()
            os.close(other_read)
            os.close(other_write)

    def test_a_file_that_grew_after_the_start_is_read_whole(self, log: Path) -> None:
        """Reads past the size the helper saw, or longer than it saw, are scanned here."""
        size = log.stat().st_size
        scan = ForkScan(str(log), KEEP, 65536, size)
        _wait_until_done(scan)  # every read answered, for the old size
        with log.open("ab") as stream:
            stream.write(_text(seed=9, count=300))
        reads = _reads(log, 65536)
        expected = _frame(reads, lambda framer: KEEP)
        try:
            got = _frame(reads, scan.keep_for)
        finally:
            scan.close()
        assert got == expected
        assert len(reads) > -(-size // 65536)
        assert scan.answered_ahead > 0
        assert scan.scanned_in_order > 0

    def test_closing_early_stops_and_reaps_the_helper(self, log: Path) -> None:
        """A replay whose reader went away leaves no process behind."""
        scan = ForkScan(str(log), KEEP, 997, log.stat().st_size)
        pid = scan._pid
        assert pid is not None
        reads = _reads(log, 997)
        framer = LineFramer()
        framer.feed(reads[0], scan.keep_for(framer))
        scan.close()
        scan.close()  # twice is harmless
        deadline = time.monotonic() + 30
        while pid in forkscan._KILLED:  # killed; reaped once it has ended, not waited for
            assert time.monotonic() < deadline, "the helper did not end"
            time.sleep(0.001)
            forkscan.reap_killed()
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)

    def test_closing_does_not_wait_for_the_helper_to_end(
        self, log: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Killed at the idle class on a busy machine, a helper ends only when it is next
        scheduled (seconds, measured): close() only ever asks whether it has ended."""
        scan = ForkScan(str(log), _stopping_in_helper(os.getpid()), 997, log.stat().st_size)
        pid = scan._pid
        assert pid is not None
        _wait_until_stopped(scan)
        waits: list[int] = []
        waitpid = os.waitpid

        def recorded(who: int, options: int) -> tuple[int, int]:
            waits.append(options)
            return waitpid(who, options)

        monkeypatch.setattr(os, "waitpid", recorded)
        scan.close()
        assert waits
        assert all(options & os.WNOHANG for options in waits)
        monkeypatch.undo()
        deadline = time.monotonic() + 30
        while pid in forkscan._KILLED:
            assert time.monotonic() < deadline, "the helper did not end"
            time.sleep(0.001)
            forkscan.reap_killed()

    def test_the_helper_answers_every_read_before_replay_takes_any(self, tmp_path: Path) -> None:
        """Its answers wait in the pipe while the config is validated (``headstart``):
        the pipe holds a storm's worth, ~20 KB a read here, and the helper is done."""
        path = tmp_path / "dense.log"
        path.write_bytes(b"2026-03-01 12:00:00 x\n" * 30_000)
        read_size = 16384

        def every_line(body: bytes) -> list[tuple[int, int]]:
            return [(at, at + 22) for at in range(0, len(body), 22)]

        reads = _reads(path, read_size)
        assert len(reads) * (read_size // 22) * 24 > 4 * 65536  # far more than a default pipe
        scan = ForkScan(str(path), every_line, read_size, path.stat().st_size)
        try:
            pid = scan._pid
            assert pid is not None
            deadline = time.monotonic() + 30
            while os.waitpid(pid, os.WNOHANG) == (0, 0):  # nothing taken from the pipe
                assert time.monotonic() < deadline, "the helper waits for room in its pipe"
                time.sleep(0.01)
            scan._pid = None  # reaped here
            got = _frame(reads, scan.keep_for)
            assert scan.answered_ahead == len(reads)
        finally:
            scan.close()
        assert got == _frame(reads, lambda framer: every_line)

    def test_no_helper_where_it_cannot_pay_or_run(
        self, log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Small files, pipes, LOGWATCH_JOBS=1 and a process with threads scan in order."""
        assert ForkScan.start(str(log), KEEP, 1 << 20) is None  # under four reads
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        assert ForkScan.start(str(fifo), KEEP, 16) is None
        assert ForkScan.start(str(tmp_path / "gone.log"), KEEP, 16) is None
        monkeypatch.setenv("LOGWATCH_JOBS", "1")
        assert ForkScan.start(str(log), KEEP, 16) is None
        monkeypatch.delenv("LOGWATCH_JOBS")
        release = threading.Event()
        thread = threading.Thread(target=release.wait)
        thread.start()
        try:
            assert ForkScan.start(str(log), KEEP, 16) is None
        finally:
            release.set()
            thread.join()


class TestReplayWithHelper:
    def test_replay_asks_for_a_helper_for_each_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each file replay reads gets a helper of its own, offered the rules' filter."""
        asked: list[tuple[str, int]] = []

        def start(path: str, keep: KeepSpans, read_size: int) -> None:
            assert isinstance(keep, ColdLines)
            asked.append((path, read_size))

        monkeypatch.setattr(ForkScan, "start", start)
        logs = [tmp_path / "a.log", tmp_path / "b.log"]
        for path in logs:
            path.write_bytes(_text(seed=2, count=50))
        config = load_config(write_config(tmp_path, RULES))
        list(replay_files(config, [str(path) for path in logs], all_events=False))
        assert asked == [(str(path), READ_SIZE) for path in logs]

    def test_the_helper_leaves_without_flushing_what_replay_buffered(
        self, tmp_path: Path
    ) -> None:
        """Text the parent had not yet written out is written once, by the parent."""
        log = tmp_path / "app.log"
        log.write_bytes(b"2026-03-01 12:00:00,000 INFO app x\n" * 1000)
        probe = (
            "import sys\n"
            "from logwatch.sources.forkscan import ForkScan\n"
            "sys.stdout.write('buffered before the fork\\n')\n"
            "scan = ForkScan(sys.argv[1], lambda body: [], 8192, 35000)\n"
            "import os, time\n"
            "deadline = time.monotonic() + 30\n"
            "while os.waitpid(scan._pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:\n"
            "    time.sleep(0.01)\n"
        )
        done = subprocess.run([sys.executable, "-c", probe, str(log)],
                              capture_output=True, text=True, check=True, timeout=60)
        assert done.stdout == "buffered before the fork\n"

    def test_replay_prints_the_same_with_one_process_and_with_two(self, tmp_path: Path) -> None:
        """`logwatch replay --json` over a file of many reads: same bytes either way."""
        log = tmp_path / "app.log"
        log.write_bytes(_text(seed=11, count=30_000) * 2)
        assert log.stat().st_size > 4 << 20  # enough reads for the helper to start
        config = write_config(tmp_path, RULES)
        load_config(config)
        command = [sys.executable, "-m", "logwatch", "replay", "-c", str(config), "--json"]
        command.append(str(log))
        outputs = []
        for jobs in ("1", "2"):
            env = {**os.environ, "LOGWATCH_JOBS": jobs, "LOGWATCH_ACCELERATE": "0"}
            done = subprocess.run(command, env=env, capture_output=True, check=False, timeout=60)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout)
        assert outputs[0] == outputs[1]
        assert outputs[0].count(b"\n") > 100

    def test_the_helper_starts_for_a_big_file_in_a_fresh_process(self, tmp_path: Path) -> None:
        """Where replay runs (one thread), a file of four reads gets a helper, given two CPUs."""
        log = tmp_path / "app.log"
        log.write_bytes(b"2026-03-01 12:00:00,000 INFO app x\n" * 1000)
        probe = (
            "import sys\n"
            "from logwatch.sources.forkscan import ForkScan\n"
            "scan = ForkScan.start(sys.argv[1], lambda body: [], 8192)\n"
            "print(scan is not None)\n"
            "scan and scan.close()\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "LOGWATCH_JOBS"}
        done = subprocess.run([sys.executable, "-c", probe, str(log)], env=env,
                              capture_output=True, text=True, check=True, timeout=60)
        # on one CPU (affinity or quota) there is no helper, by design
        assert done.stdout == f"{cpus() >= 2}\n"
