"""What happens to files under the daemon's feet: each change alerts the new records once
and never alerts the old ones again, neither at once nor after a restart.

Driven through the real daemon (``python -m logwatch run``) and a webhook on
127.0.0.1; records are real ``logger.exception`` records, one order number each.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.daemon_harness import running_daemon, stop
from tests.faults.scene import Scene, log_records


@contextmanager
def daemon_for(scene: Scene, tmp_path: Path) -> Iterator[None]:
    with running_daemon(scene.config, tmp_path, args=()) as process:
        yield
        code, _ = stop(process)
        assert code == 0


def restarted_without_repeats(scene: Scene, tmp_path: Path, log: Path, order: int) -> None:
    """Restart the daemon, append ``order`` to ``log``: only that order is alerted anew."""
    before = scene.alerts()
    with daemon_for(scene, tmp_path):
        log_records(log, order)
        scene.wait_alerted(order)
    assert scene.alerts() - before == {order: 1}


class TestInodeReuse:
    def test_a_file_removed_and_created_again_is_read_from_its_first_line(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """rm and create (ext4 hands out the same inode): the new file is new content."""
        (tmp_path / "logs").mkdir()
        log = tmp_path / "logs" / "app.log"
        scene = Scene(tmp_path, httpserver, [f"{tmp_path}/logs/*.log"])
        with daemon_for(scene, tmp_path):
            log_records(log, 1, 2)
            scene.wait_alerted(1, 2)
            log.unlink()
            log_records(log, 3, 4, 5)  # longer than before: a stale offset would skip 3
            scene.wait_alerted(3, 4, 5)
        assert scene.alerts() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
        assert scene.bodies(3)[0]["first_line"] == 1
        restarted_without_repeats(scene, tmp_path, log, 6)

    def test_a_file_replaced_while_the_daemon_was_stopped_is_read_from_its_first_line(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """The committed offset belongs to the removed file; the one now there starts at 0."""
        (tmp_path / "logs").mkdir()
        log = tmp_path / "logs" / "app.log"
        scene = Scene(tmp_path, httpserver, [f"{tmp_path}/logs/*.log"])
        with daemon_for(scene, tmp_path):
            log_records(log, 1, 2)
            scene.wait_alerted(1, 2)
        log.unlink()
        log_records(log, 3, 4, 5)
        with daemon_for(scene, tmp_path):
            scene.wait_alerted(3, 4, 5)
        assert scene.alerts() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
        assert scene.bodies(3)[0]["first_line"] == 1


class TestTruncation:
    def test_a_file_truncated_to_zero_and_regrown_is_read_from_its_start(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """Truncated, then at once written past the old offset: the size alone cannot tell."""
        (tmp_path / "logs").mkdir()
        log = tmp_path / "logs" / "app.log"
        scene = Scene(tmp_path, httpserver, [f"{tmp_path}/logs/*.log"])
        with daemon_for(scene, tmp_path):
            log_records(log, 1, 2)
            scene.wait_alerted(1, 2)
            os.truncate(log, 0)
            log_records(log, 3, 4, 5)
            scene.wait_alerted(3, 4, 5)
        assert scene.alerts() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
        assert scene.bodies(3)[0]["first_line"] == 1
        restarted_without_repeats(scene, tmp_path, log, 6)

    def test_copytruncate_after_the_daemon_read_past_the_copy_repeats_nothing(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """A record written between logrotate's copy and its truncate is read from the live
        file; the copy (matched by the globs) then holds only alerted records."""
        (tmp_path / "logs").mkdir()
        log = tmp_path / "logs" / "app.log"
        scene = Scene(tmp_path, httpserver, [f"{tmp_path}/logs/*.log*"])
        with daemon_for(scene, tmp_path):
            log_records(log, 1, 2)
            scene.wait_alerted(1, 2)
            shutil.copyfile(log, tmp_path / "logs" / "app.log.1")  # logrotate's copy ...
            log_records(log, 3)
            scene.wait_alerted(3)
            os.truncate(log, 0)  # ... and its truncate
            log_records(log, 4)
            scene.wait_alerted(4)
        assert scene.alerts() == {1: 1, 2: 1, 3: 1, 4: 1}
        restarted_without_repeats(scene, tmp_path, log, 5)

    def test_a_copy_seen_while_logrotate_still_fills_it_is_not_read_as_a_new_log(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """logrotate creates the copy empty and then writes it: a scan in between must not
        take it for a new file, or the filled copy repeats every record it holds."""
        logs = tmp_path / "logs"
        logs.mkdir()
        log, copy = logs / "app.log", logs / "app.log.1"
        scene = Scene(tmp_path, httpserver, [f"{logs}/*.log*"])
        with daemon_for(scene, tmp_path):
            log_records(log, 1, 2)
            scene.wait_alerted(1, 2)
            copy.touch()
            log_records(logs / "other.log", 3)  # found by the scan that also sees the copy
            scene.wait_alerted(3)
            copy.write_bytes(log.read_bytes())
            os.truncate(log, 0)
            log_records(log, 4)
            scene.wait_alerted(4)
        assert scene.alerts() == {1: 1, 2: 1, 3: 1, 4: 1}
        restarted_without_repeats(scene, tmp_path, log, 5)


class TestDirectories:
    def test_the_watched_directory_deleted_and_recreated_is_followed_again(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """rm -rf logs; mkdir logs: the watch is re-armed and the new file read from line 1."""
        logs = tmp_path / "logs"
        logs.mkdir()
        scene = Scene(tmp_path, httpserver, [f"{logs}/*.log"])
        with daemon_for(scene, tmp_path):
            log_records(logs / "app.log", 1)
            scene.wait_alerted(1)
            shutil.rmtree(logs)
            logs.mkdir()
            log_records(logs / "app.log", 2)
            scene.wait_alerted(2, timeout_s=25.0)  # at worst the next full scan finds it
            log_records(logs / "app.log", 3)
            scene.wait_alerted(3)
        assert scene.alerts() == {1: 1, 2: 1, 3: 1}
        assert scene.bodies(2)[0]["first_line"] == 1
        restarted_without_repeats(scene, tmp_path, logs / "app.log", 4)

    def test_a_file_that_appears_later_is_read_from_its_first_line(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """start_at: end is for history at the first start; later files are read whole,
        in a directory that exists and in one created after the start."""
        logs = tmp_path / "logs"
        (logs / "svc-a").mkdir(parents=True)
        log_records(logs / "svc-a" / "app.log", 0)  # history at the first start: not alerted
        scene = Scene(tmp_path, httpserver, [f"{logs}/*/*.log"])
        with daemon_for(scene, tmp_path):
            log_records(logs / "svc-a" / "app.log", 1)
            scene.wait_alerted(1)
            log_records(logs / "svc-a" / "worker.log", 2)
            scene.wait_alerted(2)
            (logs / "svc-b").mkdir()
            log_records(logs / "svc-b" / "app.log", 3, 4)
            scene.wait_alerted(3, 4, timeout_s=25.0)  # a new directory: found by a scan
        assert scene.alerts() == {1: 1, 2: 1, 3: 1, 4: 1}
        assert scene.bodies(2)[0]["first_line"] == 1
        assert scene.bodies(3)[0]["first_line"] == 1
        restarted_without_repeats(scene, tmp_path, logs / "svc-b" / "app.log", 5)


class TestSymlinks:
    def test_a_retargeted_symlink_follows_the_new_target_and_drains_the_old(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """logs/app.log -> releases/v1, then v2 (a deploy), then v1 again (a rollback)."""
        logs = tmp_path / "logs"
        logs.mkdir()
        v1, v2 = tmp_path / "releases" / "v1" / "app.log", tmp_path / "releases" / "v2" / "app.log"
        v1.parent.mkdir(parents=True)
        v2.parent.mkdir(parents=True)
        log_records(v1, 0)  # history at the first start: not alerted
        link = logs / "app.log"
        retarget(link, v1)
        scene = Scene(tmp_path, httpserver, [f"{logs}/*.log"])
        with daemon_for(scene, tmp_path):
            log_records(v1, 1)
            scene.wait_alerted(1)
            log_records(v2, 2)  # the new release starts logging before the switch
            retarget(link, v2)
            log_records(v2, 3)
            log_records(v1, 4)  # the old release's last words, after the switch
            scene.wait_alerted(2, 3, 4)
            retarget(link, v1)
            log_records(v1, 5)
            scene.wait_alerted(5)
        assert scene.alerts() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
        assert scene.bodies(2)[0]["first_line"] == 1
        restarted_without_repeats(scene, tmp_path, v1, 6)


def retarget(link: Path, target: Path) -> None:
    """``ln -sfn``: point ``link`` at ``target`` in one rename, never leaving it missing."""
    staging = link.with_name(f".{link.name}.new")
    staging.symlink_to(target)
    staging.replace(link)
