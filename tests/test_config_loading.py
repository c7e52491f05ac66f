"""Loading a valid config: typed, frozen objects with durations, sizes and regexes resolved."""

from __future__ import annotations

import json
import re
import socket
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import pydantic
import pytest

import logwatch.config
from logwatch.config import (
    Config,
    DeliveryConfig,
    MetricsConfig,
    MultilineConfig,
    ThresholdConfig,
    config_schema,
    default_replay_config,
    load_config,
    load_config_text,
)
from logwatch.model import Severity
from logwatch.notifiers import registry
from logwatch.notifiers.base import NotifierOptions

DATA = Path(__file__).parent / "data" / "config"
MIB = 1 << 20


class ConsoleOptions(NotifierOptions):
    stream: Literal["stdout", "stderr"] = "stdout"


class SlackOptions(NotifierOptions):
    url: str


PLUGINS: dict[str, type[NotifierOptions]] = {"console": ConsoleOptions, "slack": SlackOptions}


@pytest.fixture(autouse=True)
def fake_notifiers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for the console and slack plugins through the registry's two functions."""
    monkeypatch.setattr(registry, "available", lambda: dict.fromkeys(PLUGINS, "tests"))
    monkeypatch.setattr(registry, "load", lambda name: SimpleNamespace(Options=PLUGINS[name]))


def load(text: str, **environ: str) -> Config:
    return load_config_text(
        textwrap.dedent(text), path="cfg.yaml", base_dir=Path("/cfg"), environ=environ
    )


class TestFullConfig:
    @pytest.fixture
    def config(self) -> Config:
        return load_config(DATA / "full.yaml", environ={"SLACK_WEBHOOK_URL": "http://hook"})

    def test_top_level_values(self, config: Config) -> None:
        """Top-level keys become typed values; env defaults and numbers fill labels."""
        assert config.state_dir == Path("/var/lib/logwatch-test")
        assert config.host == "web-1"
        assert config.labels == {"service": "shop", "environment": "production", "tier": "1"}
        assert config.metrics == MetricsConfig(listen="0.0.0.0:9717")
        assert config.log_level == "debug"
        assert config.delivery == DeliveryConfig(
            timeout=5, initial_backoff=0.5, max_backoff=600, grace_on_stop=2, batch=10
        )

    def test_source(self, config: Config) -> None:
        """A source's single strings become tuples; sizes are bytes, durations seconds."""
        [web] = config.sources
        assert web.paths == ("/var/log/shop/*.log",)
        assert web.exclude == ("*.gz",)
        assert (web.start_at, web.new_files_from, web.format) == ("beginning", "end", "text")
        assert web.encoding == "iso8859-1"
        assert web.max_line_bytes == 256 * 1024
        assert web.multiline == MultilineConfig(
            flush_after=0.3, max_wait=2, max_lines=500, max_bytes=MIB
        )
        assert web.header is not None
        assert set(web.header.groupindex) == {"timestamp", "level", "logger", "message"}

    def test_rule(self, config: Config) -> None:
        """A rule's match is normalized and compiled; its timings are seconds."""
        rule = config.rules[1]
        assert rule.name == "db-down"
        assert rule.match.exception == ("sqlalchemy.exc.*", "psycopg2.OperationalError")
        assert rule.match.message == re.compile("(?i)could not connect")
        assert rule.match.level == ("ERROR", "CRITICAL", "WARNING")
        assert (rule.match.source, rule.match.logger, rule.match.file) == (
            ("web",),
            ("app.db*",),
            ("*/shop/*.log",),
        )
        assert rule.match.traceback is True
        assert rule.severity is Severity.CRITICAL
        assert rule.threshold == ThresholdConfig(count=3, within=60)
        assert (rule.cooldown, rule.resolve_after) == (600, 5400)
        assert rule.group_by == ("fingerprint", "host")
        assert rule.notify == ("slack", "console")
        assert rule.continue_ is True

    def test_min_level_and_single_notify(self, config: Config) -> None:
        """min_level folds aliases; `notify: console` is a one-element tuple."""
        warnings = config.rules[2]
        assert warnings.match.min_level == "WARNING"
        assert warnings.notify == ("console",)

    def test_notifiers_are_validated_by_their_plugin(self, config: Config) -> None:
        """Each notifier's options are an instance of its plugin's Options model."""
        slack = config.notifiers["slack"]
        assert (slack.name, slack.type) == ("slack", "slack")
        assert slack.options == SlackOptions(type="slack", url="http://hook")
        assert isinstance(config.notifiers["console"].options, ConsoleOptions)

    def test_config_is_frozen(self, config: Config) -> None:
        """Config objects cannot be changed after loading."""
        with pytest.raises(pydantic.ValidationError, match="frozen"):
            config.host = "other"

    def test_same_file_loads_equal(self, config: Config) -> None:
        """Loading twice gives equal configs, so a reload can tell nothing changed."""
        assert (
            load_config(DATA / "full.yaml", environ={"SLACK_WEBHOOK_URL": "http://hook"}) == config
        )


