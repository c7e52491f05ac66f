"""Config text -> replay's first scan, begun before the config is validated.

Validating a config costs replay ~170 ms (pydantic's import and its models'
building, most of it), one core busy, the other idle; and on a big file the
scan for the lines worth framing (``coldlines``, run ahead by ``forkscan``) is
most of what comes after. The scan needs only the rules' literals and the
file's source. So before validation, they are read from the YAML as it
stands, the scan's plan worked out from them, and a helper set scanning the
first file on the idle core.

Validation has the last word: the plan the config gives is worked out as
always, and the helper is kept only when the two plans are equal; otherwise
it is stopped, and the file scanned as without it. A guess that is wrong
(a value validation would reject) costs some CPU on a core replay was not
using, never a different answer.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from logwatch import replay
from logwatch.defaults import DEFAULT_REPLAY_YAML
from logwatch.envvars import expand
from logwatch.jobs import may_fork
from logwatch.sources.coldlines import ColdPlan
from logwatch.sources.forkscan import ForkScan
from logwatch.sources.framing import DEFAULT_MAX_LINE_BYTES, KeepSpans
from logwatch.sources.paths import names_file

# libyaml's loader where PyYAML has it: the guess is made on the critical path
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_C_NESTS = 2000  # libyaml is fine 10,000 deep, not 50,000
_LISTS = ("exception", "level", "source", "logger", "file", "function", "module")
_MATCH_KEYS = frozenset((*_LISTS, "message", "min_level", "traceback", "fields"))


class HeadStart:
    """A helper scanning ``path`` to the plan guessed from the config's text."""

    def __init__(self, path: str, plan: ColdPlan, keep: KeepSpans, scan: ForkScan) -> None:
        self.path = path
        self.plan = plan
        self._keep = keep
        self._scan: ForkScan | None = scan

    def take(self, path: str, plan: ColdPlan | None) -> tuple[KeepSpans, ForkScan] | None:
        """The filter and its helper, if ``path`` is the file it scans and ``plan`` the
        validated config's plan for it; else the helper is stopped. Once only."""
        scan, self._scan = self._scan, None
        if scan is None:
            return None
        if path == self.path and plan == self.plan:
            return self._keep, scan
        scan.close()
        return None

    def close(self) -> None:
        """Stop the helper, unless it was taken."""
        if self._scan is not None:
            self._scan.close()
            self._scan = None


def head_start(config: Path | None, files: Sequence[str]) -> HeadStart | None:
    """A helper scanning ``files[0]`` to the plan the text of ``config`` gives, or None.

    ``config`` None: replay's built-in config. None where no helper may run
    (``jobs.may_fork``), for standard input, and where the text gives no plan:
    unreadable, not YAML, no filter for the file.
    """
    if not files or files[0] == "-" or not may_fork():
        return None
    path = files[0]
    try:
        if config is None:  # relative paths resolve against the working directory
            plan = guess_plan(DEFAULT_REPLAY_YAML, Path.cwd(), path)
        elif config.is_file():  # a pipe (`-c <(...)`) is read once, by the config loader
            plan = guess_plan(config.read_text(encoding="utf-8"), config.absolute().parent, path)
        else:
            return None
        if plan is None:
            return None
        keep = plan.build()
        scan = ForkScan.start(path, keep, replay.READ_SIZE)
    # Whatever the text holds, validation reports it; and what a guess would
    # build (a literal hyperscan rejects, say) may be no part of the config.
    except Exception:  # noqa: BLE001
        return None
    return HeadStart(path, plan, keep, scan) if scan is not None else None


def guess_plan(text: str, base_dir: Path, path: str) -> ColdPlan | None:
    """The plan for the file at ``path`` if ``text``, a config, is valid as it stands.

    Raises whatever a value of an unexpected type makes it raise.
    """
    # libyaml composes nested collections by recursing in C: a deep enough nest
    # would crash the process, where Python's parser raises (and the config
    # loader reports it). Each level takes a bracket, or a column of one line.
    nests = text.count("[") + text.count("{") + max(map(len, text.splitlines()), default=0)
    loader = _LOADER if nests < _MAX_C_NESTS else yaml.SafeLoader
    data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader: no tags construct objects
    rules = [_GuessedRule.of(raw) for raw in data.get("rules") or ()]
    if any(rule is None for rule in rules):
        return None
    known = [rule for rule in rules if rule is not None]
    source = _source_for(data.get("sources") or (), base_dir, path)
    if source is None:
        source = {"name": replay.REPLAY_SOURCE}
    header = source.get("header")
    max_line_bytes = source.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES)
    if not isinstance(max_line_bytes, int):
        return None  # a size with its unit: not worth reading here
    try:
        encoding = codecs.lookup(_text(source.get("encoding", "utf-8"))).name
    except LookupError:
        return None  # the config is refused
    return replay.replay_cold_plan(
        known,
        format=_text(source.get("format", "auto")),
        header=re.compile(_text(header)) if header is not None else None,
        context_lines=max([source.get("context_lines") or 0, *(r.context_lines for r in known)]),
        source=_text(source["name"]),
        max_line_bytes=max_line_bytes,
        encoding=encoding,
    )


def _source_for(sources: Sequence[Any], base_dir: Path, path: str) -> Mapping[str, Any] | None:
    """As ``replay`` finds it, the config's paths resolved as the models resolve them."""
    for source in sources:
        patterns, exclude = _strings(source["paths"]), _strings(source.get("exclude"))
        absolute = [str(base_dir / Path(pattern).expanduser()) for pattern in patterns]
        if names_file(absolute, exclude, path):
            return dict(source)
    return None


def _strings(value: Any) -> tuple[Any, ...]:
    """A list field as validation reads it: one string stands for a list of it."""
    return tuple(map(_text, (value,) if isinstance(value, str) else value or ()))


def _text(value: Any) -> Any:
    """A string with its ``${VAR}`` expanded, as the config loader expands it."""
    return expand(value, os.environ) if isinstance(value, str) else value


# A NamedTuple, not a frozen dataclass: ~0.4 ms less to make at import.
class _GuessedMatch(NamedTuple):
    exception: tuple[str, ...] = ()
    message: re.Pattern[str] | None = None
    level: tuple[str, ...] = ()
    min_level: str | None = None
    source: tuple[str, ...] = ()
    logger: tuple[str, ...] = ()
    file: tuple[str, ...] = ()
    traceback: bool | None = None
    function: tuple[str, ...] = ()
    module: tuple[str, ...] = ()
    fields: Mapping[str, str] = {}  # one for every guess without fields: only read


class _GuessedRule(NamedTuple):
    name: str
    match: _GuessedMatch
    context_lines: int

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> _GuessedRule | None:
        """The rule, or None for a match key this guess does not know."""
        name = raw["name"]
        given = dict(raw.get("match") or {})
        if not isinstance(name, str) or not given.keys() <= _MATCH_KEYS:
            return None  # (a name of nested aliases would take ages to print)
        for key in _LISTS:
            given[key] = _strings(given.get(key))
        given["min_level"] = _text(given.get("min_level"))
        if given.get("message") is not None:
            given["message"] = re.compile(_text(given["message"]))
        return cls(name, _GuessedMatch(**given), raw.get("context_lines") or 0)
