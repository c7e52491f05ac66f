"""The tailer on real files, driven by a fake clock and no filesystem events.

Everything here must work with watchdog off: events only make the tailer
sooner (tests/test_sources_watcher.py), never correct.
"""

from __future__ import annotations

import logging
import os
import resource
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from logwatch.sources import Source, SourceSpec, Tailer
from logwatch.sources.host import FD_RESERVE, HostFacts
from logwatch.store import FileState
from tests.test_sources_support import (
    FakeClock,
    Recorder,
    append,
    assert_numbered,
    count_calls,
    fds_on,
    open_fds,
    refuse_unreadable,
    source,
)

Follow = Callable[..., Recorder]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def follow(clock: FakeClock) -> Iterator[Follow]:
    """Build a tailer on a fake clock; every one built is stopped at teardown."""
    built: list[Tailer] = []

    def make(
        *sources: SourceSpec,
        known: Sequence[FileState] = (),
        first_start: bool = True,
        **options: float,
    ) -> Recorder:
        tailer = Tailer(list(sources), list(known), first_start=first_start, clock=clock, **options)  # type: ignore[arg-type]
        built.append(tailer)
        return Recorder(tailer)

    yield make
    for tailer in built:
        tailer.stop()


def tick(clock: FakeClock, rec: Recorder, seconds: float = 1.0) -> None:
    clock.advance(seconds)
    rec.pump()


