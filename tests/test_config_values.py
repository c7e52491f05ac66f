"""Config scalars: ${VAR} expansion, durations, sizes, levels and severities."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logwatch.config import parse_duration, parse_size
from logwatch.config.fields import (
    LEVEL_ALIASES,
    LEVEL_ORDER,
    compile_regex,
    normalize_level,
    parse_severity,
)
from logwatch.envvars import ExpansionError, expand
from logwatch.model import Severity
from logwatch.rules import match


class TestExpand:
    def test_set_variable_is_substituted(self) -> None:
        """${NAME} takes the variable's value."""
        assert expand("https://${HOST}/hook", {"HOST": "example.org"}) == "https://example.org/hook"

    def test_unset_variable_without_default_is_an_error(self) -> None:
        """An unset variable without a default names the variable and the remedy."""
        with pytest.raises(ExpansionError, match=r"\$\{SLACK_URL\} is not set.*:-default"):
            expand("${SLACK_URL}", {})

    def test_every_unset_variable_is_named(self) -> None:
        """Two unset variables in one string are reported together."""
        with pytest.raises(ExpansionError, match=r"variables \$\{A\}, \$\{B\} are not set"):
            expand("${A}:${B}", {})

    def test_default_applies_when_unset(self) -> None:
        """${NAME:-default} falls back to the default."""
        assert expand("${MODE:-dev}", {}) == "dev"

    def test_default_applies_when_empty(self) -> None:
        """As in the shell, an empty value also takes the default."""
        assert expand("${MODE:-dev}", {"MODE": ""}) == "dev"

    def test_set_value_wins_over_default(self) -> None:
        """A set variable ignores the default."""
        assert expand("${MODE:-dev}", {"MODE": "prod"}) == "prod"

    def test_empty_default_is_allowed(self) -> None:
        """${NAME:-} makes a variable optional."""
        assert expand("${SECRET:-}", {}) == ""

    def test_double_dollar_is_a_literal_dollar(self) -> None:
        """$$ writes a literal $, so $${X} is not a reference."""
        assert expand("cost: $$5 and $${X}", {"X": "no"}) == "cost: $5 and ${X}"

    def test_lone_dollar_stays(self) -> None:
        """A $ not followed by { or $ is left alone, so regex anchors survive."""
        assert expand("failed$|^x$", {}) == "failed$|^x$"

    def test_value_is_not_expanded_again(self) -> None:
        """A value containing ${...} is inserted as it is, not expanded recursively."""
        assert expand("${A}", {"A": "${B}", "B": "no"}) == "${B}"

    @pytest.mark.parametrize("text", ["${", "${1X}", "${A-b}", "${A B}"])
    def test_malformed_reference_is_an_error(self, text: str) -> None:
        """A reference that is not ${NAME} or ${NAME:-default} is rejected."""
        with pytest.raises(ExpansionError, match="bad variable reference"):
            expand(text, {"A": "a"})

    @given(st.text().filter(lambda text: "$" not in text))
    def test_text_without_dollar_is_unchanged(self, text: str) -> None:
        """Expansion only touches $ references."""
        assert expand(text, {}) == text


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("500ms", 0.5),
            ("30s", 30.0),
            ("5m", 300.0),
            ("2h", 7200.0),
            ("1d", 86400.0),
            ("1w", 604800.0),
            ("1h30m", 5400.0),
            ("1.5s", 1.5),
            (" 10s ", 10.0),
            ("45", 45.0),
            (45, 45.0),
            (0.25, 0.25),
            ("0", 0.0),
        ],
    )
    def test_written_forms(self, text: str | float, seconds: float) -> None:
        """Durations are float seconds; plain numbers are seconds."""
        assert parse_duration(text) == pytest.approx(seconds)

    @pytest.mark.parametrize("value", ["5x", "m", "1 h", "s10", "", "-5s", -1, True, None, [1]])
    def test_bad_forms_are_rejected_with_examples(self, value: object) -> None:
        """A bad duration says what is accepted."""
        with pytest.raises(ValueError, match=r"invalid duration .*(500ms|negative)"):
            parse_duration(value)

    @given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["ms", "s", "m", "h", "d"]))
    def test_number_with_unit(self, number: int, unit: str) -> None:
        """N<unit> is N times the unit's length in seconds."""
        factor = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        assert parse_duration(f"{number}{unit}") == pytest.approx(number * factor)


class TestParseSize:
    @pytest.mark.parametrize(
        ("text", "size"),
        [
            ("256KiB", 256 * 1024),
            ("1MiB", 1 << 20),
            ("10MB", 10_000_000),
            ("1GiB", 1 << 30),
            ("1kb", 1000),
            ("512B", 512),
            ("1.5KiB", 1536),
            ("4096", 4096),
            (4096, 4096),
            ("1 MiB", 1 << 20),
        ],
    )
    def test_written_forms(self, text: str | int, size: int) -> None:
        """Sizes are int bytes; KiB/MiB/GiB are binary, KB/MB/GB decimal."""
        assert parse_size(text) == size

    @pytest.mark.parametrize("value", ["1XB", "MiB", "-1", -1, 1.5, True, None])
    def test_bad_forms_are_rejected(self, value: object) -> None:
        """A bad size says what is accepted."""
        with pytest.raises(ValueError, match="invalid size"):
            parse_size(value)


class TestLevelsAndSeverities:
    @pytest.mark.parametrize(
        ("text", "level"),
        [("error", "ERROR"), ("WARN", "WARNING"), ("fatal", "CRITICAL"), ("Critical", "CRITICAL")],
    )
    def test_levels_are_upper_cased_and_aliases_folded(self, text: str, level: str) -> None:
        """WARN means WARNING and FATAL means CRITICAL, as Python logging prints them."""
        assert normalize_level(text) == level

    def test_levels_agree_with_the_rule_matcher(self) -> None:
        """The config accepts exactly the levels and aliases the rule matcher ranks."""
        assert list(LEVEL_ORDER) == sorted(match.LEVEL_RANKS, key=match.LEVEL_RANKS.__getitem__)
        assert dict(LEVEL_ALIASES) == match.LEVEL_ALIASES

    def test_unknown_level_suggests_a_close_one(self) -> None:
        """A misspelt level is rejected with a suggestion."""
        with pytest.raises(ValueError, match="did you mean 'ERROR'"):
            normalize_level("EROR")

    def test_severity_names(self) -> None:
        """YAML severities are the lower-case names of Severity."""
        assert [parse_severity(name) for name in ("info", "warning", "error", "critical")] == [
            Severity.INFO,
            Severity.WARNING,
            Severity.ERROR,
            Severity.CRITICAL,
        ]

    def test_unknown_severity_lists_the_choices(self) -> None:
        """An unknown severity lists what is allowed."""
        with pytest.raises(ValueError, match="info, warning, error, critical"):
            parse_severity("urgent")

    def test_regex_is_compiled_once(self) -> None:
        """A pattern string becomes a compiled re.Pattern."""
        assert compile_regex("(?i)x+") == re.compile("(?i)x+")

    def test_bad_regex_carries_the_regex_error(self) -> None:
        """A bad pattern names itself and re's own explanation."""
        with pytest.raises(ValueError, match=r"bad regex '\(a': missing \), unterminated"):
            compile_regex("(a")
