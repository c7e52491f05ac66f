"""Notifiers are plugins found through the entry-point group, built-in or third-party."""

from __future__ import annotations

import importlib
import json
import os
import tomllib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from logwatch.notifiers import registry
from logwatch.notifiers.base import NotifierFactory, NotifierOptions
from logwatch.notifiers.console import ConsoleNotifier
from logwatch.notifiers.slack import SlackNotifier
from logwatch.notifiers.webhook import WebhookNotifier
from logwatch.testing import check_notifier_contract
from tests.daemon_harness import logwatch

PLUGIN_PKG = Path(__file__).parent / "data" / "plugin_pkg"


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


def install_without_pip(package: Path, site: Path) -> str:
    """Make ``package`` importable and discoverable as pip would, for a PYTHONPATH.

    importlib.metadata finds distributions by their ``*.dist-info`` folders on
    sys.path, so a METADATA file and the pyproject's entry points are all an
    install needs; no wheel, no venv.
    """
    project = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    groups = project["entry-points"]
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items())
            for group, points in groups.items()
        ),
        encoding="utf-8",
    )
    return os.pathsep.join([str(site), str(package)])


@pytest.fixture
def shout_config(tmp_path: Path, httpserver: HTTPServer) -> Path:
    config = tmp_path / "logwatch.yaml"
    url = httpserver.url_for("/hooks/s3cr3t-t0ken")
    config.write_text(
        f"state_dir: {tmp_path / 'state'}\nnotifiers:\n  loud: {{type: shout, url: '{url}'}}\n",
        encoding="utf-8",
    )
    return config


class TestThirdPartyPlugin:
    """tests/data/plugin_pkg: a plugin outside the tree, installed by its own entry point."""

    def test_is_found_checked_and_delivers_through_its_entry_point(
        self, tmp_path: Path, shout_config: Path, httpserver: HTTPServer
    ) -> None:
        """`type: shout` passes `logwatch check` and `test-notify` sends through it."""
        env = {"PYTHONPATH": install_without_pip(PLUGIN_PKG, tmp_path / "site")}
        checked = logwatch("check", "-c", str(shout_config), env=env)
        assert (checked.returncode, checked.stdout.strip()) == (0, "ok"), checked.stderr
        httpserver.expect_oneshot_request("/hooks/s3cr3t-t0ken", method="POST").respond_with_data(
            "ok"
        )
        sent = logwatch("test-notify", "-c", str(shout_config), "loud", env=env)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.strip() == "loud: delivered: HTTP 200 shouted"
        ((request, _),) = httpserver.log
        assert json.loads(request.data)["text"] == "LOGWATCH TEST ALERT: IGNORE ME"

    def test_without_it_installed_the_type_is_unknown(self, shout_config: Path) -> None:
        checked = logwatch("check", "-c", str(shout_config))
        assert checked.returncode == 2
        assert "unknown notifier type 'shout'" in checked.stdout + checked.stderr

    def test_keeps_the_plugin_contract(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The check logwatch.testing offers plugin authors passes for it."""
        monkeypatch.syspath_prepend(str(PLUGIN_PKG))  # importable only from its own folder
        plugin = importlib.import_module("logwatch_shout")
        factory: NotifierFactory = plugin.ShoutNotifier
        requests = check_notifier_contract(
            factory, {}, "https://shout.example.com/hooks/s3cr3t-t0ken"
        )
        assert json.loads(requests[0].body) == {
            "text": "OPERATIONALERROR: COULD NOT CONNECT", "id": "0f3c9a1e5b7d4c2a"
        }
