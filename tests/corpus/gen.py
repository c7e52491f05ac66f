"""Run every scenario under every CPython: OUTDIR/py3.X/<scenario>.log and .truth.json.

    python -m tests.corpus.gen OUTDIR [--jobs N] [--scenario NAME]... [--python PATH]...

The scenario scripts are copied to OUTDIR/scenarios and run from OUTDIR, as
``__main__`` in forks of one ``scenarios._driver`` process per interpreter,
stderr appended to the log. Each script records the byte offsets around the
events it writes; only here, once the log is complete, do offsets become
1-based line numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.corpus.interpreters import PYTHONS_ENV, Interpreter, find_interpreters
from tests.corpus.truth import Case, Corpus, ExpectedEvent, Skipped

SCENARIOS = Path(__file__).with_name("scenarios")
_SCENARIO_NAME = re.compile(r"s\d\d_\w+")
DRIVER_TIMEOUT_S = 300


class CorpusError(Exception):
    """A scenario could not be run or recorded an impossible span; the corpus is unusable."""


def scenario_names() -> list[str]:
    return sorted(
        path.stem for path in SCENARIOS.glob("s*.py") if _SCENARIO_NAME.fullmatch(path.stem)
    )


def generate(
    outdir: Path,
    interpreters: Sequence[Interpreter] | None = None,
    jobs: int | None = None,
    scenarios: Sequence[str] | None = None,
) -> Corpus:
    """Write the corpus to ``outdir`` and return it; raise CorpusError naming every failure."""
    pythons = tuple(find_interpreters() if interpreters is None else interpreters)
    names = scenario_names() if scenarios is None else list(scenarios)
    outdir = outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        SCENARIOS,
        outdir / "scenarios",
        ignore=shutil.ignore_patterns("__pycache__"),
        dirs_exist_ok=True,
    )
    # One driver per interpreter, all at once; together they run about `jobs` scenarios.
    total = jobs or (os.cpu_count() or 2) + 1
    per_driver = max(1, round(total / max(1, len(pythons))))
    with ThreadPoolExecutor(max_workers=max(1, len(pythons))) as pool:
        batches = list(
            pool.map(lambda python: _run_all(outdir, python, names, per_driver), pythons)
        )
    results = [result for batch in batches for result in batch]
    failures = [result for result in results if isinstance(result, str)]
    if failures:
        raise CorpusError(f"{len(failures)} scenario runs failed:\n\n" + "\n\n".join(failures))
    corpus = Corpus(
        root=outdir,
        interpreters=pythons,
        cases=tuple(result for result in results if isinstance(result, Case)),
        skipped=tuple(result for result in results if isinstance(result, Skipped)),
    )
    corpus.save()
    return corpus


def _run_all(
    outdir: Path, python: Interpreter, names: Sequence[str], jobs: int
) -> list[Case | Skipped | str]:
    """Run ``names`` under ``python``; a string result says why that run is unusable."""
    folder = outdir / f"py{python.tag}"
    folder.mkdir(exist_ok=True)
    runs = [_prepare(folder, name) for name in names]
    try:
        done = subprocess.run(
            [python.path, "-u", "-S", "-m", "scenarios._driver", str(jobs)],
            input="".join(json.dumps(run) + "\n" for run in runs),
            cwd=outdir,
            env=_scenario_env(),
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return [f"{python.full_version}: no result within {DRIVER_TIMEOUT_S}s"]
    statuses = dict(line.split("\t") for line in done.stdout.splitlines())
    results: list[Case | Skipped | str] = []
    for run in runs:
        try:
            results.append(_collect(python, run, statuses.get(run["name"])))
        except (CorpusError, OSError, ValueError, KeyError) as exc:
            where = f"{run['name']} under {python.full_version} ({python.path})"
            results.append(f"{where}: {exc}\n{done.stderr[-2000:]}")
    return results


def _prepare(folder: Path, name: str) -> dict[str, str]:
    run = {
        "name": name,
        "log": str(folder / f"{name}.log"),
        "truth": str(folder / f"{name}.truth.jsonl"),
        "scratch": str(folder / f"{name}.d"),
    }
    Path(run["truth"]).unlink(missing_ok=True)
    shutil.rmtree(run["scratch"], ignore_errors=True)
    Path(run["log"]).write_bytes(b"")
    return run


def _collect(python: Interpreter, run: dict[str, str], status: str | None) -> Case | Skipped:
    name, log, raw_truth = run["name"], Path(run["log"]), Path(run["truth"])
    entries = _read_entries(raw_truth)
    skips = [entry["skip"] for entry in entries if "skip" in entry]
    if skips:
        log.unlink()
        raw_truth.unlink()
        return Skipped(name, python.tag, skips[0])
    if status != "0" or not any(entry.get("done") for entry in entries):
        tail = log.read_text("utf-8", errors="replace")[-3000:]
        raise CorpusError(f"exited {status} before finishing; end of its log:\n{tail}")
    case = Case(name, python.tag, log, _events(log.read_bytes(), entries))
    case.truth_path.write_text(json.dumps(case.to_json(), indent=1) + "\n", "utf-8")
    raw_truth.unlink()
    return case


def _scenario_env() -> dict[str, str]:
    """The caller's environment without anything that changes how Python prints."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTHON") and key not in ("FORCE_COLOR", "NO_COLOR", "TERM")
    }
    env.update(NO_COLOR="1", PYTHONIOENCODING="utf-8")
    return env


def _read_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def _events(data: bytes, entries: list[dict[str, Any]]) -> tuple[ExpectedEvent, ...]:
    spans = sorted((entry for entry in entries if "start" in entry), key=lambda e: e["start"])
    events: list[ExpectedEvent] = []
    previous_end = 0
    for entry in spans:
        start, end = entry["start"], entry["end"]
        if end is None or not previous_end <= start < end <= len(data):
            raise CorpusError(f"impossible span [{start}, {end}) for {entry['what']!r}")
        if (start and data[start - 1] != ord("\n")) or data[end - 1] != ord("\n"):
            raise CorpusError(f"span [{start}, {end}) of {entry['what']!r} is not whole lines")
        previous_end = end
        events.append(
            ExpectedEvent(
                first_line=data.count(b"\n", 0, start) + 1,
                last_line=data.count(b"\n", 0, end),
                exc_type=entry["exc_type"],
                exc_message=entry["exc_message"],
                chain=tuple(entry["chain"]),
                what=entry["what"],
            )
        )
    return tuple(events)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.corpus.gen", description=__doc__)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--jobs", type=int, default=None, help="parallel runs (cores + 1)")
    parser.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    parser.add_argument("--python", action="append", help="only this interpreter (repeatable)")
    args = parser.parse_args(argv)
    interpreters = find_interpreters(
        {**os.environ, PYTHONS_ENV: os.pathsep.join(args.python)} if args.python else None
    )
    try:
        corpus = generate(args.outdir, interpreters, args.jobs, args.scenario)
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    versions = ", ".join(python.full_version for python in corpus.interpreters)
    print(
        f"{len(corpus.cases)} logs, {corpus.expected_events} expected exception events, "
        f"{len(corpus.skipped)} skipped (scenario not applicable) under {versions} "
        f"in {corpus.root}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
