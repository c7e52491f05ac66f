"""Helpers for the tailer tests (no tests here): a settable clock, a recorder
that consumes chunks and commits like the pipeline does, and real logrotate."""

from __future__ import annotations

import errno
import glob
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from logwatch.model import Line
from logwatch.sources import Chunk, Source, Tailer
from logwatch.sources import tailer as tailer_module
from logwatch.sources.rotation import open_readonly as real_open_readonly
from logwatch.store import FileState


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def source(
    *globs: Path | str,
    name: str = "app",
    start_at: str = "beginning",
    new_files_from: str = "beginning",
    exclude: tuple[str, ...] = (),
    max_line_bytes: int = 1 << 20,
) -> Source:
    """A source; unlike the config default it starts at the beginning, which most tests want."""
    return Source(
        name, tuple(str(g) for g in globs), exclude, start_at, new_files_from, max_line_bytes
    )


def append(path: Path, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def fds_on(path: Path) -> int:
    """How many of our fds point to ``path`` (also once it is unlinked)."""
    held = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except FileNotFoundError:
            continue  # the fd the listing itself used
        held += target in (str(path), f"{path} (deleted)")
    return held


def refuse_unreadable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the tailer's open fail with EACCES on a file nobody may read, as it does for
    the daemon's user; tests may run as root, whom permission bits do not stop. A
    ``chmod`` still sends its real events. Returns the paths it is asked to open."""
    asked: list[str] = []

    def open_readonly(path: str) -> int:
        asked.append(path)
        if Path(path).stat().st_mode & 0o444 == 0:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_open_readonly(path)

    monkeypatch.setattr(tailer_module, "open_readonly", open_readonly)
    return asked


@dataclass
class Recorder:
    """Consumes what a tailer hands out and commits every line, as the pipeline would."""

    tailer: Tailer
    lines: dict[str, list[Line]] = field(default_factory=dict)  # by file uid
    paths: dict[str, str] = field(default_factory=dict)  # uid -> path of its last chunk
    retired: list[str] = field(default_factory=list)
    committed: dict[str, FileState] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)

    def pump(self) -> list[Chunk]:
        chunks = self.tailer.poll()
        self.chunks += chunks
        for chunk in chunks:
            self.lines.setdefault(chunk.origin.file_uid, []).extend(chunk.lines)
            self.paths[chunk.origin.file_uid] = chunk.origin.path
        self.commit()
        self.retired += self.tailer.retired()
        return chunks

    def commit(self) -> None:
        for uid, lines in self.lines.items():
            if uid in self.retired:
                continue
            last = lines[-1]
            self.committed[uid] = self.tailer.checkpoint(uid, last.end, last.lineno + 1)

    def texts(self, uid: str | None = None) -> list[str]:
        if uid is not None:
            return [line.text for line in self.lines[uid]]
        return [line.text for lines in self.lines.values() for line in lines]

    def uid_of(self, path: Path) -> str:
        """The uid of the file most recently seen at ``path`` (rotated ones keep the path)."""
        matches = [uid for uid, p in self.paths.items() if p == str(path)]
        assert matches, f"nothing read from {path}"
        return matches[-1]

    def until(self, done: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
        """Poll (waiting on hints between polls) until ``done()`` or fail at the deadline."""
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, "condition not reached before the deadline"
            self.tailer.wait(0.05)
            self.pump()


def assert_numbered(lines: Sequence[Line], first_lineno: int = 1) -> None:
    """Line numbers run on without gaps and offsets chain end to start."""
    for index, line in enumerate(lines):
        assert line.lineno == first_lineno + index, line
        if index:
            assert line.offset == lines[index - 1].end, line


def logrotate_binary() -> str:
    binary = shutil.which("logrotate") or next(
        (p for p in ("/usr/sbin/logrotate", "/sbin/logrotate") if Path(p).exists()), None
    )
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("logrotate is required in CI (apt-get install logrotate)")
        pytest.skip("LOGROTATE MISSING: install logrotate to run the real rotation tests")
    return binary


class Logrotate:
    """The real logrotate binary, with its config and state file in a temp dir."""

    def __init__(self, tmp_path: Path, log: Path, directives: str) -> None:
        self.binary = logrotate_binary()
        self.conf = tmp_path / "logrotate.conf"
        self.state = tmp_path / "logrotate.state"
        self.conf.write_text(f"{log} {{\n{directives}\n}}\n")
        self.conf.chmod(0o644)

    def rotate(self) -> None:
        result = subprocess.run(
            [self.binary, "-f", "-s", str(self.state), str(self.conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr


# The file system calls a tailer can make.
_CALLS = {"read": os, "pread": os, "open": os, "fstat": os, "stat": os, "listdir": os,
          "scandir": os, "glob": glob}


def count_calls(
    monkeypatch: pytest.MonkeyPatch, names: Sequence[str] = tuple(_CALLS)
) -> Counter[str]:
    """Count the calls among ``names`` (all a tailer can make, by default), by name."""
    calls: Counter[str] = Counter()
    for name in names:
        module = _CALLS[name]
        real = getattr(module, name)

        def counted(
            *args: object, _real: Callable[..., object] = real, _name: str = name, **kwargs: object
        ) -> object:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return calls
