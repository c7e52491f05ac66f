"""Which source names a file: replay's answer for one path, the daemon's by globbing."""

from __future__ import annotations

import fnmatch
import glob
import os
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


def _listed(paths: list[str], exclude: list[str]) -> set[str]:
    """The names the daemon's globs list (``discovery.expand``), less ``exclude``; each
    pattern also with its fixed directories resolved, as replay matches a real path."""
    patterns = paths + [str(_fixed_resolved(pattern)) for pattern in paths]
    return {
        os.path.normpath(found)
        for pattern in patterns
        for found in glob.glob(pattern, recursive=True)  # noqa: PTH207 - as discovery does
        if not excluded(found, exclude)
    }


def _fixed_resolved(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = next(at for at, part in enumerate(parts) if "*" in part or at == len(parts) - 1)
    return Path(*parts[:fixed]).resolve().joinpath(*parts[fixed:])


@pytest.mark.parametrize(
    ("paths", "exclude"),
    [
        (["R/etc/../logs/*.log"], []),  # through the link: S/logs
        (["R/etc/../logs/a.log"], []),
        (["plain/*.log"], []),
        (["plain/*.log"], ["skip.log"]),  # by file name
        (["plain/*.log"], ["link.log"]),  # by the name of a link, not of its target
        (["plain/**/*.log"], ["*/deep/*"]),  # by path
        (["plain/*.log*", "g/*.log"], ["*.1"]),
    ],
)
def test_replay_names_the_files_the_daemon_reads(
    tree: Path, paths: list[str], exclude: list[str]
) -> None:
    """A file is named under the name it is given or its real path; the target of a
    symlinked log, replayed by its own name, is not (that name is none the globs list)."""
    absolute = [str(tree / pattern) for pattern in paths]
    listed = _listed(absolute, exclude)
    assert listed  # each case names something
    for file in sorted(tree.rglob("*")):
        if file.is_file():
            expected = str(file) in listed or str(file.resolve()) in listed
            assert names_file(absolute, exclude, str(file)) == expected, file


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


def test_names_are_matched_without_listing_a_directory(tree: Path) -> None:
    """A symlink loop under ``**`` makes glob's listing grow without end; the names
    alone are looked at. A name glob would pass over (hidden) is not named."""
    (tree / "plain" / "deep" / "up").symlink_to(tree / "plain")
    (tree / "plain" / "deep" / "up2").symlink_to(tree / "plain")
    pattern = str(tree / "plain/**/*.log")
    assert names_file([pattern], [], str(tree / "plain/deep/up/up2/up/deep/y.log"))
    assert names_file([pattern], [], str(tree / "plain/x.log"))
    assert not names_file([pattern], [], str(tree / "plain/.hidden/x.log"))
    assert not names_file([pattern], [], str(tree / "plain/.x.log"))
    assert not names_file([str(tree / "plain/*.log")], [], str(tree / "plain/deep/y.log"))
    assert not names_file([pattern], [], "bad\0name.log")


def test_each_double_star_tries_each_split_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three ``**`` against forty directories: without remembering what a position gave,
    thousands of tries; with it, at most one a position and a pattern part."""
    calls: list[str] = []
    original = fnmatch.fnmatchcase

    def counted(name: str, pattern: str) -> bool:
        calls.append(name)
        return original(name, pattern)

    monkeypatch.setattr(fnmatch, "fnmatchcase", counted)
    parts = "/".join(f"d{n}" for n in range(40))
    pattern = "/" + "/".join(["**", "d*"] * 3) + "/x*.log"
    assert not names_file([pattern], [], f"/{parts}/y.log")
    assert len(calls) <= 42 * 8


def test_exclude_sees_the_name_the_daemon_globs(tmp_path: Path) -> None:
    """Not the target of a linked log (``app.log -> app.log.1``), and, through a linked
    directory, the path under the link as the source's pattern spells it."""
    (tmp_path / "app.log.1").write_text("x\n")
    (tmp_path / "app.log").symlink_to("app.log.1")
    assert names_file([str(tmp_path / "*.log")], ["*.log.*"], str(tmp_path / "app.log"))
    (tmp_path / "data").mkdir()
    for name in ("debug.log", "info.log"):
        (tmp_path / "data" / name).write_text("x\n")
    (tmp_path / "logs").symlink_to(tmp_path / "data")
    paths, exclude = [str(tmp_path / "logs/*.log")], [str(tmp_path / "logs/debug.log")]
    assert names_file(paths, exclude, str(tmp_path / "data/info.log"))
    assert not names_file(paths, exclude, str(tmp_path / "data/debug.log"))
    assert not names_file(paths, exclude, str(tmp_path / "logs/debug.log"))


def test_a_symlink_loop_names_nothing_and_raises_nothing(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "a.log").write_text("x\n")
    assert not names_file([str(tmp_path / "loop/*.log")], [], str(tmp_path / "a.log"))
    assert not names_file([str(tmp_path / "*.log")], [], str(tmp_path / "loop"))
    assert names_file([str(tmp_path / "*.log")], [], str(tmp_path / "a.log"))


def test_a_dot_dot_in_the_name_is_resolved_before_matching(tmp_path: Path) -> None:
    """``lnk/../x.log`` with ``lnk -> o/p`` opens ``o/x.log``, not ``x.log``."""
    (tmp_path / "o" / "p").mkdir(parents=True)
    (tmp_path / "o" / "x.log").write_text("x\n")
    (tmp_path / "x.log").write_text("x\n")
    (tmp_path / "lnk").symlink_to(tmp_path / "o" / "p")
    name = str(tmp_path / "lnk" / ".." / "x.log")
    assert names_file([str(tmp_path / "o/*.log")], [], name)
    assert not names_file([str(tmp_path / "*.log")], [], name)
