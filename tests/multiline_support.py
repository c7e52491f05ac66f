"""Helpers for the multiline tests: real log output from every CPython on the machine.

``tests/data/multiline/scenarios.py`` is run once per test session by each
interpreter found (``pyenv root`` + ``versions/3.X*/bin/python``, plus the one
running the tests); it writes the logs and the truth recorded while writing
them. Nothing here types a traceback by hand.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from logwatch.model import Event, Line, Origin
from logwatch.multiline import Assembler
from logwatch.sources.framing import LineFramer

SCENARIOS = Path(__file__).parent / "data" / "multiline" / "scenarios.py"


@contextlib.contextmanager
def logging_to_text(name: str) -> Iterator[tuple[logging.Logger, StringIO]]:
    """A logger ``name`` writing logging's usual records (every level) to a string."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log = logging.getLogger(name)
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield log, stream
    finally:
        log.removeHandler(handler)
MIN_MINOR, MAX_MINOR = 8, 13

# (first_line, last_line, exc_type, exc_message, chain)
Spec = tuple[int, int, str | None, str | None, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Interpreter:
    version: str  # "3.11"
    path: str


def find_interpreters() -> list[Interpreter]:
    """Every CPython 3.8-3.13 on this machine: the running one and pyenv's."""
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    for root in _pyenv_roots():
        for candidate in sorted((root / "versions").glob("3.*")):
            match = re.fullmatch(r"3\.(\d+)(?:\.\d+)?", candidate.name)
            python = candidate / "bin" / "python"
            if match and MIN_MINOR <= int(match.group(1)) <= MAX_MINOR and python.exists():
                found.setdefault(f"3.{match.group(1)}", str(python))
    return [Interpreter(v, found[v]) for v in sorted(found, key=lambda v: int(v.split(".")[1]))]


def _pyenv_roots() -> Iterator[Path]:
    if os.environ.get("PYENV_ROOT"):
        yield Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    try:
        result = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return
    yield Path(result.stdout.strip())


def scenario_names() -> list[str]:
    """The scenarios the generator knows, read from the script itself."""
    spec = importlib.util.spec_from_file_location("logwatch_test_scenarios", SCENARIOS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return sorted(module.SCENARIOS)


class Samples:
    """Generated logs and their truth, per interpreter version and scenario."""

    def __init__(self, root: Path, truth: dict[str, dict[str, Any]]) -> None:
        self.root = root
        self._truth = truth

    @property
    def versions(self) -> list[str]:
        return sorted(self._truth, key=lambda v: int(v.split(".")[1]))

    def log(self, version: str, scenario: str) -> Path:
        return self.root / version / f"{scenario}.log"

    def events(self, version: str, scenario: str) -> list[dict[str, Any]]:
        scenarios: dict[str, Any] = self._truth[version]["scenarios"]
        events: list[dict[str, Any]] = scenarios[scenario]["events"]
        return events


_GENERATED: dict[Path, Samples] = {}


def generate_samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    """Run the generator under every interpreter, once per session (in parallel)."""
    base = tmp_path_factory.getbasetemp()
    if base in _GENERATED:
        return _GENERATED[base]
    root = tmp_path_factory.mktemp("multiline-samples")
    interpreters = find_interpreters()

    def run(interpreter: Interpreter) -> tuple[str, dict[str, Any]]:
        outdir = root / interpreter.version
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FORCE_COLOR"))}
        subprocess.run(
            [interpreter.path, str(SCENARIOS), str(outdir)],
            check=True,
            capture_output=True,
            timeout=120,
            env=env,
        )
        truth: dict[str, Any] = json.loads((outdir / "truth.json").read_text())
        return interpreter.version, truth

    with ThreadPoolExecutor(max_workers=max(2, min(6, os.cpu_count() or 2))) as pool:
        truth = dict(pool.map(run, interpreters))
    samples = Samples(root, truth)
    _GENERATED[base] = samples
    return samples


# ------------------------------------------------------------------ assembling


def frame(data: bytes) -> list[Line]:
    return LineFramer().feed(data)


def assemble(data: bytes, **options: Any) -> list[Event]:
    """All events of a whole file, fed at once and flushed."""
    assembler = Assembler(Origin("test", "test.log"), **options)
    return assembler.feed(frame(data)) + assembler.flush()


def spec(event: Event) -> Spec:
    return (
        event.first_line,
        event.last_line,
        event.exc_type,
        event.exc_message,
        event.exc_types,
    )


def expected_specs(events: Iterable[dict[str, Any]]) -> list[Spec]:
    """The truth as events, with logwatch's documented choices applied.

    A traceback under a DEBUG/INFO header is not glued to it (it is more often
    an unrelated uncaught traceback): two events, the header alone and the
    traceback. (Under a WARNING header it is, unless it starts in the main
    module; the truth already says which.)
    """
    specs: list[Spec] = []
    for event in events:
        first, last = event["first_line"], event["last_line"]
        exc_type, exc_message = event["exc_type"], event.get("exc_message")
        chain = tuple(event["chain"])
        level = (event.get("header") or {}).get("level")
        if event["kind"] == "traceback" and level in ("DEBUG", "INFO"):
            specs.append((first, first, None, None, ()))
            first += 1
        specs.append((first, last, exc_type, exc_message, chain))
    return specs


def members(event: Event) -> list[dict[str, Any]]:
    """An event's group members in the truth file's shape."""

    def tree(exc: Any) -> list[dict[str, Any]]:
        return [{"type": m.type, "members": tree(m)} for m in exc.group_members]

    return tree(event.chain[-1]) if event.chain else []


# ------------------------------------------------------------------- envelopes

ENVELOPES = ("docker", "cri", "syslog", "apache", "crlf", "docker_mixed")
_SPLIT = 16 * 1024  # where Docker and CRI runtimes split long lines
_TIME = "2026-01-01T12:00:00.000000001Z"


def wrap(data: bytes, envelope: str) -> tuple[bytes, list[tuple[int, int]], list[int]]:
    """Put every line of ``data`` in ``envelope`` as a runtime would.

    Returns the new bytes, for each old line its (first, last) new line, and
    the numbers of the noise lines added (``docker_mixed`` interleaves stdout
    records between the stderr ones).
    """
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    noise: list[int] = []
    for index, raw in enumerate(data.decode("utf-8").split("\n")[:-1]):
        start = len(out) + 1
        if envelope in ("docker", "docker_mixed", "cri"):
            pieces = [raw[i : i + _SPLIT] for i in range(0, max(len(raw), 1), _SPLIT)]
            for number, piece in enumerate(pieces):
                last = number == len(pieces) - 1
                if envelope == "cri":
                    out.append(f"{_TIME} stderr {'F' if last else 'P'} {piece}")
                else:
                    text = piece + ("\n" if last else "")
                    out.append(json.dumps({"log": text, "stream": "stderr", "time": _TIME}))
        elif envelope == "syslog":
            out.append(f"May  1 12:00:00 web01 app[4242]: {raw}")
        elif envelope == "apache":
            out.append(f"[Wed May 01 12:00:00.123456 2024] [wsgi:error] [pid 8] {raw}")
        elif envelope == "crlf":
            out.append(raw + "\r")
        else:
            raise ValueError(envelope)
        spans.append((start, len(out)))
        if envelope == "docker_mixed" and index % 3 == 1:
            doc = {"log": "GET /health 200\n", "stream": "stdout", "time": _TIME}
            out.append(json.dumps(doc))
            noise.append(len(out))
    return ("\n".join(out) + "\n").encode("utf-8"), spans, noise


def remap(specs: Sequence[Spec], spans: Sequence[tuple[int, int]]) -> list[Spec]:
    return [
        (spans[first - 1][0], spans[last - 1][1], exc_type, message, chain)
        for first, last, exc_type, message, chain in specs
    ]
