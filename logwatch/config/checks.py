"""Config cross-references: names that must be unique and names that must exist.

These run on the parsed data rather than on the typed ``Config``, so that a
misspelt notifier is reported even when another part of the file is invalid.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from typing import Any

from logwatch.config.problems import Loc, ProblemLog


def check_references(data: Mapping[str, Any], log: ProblemLog) -> None:
    sources = _entries(data, "sources")
    rules = _entries(data, "rules")
    source_names = _unique_names("source", sources, log)
    _unique_names("rule", rules, log)
    notifiers = data.get("notifiers")
    notifier_names = sorted(notifiers) if isinstance(notifiers, dict) else []
    intervals = data.get("time_intervals")
    interval_names = sorted(intervals) if isinstance(intervals, dict) else []
    routes = _entries(data, "routes")
    for loc, rule in rules:
        _check_names(rule, loc, "notify", "notifier", notifier_names, log)
        for key in ("mute_during", "active_during"):
            _check_names(rule, loc, key, "time interval", interval_names, log)
        match = rule.get("match")
        # A config without sources (for `logwatch replay`) cannot misname one.
        if isinstance(match, dict) and source_names:
            for name_loc, name in _strings(match.get("source"), (*loc, "match", "source")):
                if name not in source_names:
                    configured = ", ".join(sorted(source_names)) or "none"
                    log.at_value(name_loc, f"no source {name!r}; configured: {configured}")
        if not routes:
            _check_route(loc, rule, log)
    _check_routes(routes, notifier_names, interval_names, log)
    _check_selfwatch(data, notifier_names, log)
    _check_metrics_dependency(data, log)
    _check_redis_dependency(data, log)


def _check_selfwatch(data: Mapping[str, Any], notifier_names: list[str], log: ProblemLog) -> None:
    selfwatch = data.get("selfwatch")
    if not isinstance(selfwatch, dict):
        return
    name = selfwatch.get("notifier")
    if isinstance(name, str) and name not in notifier_names:
        configured = ", ".join(notifier_names) or "none"
        log.at_value(("selfwatch", "notifier"), f"no notifier {name!r}; configured: {configured}")


def _check_metrics_dependency(data: Mapping[str, Any], log: ProblemLog) -> None:
    """Metrics are an optional extra: say at check time, not at 3 a.m., that it is missing."""
    if "metrics" in data and importlib.util.find_spec("prometheus_client") is None:
        log.at_key(
            ("metrics",),
            "metrics needs prometheus-client, which is not installed;"
            " pip install 'logwatch[metrics]', or remove metrics",
        )


def _check_redis_dependency(data: Mapping[str, Any], log: ProblemLog) -> None:
    """The shared state needs redis-py, an optional extra: say so at check time."""
    state = data.get("state")
    if (
        isinstance(state, dict)
        and state.get("backend") == "redis"
        and importlib.util.find_spec("redis") is None
    ):
        log.at_value(
            ("state", "backend"),
            "backend redis needs redis-py, which is not installed;"
            " pip install 'logwatch[redis]', or use backend sqlite",
        )


def _check_names(
    entry: Mapping[str, Any],
    loc: Loc,
    key: str,
    kind: str,
    configured: list[str],
    log: ProblemLog,
) -> None:
    """Each name listed under ``key`` must be one of ``configured``."""
    for name_loc, name in _strings(entry.get(key), (*loc, key)):
        if name not in configured:
            listing = ", ".join(configured) or "none"
            log.at_value(name_loc, f"no {kind} {name!r}; configured: {listing}")


def _check_routes(
    routes: list[tuple[Loc, dict[str, Any]]],
    notifier_names: list[str],
    interval_names: list[str],
    log: ProblemLog,
) -> None:
    for loc, route in routes:
        _check_names(route, loc, "notify", "notifier", notifier_names, log)
        for key in ("mute_during", "active_during"):
            _check_names(route, loc, key, "time interval", interval_names, log)
        children = route.get("routes")
        if isinstance(children, list):
            nested = [
                ((*loc, "routes", index), child)
                for index, child in enumerate(children)
                if isinstance(child, dict)
            ]
            _check_routes(nested, notifier_names, interval_names, log)


def _check_route(loc: Loc, rule: Mapping[str, Any], log: ProblemLog) -> None:
    """An alerting rule must say where its alerts go: its own ``notify``, or ``routes``."""
    # A notify of the wrong type is truthy: pydantic reports it better than "no notify".
    if rule.get("action", "alert") != "alert" or rule.get("notify"):
        return
    name = rule.get("name")
    label = f"rule {name!r}" if isinstance(name, str) else "a rule"
    message = (
        f"{label} alerts but has no notify; list its notifiers, e.g. notify: [console],"
        " or add routes"
    )
    if "notify" in rule:
        log.at_value((*loc, "notify"), message)
    else:
        log.add(log.positions.value(loc), message)


def _entries(data: Mapping[str, Any], key: str) -> list[tuple[Loc, dict[str, Any]]]:
    items = data.get(key)
    if not isinstance(items, list):
        return []
    return [((key, index), item) for index, item in enumerate(items) if isinstance(item, dict)]


def _unique_names(
    kind: str, entries: list[tuple[Loc, dict[str, Any]]], log: ProblemLog
) -> set[str]:
    first_line: dict[str, int] = {}
    for loc, entry in entries:
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        name_loc = (*loc, "name")
        if name in first_line:
            log.at_value(
                name_loc, f"duplicate {kind} name {name!r} (first at line {first_line[name]})"
            )
        else:
            first_line[name] = log.positions.value(name_loc).line
    return set(first_line)


def _strings(value: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """The names in a one-or-many field, each with its own location."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield (*loc, index), item
