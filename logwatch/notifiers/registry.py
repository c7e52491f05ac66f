"""Find notifier plugins through the entry-point group ``logwatch.notifiers``."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import cast

from logwatch.notifiers.base import NotifierFactory

GROUP = "logwatch.notifiers"


@cache
def available() -> dict[str, str]:
    """Map each registered notifier type to the entry point's target, unloaded."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


@cache
def load(type_name: str) -> NotifierFactory:
    """Import the plugin class registered as ``type_name``; KeyError if none is."""
    for ep in entry_points(group=GROUP, name=type_name):
        return cast(NotifierFactory, ep.load())
    raise KeyError(type_name)
