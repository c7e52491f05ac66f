"""Filesystem events make the tailer prompt; losing them must not make it wrong.

These tests use the real watchdog observer and the real clock, with ticks and
scans so rare that only an event (or a polled directory) can explain a result.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from logwatch.sources import Tailer
from logwatch.sources import watcher as watcher_module
from logwatch.sources.discovery import Scope, watch_dirs
from logwatch.sources.values import Unreadable
from logwatch.sources.watcher import DirectoryWatcher, Hints
from tests.test_sources_support import (
    FakeClock,
    Recorder,
    append,
    count_calls,
    refuse_unreadable,
    source,
)

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


class TestWildcardDirectories:
    def test_the_directory_above_a_wildcard_component_is_watched_for_subdirectories(
        self, tmp_path: Path
    ) -> None:
        """apps/*/*.log: apps/ for new services, each apps/<svc>/ for new files."""
        (tmp_path / "apps" / "svc1").mkdir(parents=True)
        (tmp_path / "apps" / "notes.txt").write_text("not a directory")
        (tmp_path / "local").mkdir()
        dirs = watch_dirs([
            source(tmp_path / "apps" / "*" / "*.log"),
            source(tmp_path / "local" / "*.log", name="local"),
        ])
        assert dirs == {
            str(tmp_path / "apps"): Scope.SUBDIRS,
            str(tmp_path / "apps" / "svc1"): Scope.FILES,
            str(tmp_path / "local"): Scope.FILES,
        }

    def test_every_level_between_wildcards_is_watched(self, tmp_path: Path) -> None:
        (tmp_path / "a" / "logs" / "x").mkdir(parents=True)
        (tmp_path / "b").mkdir()
        dirs = watch_dirs([source(tmp_path / "*" / "logs" / "*" / "*.log")])
        assert dirs == {
            str(tmp_path): Scope.SUBDIRS,
            str(tmp_path / "a"): Scope.SUBDIRS,
            str(tmp_path / "b"): Scope.SUBDIRS,
            str(tmp_path / "a" / "logs"): Scope.SUBDIRS,
            str(tmp_path / "a" / "logs" / "x"): Scope.FILES,
        }

    def test_a_recursive_glob_watches_its_root_and_every_directory_below_for_files(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "deep" / "er").mkdir(parents=True)
        dirs = watch_dirs([source(tmp_path / "**" / "*.log")])
        assert dirs == {
            str(tmp_path): Scope.FILES,
            str(tmp_path / "deep"): Scope.FILES,
            str(tmp_path / "deep" / "er"): Scope.FILES,
        }

    def test_a_new_service_directory_and_its_log_are_found_without_waiting_for_a_scan(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        apps = tmp_path / "apps"
        (apps / "svc1").mkdir(parents=True)
        rec = run(
            started,
            Tailer(
                [source(apps / "*" / "*.log")],
                [],
                first_start=True,
                tick_s=NEVER,
                scan_interval_s=NEVER,
            ),
        )
        assert rec.tailer.watched_dirs == {str(apps), str(apps / "svc1")}
        (apps / "svc2").mkdir()
        append(apps / "svc2" / "x.log", "from a new service\n")
        rec.until(lambda: rec.texts() == ["from a new service"], timeout_s=5.0)
        assert str(apps / "svc2") in rec.tailer.watched_dirs

    def test_files_beside_service_directories_send_no_hints(self, tmp_path: Path) -> None:
        """apps/ is watched for directories only: its own busy files must not wake us."""
        apps = tmp_path / "apps"
        apps.mkdir()
        append(apps / "busy.txt", "")
        hints = Hints()
        watcher = DirectoryWatcher(hints)
        watcher.start()
        try:
            watcher.sync({str(apps): Scope.SUBDIRS})
            hints.drain()
            append(apps / "busy.txt", "noise\n")
            (apps / "svc2").mkdir()  # inotify keeps order: reported after the write
            seen: set[str] = set()
            deadline = time.monotonic() + 5.0
            while str(apps / "svc2") not in seen:
                assert time.monotonic() < deadline, "no event for the new directory"
                hints.wait(0.05)
                seen |= hints.drain().paths or set()
        finally:
            watcher.stop()
        assert seen == {str(apps / "svc2")}


class TestWriterClosed:
    def test_a_rotated_file_is_retired_a_tick_after_its_writer_closes_it(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        """IN_CLOSE_WRITE on the renamed file: drained and a quiet tick, not rotate_wait."""
        log = tmp_path / "app.log"
        writer = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        clock = FakeClock()
        try:
            os.write(writer, b"one\n")
            rec = run(
                started,
                Tailer(
                    [source(log)],
                    [],
                    first_start=True,
                    tick_s=1.0,
                    scan_interval_s=NEVER,
                    rotate_wait_s=1e9,
                    clock=clock,
                ),
            )
            rotated = rec.uid_of(log)
            log.rename(tmp_path / "app.log.1")
            append(log, "new\n")
            os.write(writer, b"two\n")

            def ticked(done: Callable[[], bool]) -> Callable[[], bool]:
                def check() -> bool:
                    clock.advance(1.0)
                    return done()

                return check

            rec.until(ticked(lambda: "new" in rec.texts()))
            for _ in range(10):
                clock.advance(1.0)
                rec.pump()
            assert rotated not in rec.retired  # its writer still holds it
        finally:
            os.close(writer)  # the app reopened its log
        rec.until(ticked(lambda: rotated in rec.retired))
        assert rec.texts(rotated) == ["one", "two"]
        assert rec.texts(rec.uid_of(log)) == ["new"]


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
            watcher.sync({str(tmp_path): Scope.FILES})
            watcher.sync({str(tmp_path): Scope.FILES})
            assert not watcher.changed()
            append(tmp_path / "new.log", "x\n")
            assert watcher.changed()
        assert watcher.polled == {str(tmp_path)}
        assert watcher.watched == frozenset()
        assert [r.getMessage() for r in caplog.records] == [
            f"cannot watch {tmp_path} ([Errno 28] inotify watch limit reached); polling it instead"
        ]
        watcher.stop()


class TestIdleCost:
    def test_an_idle_watched_file_is_not_fstated_every_tick(
        self, tmp_path: Path, started: list[Tailer], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Events report writes in a watched directory: ticks leave its open files alone,
        but a hint, or the verify_interval safety net, still looks at them."""
        log = tmp_path / "app.log"
        append(log, "one\n")
        clock, rec = clocked(started, log, scan_interval_s=10.0, verify_interval_s=10.0)
        assert str(tmp_path) in rec.tailer.watched_dirs
        rec.pump()  # the scan that armed the watch asked for one more
        looks: list[object] = []  # looks at the file: fstat of its fd, or stat of its path
        real_fstat, real_stat = os.fstat, os.stat

        def counted_fstat(fd: int) -> os.stat_result:
            looks.append(fd)
            return real_fstat(fd)

        def counted_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
            if os.fspath(path) == str(log):
                looks.append(path)
            return real_stat(path, *args, **kwargs)

        monkeypatch.setattr(os, "fstat", counted_fstat)
        monkeypatch.setattr(os, "stat", counted_stat)
        for _ in range(9):
            clock.advance(1.0)
            rec.pump()
        assert looks == []
        clock.advance(1.0)
        rec.pump()
        assert len(looks) == 1  # the safety net, every verify_interval
        looks.clear()
        append(log, "two\n")
        rec.until(lambda: rec.texts() == ["one", "two"])
        assert looks  # the modify event made it look
        time.sleep(1.0)  # let the rest of the write's events (close) arrive
        rec.pump()
        looks.clear()
        for _ in range(9):
            clock.advance(1.0)
            rec.pump()
        assert looks == []


def _lose_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every event is dropped, as when inotify's queue overflows."""
    monkeypatch.setattr(Hints, "note", lambda self, *args, **kwargs: None)


def _settle(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``directory``'s mtime old and trusted at once: a test writes its directory
    just before, and a change within the same mtime tick would go unseen."""
    monkeypatch.setattr(watcher_module, "_RACY_NS", 0)
    past = time.time() - 60
    os.utime(directory, (past, past))


def clocked(
    started: list[Tailer],
    path: Path,
    *,
    scan_interval_s: float,
    verify_interval_s: float,
    close_inactive_s: float = 300.0,
) -> tuple[FakeClock, Recorder]:
    """A started tailer of ``path`` (a glob too) on a fake clock that ticks each second."""
    clock = FakeClock()
    tailer = Tailer([source(path)], [], first_start=True, clock=clock, tick_s=1.0,
                    scan_interval_s=scan_interval_s, verify_interval_s=verify_interval_s,
                    close_inactive_s=close_inactive_s)
    return clock, run(started, tailer)


class TestSafetyNet:
    def test_quiet_watched_files_cost_no_tick_and_a_stat_each_per_verify_interval(
        self, tmp_path: Path, started: list[Tailer], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Ticks touch nothing; every scan_interval one stat of the directory (lost
        events?), every verify_interval one stat per file; no glob while no name changed."""
        logs = tmp_path / "logs"
        logs.mkdir()
        for i in range(50):
            append(logs / f"f{i:02d}.log", f"line {i}\n")
        _settle(logs, monkeypatch)
        clock, rec = clocked(started, logs / "*.log", scan_interval_s=10.0, verify_interval_s=30.0)
        rec.pump()  # the scan that armed the watch asked for one more
        calls = count_calls(monkeypatch, ("fstat", "stat", "open", "scandir"))
        for _ in range(9):
            clock.advance(1.0)
            rec.pump()
        assert calls == Counter()
        clock.advance(1.0)
        rec.pump()
        assert calls == Counter(stat=1)
        calls.clear()
        clock.advance(20.0)
        rec.pump()
        assert calls == Counter(stat=51)
        assert len(rec.texts()) == 50

    def test_writes_and_files_whose_events_were_lost_are_found_by_the_safety_net(
        self, tmp_path: Path, started: list[Tailer], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A write is found at the next verify_interval, a new file (a changed
        directory mtime) at the next scan_interval."""
        logs = tmp_path / "logs"
        logs.mkdir()
        log = logs / "app.log"
        append(log, "one\n")
        _settle(logs, monkeypatch)
        clock, rec = clocked(started, logs / "*.log", scan_interval_s=10.0, verify_interval_s=30.0)
        rec.pump()  # the scan that armed the watch asked for one more
        _lose_events(monkeypatch)
        append(log, "two\n")
        for _ in range(29):
            clock.advance(1.0)
            rec.pump()
        assert rec.texts() == ["one"]  # no event, and ticks leave watched files alone
        clock.advance(1.0)
        rec.pump()
        assert rec.texts() == ["one", "two"]
        append(logs / "new.log", "new\n")
        clock.advance(10.0)
        rec.pump()
        assert rec.texts(rec.uid_of(logs / "new.log")) == ["new"]

    def test_a_symlinked_file_is_looked_at_every_tick(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        """Writes to its target are reported under the target's name, not the link's."""
        target, link = tmp_path / "current.txt", tmp_path / "app.log"
        append(target, "one\n")
        link.symlink_to(target)
        clock, rec = clocked(started, tmp_path / "*.log", scan_interval_s=NEVER,
                             verify_interval_s=NEVER)
        assert str(tmp_path) in rec.tailer.watched_dirs
        rec.pump()
        append(target, "two\n")
        clock.advance(1.0)
        rec.pump()
        assert rec.texts() == ["one", "two"]

    def test_a_quiet_watched_file_gives_its_fd_back_after_close_inactive(
        self, tmp_path: Path, started: list[Tailer]
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "one\n")
        clock, rec = clocked(started, log, scan_interval_s=NEVER, verify_interval_s=NEVER,
                             close_inactive_s=5.0)
        rec.pump()
        clock.advance(4.5)
        rec.pump()
        assert [s.state for s in rec.tailer.stats()] == ["active"]
        clock.advance(0.5)
        rec.pump()
        assert [s.state for s in rec.tailer.stats()] == ["idle"]
        append(log, "two\n")
        rec.until(lambda: rec.texts() == ["one", "two"])
        assert [s.state for s in rec.tailer.stats()] == ["active"]


TRACEBACK = "Traceback (most recent call last):\nValueError: boom\n"


class TestUnreadable:
    def test_a_file_unreadable_at_start_is_read_once_a_chmod_fixes_it(
        self,
        tmp_path: Path,
        started: list[Tailer],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """No write, no name changed: the chmod's attrib event alone retries it. It starts
        where it stood when first refused (start_at: end): what was written while it
        could not be read is read, its history from before the start is not."""
        refuse_unreadable(monkeypatch)
        logs = tmp_path / "logs"
        logs.mkdir()
        secret = logs / "secret.log"
        append(secret, "2026-01-01 11:00:00,000 ERROR app history from before the start\n")
        secret.chmod(0o200)  # nobody may read it; its owner may still write it
        append(logs / "ok.log", "history\n")
        _settle(logs, monkeypatch)
        caplog.set_level(logging.INFO, logger="logwatch.sources.tailer")
        tailer = Tailer([source(logs / "*.log", start_at="end")], [], first_start=True,
                        clock=FakeClock(), tick_s=NEVER, scan_interval_s=NEVER,
                        verify_interval_s=NEVER)
        rec = run(started, tailer)
        rec.pump()  # the scan that armed the watch asked for one more
        assert rec.texts() == []
        assert tailer.unreadable() == [
            Unreadable(str(secret), "app", "[Errno 13] Permission denied")]
        append(secret, TRACEBACK)
        secret.chmod(0o640)
        rec.until(lambda: rec.texts() == TRACEBACK.splitlines())
        assert tailer.unreadable() == []
        messages = [record.getMessage() for record in caplog.records]
        assert sum("cannot read" in message for message in messages) == 1
        assert f"{secret} is readable now; following it" in messages
        assert tailer.counters.unreadable == 1

    def test_without_events_the_scan_retries_it_without_a_glob_and_logs_it_once(
        self,
        tmp_path: Path,
        started: list[Tailer],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Events lost (a full inotify queue): each scan_interval tries to open it once;
        ticks leave it alone, and nothing is globbed, since no name changed."""
        asked = refuse_unreadable(monkeypatch)
        logs = tmp_path / "logs"
        logs.mkdir()
        secret = logs / "secret.log"
        append(secret, "one\n")
        secret.chmod(0)
        _settle(logs, monkeypatch)
        clock, rec = clocked(started, logs / "*.log", scan_interval_s=10.0,
                             verify_interval_s=NEVER)
        rec.pump()  # the scan that armed the watch asked for one more
        _lose_events(monkeypatch)
        globs = count_calls(monkeypatch, ("glob",))
        asked.clear()
        for _ in range(9):
            clock.advance(1.0)
            rec.pump()
        assert asked == []
        clock.advance(1.0)
        rec.pump()
        assert asked == [str(secret)]
        assert [u.path for u in rec.tailer.unreadable()] == [str(secret)]
        secret.chmod(0o644)
        for _ in range(9):
            clock.advance(1.0)
            rec.pump()
        assert rec.texts() == []
        clock.advance(1.0)
        rec.pump()
        assert rec.texts() == ["one"]
        assert rec.tailer.unreadable() == []
        assert globs == Counter()
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert [r.getMessage() for r in warnings] == [
            f"cannot read {secret}: [Errno 13] Permission denied: '{secret}'; "
            "trying again when it changes"]

    def test_a_deleted_unreadable_file_is_forgotten(
        self, tmp_path: Path, started: list[Tailer], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        refuse_unreadable(monkeypatch)
        secret = tmp_path / "secret.log"
        append(secret, "one\n")
        secret.chmod(0)
        rec = run(started, Tailer([source(tmp_path / "*.log")], [], first_start=True,
                                  tick_s=NEVER, scan_interval_s=NEVER))
        assert len(rec.tailer.unreadable()) == 1
        secret.unlink()
        rec.until(lambda: rec.tailer.unreadable() == [])


class TestDrift:
    def test_a_watched_directory_whose_names_changed_is_reported_once(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _settle(tmp_path, monkeypatch)
        watcher = DirectoryWatcher(Hints())
        watcher.start()
        try:
            watcher.sync({str(tmp_path): Scope.FILES})
            assert watcher.watched == {str(tmp_path)}
            assert watcher.drifted() == frozenset()
            append(tmp_path / "new.log", "x\n")
            assert watcher.drifted() == {str(tmp_path)}
            assert watcher.drifted() == frozenset()
            append(tmp_path / "new.log", "writes leave the directory alone\n")
            assert watcher.drifted() == frozenset()
        finally:
            watcher.stop()

    def test_a_directory_changed_within_its_timestamp_granularity_is_checked_again(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A later change within the same mtime tick would look like no change at all:
        such a directory is reported until its mtime is old enough to tell."""
        monkeypatch.setattr(watcher_module, "_RACY_NS", 10**18)  # every mtime is recent
        watcher = DirectoryWatcher(Hints())
        watcher.start()
        try:
            watcher.sync({str(tmp_path): Scope.FILES})
            assert watcher.unsettled
            assert watcher.drifted(settled_only=True) == frozenset()
            assert watcher.drifted() == {str(tmp_path)}
            assert watcher.drifted() == {str(tmp_path)}
            monkeypatch.setattr(watcher_module, "_RACY_NS", 0)  # time passed
            assert watcher.drifted(settled_only=True) == {str(tmp_path)}
            assert not watcher.unsettled
            assert watcher.drifted() == frozenset()
        finally:
            watcher.stop()
