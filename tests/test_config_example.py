"""config.example.yaml: valid as shipped and with its commented notifiers switched on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from logwatch.config import Config, load_config, load_config_text

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config.example.yaml"


@pytest.fixture
def example() -> Config:
    return load_config(EXAMPLE, environ={})


class TestExampleConfig:
    def test_loads_with_the_installed_plugins(self, example: Config) -> None:
        """The example is valid with the real console plugin and no environment."""
        assert list(example.notifiers) == ["console"]
        assert example.notifiers["console"].type == "console"

    def test_tails_the_demo_log_from_its_beginning(self, example: Config) -> None:
        """One source, `demo`, reads examples/demo.log from the first line."""
        [demo] = example.sources
        assert demo.name == "demo"
        assert demo.paths == (str(ROOT / "examples" / "demo.log"),)
        assert demo.start_at == "beginning"
        assert example.state_dir == ROOT / ".logwatch-state"

    def test_rules_drop_disconnects_then_alert(self, example: Config) -> None:
        """Disconnects are dropped; tracebacks and ERROR/CRITICAL records alert the console."""
        drop, tracebacks, errors = example.rules
        assert drop.action == "drop"
        assert drop.match.exception == ("BrokenPipeError", "ConnectionResetError")
        # severity from the level, so that a crash (CRITICAL) is not sent as an error
        assert (tracebacks.match.traceback, tracebacks.severity) == (True, None)
        assert errors.match.level == ("ERROR", "CRITICAL")
        assert tracebacks.notify == errors.notify == ("console",)

    def test_works_from_any_working_directory(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """Relative paths follow the config file, not the current directory."""
        monkeypatch.chdir(tmp_path)
        assert load_config(EXAMPLE, environ={}).state_dir == ROOT / ".logwatch-state"

    def test_commented_notifiers_are_valid_once_enabled(self) -> None:
        """Uncommenting the webhook and slack examples gives a valid config."""
        text = re.sub(r"(?m)^  # ", "  ", EXAMPLE.read_text(encoding="utf-8"))
        config = load_config_text(
            text,
            base_dir=ROOT,
            environ={
                "WEBHOOK_URL": "http://127.0.0.1:9000/alerts",
                "SLACK_WEBHOOK_URL": "http://127.0.0.1:9000/slack",
            },
        )
        assert {name: notifier.type for name, notifier in config.notifiers.items()} == {
            "console": "console",
            "webhook": "webhook",
            "slack": "slack",
        }