class TestReading:
    def test_appended_lines_arrive_with_exact_offsets_and_line_numbers(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """Each complete line carries its byte range and its 1-based number."""
        log = tmp_path / "app.log"
        append(log, "first\n")
        rec = follow(source(tmp_path / "*.log"))
        rec.pump()
        append(log, "second line\nthird\n")
        tick(clock, rec)
        lines = rec.lines[rec.uid_of(log)]
        assert [(x.text, x.offset, x.end, x.lineno) for x in lines] == [
            ("first", 0, 6, 1),
            ("second line", 6, 18, 2),
            ("third", 18, 24, 3),
        ]

    def test_partial_last_line_waits_for_its_newline(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """A line being written is handed out only once its newline is there."""
        log = tmp_path / "app.log"
        append(log, "complete\nhal")
        rec = follow(source(log))
        rec.pump()
        assert rec.texts() == ["complete"]
        append(log, "f done\n")
        tick(clock, rec)
        line = rec.lines[rec.uid_of(log)][-1]
        assert (line.text, line.offset, line.lineno) == ("half done", 9, 2)

    def test_long_lines_bad_utf8_nul_runs_and_crlf(self, tmp_path: Path, follow: Follow) -> None:
        """Long lines are cut and flagged, bad bytes replaced, NUL holes and CR dropped."""
        log = tmp_path / "app.log"
        append(log, b"\0\0\0ok\r\n" + b"x" * 50 + b"\ncaf\xc3 \n")
        rec = follow(source(log, max_line_bytes=10))
        rec.pump()
        lines = rec.lines[rec.uid_of(log)]
        assert [(x.text, x.truncated) for x in lines] == [
            ("ok", False),
            ("x" * 10, True),
            ("caf\ufffd ", False),
        ]
        assert_numbered(lines)

    def test_one_big_file_cannot_starve_the_others(self, tmp_path: Path, follow: Follow) -> None:
        """A poll reads at most max_batch_bytes, shared round robin between files."""
        big, small = tmp_path / "big.log", tmp_path / "small.log"
        append(big, "".join(f"{i:0999d}\n" for i in range(300)))
        append(small, "hello\n")
        rec = follow(source(tmp_path / "*.log"), max_batch_bytes=64 * 1024, read_chunk=16 * 1024)
        chunks = rec.pump()
        assert rec.texts(rec.uid_of(small)) == ["hello"]
        assert [c.at_eof for c in chunks if c.origin.path == str(big)] == [False]
        assert len(rec.lines[rec.uid_of(big)]) < 70
        polls = 1
        while len(rec.lines[rec.uid_of(big)]) < 300:
            rec.tailer.wait(30.0)  # returns at once: there is a backlog
            rec.pump()
            polls += 1
        assert polls <= 6
        assert_numbered(rec.lines[rec.uid_of(big)])


    def test_an_io_error_retires_only_the_failing_file(
        self, tmp_path: Path, follow: Follow, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """EIO (or ESTALE on NFS) on one file must not stop the others."""
        bad, good = tmp_path / "bad.log", tmp_path / "good.log"
        append(bad, "a\n")
        append(good, "a\n")
        rec = follow(source(tmp_path / "*.log"))
        rec.pump()
        [bad_fd] = [int(fd.name) for fd in Path("/proc/self/fd").iterdir()
                    if fd.is_symlink() and str(fd.readlink()) == str(bad)]
        real_pread = os.pread

        def pread(fd: int, size: int, offset: int) -> bytes:
            if fd == bad_fd:
                raise OSError(5, "Input/output error")
            return real_pread(fd, size, offset)

        monkeypatch.setattr(os, "pread", pread)
        append(bad, "b\n")
        append(good, "b\n")
        tick(clock, rec)
        assert rec.retired == [rec.uid_of(bad)]
        assert rec.texts(rec.uid_of(good)) == ["a", "b"]


class TestStartPosition:
    def test_first_start_at_end_skips_history_but_keeps_true_line_numbers(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """start_at=end begins after the last complete line; numbering counts the history."""
        log = tmp_path / "app.log"
        append(log, "a\nb\nc\npart")
        rec = follow(source(log, start_at="end"))
        assert rec.pump() == []
        append(log, "ial\nd\n")
        tick(clock, rec)
        lines = rec.lines[rec.uid_of(log)]
        assert [(x.text, x.offset, x.lineno) for x in lines] == [("partial", 6, 4), ("d", 14, 5)]

    def test_first_start_from_beginning_reads_history(self, tmp_path: Path, follow: Follow) -> None:
        log = tmp_path / "app.log"
        append(log, "a\nb\n")
        rec = follow(source(log, start_at="beginning"))
        rec.pump()
        assert rec.texts() == ["a", "b"]

    def test_file_created_later_is_read_from_its_beginning(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """A file that appears under a glob after start loses none of its first lines."""
        append(tmp_path / "old.log", "history\n")
        rec = follow(source(tmp_path / "*.log", start_at="end"))
        rec.pump()
        append(tmp_path / "new.log", "one\ntwo\n")
        tick(clock, rec)  # the directory is polled each tick when it is not watched
        assert rec.texts() == ["one", "two"]
        assert_numbered(rec.lines[rec.uid_of(tmp_path / "new.log")])

    def test_new_files_from_end_skips_what_a_later_file_already_holds(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        rec = follow(source(tmp_path / "*.log", new_files_from="end"))
        rec.pump()
        append(tmp_path / "new.log", "before\n")
        tick(clock, rec)
        append(tmp_path / "new.log", "after\n")
        tick(clock, rec)
        assert [(x.text, x.lineno) for x in rec.lines[rec.uid_of(tmp_path / "new.log")]] == [
            ("after", 2)
        ]

    def test_files_met_on_a_later_start_follow_new_files_from(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        """Not the first start: an unknown file was created while we were down."""
        append(tmp_path / "app.log", "written while stopped\n")
        rec = follow(source(tmp_path / "*.log", start_at="end"), first_start=False)
        rec.pump()
        assert rec.texts() == ["written while stopped"]


class TestRestart:
    def test_restart_from_checkpoints_reads_every_line_exactly_once(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "1\n2\n3\n")
        first = follow(source(log))
        first.pump()
        first.tailer.stop()
        append(log, "4\n5\n")
        second = follow(source(log), known=list(first.committed.values()), first_start=False)
        second.pump()
        uid = first.uid_of(log)
        assert second.uid_of(log) == uid
        assert second.texts(uid) == ["4", "5"]
        assert_numbered(first.lines[uid] + second.lines[uid])

    def test_a_known_file_unreadable_at_restart_is_resumed_not_lost(
        self,
        tmp_path: Path,
        follow: Follow,
        clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Its path is still there: no rotated sibling to look for, nothing to give up on;
        once it opens, it goes on at its committed offset under its uid."""
        refuse_unreadable(monkeypatch)
        log = tmp_path / "app.log"
        append(log, "1\n")
        first = follow(source(log))
        first.pump()
        first.tailer.stop()
        append(log, "2\n")
        log.chmod(0)
        second = follow(source(log), known=list(first.committed.values()), first_start=False)
        second.pump()
        assert [u.path for u in second.tailer.unreadable()] == [str(log)]
        log.chmod(0o644)
        tick(clock, second, 10.0)  # the scan_interval (this directory is polled)
        uid = first.uid_of(log)
        assert second.texts(uid) == ["2"]
        assert second.retired == []
        assert not [r for r in caplog.records if "lost" in r.getMessage()]

    def test_an_unfinished_line_at_stop_is_read_whole_after_restart(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "done\nhal")
        first = follow(source(log))
        first.pump()
        first.tailer.stop()
        append(log, "f\n")
        second = follow(source(log), known=list(first.committed.values()), first_start=False)
        second.pump()
        assert [(x.text, x.offset, x.lineno) for x in second.lines[first.uid_of(log)]] == [
            ("half", 5, 2)
        ]

    def test_rotated_twice_while_stopped_reads_the_rest_and_the_unseen_generation(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        """The old file is found among its rotated siblings; the generation between is read
        whole; nothing is read twice."""
        log = tmp_path / "app.log"
        append(log, "g1-a\n")
        first = follow(source(log))
        first.pump()
        first.tailer.stop()
        uid = first.uid_of(log)
        append(log, "g1-b\n")
        log.rename(tmp_path / "app.log.1")
        append(log, "g2\n")
        (tmp_path / "app.log.1").rename(tmp_path / "app.log.2")
        log.rename(tmp_path / "app.log.1")
        append(log, "g3\n")
        second = follow(source(log), known=list(first.committed.values()), first_start=False)
        second.pump()
        assert second.texts(uid) == ["g1-b"]
        assert_numbered(first.lines[uid] + second.lines[uid])
        assert sorted(second.texts()) == ["g1-b", "g2", "g3"]

    def test_file_reusing_a_known_inode_is_read_from_its_start(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        """Same (dev, ino) but another head: rm and a new file got the freed inode."""
        log = tmp_path / "app.log"
        append(log, "new file\n")
        st = log.stat()
        stale = FileState(
            "old",
            "app",
            str(log),
            st.st_dev,
            st.st_ino,
            b"other head",
            offset=5,
            lineno=2,
            marker=b"other",
        )
        rec = follow(source(log), known=[stale], first_start=False)
        rec.pump()
        assert rec.uid_of(log) != "old"
        assert rec.texts() == ["new file"]
        assert rec.tailer.counters.inode_reuses == 1
        assert "old" in rec.retired  # and nowhere else to be found
        final = rec.tailer.final("old")
        assert final is not None
        assert (final.state, final.offset) == ("gone", 5)

    def test_file_rewritten_under_the_same_head_is_read_from_its_start(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        """The head is the first KiB: a long banner makes two files agree on it."""
        log = tmp_path / "app.log"
        banner = "=" * 2000
        append(log, f"{banner}\nold tail\n")
        first = follow(source(log))
        first.pump()
        first.tailer.stop()
        replacement = tmp_path / "tmp"
        append(replacement, f"{banner}\nnew content, longer\n")
        replacement.replace(log)
        second = follow(source(log), known=list(first.committed.values()), first_start=False)
        second.pump()
        assert second.uid_of(log) != first.uid_of(log)
        assert second.texts() == [banner, "new content, longer"]
        assert second.tailer.counters.rewritten == 1

    def test_copytruncated_while_stopped_reads_the_rest_from_the_copy(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "read\n")
        first = follow(source(log))
        first.pump()
        first.tailer.stop()
        append(log, "unread\n")
        shutil.copyfile(log, tmp_path / "app.log.1")
        os.truncate(log, 0)
        append(log, "after\n")
        second = follow(source(log), known=list(first.committed.values()), first_start=False)
        second.pump()
        assert second.texts(first.uid_of(log)) == ["unread"]
        assert [(x.text, x.lineno) for x in second.lines[second.uid_of(log)]] == [("after", 1)]


class TestRotation:
    def test_rename_rotation_reads_the_old_file_to_its_end_then_closes_it(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        log, old = tmp_path / "app.log", tmp_path / "app.log.1"
        append(log, "a\n")
        rec = follow(source(log), rotate_wait_s=30.0)
        rec.pump()
        uid = rec.uid_of(log)
        fds = open_fds()
        log.rename(old)
        append(log, "new 1\n")
        append(old, "late\n")  # the writer has not reopened yet
        tick(clock, rec)
        assert rec.texts(uid) == ["a", "late"]
        assert [(x.text, x.lineno) for x in rec.lines[rec.uid_of(log)]] == [("new 1", 1)]
        tick(clock, rec, 29.0)
        append(old, "later\n")  # still growing: not closed
        tick(clock, rec)
        assert rec.texts(uid) == ["a", "late", "later"]
        assert rec.retired == []
        tick(clock, rec, 30.0)
        assert rec.retired == [uid]
        assert open_fds() == fds
        assert_numbered(rec.lines[uid])
        final = rec.tailer.checkpoint(uid, rec.lines[uid][-1].end, 4)
        assert (final.state, final.offset, final.marker) == ("gone", 13, b"a\nlate\nlater\n")

    def test_the_file_that_replaces_a_followed_path_is_read_from_its_start(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """It continues the same log: new_files_from=end must not skip its first lines."""
        log = tmp_path / "app.log"
        append(log, "old\n")
        rec = follow(source(log, new_files_from="end"))
        rec.pump()
        log.rename(tmp_path / "app.log.1")
        append(log, "first after rotation\n")
        tick(clock, rec)
        assert rec.texts(rec.uid_of(log)) == ["first after rotation"]

    def test_deleted_file_is_read_to_its_end_then_released(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """st_nlink == 0: what the writer still appends is read, then the fd is freed."""
        log = tmp_path / "app.log"
        writer = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(writer, b"before\n")
            rec = follow(source(log), rotate_wait_s=5.0)
            rec.pump()
            log.unlink()
            os.write(writer, b"after rm\n")
            tick(clock, rec)
            assert rec.texts() == ["before", "after rm"]
            assert fds_on(log) == 2
            tick(clock, rec, 5.0)
            assert len(rec.retired) == 1
            assert fds_on(log) == 1  # the writer's, not ours
        finally:
            os.close(writer)

    def test_rm_and_recreate_reads_the_new_file_from_zero(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "old 1\nold 2\n")
        rec = follow(source(log))
        rec.pump()
        old_uid = rec.uid_of(log)
        log.unlink()
        append(log, "new\n")
        tick(clock, rec)
        new = [uid for uid in rec.lines if uid != old_uid]
        assert len(new) == 1
        assert [(x.text, x.offset, x.lineno) for x in rec.lines[new[0]]] == [("new", 0, 1)]

    def test_truncation_to_zero_restarts_the_file_under_a_new_uid(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """No rotated copy: the unread bytes are counted as lost; the new content is read."""
        log = tmp_path / "app.log"
        append(log, "one\ntwo\n")
        rec = follow(source(log))
        rec.pump()
        old_uid = rec.uid_of(log)
        os.truncate(log, 0)
        append(log, "fresh\n")
        tick(clock, rec)
        assert old_uid in rec.retired
        new_uid = rec.uid_of(log)
        assert new_uid != old_uid
        assert [(x.text, x.lineno) for x in rec.lines[new_uid]] == [("fresh", 1)]
        assert rec.tailer.counters.truncations == 1

    def test_truncated_and_regrown_past_our_offset_is_noticed(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """The size never drops below our offset between two looks; the marker catches it."""
        log = tmp_path / "app.log"
        append(log, "aaaa\n" * 4)
        rec = follow(source(log))
        rec.pump()
        os.truncate(log, 0)
        append(log, "bbbb\n" * 10)
        tick(clock, rec)
        assert rec.texts(rec.uid_of(log)) == ["bbbb"] * 10
        assert_numbered(rec.lines[rec.uid_of(log)])

    def test_copytruncate_reads_the_unread_rest_from_the_copy(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "1\n2\n")
        rec = follow(source(log))
        rec.pump()
        uid = rec.uid_of(log)
        append(log, "3\n4\n")  # written, not read yet, when logrotate copies
        shutil.copyfile(log, tmp_path / "app.log.1")
        os.truncate(log, 0)
        append(log, "new\n")
        tick(clock, rec)
        assert rec.texts(uid) == ["1", "2", "3", "4"]
        assert_numbered(rec.lines[uid])
        assert uid in rec.retired  # the copy is closed at its end: nobody writes to it
        assert [(x.text, x.lineno) for x in rec.lines[rec.uid_of(log)]] == [("new", 1)]
        assert rec.tailer.counters.copies_caught_up == 1

    def test_copytruncate_of_a_writer_without_o_append_skips_the_hole(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """The writer keeps its offset: the truncated file regrows sparse, NULs first."""
        log = tmp_path / "app.log"
        writer = os.open(log, os.O_WRONLY | os.O_CREAT)
        try:
            os.write(writer, b"x" * 99 + b"\n")
            rec = follow(source(log))
            rec.pump()
            shutil.copyfile(log, tmp_path / "app.log.1")
            os.truncate(log, 0)
            os.write(writer, b"next\n")
            tick(clock, rec)
        finally:
            os.close(writer)
        assert [(x.text, x.lineno) for x in rec.lines[rec.uid_of(log)]] == [("next", 1)]

    def test_retargeted_symlink_is_followed_to_its_new_target(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        a, b, link = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "current.log"
        append(a, "a1\n")
        append(b, "b1\n")
        link.symlink_to(a)
        rec = follow(source(link))
        rec.pump()
        a_uid = rec.uid_of(link)
        (tmp_path / "tmp-link").symlink_to(b)
        (tmp_path / "tmp-link").replace(link)  # ln -sfn: atomic retarget
        append(a, "a2\n")
        tick(clock, rec)
        assert rec.texts(a_uid) == ["a1", "a2"]
        assert rec.texts(rec.uid_of(link)) == ["b1"]

    def test_directory_deleted_and_recreated_is_followed_again(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        logs = tmp_path / "logs"
        logs.mkdir()
        append(logs / "app.log", "before\n")
        rec = follow(source(logs / "*.log"), rotate_wait_s=1.0)
        rec.pump()
        shutil.rmtree(logs)
        tick(clock, rec)
        tick(clock, rec)
        logs.mkdir()
        append(logs / "app.log", "again\n")
        tick(clock, rec)
        assert rec.texts() == ["before", "again"]

    def test_file_renamed_to_a_name_the_globs_match_is_not_read_again(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        log, old = tmp_path / "app.log", tmp_path / "app.log.1"
        append(log, "a\n")
        rec = follow(source(tmp_path / "app.log*"))
        rec.pump()
        log.rename(old)
        append(log, "new\n")
        append(old, "late\n")
        tick(clock, rec, 10.0)
        assert sorted(rec.texts()) == ["a", "late", "new"]
        assert {(s.path, s.state) for s in rec.tailer.stats()} == {
            (str(log), "active"),
            (str(old), "active"),
        }

    def test_snapshot_copy_matching_the_globs_is_not_read_twice(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """logrotate's `copy`: the copy repeats bytes we follow in the live file."""
        log = tmp_path / "app.log"
        append(log, "a\nb\n")
        rec = follow(source(tmp_path / "app.log*"))
        rec.pump()
        shutil.copyfile(log, tmp_path / "app.log.1")
        append(log, "c\n")
        tick(clock, rec, 10.0)
        assert rec.texts() == ["a", "b", "c"]


class TestIdleFiles:
    def test_quiet_committed_file_gives_its_fd_back_and_resumes_on_growth(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "one\n")
        rec = follow(source(log), close_inactive_s=5.0, scan_interval_s=10.0)
        rec.pump()
        fds = open_fds()
        tick(clock, rec, 5.0)
        assert open_fds() == fds - 1
        assert [s.state for s in rec.tailer.stats()] == ["idle"]
        append(log, "two\n")
        tick(clock, rec, 10.0)  # idle files are looked at on a hint or a scan
        assert [(x.text, x.lineno) for x in rec.lines[rec.uid_of(log)]] == [("one", 1), ("two", 2)]
        assert [s.state for s in rec.tailer.stats()] == ["active"]

    def test_file_with_uncommitted_lines_keeps_its_fd(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """Its checkpoint marker still needs the open file."""
        append(tmp_path / "app.log", "one\n")
        rec = follow(source(tmp_path / "app.log"), close_inactive_s=5.0)
        rec.tailer.poll()  # read, but never checkpointed
        clock.advance(6.0)
        rec.tailer.poll()
        assert [s.state for s in rec.tailer.stats()] == ["active"]

    def test_idle_file_rotated_while_closed_is_read_from_where_it_went(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        log, old = tmp_path / "app.log", tmp_path / "app.log.1"
        append(log, "one\n")
        rec = follow(source(log), close_inactive_s=5.0)
        rec.pump()
        uid = rec.uid_of(log)
        tick(clock, rec, 5.0)
        append(log, "two\n")
        log.rename(old)
        append(log, "new\n")
        tick(clock, rec, 10.0)
        assert rec.texts(uid) == ["one", "two"]
        assert_numbered(rec.lines[uid])
        assert rec.texts(rec.uid_of(log)) == ["new"]


class TestReconfigure:
    def test_reload_keeps_the_offsets_of_files_that_stay(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "one\n")
        rec = follow(source(log))
        rec.pump()
        rec.tailer.reconfigure([source(log), source(tmp_path / "other.log", name="other")])
        append(log, "two\n")
        tick(clock, rec)
        assert rec.texts(rec.uid_of(log)) == ["one", "two"]

    def test_reload_retires_the_files_of_a_removed_source(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        append(tmp_path / "a.log", "a\n")
        append(tmp_path / "b.log", "b\n")
        rec = follow(source(tmp_path / "a.log"), source(tmp_path / "b.log", name="b"))
        rec.pump()
        rec.tailer.reconfigure([source(tmp_path / "a.log")])
        tick(clock, rec)
        assert rec.retired == [rec.uid_of(tmp_path / "b.log")]
        assert [s.path for s in rec.tailer.stats()] == [str(tmp_path / "a.log")]

    def test_reload_drops_files_a_changed_glob_no_longer_matches(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        append(tmp_path / "a.log", "a\n")
        append(tmp_path / "b.log", "b\n")
        rec = follow(source(tmp_path / "*.log"))
        rec.pump()
        rec.tailer.reconfigure([source(tmp_path / "*.log", exclude=("b.*",))])
        tick(clock, rec)
        assert rec.retired == [rec.uid_of(tmp_path / "b.log")]

    def test_source_added_by_reload_starts_like_a_first_start(
        self, tmp_path: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """Adding a source for an old, big log does not replay its history."""
        append(tmp_path / "b.log", "history\n")
        rec = follow(source(tmp_path / "a.log"), first_start=False)
        rec.pump()
        rec.tailer.reconfigure(
            [source(tmp_path / "a.log"), source(tmp_path / "b.log", name="b", start_at="end")]
        )
        tick(clock, rec)
        append(tmp_path / "b.log", "fresh\n")
        tick(clock, rec)
        assert [(x.text, x.lineno) for x in rec.lines[rec.uid_of(tmp_path / "b.log")]] == [
            ("fresh", 2)
        ]


class TestCheckpointAndStats:
    def test_checkpoint_carries_identity_and_the_bytes_before_the_offset(
        self, tmp_path: Path, follow: Follow
    ) -> None:
        log = tmp_path / "app.log"
        append(log, "x" * 100 + "\nend\n")
        rec = follow(source(log))
        rec.pump()
        state = rec.tailer.checkpoint(rec.uid_of(log), 101, 2)
        st = log.stat()
        assert (state.path, state.dev, state.ino, state.offset, state.lineno) == (
            str(log),
            st.st_dev,
            st.st_ino,
            101,
            2,
        )
        assert state.head == log.read_bytes()
        assert state.marker == b"x" * 63 + b"\n"
        assert state.state == "active"

    def test_checkpoint_of_an_unknown_uid_is_an_error(self, follow: Follow) -> None:
        rec = follow()
        with pytest.raises(KeyError, match="nope"):
            rec.tailer.checkpoint("nope", 0, 1)

    def test_stats_show_each_file_with_its_lag(self, tmp_path: Path, follow: Follow) -> None:
        log = tmp_path / "app.log"
        append(log, "a\n" * 100)
        rec = follow(
            Source("app", (str(log),), start_at="beginning"), max_batch_bytes=64, read_chunk=64
        )
        rec.pump()
        [stat] = rec.tailer.stats()
        assert (stat.path, stat.source, stat.offset, stat.size, stat.lag_bytes, stat.state) == (
            str(log),
            "app",
            64,
            200,
            136,
            "active",
        )


@pytest.fixture
def thousand_files(tmp_path: Path) -> Path:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    elif soft < 4096:
        pytest.skip(f"needs 4096 fds, RLIMIT_NOFILE is {soft}/{hard}")
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in range(1000):
        append(logs / f"f{i:04d}.log", f"line {i}\n")
    return logs


class TestManyFiles:
    def test_fds_of_a_thousand_quiet_files_are_given_back(
        self, thousand_files: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """Only files that changed in the last close_inactive hold a descriptor."""
        rec = follow(source(thousand_files / "*.log"), close_inactive_s=2.0)
        before = open_fds()
        rec.pump()
        assert len(rec.lines) == 1000
        assert open_fds() == before + 1000
        tick(clock, rec, 2.0)
        assert open_fds() == before
        for i in (1, 500, 999):
            append(thousand_files / f"f{i:04d}.log", "more\n")
        tick(clock, rec, 10.0)
        assert open_fds() == before + 3
        assert rec.texts().count("more") == 3

    def test_a_poll_over_idle_files_reads_and_globs_nothing(
        self,
        thousand_files: Path,
        follow: Follow,
        clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Open files cost one stat per tick (of the path, which names them); idle ones
        cost nothing."""
        rec = follow(source(thousand_files / "*.log"), close_inactive_s=5.0)
        rec.pump()
        calls = count_calls(monkeypatch)
        rec.tailer.poll()  # between ticks: nothing at all
        assert calls == Counter()
        clock.advance(1.0)
        rec.tailer.poll()
        # one stat is the unwatched directory's poll
        assert calls == Counter(stat=1001)
        calls.clear()
        clock.advance(4.0)
        rec.tailer.poll()  # now every file goes idle: a last fstat each before closing
        calls.clear()
        clock.advance(1.0)
        rec.tailer.poll()
        assert calls == Counter(stat=1)

    def test_past_the_open_file_limit_files_wait_for_descriptors_given_back(
        self, thousand_files: Path, follow: Follow, clock: FakeClock
    ) -> None:
        """The tailer leaves FD_RESERVE descriptors to the store and the notifiers; a file
        past its share is refused, then read once quiet files give theirs back."""
        limit = 2 * FD_RESERVE + 100
        cap = limit - FD_RESERVE
        rec = follow(source(thousand_files / "*.log"), close_inactive_s=2.0,
                     host=lambda: HostFacts(open_files=limit))
        rec.tailer.start()
        before = open_fds()
        rec.pump()
        assert len(rec.lines) == cap
        assert open_fds() == before + cap
        assert len(rec.tailer.unreadable()) == 1000 - cap
        for _ in range(60):  # a scan (10 s) retries them; 2 s of quiet frees a share
            tick(clock, rec, 2.0)
            assert open_fds() <= before + cap
        assert len(rec.lines) == 1000
        assert rec.tailer.unreadable() == []

    def test_each_time_files_wait_for_descriptors_it_is_said(
        self, thousand_files: Path, follow: Follow, clock: FakeClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """One warning for all the files of a wait, and one again for a later wait."""
        limit = 2 * FD_RESERVE + 100
        rec = follow(source(thousand_files / "*.log"), close_inactive_s=2.0,
                     host=lambda: HostFacts(open_files=limit))
        rec.tailer.start()
        caplog.set_level(logging.WARNING, logger="logwatch.sources.tailer")

        def waits() -> int:
            return sum("nor further logs" in r.getMessage() for r in caplog.records)

        rec.pump()
        for _ in range(60):
            tick(clock, rec, 2.0)
        assert (rec.tailer.unreadable(), waits()) == ([], 1)
        for i in range(1000):
            append(thousand_files / f"g{i:04d}.log", f"later {i}\n")
        for _ in range(60):
            tick(clock, rec, 2.0)
        assert (rec.tailer.unreadable(), waits()) == ([], 2)
        assert len(rec.lines) == 2000

    @pytest.mark.parametrize("new_files_from", ["beginning", "end"])
    def test_a_file_past_the_limit_at_the_first_start_skips_what_it_held_then(
        self, thousand_files: Path, follow: Follow, clock: FakeClock, new_files_from: str
    ) -> None:
        """start_at: end skips each file's history, the ones refused a descriptor at the
        first start too: once opened they start where they ended then, so the lines
        written since are read and the history is not (found by a second reading: they
        were read whole, or, with new_files_from: end, from where they were then)."""
        limit = 2 * FD_RESERVE + 100
        cap = limit - FD_RESERVE
        rec = follow(
            source(thousand_files / "*.log", start_at="end", new_files_from=new_files_from),
            close_inactive_s=2.0, host=lambda: HostFacts(open_files=limit),
        )
        rec.tailer.start()
        rec.pump()
        assert rec.lines == {}
        assert len(rec.tailer.unreadable()) == 1000 - cap
        for i in range(1000):
            append(thousand_files / f"f{i:04d}.log", f"news {i}\n")
        for _ in range(60):  # quiet files give their descriptors back; scans retry the rest
            tick(clock, rec, 2.0)
        assert rec.tailer.unreadable() == []
        assert sorted(rec.texts()) == sorted(f"news {i}" for i in range(1000))
