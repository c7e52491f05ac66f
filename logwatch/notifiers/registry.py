"""Find notifier plugins through the entry-point group ``logwatch.notifiers``."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import cast

from logwatch.notifiers.base import NotifierFactory

GROUP = "logwatch.notifiers"


@cache
def _registered() -> tuple[EntryPoint, ...]:
    # one scan of every installed distribution (~3 ms), shared by available() and load()
    return tuple(entry_points(group=GROUP))


@cache
def available() -> dict[str, str]:
    """Map each registered notifier type to the entry point's target, unloaded."""
    return {ep.name: ep.value for ep in _registered()}


@cache
def load(type_name: str) -> NotifierFactory:
    """Import the plugin class registered as ``type_name``; KeyError if none is."""
    for ep in _registered():
        if ep.name == type_name:
            return cast(NotifierFactory, ep.load())
    raise KeyError(type_name)
