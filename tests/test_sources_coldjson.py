"""Passing over JSON records no rule can take: the records that matter come out the same."""

from __future__ import annotations

import dataclasses
import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch import replay
from logwatch.config import Config, load_config
from logwatch.daemon.engine import build_engine
from logwatch.model import Event
from logwatch.replay import ReadSettings
from logwatch.rules.literals import rule_literals
from logwatch.sources.coldjson import ColdJsonLines
from logwatch.sources.coldlines import cold_lines_for
from logwatch.sources.framing import KeepSpans
from tests.coldlines_support import RULES as TEXT_RULES
from tests.coldlines_support import events_with_context, replay_both, write_config

RULES = TEXT_RULES + """  - name: payments
    match: {logger: ['shop.pay*']}
    notify: [hook]
  - name: truth
    match: {message: '^True$'}
    notify: [hook]
"""

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/db.py", line 12, in connect\n'
    "    raise ConnectionRefusedError(111)\n"
    "ConnectionRefusedError: [Errno 111] Connection refused"
)


def _record(**fields: object) -> str:
    return json.dumps({"timestamp": "2026-03-01T12:00:00.123Z", **fields})


# A rule whose literal holds a character JSON escapes (a quote): every escape may hide it.
QUOTED = """  - name: quoted
    match: {message: 'said "hi"'}
    notify: [hook]
"""

# Lines of every shape a JSON source may hold; the first is the ordinary one.
SHAPES = [
    _record(level="info", logger="app.http", message='GET /api/orders 200 ua="Mozilla/5.0"'),
    _record(level="info", message='someone said "hi"'),
    _record(level="info", message="tab\tseparated, said \\ back"),
    _record(level="error", logger="app.db", message="could not connect to database"),
    # what a rule matches, spelt with escapes: only the decoded text holds it
    _record(level="error", logger="app.db", message="could not connect\u2009to server")
    .replace("\\u2009", "\\u0020"),
    '{"level": "error", "message": "could not connect to \\u0064atabase"}',
    '{"level": "error", "message": "could not \\"connect\\" to database"}',
    # messages that are no string read as Python prints them
    _record(level="error", message={"text": "could not connect to database"}),
    _record(level="error", message=["could not connect to", "database"]),
    '{"message" : 12345, "level": "error"}',
    '{"msg":true}',
    # levels in any case and spelling, loggers by glob, the noise a drop rule takes
    _record(level="CRITICAL", logger="app.core", message="out of disk"),
    _record(levelname="Fatal", logger="app.core", message="dying"),
    _record(level="crit", message="short spelling"),
    _record(level="info", logger="shop.payments", message="card declined"),
    _record(level="info", logger="app.noise", message="tick"),
    _record(level="info", name="app.noise", message="tick by name"),
    # exceptions: a traceback string, one line of it, structlog's dicts, a nested stack
    _record(level="error", logger="app.db", message="query failed", exc_info=TRACEBACK),
    _record(level="error", message="one line", exc_text="ValueError: boom"),
    _record(level="error", message="dicts", exception=[
        {"exc_type": "ValueError", "exc_value": "boom", "frames": []}]),
    _record(level="error", message="nested", error={"stack": TRACEBACK}),
    # a Docker record, whose inner line is text of its own
    json.dumps({"log": "2026-03-01 12:00:00,001 ERROR app.db could not connect to database\n",
                "stream": "stderr", "time": "2026-03-01T12:00:00.001Z"}),
    # not JSON at all: a record of its own, read as text
    "2026-03-01 12:00:00,001 ERROR app.db could not connect to database",
    "2026-03-01 12:00:00,002 INFO app.http plain text",
    "Traceback (most recent call last):",
    "",
    "[1, 2, 3]",
    '"a string"',
    # a dotted key, flat (ECS) or nested
    _record(level="info", message="flat", **{"error.stack": "ValueError: boom"}),
    _record(level="info", message="flat list", **{"error.stack_trace": [
        {"exc_type": "KeyError", "exc_value": "k", "frames": []}]}),
    # records a container runtime split (CRI: P then F; Docker: a log not ending its line)
    "2026-03-01T12:00:00.000000002Z stdout P "
    '{"level": "error", "logger": "app.db", "message": "could not con\n'
    '2026-03-01T12:00:00.000000002Z stdout F nect to database"}',
    "2026-03-01T12:00:00.000000003Z stdout P "
    '{"level": "error", "message": "could not connect to database", "pad": "\n'
    '2026-03-01T12:00:00.000000003Z stdout F xxxx"}',
    "2026-03-01T12:00:00.000000004Z stdout F " + _record(level="info", message="cri plain"),
    json.dumps({"log": "2026-03-01 12:00:00,001 ERROR app.db could not con",
                "stream": "stderr", "time": "2026-03-01T12:00:00.001Z"}) + "\n"
    + json.dumps({"log": "nect to database\n", "stream": "stderr",
                  "time": "2026-03-01T12:00:00.001Z"}),
    # Docker records as a collector rewrites them: other keys' order, other spacing
    json.dumps({"time": "2026-03-01T12:00:00.001Z", "stream": "stderr",
                "log": _record(level="info", message="query failed", exc_info=TRACEBACK)}),
    '{ "log" : ' + json.dumps(_record(msg=True))
    + ', "stream": "stdout", "time": "2026-03-01T12:00:00Z"}',
    # a CRI record whose date has digits that are not ASCII (str.isdigit takes them)
    "\u0662\u0660\u0662\u0666-03-01T12:00:00.000000005Z stdout P "
    '{"level": "error", "message": "could not con\n'
    "2026-03-01T12:00:00.000000005Z stdout F nect to database\"}",
]
# (A read with non-ASCII text is framed whole when there are case-folded literals.)
ASCII_SHAPES = [shape for shape in SHAPES if shape.isascii()]
# Lines that make a read framed whole: raw non-ASCII text (with case-folded
# literals to look for) and ANSI codes.
WHOLE = [
    json.dumps({"message": "caf\u00e9 could not connect to database"}, ensure_ascii=False),
    "\x1b[31m{\"message\": \"could not connect to database\"}\x1b[0m",
    # a hole's NULs (copytruncate) before a record a runtime split
    "\0\0\0" "2026-03-01T12:00:00.000000006Z stdout P "
    '{"level": "error", "message": "could not con\n'
    '2026-03-01T12:00:00.000000006Z stdout F nect to database"}',
    "\0\0\0" + json.dumps({"log": "2026-03-01 12:00:00,001 ERROR app.db could not con",
                            "stream": "stderr", "time": "2026-03-01T12:00:00.001Z"}) + "\n"
    + json.dumps({"log": "nect to database\n", "stream": "stderr",
                  "time": "2026-03-01T12:00:00.001Z"}),
]
# The rules without a level rule: no case-folded literal, so reads with non-ASCII text
# are filtered too.
UNFOLDED = RULES.replace("""  - name: crit
    match: {level: [CRITICAL]}
    notify: [hook]
""", "")


