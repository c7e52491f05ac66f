"""Which known file a path holds, and where rotated files go: tables on real files."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from logwatch.sources.identity import Probe, Verdict, match, read_head
from logwatch.sources.rotation import find_rotated, live_name, rotated_siblings
from logwatch.store import FileState


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    """An open file holding 'HEAD line\\nsecond\\n' (17 bytes)."""
    path = tmp_path / "app.log"
    path.write_bytes(b"HEAD line\nsecond\n")
    fd = os.open(path, os.O_RDONLY)
    st = os.fstat(fd)
    yield Probe(fd, st.st_dev, st.st_ino, st.st_size, read_head(fd), str(path), "app")
    os.close(fd)


def row(probe: Probe, *, uid: str = "known", same_inode: bool = True, head: bytes = b"HEAD",
        offset: int = 10, marker: bytes = b"HEAD line\n") -> FileState:
    ino = probe.ino if same_inode else probe.ino + 1
    return FileState(uid, "app", probe.path, probe.dev, ino, head, offset, 2, marker)


class TestMatch:
    def test_same_inode_head_and_marker_resume(self, probe: Probe) -> None:
        assert match(probe, [row(probe)]) == (Verdict.RESUME, row(probe))

    def test_renamed_file_with_our_bytes_resumes(self, probe: Probe) -> None:
        """Other (dev, ino), same head and marker: moved, or device numbers changed."""
        known = row(probe, same_inode=False)
        assert match(probe, [known]) == (Verdict.RESUME, known)

    def test_head_agrees_but_marker_does_not_is_a_rewrite(self, probe: Probe) -> None:
        known = row(probe, marker=b"other byte")
        assert match(probe, [known]) == (Verdict.REWRITTEN, known)

    def test_offset_past_the_end_is_a_rewrite(self, probe: Probe) -> None:
        known = row(probe, offset=500, marker=b"")
        assert match(probe, [known]) == (Verdict.REWRITTEN, known)

    def test_same_inode_other_head_is_inode_reuse(self, probe: Probe) -> None:
        known = row(probe, head=b"something else")
        assert match(probe, [known]) == (Verdict.INODE_REUSE, known)

    def test_nothing_alike_is_new(self, probe: Probe) -> None:
        assert match(probe, [row(probe, same_inode=False, head=b"other")]) == (Verdict.NEW, None)

    def test_identical_banners_prefer_the_row_of_this_inode(self, probe: Probe) -> None:
        elsewhere = row(probe, uid="elsewhere", same_inode=False)
        here = row(probe, uid="here")
        assert match(probe, [elsewhere, here]) == (Verdict.RESUME, here)

    def test_a_file_recorded_empty_is_recognised_only_by_its_inode(self, probe: Probe) -> None:
        empty_here = row(probe, head=b"", offset=0, marker=b"")
        empty_elsewhere = row(probe, head=b"", offset=0, marker=b"", same_inode=False)
        assert match(probe, [empty_here]) == (Verdict.RESUME, empty_here)
        assert match(probe, [empty_elsewhere]) == (Verdict.NEW, None)


class TestRotatedNames:
    def test_siblings_come_newest_first_and_compressed_only_when_asked(
        self, tmp_path: Path
    ) -> None:
        for name in ["app.log", "app.log.2", "app.log.10", "app.log.1", "app.log.3.gz",
                     "app.log.old", "app.logger", "other.log.1"]:
            (tmp_path / name).write_bytes(b"")
        names = [Path(p).name for p in rotated_siblings(str(tmp_path / "app.log"))]
        assert names == ["app.log.1", "app.log.2", "app.log.10"]
        names = [Path(p).name for p in rotated_siblings(str(tmp_path / "app.log"),
                                                         compressed=True)]
        assert names == ["app.log.1", "app.log.2", "app.log.3.gz", "app.log.10"]

    def test_dated_siblings_newest_first(self, tmp_path: Path) -> None:
        for name in ["app.log-20260101", "app.log-20260103", "app.log-20260102.gz"]:
            (tmp_path / name).write_bytes(b"")
        names = [Path(p).name for p in rotated_siblings(str(tmp_path / "app.log"))]
        assert names == ["app.log-20260103", "app.log-20260101"]

    @pytest.mark.parametrize(("path", "live"), [
        ("/l/app.log.1", "/l/app.log"),
        ("/l/app.log-20260101", "/l/app.log"),
        ("/l/app.log.2026-01-01_10", "/l/app.log"),
        ("/l/app.log", None),
        ("/l/f0001.log", None),
    ])
    def test_live_name_of_a_rotated_name(self, path: str, live: str | None) -> None:
        assert live_name(path) == live


class TestFindRotated:
    def test_finds_the_sibling_with_our_head_and_marker(self, tmp_path: Path) -> None:
        (tmp_path / "app.log.1").write_bytes(b"HEAD\nours\nmore\n")
        (tmp_path / "app.log.2").write_bytes(b"HEAD\nolder\n")
        found = find_rotated(str(tmp_path / "app.log"), b"HEAD\n", 10, b"ours\n",
                             skip=lambda st: False)
        assert found is not None
        assert found.fd is not None
        os.close(found.fd)
        assert (Path(found.path).name, found.newer) == ("app.log.1", ())

    def test_a_compressed_generation_tells_which_readable_ones_are_newer(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "app.log.1").write_bytes(b"NEWER\n")
        (tmp_path / "app.log.2.gz").write_bytes(gzip.compress(b"HEAD\nours\nrest\n"))
        found = find_rotated(str(tmp_path / "app.log"), b"HEAD\n", 10, b"ours\n",
                             skip=lambda st: False, compressed=True)
        assert found is not None
        assert (Path(found.path).name, found.fd) == ("app.log.2.gz", None)
        assert found.newer == (str(tmp_path / "app.log.1"),)

    def test_followed_files_are_skipped(self, tmp_path: Path) -> None:
        (tmp_path / "app.log.1").write_bytes(b"HEAD\nours\n")
        assert find_rotated(str(tmp_path / "app.log"), b"HEAD\n", 10, b"ours\n",
                            skip=lambda st: True) is None
