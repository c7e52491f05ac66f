"""Config file -> Config: parse, expand, validate, cross-check; report every problem at once."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from logwatch.config.checks import check_references
from logwatch.config.document import parse_document
from logwatch.config.models import Config, StateConfig
from logwatch.config.plugins import OWN_KEYS, build_notifiers
from logwatch.config.problems import START, Loc, Positions, ProblemLog
from logwatch.defaults import DEFAULT_REPLAY_YAML
from logwatch.envvars import ExpansionError, expand
from logwatch.errors import ConfigError, ConfigProblem
from logwatch.notifiers.base import SHARED_STATE


def load_config(
    path: str | Path, *, environ: Mapping[str, str] | None = None, sends: bool = True
) -> Config:
    """Read and validate the config file at ``path``; raise ConfigError listing every problem.

    ``sends`` False: for a command that sends nothing (`replay`, `test`), a
    notifier's options and the shared state's settings may name variables
    that are not set (secrets, in the daemon's environment file), and are
    then not validated (a notifier's options left empty, the state at its
    default).
    """
    path = Path(path)
    text = _read(path)
    # absolute(), not resolve(): paths are relative to the config as the operator named it.
    return load_config_text(
        text, path=str(path), base_dir=path.absolute().parent, environ=environ, sends=sends
    )


def load_state_dir(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Path:
    """The ``state_dir`` of the config file at ``path``, resolved as validation resolves it.

    For the commands that only read the daemon's state (`status`, `outbox`,
    `silence`): nothing else is validated or expanded, so they work from a
    shell without the notifiers' secrets (systemd reads those from the
    daemon's environment file), and on a config being edited.
    """
    path = Path(path)
    text = _read(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise ConfigError([ConfigProblem(str(path), line, column, f"invalid YAML: {exc}")]) from exc
    pairs = root.value if isinstance(root, yaml.MappingNode) else []
    node = next((value for key, value in pairs if key.value == "state_dir"), None)
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return Path(str(Config.model_fields["state_dir"].default))
    where = (str(path), node.start_mark.line + 1, node.start_mark.column + 1)
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError([ConfigProblem(*where, "state_dir: a path, one string")])
    try:
        state_dir = expand(node.value, os.environ if environ is None else environ)
    except ExpansionError as exc:
        raise ConfigError([ConfigProblem(*where, f"state_dir: {exc}")]) from exc
    return path.absolute().parent / Path(state_dir).expanduser()


def load_shared_state(
    path: str | Path, *, environ: Mapping[str, str] | None = None
) -> tuple[StateConfig, str]:
    """The ``state`` of the config file at ``path``, and its ``host`` when that state is shared.

    For `silence` and `status`, which read the fleet's silences as well as
    the state dir's: as with ``load_state_dir``, nothing else is validated or
    expanded, so no notifier's secret is needed (the Redis url may be one).
    """
    path = Path(path)
    text = _read(path)
    environ = os.environ if environ is None else environ
    state = _sections(text, path, ("state",), environ).state
    if state.backend != "redis":
        return state, ""
    # read only now: a host named by a variable this shell lacks matters to a fleet alone
    return state, _sections(text, path, ("state", "host"), environ).host


def load_label_config(path: str | Path) -> Config:
    """The ``labels`` and ``rules`` of the config file at ``path``, the rest at defaults.

    For `silence add`, which warns of a matcher on a label no alert carries: it
    needs the labels' names alone, so an unset ``${VAR}`` (a secret of the
    daemon's environment file, not given to this shell) is no problem here.
    """
    path = Path(path)
    return _sections(_read(path), path, ("labels", "rules"), os.environ, unset_ok=_anywhere)


def _anywhere(loc: Loc) -> bool:
    return True


def _sections(
    text: str,
    path: Path,
    keys: tuple[str, ...],
    environ: Mapping[str, str],
    *,
    unset_ok: Callable[[Loc], bool] | None = None,
) -> Config:
    """A Config of the top-level ``keys`` alone, the others at their defaults; a value
    where ``unset_ok`` says so may name unset variables (it is left as written)."""
    log = ProblemLog(str(path), Positions())
    data = parse_document(text, log, environ, only=keys, unset_ok=unset_ok)
    chosen = {
        key: value
        for key, value in (data.items() if isinstance(data, dict) else ())
        if value is not None
    }
    try:
        config = Config.model_validate(chosen, context={"base_dir": path.absolute().parent})
    except ValidationError as exc:
        log.add_validation_error(exc, Config)
        log.raise_if_any()
        raise  # not reached: each error was logged now
    log.raise_if_any()  # an unset variable leaves its text as it was, which may validate
    return config


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = ConfigProblem(str(path), 1, 1, f"cannot read config: {exc.strerror or exc}")
        raise ConfigError([problem]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), 1, 1, f"config is not UTF-8: {exc}")]) from exc


def load_config_text(
    text: str,
    *,
    path: str = "<string>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    sends: bool = True,
) -> Config:
    """Validate config ``text``; relative paths resolve against ``base_dir`` (default: cwd).

    ``sends``: as for ``load_config``.
    """
    environ = os.environ if environ is None else environ
    context: dict[str, Any] = {"base_dir": Path.cwd() if base_dir is None else base_dir}
    log = ProblemLog(path, Positions())
    unset_at: set[Loc] = set()
    data = parse_document(
        text, log, environ, unset_ok=None if sends else _unused_unsent, unset_at=unset_at
    )
    if data is None:  # a file holding only `~`
        data = {}
    if not isinstance(data, dict):
        log.add(START, "the config must be a mapping: state_dir, sources, rules, notifiers, ...")
        log.raise_if_any()
    # An emptied section (`rules:` with every entry commented out) means its default.
    data = {key: value for key, value in data.items() if value is not None}
    # incident keys of a fleet sharing its rule state leave the host out (_incident.py)
    state = data.get("state")
    context[SHARED_STATE] = isinstance(state, dict) and state.get("backend") == "redis"
    if any(loc[0] == "state" for loc in unset_at):
        data.pop("state", None)  # (a Redis url's password) nothing unsent reads it
    unchecked = {str(loc[1]) for loc in unset_at if loc[0] == "notifiers"}
    notifiers = build_notifiers(data.get("notifiers"), log, context, unchecked)
    check_references(data, log)
    try:
        config = Config.model_validate({**data, "notifiers": notifiers}, context=context)
    except ValidationError as exc:
        log.add_validation_error(exc, Config)
        log.raise_if_any()
        raise  # not reached: each error was logged now or reported earlier
    log.raise_if_any()
    return config


def _unused_unsent(loc: Loc) -> bool:
    """Whether ``loc`` is where a command that sends nothing reads nothing: a notifier's
    own options (not its template or rate), the shared state's settings."""
    if loc[:1] == ("state",):
        return True
    return len(loc) >= 3 and loc[0] == "notifiers" and loc[2] not in OWN_KEYS


def default_replay_config() -> Config:
    """The config `logwatch replay` uses without -c: tracebacks and errors to the console."""
    return load_config_text(DEFAULT_REPLAY_YAML, path="<default replay config>", environ={})
