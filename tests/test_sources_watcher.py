"""Filesystem events make the tailer prompt; losing them must not make it wrong.

These tests use the real watchdog observer and the real clock, with ticks and
scans so rare that only an event (or a polled directory) can explain a result.
"""

from __future__ import annotations

import errno
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logwatch.sources import Tailer
from logwatch.sources.watcher import DirectoryWatcher, Hints
from tests.test_sources_support import Recorder, append, source

NEVER = 3600.0


@pytest.fixture
def started() -> Iterator[list[Tailer]]:
    tailers: list[Tailer] = []
    yield tailers
    for tailer in tailers:
        tailer.stop()


def run(started: list[Tailer], tailer: Tailer) -> Recorder:
    tailer.start()
    started.append(tailer)
    rec = Recorder(tailer)
    rec.pump()
    return rec


class TestHints:
    def test_too_many_changed_paths_ask_to_check_everything(self) -> None:
        hints = Hints()
        hints.note(tuple(f"/logs/{i}" for i in range(Hints.MAX_PATHS + 1)), rescan=False)
        batch = hints.drain()
        assert (batch.rescan, batch.paths) == (False, None)
        assert hints.drain().paths == frozenset()

    def test_namespace_changes_ask_for_a_rescan(self) -> None:
        hints = Hints()
        hints.note(("/logs/new.log",), rescan=True)
        hints.note(("/logs/app.log",), rescan=False)
        batch = hints.drain()
        assert (batch.rescan, batch.paths) == (True, frozenset({"/logs/new.log", "/logs/app.log"}))


class TestEvents:
    def test_a_created_file_is_found_without_waiting_for_a_scan(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        rec = run(
            started,
            Tailer(
                [source(tmp_path / "*.log")],
                [],
                first_start=True,
                tick_s=NEVER,
                scan_interval_s=NEVER,
            ),
        )
        assert rec.tailer.watched_dirs == {str(tmp_path)}
        append(tmp_path / "new.log", "hello\n")
        rec.until(lambda: rec.texts() == ["hello"])

    def test_an_appended_line_wakes_a_waiting_tailer(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "")
        rec = run(
            started,
            Tailer([source(log)], [], first_start=True, tick_s=NEVER, scan_interval_s=NEVER),
        )
        rec.tailer.poll()  # the scan that armed the watch asked for one more
        append(log, "wake up\n")
        began = time.monotonic()
        rec.tailer.wait(30.0)
        assert time.monotonic() - began < 10.0
        rec.until(lambda: rec.texts() == ["wake up"])

    def test_an_idle_file_is_reopened_on_its_modify_event(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "one\n")
        rec = run(
            started,
            Tailer(
                [source(log)],
                [],
                first_start=True,
                tick_s=NEVER,
                scan_interval_s=NEVER,
                close_inactive_s=0.0,
            ),
        )
        rec.pump()
        assert [s.state for s in rec.tailer.stats()] == ["idle"]
        append(log, "two\n")
        rec.until(lambda: rec.texts() == ["one", "two"])

    def test_a_deleted_and_recreated_directory_is_watched_again(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        """inotify's watch dies with the directory; the new one gets a new watch."""
        logs = tmp_path / "logs"
        logs.mkdir()
        append(logs / "app.log", "before\n")
        rec = run(
            started,
            Tailer(
                [source(logs / "*.log")],
                [],
                first_start=True,
                tick_s=0.05,
                scan_interval_s=NEVER,
                rotate_wait_s=0.0,
            ),
        )
        shutil.rmtree(logs)
        rec.until(lambda: str(logs) in rec.tailer.polled_dirs)
        logs.mkdir()
        append(logs / "app.log", "after\n")
        rec.until(lambda: rec.texts() == ["before", "after"])
        rec.until(lambda: rec.tailer.watched_dirs == {str(logs)})
        append(logs / "other.log", "watched again\n")
        rec.until(lambda: "watched again" in rec.texts())

    def test_a_missing_directory_is_polled_until_it_appears(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        logs = tmp_path / "later"
        rec = run(
            started,
            Tailer(
                [source(logs / "*.log")], [], first_start=True, tick_s=0.05, scan_interval_s=NEVER
            ),
        )
        assert rec.tailer.polled_dirs == {str(logs)}
        logs.mkdir()
        append(logs / "app.log", "found\n")
        rec.until(lambda: rec.texts() == ["found"])


class _FullObserver:
    """An observer whose every watch fails like inotify at its watch limit."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self) -> None: ...

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


class TestWatchLimits:
    def test_a_directory_that_cannot_be_watched_is_polled_and_reported_once(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        watcher = DirectoryWatcher(Hints(), observer_factory=_FullObserver)  # type: ignore[arg-type]
        watcher.start()
        with caplog.at_level(logging.WARNING):
            watcher.sync({str(tmp_path)})
            watcher.sync({str(tmp_path)})
            assert not watcher.changed()
            append(tmp_path / "new.log", "x\n")
            assert watcher.changed()
        assert watcher.polled == {str(tmp_path)}
        assert watcher.watched == frozenset()
        assert [r.getMessage() for r in caplog.records] == [
            f"cannot watch {tmp_path} ([Errno 28] inotify watch limit reached); polling it instead"
        ]
        watcher.stop()
