"""The host's limits and filesystems: read once at start, warned about with a remedy."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest
from watchdog.observers.api import BaseObserver

from logwatch.sources import Tailer
from logwatch.sources.discovery import Scope
from logwatch.sources.host import (
    HostFacts,
    Mount,
    filesystem_of,
    is_network,
    limit_warnings,
    network_filesystem,
    parse_mountinfo,
    read_host,
)
from logwatch.sources.watcher import DirectoryWatcher, Hints
from tests.test_sources_support import append, source

# proc(5)'s example first, then what NFS, SMB and sshfs mounts look like
MOUNTINFO = """\
36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /var/log/remote rw,relatime shared:20 - nfs4 fs1:/export/logs rw,vers=4.2
41 22 0:36 / /mnt/my\\040share rw,relatime - cifs //nas/share rw
42 22 0:37 / /home/ops/far rw,nosuid shared:21 master:3 - fuse.sshfs ops@far:/ rw
43 40 0:38 / /var/log/remote/local rw,relatime - tmpfs tmpfs rw
"""


class TestMountinfo:
    def test_mount_points_and_types_are_read_past_the_optional_fields(self) -> None:
        assert parse_mountinfo(MOUNTINFO) == (
            Mount("/mnt2", "ext3"),
            Mount("/", "ext4"),
            Mount("/var/log/remote", "nfs4"),
            Mount("/mnt/my share", "cifs"),
            Mount("/home/ops/far", "fuse.sshfs"),
            Mount("/var/log/remote/local", "tmpfs"),
        )

    def test_lines_that_are_not_mountinfo_are_skipped(self) -> None:
        assert parse_mountinfo("\nnonsense\n1 2 3:4 / /x rw - \n") == ()

    @pytest.mark.parametrize(
        ("path", "fstype"),
        [
            ("/var/log/remote", "nfs4"),
            ("/var/log/remote/app", "nfs4"),
            ("/var/log/remote/local/app", "tmpfs"),  # the deepest mount point wins
            ("/var/log/remotely", "ext4"),  # a prefix of the name is not a parent
            ("/mnt/my share/logs", "cifs"),
            ("/srv", "ext4"),
        ],
    )
    def test_a_path_belongs_to_the_deepest_mount_above_it(self, path: str, fstype: str) -> None:
        assert filesystem_of(path, parse_mountinfo(MOUNTINFO)) == fstype

    def test_a_later_mount_on_the_same_point_hides_the_earlier_one(self) -> None:
        mounts = (Mount("/", "ext4"), Mount("/logs", "ext4"), Mount("/logs", "nfs"))
        assert filesystem_of("/logs/app", mounts) == "nfs"

    def test_without_a_mount_table_nothing_is_known(self) -> None:
        assert filesystem_of("/var/log", ()) is None


@pytest.mark.parametrize(
    ("fstype", "network"),
    [
        ("nfs", True),
        ("nfs4", True),
        ("cifs", True),
        ("smb3", True),
        ("fuse.sshfs", True),
        ("9p", True),
        ("nfsd", False),  # the NFS server's control filesystem
        ("ext4", False),
        ("xfs", False),
        ("tmpfs", False),
        ("overlay", False),
        ("fuse.gocryptfs", False),
        (None, False),
    ],
)
def test_network_filesystems_are_polled_instead_of_watched(
    fstype: str | None, network: bool
) -> None:
    assert is_network(fstype) is network


class TestReadHost:
    def test_limits_and_mounts_come_from_proc_and_the_rlimit(self) -> None:
        files = {
            "/proc/self/mountinfo": MOUNTINFO,
            "/proc/sys/fs/inotify/max_user_watches": "8192\n",
            "/proc/sys/fs/inotify/max_user_instances": "128\n",
        }
        facts = read_host(files.__getitem__, lambda: 1024)
        assert facts == HostFacts(parse_mountinfo(MOUNTINFO), 8192, 128, 1024)

    def test_what_cannot_be_read_stays_unknown(self) -> None:
        def unreadable(path: str) -> str:
            raise FileNotFoundError(errno.ENOENT, "No such file", path)

        assert read_host(unreadable, lambda: None) == HostFacts()


class TestLimitWarnings:
    @pytest.mark.parametrize(
        ("facts", "expected"),
        [
            (HostFacts(), []),
            (HostFacts(max_user_watches=100, max_user_instances=1, open_files=1064), []),
            (HostFacts(max_user_watches=99), ["fs.inotify.max_user_watches is 99"]),
            (HostFacts(max_user_instances=0), ["fs.inotify.max_user_instances is 0"]),
            (HostFacts(open_files=1063), ["the open-file limit is 1063"]),
        ],
    )
    def test_a_limit_below_what_the_globs_need_is_named(
        self, facts: HostFacts, expected: list[str]
    ) -> None:
        warnings = limit_warnings(facts, dirs=100, files=1000)
        assert [w.split(" but ")[0].split(":")[0] for w in warnings] == expected

    def test_each_warning_carries_its_remedy(self) -> None:
        facts = HostFacts(max_user_watches=99, max_user_instances=0, open_files=1024)
        instances, watches, nofile = limit_warnings(facts, dirs=100, files=1000)
        assert "sysctl fs.inotify.max_user_watches=65536" in watches
        assert "sysctl fs.inotify.max_user_instances=128" in instances
        assert "LimitNOFILE=65536" in nofile

    def test_the_tailer_warns_at_start_for_the_globs_it_was_given(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        for i in range(3):
            append(tmp_path / f"{i}.log", "")
        tailer = Tailer(
            [source(tmp_path / "*.log")],
            [],
            first_start=True,
            host=lambda: HostFacts(max_user_watches=0, open_files=66),
        )
        with caplog.at_level(logging.WARNING, logger="logwatch.sources"):
            tailer.start()
        tailer.stop()
        assert [r.getMessage().split(";")[0] for r in caplog.records] == [
            "fs.inotify.max_user_watches is 0 but the globs need 1 directories watched "
            "(more if other programs of this user watch files)",
            "the open-file limit is 66 but the globs match 3 files "
            "(about 67 descriptors with the rest)",
        ]


class TestNetworkFilesystems:
    def test_a_directory_on_nfs_is_polled_and_reported_once(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        mounts = (Mount("/", "ext4"), Mount(str(tmp_path.resolve()), "nfs4"))
        assert network_filesystem(str(tmp_path), mounts) == "nfs4"
        watcher = DirectoryWatcher(Hints())
        watcher.start(mounts)
        try:
            with caplog.at_level(logging.INFO, logger="logwatch.sources"):
                watcher.sync({str(tmp_path): Scope.FILES})
                assert not watcher.changed()
                append(tmp_path / "new.log", "x\n")
                assert watcher.changed()
            assert watcher.watched == frozenset()
            assert watcher.polled == {str(tmp_path)}
        finally:
            watcher.stop()
        assert [r.getMessage() for r in caplog.records] == [
            f"{tmp_path} is on nfs4: writes from other hosts send no events, "
            "so it is polled every tick"
        ]

    def test_the_tailer_polls_the_directories_its_host_puts_on_a_network(
        self, tmp_path: Path
    ) -> None:
        remote, local = tmp_path / "remote", tmp_path / "local"
        remote.mkdir()
        local.mkdir()
        mounts = (Mount("/", "ext4"), Mount(str(remote.resolve()), "cifs"))
        tailer = Tailer(
            [source(remote / "*.log"), source(local / "*.log", name="local")],
            [],
            first_start=True,
            host=lambda: HostFacts(mounts=mounts),
        )
        tailer.start()
        try:
            tailer.poll()
            assert tailer.watched_dirs == {str(local)}
            assert tailer.polled_dirs == {str(remote)}
        finally:
            tailer.stop()


class _NoInotify(BaseObserver):
    def __init__(self) -> None:
        raise OSError(errno.EMFILE, "inotify instance limit reached")


def test_without_an_inotify_instance_every_directory_is_polled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = DirectoryWatcher(Hints(), observer_factory=_NoInotify)
    with caplog.at_level(logging.WARNING, logger="logwatch.sources"):
        watcher.start()
    watcher.sync({str(tmp_path): Scope.FILES})
    append(tmp_path / "new.log", "x\n")
    assert watcher.changed()
    assert watcher.polled == {str(tmp_path)}
    assert "raise fs.inotify.max_user_instances" in caplog.records[0].getMessage()
    watcher.stop()
