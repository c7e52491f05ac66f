"""Find the CPythons the corpus is generated with: one per minor version, 3.8 and newer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PYTHONS_ENV = "LOGWATCH_CORPUS_PYTHONS"  # os.pathsep-separated interpreters: only these
OLDEST = (3, 8)
_PROBE = "import platform, sys; print(platform.python_implementation(), *sys.version_info[:3])"


@dataclass(frozen=True, slots=True, order=True)
class Interpreter:
    version: tuple[int, int, int]
    path: str

    @property
    def tag(self) -> str:
        """ "3.12": what cases are keyed by."""
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def full_version(self) -> str:
        return ".".join(map(str, self.version))


def find_interpreters(environ: Mapping[str, str] | None = None) -> list[Interpreter]:
    """Every usable CPython, newest patch release per minor version, oldest first."""
    env = os.environ if environ is None else environ
    with ThreadPoolExecutor(max_workers=4) as pool:
        probed = pool.map(_probe, _candidates(env))
    newest: dict[str, Interpreter] = {}
    for found in probed:
        if found is not None and found.version >= newest.get(found.tag, found).version:
            newest[found.tag] = found
    return sorted(newest.values())


def shortage(interpreters: Sequence[Interpreter]) -> str | None:
    """Why ``interpreters`` cannot make a corpus worth scoring, or None when they can."""
    if len(interpreters) >= 2:
        return None
    found = ", ".join(python.full_version for python in interpreters) or "none"
    return (
        "the traceback corpus needs at least two CPython versions of 3.8-3.13, "
        f"found: {found}; install them with pyenv (`pyenv install 3.8 3.13`) "
        f"or list interpreters in {PYTHONS_ENV}"
    )


def _candidates(env: Mapping[str, str]) -> list[str]:
    if env.get(PYTHONS_ENV):
        paths = env[PYTHONS_ENV].split(os.pathsep)
    else:
        paths = [sys.executable]
        root = _pyenv_root(env)
        if root is not None:
            paths += sorted(str(path) for path in Path(root).glob("versions/*/bin/python"))
        for minor in range(OLDEST[1], 20):
            on_path = shutil.which(f"python3.{minor}", path=env.get("PATH"))
            if on_path is not None:
                paths.append(on_path)
    unique: dict[str, str] = {}
    for path in paths:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def _pyenv_root(env: Mapping[str, str]) -> str | None:
    if env.get("PYENV_ROOT"):
        return env["PYENV_ROOT"]
    pyenv = shutil.which("pyenv", path=env.get("PATH"))
    if pyenv is None:
        return None
    try:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _probe(path: str) -> Interpreter | None:
    try:
        done = subprocess.run(
            [path, "-c", _PROBE], capture_output=True, text=True, timeout=20, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None  # a broken or foreign interpreter is simply not a candidate
    fields = done.stdout.split()
    if len(fields) != 4 or fields[0] != "CPython":
        return None
    version = (int(fields[1]), int(fields[2]), int(fields[3]))
    return Interpreter(version, path) if version[:2] >= OLDEST else None
