"""Watching many files costs a bounded number of descriptors, and idling leaks none.

The tailer holds one descriptor per followed file (given back after
``close_inactive``), watches directories rather than files (at most one
inotify instance per directory, polled beyond the kernel's limit), and keeps a
few of its own: the state database, sockets, pipes. CPU use under this load is
the benchmark's business, not a test's.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from pytest_httpserver import HTTPServer

from logwatch.sources.host import FD_RESERVE
from tests.daemon_harness import running_daemon, stop
from tests.faults.scene import Scene, log_records

FILES = 1000
DIRS = 10
OWN_FDS = 40  # stdio, the state database (db, wal, shm, once per thread), sockets, pipes
IDLE_WINDOW_S = 25.0  # more than two scans (every 10 s)


def descriptors(pid: int, logs: Path) -> Counter[str]:
    """The daemon's open descriptors by kind: 'log' (one entry per log file held), 'inotify'
    and 'other'; a log file held twice shows up as 'log twice'."""
    kinds: Counter[str] = Counter()
    held: Counter[str] = Counter()
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(entry.readlink())
        except FileNotFoundError:
            continue  # closed while we listed
        if target.startswith(str(logs)):
            held[target] += 1
        elif target == "anon_inode:inotify":
            kinds["inotify"] += 1
        else:
            kinds["other"] += 1
    kinds["log"] = len(held)
    kinds["log twice"] = sum(count > 1 for count in held.values())
    return kinds


class TestManyFiles:
    def test_a_thousand_idle_files_hold_at_most_one_descriptor_each(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """1,000 files in 10 directories: <= 1 fd per file, <= 1 inotify per directory,
        a few of its own; idling through rescans and waking for records adds none."""
        logs = tmp_path / "logs"
        paths = [logs / f"svc-{n % DIRS:02d}" / f"app-{n:04d}.log" for n in range(FILES)]
        for directory in {path.parent for path in paths}:
            directory.mkdir(parents=True)
        for path in paths:
            path.write_text("2026-01-01 00:00:00,000 INFO shop.boot service started\n")
        scene = Scene(tmp_path, httpserver, [f"{logs}/*/*.log"])
        bound = {"log": FILES, "log twice": 0, "inotify": DIRS, "other": OWN_FDS}
        with running_daemon(scene.config, tmp_path, args=()) as daemon:
            started = descriptors(daemon.pid, logs)
            log_records(paths[0], 1)
            log_records(paths[-1], 2)
            scene.wait_alerted(1, 2)  # every file is followed, the first and the last too
            worst = Counter(started)
            # an observation window: idling is what is measured, so time has to pass
            window_ends = time.monotonic() + IDLE_WINDOW_S
            while time.monotonic() < window_ends:
                worst |= descriptors(daemon.pid, logs)
                time.sleep(0.5)
            ended = descriptors(daemon.pid, logs)
            code, _ = stop(daemon)
        print(f"\nfds at start {dict(started)}, worst {dict(worst)}, at the end {dict(ended)}")
        assert code == 0
        assert all(worst[kind] <= limit for kind, limit in bound.items()), (worst, bound)
        assert ended["other"] <= started["other"] + 2  # (a delivery connection may be open)
        assert ended["log"] <= started["log"]
        assert scene.alerts() == {1: 1, 2: 1}

    def test_more_files_than_the_open_file_limit_leave_delivery_its_descriptors(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """LimitNOFILE=200 and 300 files: the tailer keeps FD_RESERVE descriptors free, so
        the store and the webhook still work; the files past the cap wait, reported once."""
        logs = tmp_path / "logs"
        logs.mkdir()
        paths = [logs / f"app-{n:03d}.log" for n in range(300)]
        for path in paths:
            path.write_text("2026-01-01 00:00:00,000 INFO shop.boot service started\n")
        scene = Scene(tmp_path, httpserver, [f"{logs}/*.log"])
        with running_daemon(scene.config, tmp_path, args=(), nofile=200) as daemon:
            log_records(paths[0], 1)
            scene.wait_alerted(1)
            held = descriptors(daemon.pid, logs)["log"]
            code, _ = stop(daemon)
        assert code == 0
        assert held <= 200 - FD_RESERVE
        assert scene.alerts() == {1: 1}
        stderr = (tmp_path / "daemon.stderr").read_text()
        assert stderr.count("nor further logs") == 1