class TestDefaults:
    def test_empty_file_is_all_defaults(self) -> None:
        """An empty config takes every default of SPEC."""
        config = load("")
        assert config.state_dir == Path("/var/lib/logwatch")
        assert config.host == socket.gethostname()
        assert (config.labels, config.sources, config.rules, config.notifiers) == ({}, (), (), {})
        assert config.metrics is None
        assert config.log_level == "info"
        assert config.delivery == DeliveryConfig(
            timeout=10, initial_backoff=1, max_backoff=300, grace_on_stop=5, batch=50
        )

    def test_source_defaults(self) -> None:
        """A source needs only a name and paths."""
        [source] = load("sources: [{name: web, paths: a.log}]").sources
        assert (source.start_at, source.new_files_from, source.format) == (
            "end",
            "beginning",
            "auto",
        )
        assert source.multiline == MultilineConfig(
            flush_after=0.25, max_wait=5, max_lines=1000, max_bytes=MIB
        )
        assert (source.max_line_bytes, source.header, source.encoding) == (MIB, None, "utf-8")

    def test_rule_defaults(self) -> None:
        """A rule alerts, derives severity from the level and groups by fingerprint."""
        [rule] = load("""\
            rules: [{name: r, match: {}, notify: console}]
            notifiers: {console: {type: console}}
            """).rules
        assert (rule.action, rule.severity, rule.threshold, rule.cooldown) == (
            "alert",
            None,
            None,
            None,
        )
        assert (rule.group_by, rule.resolve_after, rule.continue_) == (
            ("fingerprint",),
            None,
            False,
        )

    def test_metrics_listen_default(self) -> None:
        """`metrics: {}` enables metrics on the default address."""
        assert load("metrics: {}").metrics == MetricsConfig(listen="127.0.0.1:9717")

    def test_emptied_section_means_its_default(self) -> None:
        """A section whose entries are all commented out is empty, not an error."""
        config = load("""\
            rules:
            #  - name: old
            notifiers:
            """)
        assert (config.rules, config.notifiers) == ((), {})


class TestPaths:
    def test_relative_paths_resolve_against_the_config_file(self) -> None:
        """state_dir and source globs are relative to the file; absolute ones stay."""
        config = load_config(DATA / "relative_paths.yaml")
        assert config.state_dir == DATA / "state"
        assert config.sources[0].paths == (str(DATA / "logs" / "*.log"), "/var/log/app/*.log")
        assert config.sources[0].exclude == ("*.gz",)

    def test_text_resolves_against_base_dir(self) -> None:
        """load_config_text resolves relative paths against base_dir."""
        assert load("state_dir: state").state_dir == Path("/cfg/state")

    def test_home_is_expanded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """~ means the user's home, as in a shell."""
        monkeypatch.setenv("HOME", "/home/ops")
        assert load("state_dir: ~/lw").state_dir == Path("/home/ops/lw")


class TestYamlForms:
    def test_env_values_are_typed_by_their_field(self) -> None:
        """An expanded "10" becomes an int where an int is wanted."""
        config = load("delivery: {batch: '${BATCH}', timeout: '${TIMEOUT:-2s}'}", BATCH="10")
        assert (config.delivery.batch, config.delivery.timeout) == (10, 2.0)

    def test_merge_keys_share_settings(self) -> None:
        """YAML merge keys work, and a rule's own keys override the merged ones."""
        config = load("""\
            notifiers: {console: {type: console}}
            rules:
              - &base {name: a, match: {level: ERROR}, notify: console, cooldown: 1m}
              - <<: *base
                name: b
                cooldown: 2m
            """)
        assert [(rule.name, rule.cooldown) for rule in config.rules] == [("a", 60), ("b", 120)]

    def test_keys_are_read_as_written(self) -> None:
        """YAML 1.1 would read the key `on` as True; labels keep it as text."""
        assert load("labels: {on: call, 1: one}").labels == {"on": "call", "1": "one"}


class TestDefaultReplayConfig:
    def test_alerts_tracebacks_and_errors_to_the_console(self) -> None:
        """Without -c, replay alerts every traceback and every ERROR/CRITICAL record."""
        config = default_replay_config()
        assert [(rule.match.traceback, rule.match.level, rule.notify) for rule in config.rules] == [
            (True, (), ("console",)),
            (None, ("ERROR", "CRITICAL"), ("console",)),
        ]
        assert all(rule.action == "alert" and rule.severity is None for rule in config.rules)
        assert config.notifiers["console"].type == "console"
        assert config.sources == ()


class TestSchema:
    def test_schema_is_json_with_properties(self) -> None:
        """The schema is serializable JSON Schema describing the top-level keys."""
        schema = json.loads(json.dumps(config_schema()))
        assert schema["$schema"].endswith("/schema")
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert {"state_dir", "sources", "rules", "notifiers", "delivery"} <= set(
            schema["properties"]
        )

    def test_rule_keys_are_spelt_as_in_yaml(self) -> None:
        """`continue` appears under its YAML name; durations also accept strings."""
        rule = config_schema()["$defs"]["RuleConfig"]["properties"]
        assert "continue" in rule
        assert "continue_" not in rule
        assert {"type": "string"} in [
            {"type": option["type"]} for option in rule["cooldown"]["anyOf"][0]["anyOf"]
        ]

    def test_notifiers_offer_each_installed_plugin(self) -> None:
        """Each installed notifier type contributes its options' schema."""
        schema = config_schema()
        variants = schema["properties"]["notifiers"]["additionalProperties"]["anyOf"]
        assert variants == [
            {"$ref": "#/$defs/notifier-console"},
            {"$ref": "#/$defs/notifier-slack"},
        ]
        slack = schema["$defs"]["notifier-slack"]
        assert slack["properties"]["type"] == {"const": "slack"}
        assert "url" in slack["required"]


def test_public_names_are_listed() -> None:
    """Everything in logwatch.config.__all__ exists; the loaders are among them."""
    for name in logwatch.config.__all__:
        assert hasattr(logwatch.config, name), name
    assert {"load_config", "load_config_text", "config_schema", "default_replay_config"} <= set(
        logwatch.config.__all__
    )
