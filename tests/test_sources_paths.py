"""Which source names a file: replay's answer for one path, the daemon's by globbing."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from logwatch.sources.paths import excluded, names_file


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``R/etc`` is a link to ``S/conf``: from ``R/etc``, ``..`` is ``S``, not ``R``."""
    for directory in ("S/conf", "S/logs", "R/logs", "g/sub", "plain/deep"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "R" / "etc").symlink_to(tmp_path / "S" / "conf")
    for name in ("S/logs/a.log", "R/logs/b.log", "g/a.log", "g/sub/c.log", "plain/x.log",
                 "plain/x.log.1", "plain/deep/y.log", "plain/skip.log"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "plain" / "link.log").symlink_to(tmp_path / "S" / "logs" / "a.log")
    return tmp_path


def _daemon_reads(paths: list[str], exclude: list[str]) -> set[Path]:
    """What ``discovery.expand`` gives the source: its globs, less what ``exclude`` names."""
    return {
        Path(found).resolve()
        for pattern in paths
        for found in glob.glob(pattern, recursive=True)  # noqa: PTH207 - as discovery does
        if not excluded(found, exclude)
    }


@pytest.mark.parametrize(
    ("paths", "exclude"),
    [
        (["R/etc/../logs/*.log"], []),  # through the link: S/logs
        (["R/etc/../logs/a.log"], []),
        (["plain/*.log"], []),
        (["plain/*.log"], ["skip.log"]),  # by file name
        (["plain/**/*.log"], ["*/deep/*"]),  # by path
        (["plain/*.log*", "g/*.log"], ["*.1"]),
    ],
)
def test_replay_names_the_files_the_daemon_reads(
    tree: Path, paths: list[str], exclude: list[str]
) -> None:
    absolute = [str(tree / pattern) for pattern in paths]
    reads = _daemon_reads(absolute, exclude)
    assert reads  # each case names something
    for file in sorted(tree.rglob("*")):
        if file.is_file():
            assert names_file(absolute, exclude, str(file)) == (file.resolve() in reads), file


def test_a_relative_name_is_taken_from_the_working_directory(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree / "R" / "logs")
    assert names_file([str(tree / "R/etc/../logs/*.log")], [], "../../S/logs/a.log")
    assert not names_file([str(tree / "R/etc/../logs/*.log")], [], "b.log")


def test_a_name_that_is_no_file_is_named_by_its_text(tree: Path) -> None:
    """A rule test's input, or a file gone: the globs' text, their fixed directories
    resolved as ``glob`` resolves them."""
    pattern = str(tree / "R/etc/../logs/*.log")
    assert names_file([pattern], [], str(tree / "S/logs/new.log"))
    assert not names_file([pattern], [], str(tree / "R/logs/new.log"))
    assert not names_file([pattern], ["new.*"], str(tree / "S/logs/new.log"))
