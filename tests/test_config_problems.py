"""`logwatch check`: every config problem at once, each at PATH:LINE:COL of its key or value."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import pytest

from logwatch.config import load_config, load_config_text
from logwatch.errors import ConfigError
from logwatch.notifiers import registry
from logwatch.notifiers.base import NotifierOptions

DATA = Path(__file__).parent / "data" / "config"


class ConsoleOptions(NotifierOptions):
    stream: Literal["stdout", "stderr"] = "stdout"


class SlackOptions(NotifierOptions):
    url: str
    channel: str | None = None


PLUGINS: dict[str, type[NotifierOptions]] = {"console": ConsoleOptions, "slack": SlackOptions}


@pytest.fixture(autouse=True)
def fake_notifiers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for the console and slack plugins through the registry's two functions."""
    monkeypatch.setattr(registry, "available", lambda: dict.fromkeys(PLUGINS, "tests"))
    monkeypatch.setattr(registry, "load", lambda name: SimpleNamespace(Options=PLUGINS[name]))


def problems(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The problems `check` prints for ``text`` (dedented), as PATH:LINE:COL: message."""
    with pytest.raises(ConfigError) as caught:
        load_config_text(textwrap.dedent(text), path="cfg.yaml", environ=environ or {})
    return [str(problem) for problem in caught.value.problems]


NOTIFIERS = """\
notifiers:
  console: {type: console}
"""


class TestBrokenYaml:
    def test_parser_error_is_one_problem_at_the_parsers_position(self) -> None:
        """Unparseable YAML is one problem at the line and column the parser names."""
        text = """\
        rules:
          - name: a
            match: {level: [ERROR}
        """
        assert problems(text) == ["cfg.yaml:3:26: invalid YAML: expected ',' or ']', but got '}'"]

    def test_unprintable_character_is_located(self) -> None:
        """A control character YAML refuses is reported where it stands."""
        assert problems('host: a\nlabels: {x: "b\x00"}\n') == [
            "cfg.yaml:2:15: invalid YAML: unprintable character U+0000"
        ]

    @pytest.mark.parametrize("depth", [5_000, 100_000])
    def test_collections_nested_past_the_parsers_recursion_are_one_problem(
        self, depth: int
    ) -> None:
        """Not a RecursionError's traceback: a config problem, as for any broken YAML."""
        assert problems("rules: " + "[" * depth + "]" * depth + "\n") == [
            "cfg.yaml:1:1: invalid YAML: collections nested too deeply"
        ]

    def test_aliases_of_aliases_past_a_hundred_thousand_values_are_one_problem(self) -> None:
        """A few hundred bytes of aliases (a "billion laughs") would be a billion values."""
        levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in range(1, 9):
            refs = ", ".join([f"*a{level - 1}"] * 10)
            levels.append(f"a{level}: &a{level} [{refs}]")
        text = "labels_not_a_key:\n" + "".join(f"  {line}\n" for line in levels)
        assert len(text) < 1000
        assert problems(text) == [
            "cfg.yaml:1:1: invalid YAML: over 100,000 values, aliases expanded"
        ]

    def test_explicit_tag_on_a_wrong_value(self) -> None:
        """`!!int abc` is a problem at the value, not a crash."""
        assert problems("delivery: {batch: !!int abc}\n") == [
            "cfg.yaml:1:19: delivery.batch: bad tag:yaml.org,2002:int value: "
            "invalid literal for int() with base 10: 'abc'"
        ]

    def test_top_level_must_be_a_mapping(self) -> None:
        """A config that is a list is rejected at 1:1."""
        assert problems("- a\n- b\n") == [
            "cfg.yaml:1:1: the config must be a mapping: state_dir, sources, rules, notifiers, ..."
        ]

    def test_python_tags_are_refused(self) -> None:
        """Only YAML's own types are built: a python/object tag is a problem, never a call."""
        assert problems("host: !!python/name:os.getcwd ''\n") == [
            "cfg.yaml:1:7: host: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/name:os.getcwd'"
        ]
        assert problems("host: !!python/object/apply:os.getcwd []\n") == [
            "cfg.yaml:1:7: host: unsupported tag 'tag:yaml.org,2002:python/object/apply:os.getcwd'"
        ]

    def test_duplicate_yaml_key(self) -> None:
        """A key written twice in one mapping is reported at the second one."""
        text = """\
        host: a
        labels: {team: x}
        host: b
        """
        assert problems(text) == [
            "cfg.yaml:3:1: duplicate key 'host' at the top level (first at line 1)"
        ]

    def test_alias_cycle_is_reported_not_followed(self) -> None:
        """A self-referencing alias is a problem at its anchor, not an endless loop."""
        assert problems("labels: &a {x: *a}\n") == [
            "cfg.yaml:1:9: labels.x: an alias refers to itself"
        ]


class TestUnknownKeys:
    def test_at_the_top_level_with_suggestion(self) -> None:
        """A misspelt top-level key is reported at the key with the close match."""
        assert problems("sourcse: []\n") == [
            "cfg.yaml:1:1: unknown key 'sourcse' at the top level; did you mean 'sources'?"
        ]

    def test_in_a_rule_with_suggestion(self) -> None:
        """The brief's example: a misspelt rule key names the rule's index and the fix."""
        text = """\
rules:
  - name: a
    match: {level: ERROR}
    notify: [console]
  - name: b
    match: {level: ERROR}
    cooldwon: 5m
    notify: [console]
"""
        assert problems(text + NOTIFIERS) == [
            "cfg.yaml:7:5: unknown key 'cooldwon' in rules[1]; did you mean 'cooldown'?"
        ]

    def test_nested_in_match_and_multiline(self) -> None:
        """Unknown keys are found at every depth, each at its own key."""
        text = """\
sources:
  - name: web
    paths: [a.log]
    multiline: {flush_afer: 1s}
rules:
  - name: a
    match: {exception: X, levle: ERROR}
    notify: console
"""
        assert problems(text + NOTIFIERS) == [
            "cfg.yaml:4:17: unknown key 'flush_afer' in sources[0].multiline; "
            "did you mean 'flush_after'?",
            "cfg.yaml:7:27: unknown key 'levle' in rules[0].match; did you mean 'level'?",
        ]

    def test_without_a_close_match_no_suggestion(self) -> None:
        """A key like nothing known gets no guess."""
        assert problems("zzzz: 1\n") == ["cfg.yaml:1:1: unknown key 'zzzz' at the top level"]

    def test_inside_a_notifiers_options(self) -> None:
        """The plugin's own Options model rejects unknown keys, located like any other."""
        text = """\
        notifiers:
          slack: {type: slack, url: "http://x", chanel: "#ops"}
        """
        assert problems(text) == [
            "cfg.yaml:2:41: unknown key 'chanel' in notifiers.slack; did you mean 'channel'?"
        ]


class TestBadValues:
    def test_bad_regex_is_reported_at_the_value_with_res_error(self) -> None:
        """A regex is compiled at load; its error is reported at the pattern."""
        text = """\
rules:
  - name: a
    match: {message: "(?P<x>"}
    notify: console
"""
        assert problems(text + NOTIFIERS) == [
            "cfg.yaml:3:22: rules[0].match.message: bad regex '(?P<x>': "
            "missing ), unterminated subpattern at position 0"
        ]

    def test_bad_header_regex(self) -> None:
        """A source's header pattern is compiled at load too."""
        text = """\
        sources:
          - name: web
            paths: [a.log]
            header: "(?P<level>["
        """
        [problem] = problems(text)
        assert problem.startswith("cfg.yaml:4:13: sources[0].header: bad regex '(?P<level>[':")

    def test_header_with_an_unknown_group(self) -> None:
        """Header groups are timestamp, level, logger and message; others are a typo."""
        text = """\
        sources:
          - name: web
            paths: [a.log]
            header: '(?P<levl>\\w+) (?P<message>.*)'
        """
        assert problems(text) == [
            "cfg.yaml:4:13: sources[0].header: unknown named group 'levl' in header; "
            "use timestamp, level, logger, message"
        ]

    def test_bad_duration_and_bad_size(self) -> None:
        """Bad durations and sizes are reported at their values, with examples."""
        text = """\
        sources:
          - name: web
            paths: [a.log]
            multiline: {flush_after: 3 sec, max_bytes: 1MiBs}
        """
        assert problems(text) == [
            "cfg.yaml:4:30: sources[0].multiline.flush_after: invalid duration '3 sec'; "
            "use seconds or a number with a unit: 500ms, 30s, 5m, 2h, 1d",
            "cfg.yaml:4:48: sources[0].multiline.max_bytes: invalid size '1MiBs'; "
            "use bytes or a number with a unit: 512B, 256KiB, 1MiB, 10MB, 1GiB",
        ]

    def test_choice_outside_the_literal_shows_what_was_given(self) -> None:
        """A value outside a fixed set lists the set and the value given."""
        text = """\
        sources:
          - name: web
            paths: [a.log]
            start_at: begining
        """
        assert problems(text) == [
            "cfg.yaml:4:15: sources[0].start_at: input should be 'end' or 'beginning' "
            "(got 'begining')"
        ]

    def test_wrong_type(self) -> None:
        """What pydantic rejects is reported at the value, with its path."""
        text = """\
        delivery: {batch: many}
        """
        assert problems(text) == [
            "cfg.yaml:1:19: delivery.batch: input should be a valid integer, "
            "unable to parse string as an integer"
        ]

    def test_unknown_severity_and_level(self) -> None:
        """Severity and level names are checked, each at its own value."""
        text = """\
rules:
  - name: a
    match: {level: [ERROR, EROR]}
    severity: urgent
    notify: console
"""
        assert problems(text + NOTIFIERS) == [
            "cfg.yaml:3:28: rules[0].match.level[1]: unknown level 'EROR'; did you mean "
            "'ERROR'? known: TRACE, DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL",
            "cfg.yaml:4:15: rules[0].severity: unknown severity 'urgent'; "
            "use one of info, warning, error, critical",
        ]

    def test_missing_required_key_points_at_its_mapping(self) -> None:
        """A missing key is reported where the mapping that lacks it starts."""
        text = """\
        sources:
          - paths: [a.log]
        """
        assert problems(text) == ["cfg.yaml:2:5: missing key 'name' in sources[0]"]

    def test_threshold_count_must_be_positive(self) -> None:
        """Numeric bounds are enforced: a threshold counts at least one event."""
        text = """\
rules:
  - name: a
    match: {}
    threshold: {count: 0, within: 1m}
    notify: console
"""
        assert problems(text + NOTIFIERS) == [
            "cfg.yaml:4:24: rules[0].threshold.count: input should be greater than or equal to 1"
        ]


class TestReferences:
    def test_unknown_notifier_in_notify(self) -> None:
        """A misspelt notifier name in `notify` lists the configured ones."""
        text = """\
        rules:
          - name: a
            match: {level: ERROR}
            notify: [console, slak]
        notifiers:
          slack: {type: slack, url: "http://x"}
          console: {type: console}
        """
        assert problems(text) == ["cfg.yaml:4:23: no notifier 'slak'; configured: console, slack"]

    def test_unknown_notifier_as_a_single_string(self) -> None:
        """`notify: name` (one string) is checked too, at that string."""
        text = """\
        rules:
          - name: a
            match: {level: ERROR}
            notify: pager
        """
        assert problems(text) == ["cfg.yaml:4:13: no notifier 'pager'; configured: none"]

    def test_unknown_notifier_type_lists_the_installed_ones(self) -> None:
        """A notifier type no plugin provides names the available types."""
        text = """\
        notifiers:
          chat: {type: slak, url: "http://x"}
          other: {type: zulip}
        """
        assert problems(text) == [
            "cfg.yaml:2:16: unknown notifier type 'slak'; did you mean 'slack'? "
            "available: console, slack",
            "cfg.yaml:3:17: unknown notifier type 'zulip'; available: console, slack",
        ]

    def test_notifier_without_type(self) -> None:
        """A notifier must say its type."""
        text = """\
        notifiers:
          chat: {url: "http://x"}
        """
        assert problems(text) == [
            "cfg.yaml:2:9: missing key 'type' in notifiers.chat; available: console, slack"
        ]

    def test_plugin_rejects_its_options(self) -> None:
        """The plugin's Options model validates the values, e.g. a required url."""
        text = """\
        notifiers:
          slack: {type: slack}
        """
        assert problems(text) == ["cfg.yaml:2:10: missing key 'url' in notifiers.slack"]

    def test_unknown_source_in_match(self) -> None:
        """A rule matching on a source that does not exist is a typo."""
        text = """\
sources:
  - {name: web, paths: [a.log]}
rules:
  - name: a
    match: {source: wbe}
    notify: console
"""
        assert problems(text + NOTIFIERS) == ["cfg.yaml:5:21: no source 'wbe'; configured: web"]

    def test_duplicate_source_and_rule_names(self) -> None:
        """Names must be unique; the second use is reported with the first's line."""
        text = """\
sources:
  - {name: web, paths: [a.log]}
  - {name: web, paths: [b.log]}
rules:
  - {name: r, match: {}, notify: console}
  - {name: r, match: {}, notify: console}
"""
        assert problems(text + NOTIFIERS) == [
            "cfg.yaml:3:12: duplicate source name 'web' (first at line 2)",
            "cfg.yaml:6:12: duplicate rule name 'r' (first at line 5)",
        ]

    def test_alert_rule_needs_notify(self) -> None:
        """An alerting rule must say where its alerts go; a drop rule need not."""
        text = """\
rules:
  - name: quiet
    match: {exception: BrokenPipeError}
    action: drop
  - name: loud
    match: {level: ERROR}
  - name: empty
    match: {level: ERROR}
    notify: []
"""
        assert problems(text + NOTIFIERS) == [
            "cfg.yaml:5:5: rule 'loud' alerts but has no notify; "
            "list its notifiers, e.g. notify: [console], or add routes",
            "cfg.yaml:9:13: rule 'empty' alerts but has no notify; "
            "list its notifiers, e.g. notify: [console], or add routes",
        ]


class TestEnvironment:
    def test_unset_variable_is_reported_at_its_value(self) -> None:
        """An unset ${VAR} without default is a problem at the string using it."""
        text = """\
        notifiers:
          slack: {type: slack, url: "${SLACK_WEBHOOK_URL}"}
        """
        assert problems(text) == [
            "cfg.yaml:2:29: notifiers.slack.url: environment variable ${SLACK_WEBHOOK_URL} "
            "is not set; set it, or give a default with ${NAME:-default}"
        ]

    def test_variables_cannot_inject_yaml(self) -> None:
        """A value that looks like YAML stays one string: expansion runs after parsing."""
        text = "host: ${EVIL}\n"
        config = load_config_text(text, environ={"EVIL": "x\nlabels: {a: b}"})
        assert config.host == "x\nlabels: {a: b}"
        assert config.labels == {}


class TestEveryProblemAtOnce:
    def test_misspelt_key_bad_regex_and_unknown_notifier_are_all_reported(self) -> None:
        """One file with three problems yields three located problems, in file order."""
        path = DATA / "three_problems.yaml"
        with pytest.raises(ConfigError) as caught:
            load_config(path, environ={})
        assert [str(problem) for problem in caught.value.problems] == [
            f"{path}:9:16: rules[0].match.message: bad regex '(?i)could not (connect': "
            "missing ), unterminated subpattern at position 14",
            f"{path}:10:5: unknown key 'cooldwon' in rules[0]; did you mean 'cooldown'?",
            f"{path}:11:14: no notifier 'slak'; configured: console, slack",
        ]

    def test_problems_of_every_kind_come_together(self) -> None:
        """Parsing, env, plugin, reference and type problems are collected in one pass."""
        text = """\
        log_level: loud
        sources:
          - {name: web, paths: [a.log], format: xml}
        rules:
          - {name: a, match: {level: ERROR}, notify: [nobody]}
        notifiers:
          slack: {type: slack, url: "${NO_SUCH_VAR}"}
          mail: {type: email}
        """
        lines = [problem.split(": ", 1)[0] for problem in problems(text)]
        assert lines == [
            "cfg.yaml:1:12",
            "cfg.yaml:3:41",
            "cfg.yaml:5:47",
            "cfg.yaml:7:29",
            "cfg.yaml:8:16",
        ]

    def test_error_message_joins_the_problems(self) -> None:
        """str(ConfigError) is the printable list, one problem per line."""
        with pytest.raises(ConfigError) as caught:
            load_config_text("a: 1\nb: 2\n", path="x.yaml")
        assert str(caught.value) == (
            "x.yaml:1:1: unknown key 'a' at the top level\n"
            "x.yaml:2:1: unknown key 'b' at the top level"
        )

    def test_unreadable_file_is_a_config_error(self, tmp_path: Path) -> None:
        """A missing file is reported like any other problem, not as a traceback."""
        missing = tmp_path / "nope.yaml"
        with pytest.raises(ConfigError, match=r"nope\.yaml:1:1: cannot read config"):
            load_config(missing)
