"""Rule matching and the pure helpers behind alerts: one table per match field."""

from __future__ import annotations

from typing import Any

import pytest

from logwatch.config import MatchConfig
from logwatch.model import Event, ExceptionInfo, Origin
from logwatch.rules import Matcher, level_rank
from logwatch.rules.alerts import group_key, occurrence_id, title


def event(**overrides: Any) -> Event:
    """An ERROR record from app.db with a chained sqlalchemy traceback, unless overridden."""
    fields: dict[str, Any] = {
        "origin": Origin(source="web", path="/var/log/shop/app.log", file_uid="u"),
        "first_line": 1,
        "last_line": 9,
        "start_offset": 0,
        "end_offset": 10,
        "text": "...",
        "message": "query failed for order 42",
        "level": "ERROR",
        "logger": "app.db",
        "chain": (
            ExceptionInfo("ConnectionRefusedError", "[Errno 111] Connection refused"),
            ExceptionInfo("sqlalchemy.exc.OperationalError", "could not connect to server\nx"),
        ),
    }
    fields.update(overrides)
    return Event(**fields)


def matches(match: dict[str, Any], **overrides: Any) -> bool:
    return Matcher(MatchConfig.model_validate(match))(event(**overrides))


PLAIN = {"chain": ()}


@pytest.mark.parametrize(
    ("match", "overrides", "expected"),
    [
        pytest.param({}, {}, True, id="empty match matches everything"),
        # exception: globs, any type in the chain, also on the short name
        pytest.param({"exception": ["sqlalchemy.exc.OperationalError"]}, {}, True, id="exc full"),
        pytest.param({"exception": ["OperationalError"]}, {}, True, id="exc short name"),
        pytest.param({"exception": ["sqlalchemy.exc.*"]}, {}, True, id="exc glob"),
        pytest.param({"exception": ["ConnectionRefusedError"]}, {}, True, id="exc cause"),
        pytest.param({"exception": ["operationalerror"]}, {}, False, id="exc case-sensitive"),
        pytest.param({"exception": ["KeyError", "Value*"]}, {}, False, id="exc none"),
        pytest.param({"exception": ["*"]}, PLAIN, False, id="exc needs a traceback"),
        pytest.param(
            {"exception": ["KeyError"]},
            {
                "chain": (
                    ExceptionInfo(
                        "ExceptionGroup",
                        "2",
                        group_members=(
                            ExceptionInfo("ValueError", "a"),
                            ExceptionInfo("KeyError", "b"),
                        ),
                    ),
                )
            },
            True,
            id="exc group member",
        ),
        # message: regex searched in the record message and the exception message
        pytest.param({"message": "order \\d+"}, {}, True, id="msg in record message"),
        pytest.param({"message": "(?i)COULD NOT CONNECT"}, {}, True, id="msg in exc_message"),
        pytest.param({"message": "^could"}, {}, True, id="msg anchored in exc_message"),
        pytest.param({"message": "to server x"}, {}, False, id="msg only first exc line"),
        pytest.param({"message": "timeout"}, {}, False, id="msg none"),
        # level list and min_level, aliases folded
        pytest.param({"level": ["ERROR", "CRITICAL"]}, {}, True, id="level in list"),
        pytest.param({"level": ["error"]}, {}, True, id="level case-insensitive"),
        pytest.param({"level": ["WARNING"]}, {"level": "WARN"}, True, id="level alias"),
        pytest.param({"level": ["CRITICAL"]}, {}, False, id="level not in list"),
        pytest.param({"level": ["ERROR"]}, {"level": None}, True, id="bare traceback is ERROR"),
        pytest.param({"level": ["ERROR"]}, {"level": None, **PLAIN}, False, id="no level"),
        pytest.param({"min_level": "WARNING"}, {}, True, id="min below"),
        pytest.param({"min_level": "ERROR"}, {}, True, id="min equal"),
        pytest.param({"min_level": "CRITICAL"}, {}, False, id="min above"),
        pytest.param({"min_level": "CRITICAL"}, {"level": "FATAL"}, True, id="min alias"),
        pytest.param({"min_level": "DEBUG"}, {"level": "VERBOSE"}, False, id="min unknown"),
        # traceback: requires / forbids a chain
        pytest.param({"traceback": True}, {}, True, id="traceback required, present"),
        pytest.param({"traceback": True}, PLAIN, False, id="traceback required, absent"),
        pytest.param({"traceback": False}, PLAIN, True, id="traceback forbidden, absent"),
        pytest.param({"traceback": False}, {}, False, id="traceback forbidden, present"),
        # source names, logger and file globs
        pytest.param({"source": ["web", "worker"]}, {}, True, id="source listed"),
        pytest.param({"source": "worker"}, {}, False, id="source other"),
        pytest.param({"logger": ["app.*"]}, {}, True, id="logger glob"),
        pytest.param({"logger": ["app"]}, {}, False, id="logger exact"),
        pytest.param({"logger": ["*"]}, {"logger": None}, False, id="logger absent"),
        pytest.param({"file": ["*.log"]}, {}, True, id="file glob"),
        pytest.param({"file": ["app.log"]}, {}, True, id="file basename"),
        pytest.param({"file": ["/var/log/shop/*"]}, {}, True, id="file path glob"),
        pytest.param({"file": ["/var/log/other/*"]}, {}, False, id="file other dir"),
        # every given field must hold
        pytest.param(
            {"exception": ["*OperationalError"], "level": ["ERROR"], "source": "web"},
            {},
            True,
            id="all hold",
        ),
        pytest.param(
            {"exception": ["*OperationalError"], "level": ["CRITICAL"]}, {}, False, id="one fails"
        ),
    ],
)
def test_match(match: dict[str, Any], overrides: dict[str, Any], expected: bool) -> None:
    assert matches(match, **overrides) is expected


