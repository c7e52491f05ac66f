"""Rule matching and the pure helpers behind alerts: one table per match field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from logwatch.config import MatchConfig
from logwatch.model import Event, ExceptionInfo, Origin
from logwatch.rules import Matcher, level_rank
from logwatch.rules.alerts import group_key, occurrence_id, title
from logwatch.rules.match import effective_level
from tests.multiline_support import wrap
from tests.rules_support import events, killed_traceback, stderr_of


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


# A `message` regex runs only on texts holding a literal it cannot match
# without; these cases check that the shortcut never changes an answer.
GUARDED = [
    "could not connect to (database|server)",
    "(disk|quota) (full|exceeded)",
    "card declined for order (?P<order>[0-9]+)",
    "(?i)out of memory",
    "(?i:disk) full",
    "(?i)disk full",
    "[Pp]ermission denied",
    "timeout|refused",
    r"\d+",  # no literal: always runs
]
PIECES = [
    *("could not connect to server", "could not connect to ", "database", "disk", "DISK"),
    *("quota", " full", " exceeded", "card declined for order ", "42", "Out Of Memory"),
    *("out of memory", "Permission denied", "permission denied", "timeout", "refused"),
    *("x", " ", "\n"),
    # long s, dotless i, Kelvin sign: case-insensitively "s", "i", "k"
    *("\u017f", "\u0131", "\u212a", "d\u0131\u017fk"),
]


@example(pattern="(?i)disk full", message="d\u0131\u017fk full", exc_message=None)
@example(pattern="(?i)disk full", message="", exc_message="DI\u017fK FULL")
@example(pattern="(?i:disk) full", message="d\u0131\u017fk full", exc_message=None)
@given(
    pattern=st.sampled_from(GUARDED),
    message=st.lists(st.sampled_from(PIECES), max_size=5).map("".join),
    exc_message=st.none() | st.lists(st.sampled_from(PIECES), max_size=5).map("".join),
)
def test_message_literals_never_change_the_answer(
    pattern: str, message: str, exc_message: str | None
) -> None:
    regex = re.compile(pattern)
    chain = () if exc_message is None else (ExceptionInfo("KeyError", exc_message),)
    subject = event(message=message, chain=chain)
    exc_text = subject.exc_message
    expected = bool(regex.search(message) or (exc_text and regex.search(exc_text)))
    matcher = Matcher(MatchConfig.model_validate({"message": pattern}))
    assert matcher(subject) is expected
    extracted = matcher.extract(subject)
    assert (extracted is not None) is expected
    if expected:
        assert extracted == matcher.groups(message, subject.exc_message)


@pytest.mark.parametrize(
    ("match", "needs_chain", "refuses_chain", "literals"),
    [
        ({}, False, False, None),
        ({"traceback": True}, True, False, None),
        ({"traceback": False}, False, True, None),
        ({"exception": ["KeyError"]}, True, False, None),
        ({"function": ["charge*"]}, True, False, None),
        ({"message": "(disk|quota) (full|exceeded)"}, False, False, (" exceeded", " full")),
        ({"message": "(?i)disk full"}, False, False, None),  # folded: guarded inside only
        ({"message": r"\d+", "level": ["ERROR"]}, False, False, None),
    ],
)
def test_what_the_engine_may_skip_a_rule_for(
    match: dict[str, Any], needs_chain: bool, refuses_chain: bool, literals: Any
) -> None:
    """Without a traceback, or without any of these literals, the rule cannot match."""
    matcher = Matcher(MatchConfig.model_validate(match))
    assert (matcher.needs_chain, matcher.refuses_chain, matcher.literals) == (
        needs_chain,
        refuses_chain,
        literals,
    )


def test_constraints_are_all_checked_whatever_their_order() -> None:
    """The cheap ones run first, yet each must still hold."""
    match = {
        "message": "could not connect",
        "traceback": True,
        "source": ["web"],
        "level": ["ERROR"],
        "logger": ["app.*"],
        "file": ["*.log"],
        "exception": ["OperationalError"],
    }
    assert matches(match)
    for spoiler in (
        {"chain": ()},
        {"level": "INFO"},
        {"logger": "lib.db"},
        {"origin": Origin(source="api", path="/var/log/shop/app.log")},
        {"origin": Origin(source="web", path="/var/log/shop/app.txt")},
        {"chain": (ExceptionInfo("KeyError", "could not connect"),)},
        {"message": "could not reach", "chain": (ExceptionInfo("OperationalError", "no"),)},
    ):
        assert not matches(match, **spoiler), spoiler


# Scripts whose stderr shows frames but no exception line.
PRINT_STACK = "import traceback\n\n\ndef audit():\n    traceback.print_stack()\n\n\naudit()\n"
DUMP = (
    "import faulthandler\nimport sys\n\n\ndef hang():\n"
    "    faulthandler.dump_traceback(sys.stderr, all_threads=False)\n\n\nhang()\n"
)
CRASH = (
    "import faulthandler\nimport resource\n\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"  # no core file
    "faulthandler.enable()\n\n\ndef crash():\n    faulthandler._sigsegv()\n\n\ncrash()\n"
)


@pytest.fixture
def cut() -> Event:
    """The event of a traceback whose worker was killed before its exception line."""
    [found] = events(killed_traceback())
    return found


class TestTracebacksWithoutExceptionLine:
    def test_a_traceback_cut_off_is_a_traceback_at_level_error(self, cut: Event) -> None:
        """A worker killed mid-print leaves frames and no exception line: still a traceback."""
        verdicts = {
            name: Matcher(MatchConfig.model_validate(match))(cut)
            for name, match in (
                ("traceback", {"traceback": True}),
                ("no traceback", {"traceback": False}),
                ("error", {"level": ["ERROR"]}),
                ("critical", {"min_level": "CRITICAL"}),
                ("any exception", {"exception": ["*"]}),  # its type was never printed
            )
        }
        assert verdicts == {
            "traceback": True,
            "no traceback": False,
            "error": True,
            "critical": False,
            "any exception": False,
        }

    @pytest.mark.parametrize("envelope", [None, "docker", "cri", "syslog"])
    def test_a_traceback_cut_off_is_titled_by_the_last_frame_it_shows(
        self, envelope: str | None
    ) -> None:
        """No exception, no record: the title says so, and where Python had got to,
        whatever envelope a container runtime or log daemon put around the lines."""
        data = killed_traceback().encode()
        if envelope is not None:
            data, _, _ = wrap(data, envelope)
        [found] = events(data.decode())
        assert "cut" in found.flags
        assert re.fullmatch(
            r'Traceback cut off: File ".*worker\.py", line 2, in gateway',
            title(found.exc_type, found.exc_message, found.message, found.text, cut=True),
        )

    def test_faulthandler_dumps_are_tracebacks_stacks_printed_on_purpose_are_not(self) -> None:
        """print_stack() shows a program going on; faulthandler, a crash, a hang or a signal.
        A crash keeps its own level, CRITICAL; the others count as ERROR."""
        is_traceback = Matcher(MatchConfig.model_validate({"traceback": True}))
        no_traceback = Matcher(MatchConfig.model_validate({"traceback": False}))
        seen = {}
        for name, script in (("print_stack", PRINT_STACK), ("dump", DUMP), ("crash", CRASH)):
            [found] = events(stderr_of(script))
            seen[name] = (is_traceback(found), no_traceback(found), effective_level(found))
        assert seen == {
            "print_stack": (False, True, None),
            "dump": (True, False, "ERROR"),
            "crash": (True, False, "CRITICAL"),
        }
