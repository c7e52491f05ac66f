"""The tailer against the real logrotate binary: what operators actually run.

Without logrotate these tests are skipped loudly, and fail when CI=true.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from logwatch.sources import Tailer
from logwatch.store import FileState
from tests.test_sources_support import Logrotate, Recorder, append, assert_numbered, source


class Writer(threading.Thread):
    """Appends ``seq=N`` lines and reopens its file when rotated, like WatchedFileHandler."""

    def __init__(self, path: Path, *, deadline_s: float = 20.0, limit: int = 200_000) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stopping = threading.Event()
        self.written = 0
        self._deadline = time.monotonic() + deadline_s
        self._limit = limit

    def run(self) -> None:
        fd = -1
        try:
            while (
                not self.stopping.is_set()
                and self.written < self._limit
                and time.monotonic() < self._deadline
            ):
                try:
                    current = self.path.stat()
                except FileNotFoundError:
                    current = None
                if fd < 0 or current is None or current.st_ino != os.fstat(fd).st_ino:
                    if fd >= 0:
                        os.close(fd)
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                os.write(fd, f"seq={self.written}\n".encode())
                self.written += 1
        finally:
            if fd >= 0:
                os.close(fd)

    def finish(self) -> int:
        self.stopping.set()
        self.join(timeout=30)
        assert not self.is_alive()
        return self.written


def on_disk(directory: Path) -> list[str]:
    """Every line of every generation of the logs in ``directory``, compressed or not."""
    lines: list[str] = []
    for path in sorted(directory.glob("app.log*")):
        lines += _read(path).decode().splitlines()
    return lines


def _read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def _lines_in(path: Path) -> int:
    return _read(path).count(b"\n")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    return directory


@pytest.fixture
def tailers() -> Iterator[list[Tailer]]:
    built: list[Tailer] = []
    yield built
    for tailer in built:
        tailer.stop()


def recorder(tailers: list[Tailer], tailer: Tailer) -> Recorder:
    tailers.append(tailer)
    return Recorder(tailer)


def restarted(tailers: list[Tailer], log: Path, committed: Sequence[FileState]) -> Recorder:
    """A tailer started again on ``committed``, as the daemon restarts, after one pump."""
    again = recorder(tailers, Tailer([source(log)], list(committed), first_start=False))
    again.pump()
    return again


def test_create_rotation_with_a_live_writer_loses_and_repeats_nothing(
    tmp_path: Path, logs: Path, tailers: list[Tailer]
) -> None:
    """Many create+delaycompress cycles while a writer appends: every line once, in order.

    The globs take the rotated siblings too, as the docs recommend: a writer
    that recreates app.log between logrotate's rename and its create has that
    file renamed to app.log-<date>.backup, which only a sibling glob finds.
    """
    log = logs / "app.log"
    rotate = Logrotate(tmp_path, log, "rotate 1000\ncreate\ncompress\ndelaycompress\nmissingok")
    append(log, "")
    followed = source(logs / "app.log*", exclude=("*.gz",))
    rec = recorder(
        tailers,
        Tailer(
            [followed], [], first_start=True, tick_s=0.01, scan_interval_s=1.0, rotate_wait_s=0.5
        ),
    )
    rec.tailer.start()
    writer = Writer(log)
    writer.start()
    for _ in range(8):
        seen = len(rec.texts())
        rec.until(lambda seen=seen: len(rec.texts()) > seen + 100)  # type: ignore[misc]
        rotate.rotate()
    written = writer.finish()
    expected = [f"seq={n}" for n in range(written)]
    rec.until(lambda: len(rec.texts()) >= written)
    assert sorted(rec.texts(), key=lambda t: int(t[4:])) == expected
    # a second racing .backup in the same hour replaces the first on disk: those lines
    # exist only in the writer's ledger, and in what we read through the fd we held
    assert set(on_disk(logs)) <= set(rec.texts())
    # one uid per generation that got lines (the writer stops at its limit, and a
    # loaded machine may rotate the last generations empty after it)
    assert len(rec.lines) >= sum(1 for path in logs.glob("app.log*") if _lines_in(path))
    assert len(rec.lines) >= 2
    for lines in rec.lines.values():
        assert_numbered(lines)
        numbers = [int(line.text[4:]) for line in lines]
        assert numbers == sorted(numbers)
    # generations compressed (and so deleted) are released once drained
    rec.until(lambda: all(s.state != "draining" for s in rec.tailer.stats()))
    assert {s.path for s in rec.tailer.stats()} <= {str(p) for p in logs.iterdir()}


def test_copytruncate_with_the_copy_present_loses_nothing(
    tmp_path: Path, logs: Path, tailers: list[Tailer]
) -> None:
    """Lines written but not yet read when logrotate copies are read from the copy."""
    log = logs / "app.log"
    rotate = Logrotate(tmp_path, log, "rotate 1000\ncopytruncate\ncompress\ndelaycompress")
    rec = recorder(tailers, Tailer([source(log)], [], first_start=True, tick_s=0.0))
    expected: list[str] = []
    for cycle in range(5):
        read = [f"c{cycle}-read-{i}" for i in range(50)]
        append(log, "".join(f"{line}\n" for line in read))
        rec.pump()
        unread = [f"c{cycle}-unread-{i}" for i in range(50)]
        append(log, "".join(f"{line}\n" for line in unread))
        rotate.rotate()
        after = [f"c{cycle}-after-{i}" for i in range(50)]
        append(log, "".join(f"{line}\n" for line in after))
        expected += read + unread + after
        rec.until(lambda expected=expected: len(rec.texts()) >= len(expected))  # type: ignore[misc]
    assert sorted(rec.texts()) == sorted(expected)
    assert rec.tailer.counters.copies_caught_up == 5
    assert rec.tailer.counters.bytes_lost == 0
    for lines in rec.lines.values():
        assert_numbered(lines)


def test_copytruncate_with_dateext_finds_the_dated_copy(
    tmp_path: Path, logs: Path, tailers: list[Tailer]
) -> None:
    log = logs / "app.log"
    rotate = Logrotate(tmp_path, log, "rotate 10\ncopytruncate\ndateext\ndateformat -%Y%m%d-%s")
    append(log, "read\n")
    rec = recorder(tailers, Tailer([source(log)], [], first_start=True, tick_s=0.0))
    rec.pump()
    append(log, "unread\n")
    rotate.rotate()
    assert [p.name.startswith("app.log-") for p in logs.iterdir()].count(True) == 1
    append(log, "after\n")
    rec.until(lambda: len(rec.texts()) == 3)
    assert rec.texts() == ["read", "unread", "after"]


def test_rotations_while_stopped_are_caught_up_after_restart(
    tmp_path: Path, logs: Path, tailers: list[Tailer]
) -> None:
    """Stop, logrotate twice with writes in every generation, start: each line once."""
    log = logs / "app.log"
    rotate = Logrotate(tmp_path, log, "rotate 1000\ncreate\ncompress\ndelaycompress")
    append(log, "gen1 read\n")
    first = recorder(tailers, Tailer([source(log)], [], first_start=True))
    first.pump()
    first.tailer.stop()
    append(log, "gen1 unread\n")
    rotate.rotate()
    append(log, "gen2\n")
    rotate.rotate()  # gen1 is now app.log.2.gz: out of reach; gen2 is app.log.1
    append(log, "gen3\n")
    second = restarted(tailers, log, list(first.committed.values()))
    # gen1's rest was compressed unread (no delaycompress can help after two cycles),
    # but finding it there tells that app.log.1 is a generation we never saw
    assert sorted(second.texts()) == ["gen2", "gen3"]
    assert first.uid_of(log) in second.retired


def test_one_rotation_while_stopped_reads_the_rest_of_the_old_file(
    tmp_path: Path, logs: Path, tailers: list[Tailer]
) -> None:
    log = logs / "app.log"
    rotate = Logrotate(tmp_path, log, "rotate 1000\ncreate\ncompress\ndelaycompress")
    append(log, "read\n")
    first = recorder(tailers, Tailer([source(log)], [], first_start=True))
    first.pump()
    first.tailer.stop()
    append(log, "unread\n")
    rotate.rotate()
    append(log, "new\n")
    second = restarted(tailers, log, list(first.committed.values()))
    uid = first.uid_of(log)
    assert second.texts(uid) == ["unread"]
    assert_numbered(first.lines[uid] + second.lines[uid])
    assert second.texts(second.uid_of(log)) == ["new"]


def test_a_file_pruned_while_stopped_leaves_its_newer_generations_to_read(
    tmp_path: Path, logs: Path, tailers: list[Tailer]
) -> None:
    """`rotate 1`, two rotations while stopped: our file is pruned, but app.log.1 is a
    generation we never saw, still on disk: it is read whole, not lost with ours."""
    log = logs / "app.log"
    rotate = Logrotate(tmp_path, log, "rotate 1\ncreate")
    append(log, "gen1 read\n")
    first = recorder(tailers, Tailer([source(log)], [], first_start=True))
    first.pump()
    first.tailer.stop()
    append(log, "gen1 unread\n")
    rotate.rotate()
    append(log, "gen2\n")
    rotate.rotate()  # gen1 is pruned; gen2 is app.log.1
    append(log, "gen3\n")
    second = restarted(tailers, log, list(first.committed.values()))
    assert sorted(second.texts()) == ["gen2", "gen3"]
    assert first.uid_of(log) in second.retired


def test_a_file_removed_by_hand_while_stopped_leaves_older_generations_unread(
    tmp_path: Path, logs: Path, tailers: list[Tailer]
) -> None:
    """Its siblings written before its last commit are history, not news: reading them
    whole would flood old alerts. One written since is read."""
    log = logs / "app.log"
    old = logs / "app.log.1"
    old.write_text("from before the first start\n", encoding="utf-8")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    append(log, "read\n")
    first = recorder(tailers, Tailer([source(log)], [], first_start=True))
    first.pump()
    first.tailer.stop()
    # as the store has it: committed a minute ago, long after the old generation was written
    committed = [dataclasses.replace(row, updated=time.time() - 60)
                 for row in first.committed.values()]
    log.unlink()
    second = restarted(tailers, log, committed)
    assert second.texts() == []
    assert first.uid_of(log) in second.retired
    (logs / "app.log.2").write_text("written since\n", encoding="utf-8")
    log.unlink(missing_ok=True)
    third = restarted(tailers, log, committed)
    assert third.texts() == ["written since"]