def test_level_rank_orders_levels_and_names_the_unknown() -> None:
    """`min_level` compares by rank; an unknown name is an error listing the known ones."""
    assert level_rank("warn") == level_rank("WARNING") < level_rank("ERROR")
    with pytest.raises(ValueError, match="unknown level 'LOUD'; known: TRACE, DEBUG"):
        level_rank("LOUD")


@pytest.mark.parametrize(
    ("exc_type", "exc_message", "message", "text", "expected"),
    [
        ("pkg.mod.CustomError", "it broke", "ignored", "", "CustomError: it broke"),
        ("KeyboardInterrupt", "", "ignored", "", "KeyboardInterrupt"),
        (None, None, "disk   full\non /var", "", "disk full on /var"),
        (None, None, "", "first line\nsecond", "first line"),
    ],
)
def test_title(
    exc_type: str | None, exc_message: str | None, message: str, text: str, expected: str
) -> None:
    assert title(exc_type, exc_message, message, text) == expected


def test_title_is_cut_to_200_characters() -> None:
    cut = title(None, None, "y" * 500, "")
    assert len(cut) == 200
    assert cut.endswith("…")


def test_occurrence_id_without_file_uid_uses_source_and_path() -> None:
    """Standard input has no file identity; the path keeps two inputs apart."""
    a = event(origin=Origin(source="stdin", path="a.log"))
    b = event(origin=Origin(source="stdin", path="b.log"))
    assert occurrence_id(a, "r") != occurrence_id(b, "r")
    assert occurrence_id(a, "r") == occurrence_id(event(origin=a.origin), "r")


@pytest.mark.parametrize(
    ("group_by", "same"),
    [
        (("fingerprint",), False),
        (("exc_type",), True),
        (("logger",), True),
        (("rule",), True),
        (("fields.tenant",), False),
        (("exc_type", "fields.tenant"), False),
    ],
)
def test_group_key(group_by: tuple[str, ...], same: bool) -> None:
    """Events differing in fingerprint and a JSON field share a group unless grouped by those."""
    a = event(fingerprint="fp1:a", fields={"tenant": "acme"})
    b = event(fingerprint="fp1:b", fields={"tenant": "globex"})
    key_a = group_key(a, group_by, rule="r", host="h")
    assert (key_a == group_key(b, group_by, rule="r", host="h")) is same
    assert key_a.startswith("r:")


def test_group_key_does_not_carry_the_message() -> None:
    """Group keys are stored; a message (and any secret in it) must not be readable there."""
    key = group_key(event(message="password=hunter2"), ("message",), rule="r", host="h")
    assert "hunter2" not in key
