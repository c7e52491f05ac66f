"""The built-in notifiers are found through the entry-point group, like any plugin."""

from __future__ import annotations

import pytest

from logwatch.notifiers import registry
from logwatch.notifiers.base import NotifierOptions
from logwatch.notifiers.console import ConsoleNotifier
from logwatch.notifiers.slack import SlackNotifier
from logwatch.notifiers.webhook import WebhookNotifier
from logwatch.testing import check_notifier_contract


@pytest.mark.parametrize(
    ("type_name", "cls"),
    [("console", ConsoleNotifier), ("webhook", WebhookNotifier), ("slack", SlackNotifier)],
)
def test_builtin_types_load_from_entry_points(type_name: str, cls: object) -> None:
    loaded = registry.load(type_name)
    assert loaded is cls
    assert issubclass(loaded.Options, NotifierOptions)


@pytest.mark.parametrize(
    ("type_name", "url"),
    [
        ("webhook", "https://receiver.example.com/alerts?token=t0k3n-123456"),
        ("slack", "https://hooks.slack.com/services/T0000TEST/B0000TEST/XXXXtokenXXXXXXXX"),
    ],
)
def test_builtin_http_notifiers_keep_the_plugin_contract(type_name: str, url: str) -> None:
    """The check offered to third-party authors passes for our own HTTP notifiers."""
    requests = check_notifier_contract(registry.load(type_name), {}, url)
    assert [request.method for request in requests] == ["POST"] * 4