# A source's own header patterns: each line is a record whatever reads it.
HEADERS = [
    re.compile(r"(?P<timestamp>\S+ \S+) (?P<level>[A-Z]+) (?P<logger>\S+) (?P<message>.*)"),
    re.compile(r".*"),
    re.compile(r"(?P<level>\S+)"),
]


def _config(tmp_path: Path, rules: str = RULES, extra: str = "") -> Config:
    return load_config(write_config(tmp_path, rules, source_extra="    format: json\n" + extra))


def _check(
    config: Config, data: bytes, chunk: int, context: int, *, accelerate: bool, dense_bytes: int,
    header: re.Pattern[str] | None = None,
) -> tuple[list[Event], list[Event]]:
    """Every record passed over is one no rule takes; the others, and the context of each
    that a rule takes, are as with every line framed. Returns (every event, those kept).

    ``header``: the source's own pattern, which reads the lines that are no JSON.
    """
    literals = rule_literals(config.rules, json=True).literals
    assert literals is not None
    keep = ColdJsonLines(literals, accelerate=accelerate, dense_bytes=dense_bytes, context=context)
    full = events_with_context(data, None, chunk, context, format="json", header=header)
    kept = events_with_context(data, keep, chunk, context, format="json", header=header)
    by_start = {event.first_line: event for event in full}
    engine = build_engine(config)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    taken = set()
    for event in full:
        if engine.evaluate(event, now):
            taken.add(event.first_line)
    assert taken <= {event.first_line for event in kept}
    for event in kept:
        same = by_start[event.first_line]
        if event.first_line in taken:
            assert event == same
        else:  # kept as the context of another: its own context may have been passed over
            assert dataclasses.replace(event, context=()) == dataclasses.replace(same, context=())
    return full, kept


class TestColdJsonLines:
    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @settings(max_examples=300, deadline=None)
    @given(
        picks=st.lists(st.integers(min_value=0, max_value=len(SHAPES) - 1), max_size=60),
        chunk=st.sampled_from([7, 300, 4096]),
        context=st.integers(min_value=0, max_value=4),
    )
    @pytest.mark.parametrize(
        "rules", [RULES, RULES + QUOTED, UNFOLDED], ids=["plain", "quoted", "unfolded"]
    )
    @pytest.mark.parametrize("header", [None, *HEADERS], ids=lambda p: p and p.pattern)
    def test_any_mix_of_records_loses_none_a_rule_takes(
        self, tmp_path_factory: pytest.TempPathFactory, picks: list[int], chunk: int,
        context: int, accelerate: bool, rules: str, header: re.Pattern[str] | None,
    ) -> None:
        """Escapes, messages that are no string, exceptions, Docker and text lines, cut reads;
        the lines that are no JSON read by the built-in headers or by a pattern."""
        config = _config(tmp_path_factory.mktemp("json"), rules)
        data = "".join(SHAPES[pick] + "\n" for pick in [0, *picks]).encode()
        _check(config, data, chunk, context, accelerate=accelerate, dense_bytes=0, header=header)

    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @settings(max_examples=100, deadline=None)
    @given(
        picks=st.lists(st.sampled_from([*SHAPES, *WHOLE]), max_size=40),
        chunk=st.sampled_from([300, 4096]),
    )
    @pytest.mark.parametrize("rules", [RULES, UNFOLDED], ids=["plain", "unfolded"])
    def test_reads_with_raw_non_ascii_ansi_codes_or_holes_lose_nothing(
        self, tmp_path_factory: pytest.TempPathFactory, picks: list[str], chunk: int,
        accelerate: bool, rules: str,
    ) -> None:
        config = _config(tmp_path_factory.mktemp("json"), rules)
        data = "".join(line + "\n" for line in [SHAPES[0], *picks]).encode()
        _check(config, data, chunk, 2, accelerate=accelerate, dense_bytes=0)

    @pytest.mark.parametrize("context", [0, 3])
    def test_a_big_log_is_mostly_passed_over(self, tmp_path: Path, context: int) -> None:
        """Ordinary records around a few that matter: only those, and their context, stay."""
        rng = random.Random(context)
        picks = [0 if rng.random() < 0.95 else rng.randrange(len(ASCII_SHAPES))
                 for _ in range(5000)]
        data = "".join(ASCII_SHAPES[pick] + "\n" for pick in picks).encode()
        full, kept = _check(_config(tmp_path), data, 1 << 16, context,
                            accelerate=True, dense_bytes=256)
        assert len(full) >= 5000  # a split record is two lines, one event
        assert len(kept) < 5000 * 0.05 * (context + 1) + 100
        assert sum(1 for event in kept if event.chain) == sum(1 for event in full if event.chain)

    def test_a_rule_on_fields_alone_looks_at_every_json_line(self, tmp_path: Path) -> None:
        """Any record may have any field: no filter for a JSON source (`check` names it)."""
        rules = RULES + "  - {name: by-field, match: {fields: {status: '5..'}}, notify: [hook]}\n"
        config = _config(tmp_path, rules)
        assert rule_literals(config.rules, json=True).slow_rules == ("by-field",)
        assert rule_literals(config.rules).slow_rules == ()  # text records have no fields
        assert cold_lines_for(config.rules, format="json", header=None,
                              context_lines=0) is None
        assert cold_lines_for(config.rules, format="auto", header=None,
                              context_lines=0) is not None


def test_replay_of_a_json_source_prints_the_same_with_the_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`logwatch replay` on a JSON log: what it prints does not depend on the filter."""
    rng = random.Random(3)
    log = tmp_path / "app.log"
    picks = [0 if rng.random() < 0.9 else rng.randrange(len(ASCII_SHAPES)) for _ in range(20000)]
    log.write_bytes("".join(ASCII_SHAPES[pick] + "\n" for pick in picks).encode())
    config = _config(tmp_path, extra="    context_lines: 2\n")
    assert isinstance(cold_lines_for(config.rules, format="json", header=None,
                                     context_lines=2), ColdJsonLines)
    framed = [0, 0]  # bytes kept, bytes looked at (3 reads: no helper scans ahead)

    def counted(read: ReadSettings) -> KeepSpans | None:
        keep = cold_lines(read)
        assert keep is not None

        def spans(body: bytes) -> list[tuple[int, int]]:
            found = keep(body)
            framed[0] += sum(end - start for start, end in found)
            framed[1] += len(body)
            return found

        return spans

    cold_lines = replay._filter
    monkeypatch.setattr("logwatch.replay._filter", counted)
    fast, slow = replay_both(config, log, monkeypatch)
    assert framed[0] < framed[1] / 3
    assert fast == slow
    assert {record["rule"] for record in fast} == {
        "quiet", "db", "crit", "payments", "tracebacks", "truth"}


@pytest.mark.parametrize("first", ["alert", "noise"])
def test_a_record_without_a_time_is_decided_at_the_time_before_it_filtered_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """A line with no time of its own (a raw traceback line in the JSON log) takes the
    time of the record before it, which replay reads even when no rule takes it."""
    rules = """  - name: db
    match: {message: 'could not connect'}
    cooldown: 60s
    group_by: [rule]
    notify: [hook]
"""

    def record(clock: str, level: str, message: str) -> str:
        return json.dumps({"time": f"2026-03-01T{clock}Z", "level": level, "msg": message})

    opening = (record("12:00:00", "error", "could not connect") if first == "alert"
               else record("12:00:00", "info", "starting"))
    lines = [opening, *[record("12:05:00", "info", "request served")] * 200,
             "RuntimeError: could not connect",
             *[record("12:05:01", "info", "request served")] * 200,
             record("12:05:30", "error", "could not connect"),
             *[record("12:05:31", "info", "request served")] * 200]
    log = tmp_path / "app.log"
    log.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    config = _config(tmp_path, rules)
    fast, slow = replay_both(config, log, monkeypatch)
    assert fast == slow
    # 12:05, more than the cooldown after 12:00: sent; 12:05:30 is within its cooldown
    decided = [(record["first_line"], record["suppressed"]) for record in fast
               if not record.get("by_time")]
    assert decided[-2:] == [(202, None), (403, "cooldown")]
