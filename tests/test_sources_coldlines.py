"""Passing over lines no rule can alert on: the events that matter come out the same."""

from __future__ import annotations

import dataclasses
import fnmatch
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from logwatch.config import Config, RuleConfig, load_config
from logwatch.daemon.engine import build_engine
from logwatch.daemon.pipeline import Pipeline
from logwatch.daemon.pipeline import _cold_lines as pipeline_cold_lines
from logwatch.model import Event, Origin
from logwatch.multiline import Assembler
from logwatch.replay import file_events, read_settings
from logwatch.rules.literals import Literals, message_literals, rule_literals
from logwatch.sources import Tailer, coldlines
from logwatch.sources.coldheaders import ColdHeaderLines
from logwatch.sources.coldjson import ColdJsonLines
from logwatch.sources.coldlines import RECORD_HEADER, ColdLines, cold_lines_for
from logwatch.sources.framing import LineFramer
from logwatch.store import Store
from tests.coldlines_support import RULES, events_with_context, replay_both, write_config
from tests.rules_support import Log, killed_traceback

STAMP = "2026-03-01 12:00:{:02d},{:03d}"
TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/srv/app/db.py", line 12, in connect',
    "    raise ConnectionRefusedError(111)",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "",
    "The above exception was the direct cause of the following exception:",
    "",
    "Traceback (most recent call last):",
    '  File "/srv/app/db.py", line 20, in query',
    "    connect()",
    "app.DatabaseError: could not connect to database",
]


def _records(seed: int, count: int) -> Iterator[list[str]]:
    """Ordinary records with every awkward shape mixed in."""
    rng = random.Random(seed)
    for index in range(count):
        stamp = STAMP.format(index % 60, index % 1000)
        roll = rng.random() * 2  # about 5% awkward records
        if roll < 0.02:
            yield [f"{stamp} ERROR app.db query failed", *TRACEBACK]
        elif roll < 0.03:
            yield TRACEBACK[:4]  # bare, uncaught
        elif roll < 0.04:
            yield [f"{stamp} INFO app.api multi-line message", "  second line", "third line"]
        elif roll < 0.05:
            yield [f"{stamp} WARNING app.db could not connect to database, retrying"]
        elif roll < 0.06:
            yield [f"{stamp} INFO app.api [error] lower-case level in the message"]
        elif roll < 0.07:
            yield [f"12345 a line that starts with digits but is no header {index}"]
        elif index % 1000 == 500:
            yield [f"{stamp} INFO app.api caf\u00e9 \u2603 non-ASCII text {index}"]
        elif index == 1234:
            yield [f"{stamp} INFO app.api \x1b[31mcould not \x1b[0mconnect to database"]
        elif roll < 0.08:
            yield ["", f"{stamp} CRITICAL app.core out of disk"]
        else:
            yield [f"{stamp} INFO app.http GET /api/orders/{rng.randrange(10**6)} 200"
                   f" 12.5ms user={rng.randrange(10**5)} request_id={rng.getrandbits(64):016x}"
                   ' ua="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0"']


def _text(seed: int, count: int) -> bytes:
    return "".join(line + "\n" for record in _records(seed, count) for line in record).encode()


@dataclass
class Run:
    events: list[Event]
    passed: int


def _assemble(data: bytes, keep: ColdLines | None, chunk: int) -> Run:
    framer = LineFramer()
    assembler = Assembler(Origin("app", "app.log", "uid"))
    events: list[Event] = []
    for start in range(0, len(data), chunk):
        events += assembler.feed(framer.feed(data[start : start + chunk], keep))
    events += assembler.flush()
    return Run(events, framer.take_passed()[0])


def _same_context(
    data: bytes, literals: Literals, chunk: int, context: int, **options: Any
) -> list[Event]:
    """The events kept; those that matter, each with the context it has when every line is framed.

    Those are the events kept without ``context``; the records kept only to
    be the context of others are whole events too, but their own context may
    have been passed over: no rule can take them.
    """
    full = events_with_context(data, None, chunk, context)
    kept = events_with_context(data, ColdLines(literals, context=context, **options), chunk,
                               context)
    matter = {event.first_line for event in _assemble(data, ColdLines(literals, **options),
                                                      chunk).events}
    assert {event.first_line for event in kept} >= matter
    by_start = {event.first_line: event for event in full}
    for event in kept:
        if event.first_line in matter:
            assert event == by_start[event.first_line]
            assert len(event.context) == min(context, event.first_line - 1)
        else:
            assert dataclasses.replace(event, context=()) == dataclasses.replace(
                by_start[event.first_line], context=()
            )
    return kept


_CRI = "2026-03-01T12:00:00.100000000Z stderr F "
# Lines of every shape a reader may meet next to plain records.
_SHAPES = [
    f"{STAMP.format(1, 2)} INFO app.api ordinary",
    f"{STAMP.format(1, 3)} ERROR app.db could not connect to database",
    "2026-03-01T12:00:01Z ERROR app.api an ISO header the filter does not know",
    "2026-03-01 12:00:01,002 NOTICE app.api a level logging does not have",
    "2026-03-01 12:00:01,002 INFO",
    "404 Not Found",
    "12:00:01 could not connect to database",
    "",
    "   ",
    "ERROR:app.api:basicConfig's own format",
    "ValueError: a bare exception line",
    *TRACEBACK,
    # envelopes the assembler unwraps into streams of their own
    *(f"{_CRI}{line}" for line in TRACEBACK[:4]),
    f"{_CRI}worker 3 restarted",
    f"{_CRI}  indented text",
    "2026-03-01T12:00:00.1+00:00 host app[42]: Traceback (most recent call last):",
    '2026-03-01T12:00:00.1+00:00 host app[42]:   File "/srv/app/x.py", line 3, in f',
    "2026-03-01T12:00:00.1+00:00 host app[42]: ValueError: boom",
]


# Header shapes a logger's name comes in, and names and globs for it.
_HEADERS = [
    "{stamp} ERROR {name} message",
    "{stamp} - {name} - ERROR - message",
    "{stamp} [ERROR] {name}: message",
    "{stamp} ERROR [{name}] message",
    "{stamp} | ERROR    | {name} - message",
    "{stamp} ERROR/MainProcess] {name} message",
    "[{stamp}] ERROR {name} message",
    "{stamp} INFO {name}",
    "{stamp} WARNING {name}: message\r",
    "2026-03-01T12:00:01.100Z stderr F {stamp} ERROR {name} message",
    "ERROR:{name}:basicConfig",
    "{stamp} INFO app.api filler",
]
_LOGGERS = ["app.db", "app.api", "worker", "celery.worker", "app.db.pool", "caf\u00e9.db",
            "uvicorn.error", "a-b.c", "App.DB"]
_GLOBS = ["app.*", "*.db", "*worker*", "caf\u00e9*", "[ab]pp.db", "uvicorn.*", "App.*", "*.DB",
          "[!x]pp.api"]

LITERALS = [
    Literals(frozenset({b"could not connect"}), frozenset()),
    Literals(frozenset(), frozenset({b"err", b"crit", b"fatal"})),
    Literals(frozenset(), frozenset()),  # only traceback rules
]


class TestColdLines:
    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @pytest.mark.parametrize("literals", LITERALS)
    @pytest.mark.parametrize("chunk", [97, 4096, 1 << 16])
    def test_events_are_the_same_less_the_lines_passed_over(
        self, literals: Literals, chunk: int, accelerate: bool
    ) -> None:
        """Every event but the records passed over comes out identical, in order.

        A record passed over is a header line and maybe lines starting with a
        digit, with no literal and no traceback.
        """
        data = _text(seed=chunk, count=3000)
        lines = data.decode().split("\n")
        full = _assemble(data, None, chunk)
        kept = _assemble(data, ColdLines(literals, accelerate=accelerate), chunk)
        if chunk > 1000:
            assert kept.passed > 0
        kept_spans = {(e.first_line, e.last_line) for e in kept.events}
        dropped = [e for e in full.events if (e.first_line, e.last_line) not in kept_spans]
        assert sum(e.last_line - e.first_line + 1 for e in dropped) == kept.passed
        assert [e for e in full.events if e not in dropped] == kept.events
        assert any(e.last_line > e.first_line for e in dropped) == (chunk > 1000)
        for event in dropped:
            assert RECORD_HEADER.match(lines[event.first_line - 1])
            assert all(line[:1].isdigit() for line in lines[event.first_line : event.last_line])
            assert not event.has_traceback  # no rule on tracebacks could take it
            text = event.text.encode()
            assert not any(literal in text for literal in literals.exact)
            assert not any(literal in text.lower() for literal in literals.folded)

    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @settings(max_examples=400, deadline=None)
    @given(
        shapes=st.lists(st.sampled_from(_SHAPES), min_size=1, max_size=60),
        chunk=st.sampled_from([7, 50, 4096]),
    )
    def test_any_mix_of_line_shapes_loses_no_event_that_matters(
        self, shapes: list[str], chunk: int, accelerate: bool
    ) -> None:
        """Headers of other shapes, digit-led text, tracebacks cut by a read: same events."""
        data = "".join(line + "\n" for line in shapes).encode()
        literals = LITERALS[0]
        full = _assemble(data, None, chunk)
        # no dense-buffer shortcut: these buffers are small, and every span must count
        kept = _assemble(data, ColdLines(literals, accelerate=accelerate, dense_bytes=0), chunk)
        kept_spans = {(e.first_line, e.last_line) for e in kept.events}
        dropped = [e for e in full.events if (e.first_line, e.last_line) not in kept_spans]
        assert [e for e in full.events if e not in dropped] == kept.events
        assert sum(e.last_line - e.first_line + 1 for e in dropped) == kept.passed
        for event in dropped:
            assert not event.has_traceback  # no rule on tracebacks could take it
            assert b"could not connect" not in event.text.encode()

    @pytest.mark.parametrize("context", [1, 4, 25])
    @pytest.mark.parametrize("chunk", [97, 4096, 1 << 16])
    def test_events_carry_the_lines_before_them_as_without_the_filter(
        self, context: int, chunk: int
    ) -> None:
        """``context_lines``: the lines before a kept record are kept, whatever the reads."""
        data = _text(seed=chunk + context, count=3000)
        kept = _same_context(data, LITERALS[0], chunk, context)
        assert sum(1 for event in kept if event.chain) == sum(
            1 for event in _assemble(data, None, chunk).events if event.chain
        )

    def test_with_context_the_records_far_from_a_hit_are_still_passed_over(self) -> None:
        """One hit among 3,000 records: it and the 5 before it stay, and at each read's end
        its last line, the 5 before, and the line carried into the next read."""
        lines = [f"{STAMP.format(1, n % 1000)} INFO app n={n}" for n in range(3000)]
        lines[1500] = f"{STAMP.format(1, 1)} ERROR app could not connect to database"
        data = "".join(line + "\n" for line in lines).encode()
        kept = _same_context(data, LITERALS[0], 1 << 16, 5)
        reads = -(-len(data) // (1 << 16))
        assert 6 <= len(kept) <= 6 + 7 * reads
        hit = next(event for event in kept if "could not connect" in event.message)
        assert hit.context == tuple(lines[1495:1500])

    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @settings(max_examples=300, deadline=None)
    @given(
        shapes=st.lists(st.sampled_from(_SHAPES), min_size=1, max_size=60),
        chunk=st.sampled_from([7, 50, 4096]),
        context=st.integers(min_value=1, max_value=6),
    )
    def test_any_mix_of_line_shapes_keeps_the_context_of_what_matters(
        self, shapes: list[str], chunk: int, context: int, accelerate: bool
    ) -> None:
        """Headers of other shapes, digit-led lines, cut reads: the same lines before each."""
        data = "".join(line + "\n" for line in shapes).encode()
        _same_context(data, LITERALS[0], chunk, context, accelerate=accelerate, dense_bytes=0)

    def test_runs_are_found_as_the_plain_pattern_finds_them(self) -> None:
        """The runs' regexes are possessive where ``re`` reads that right (3.11.5 on)."""
        plain = rb"[0-9](?![^\n]{9}T)"
        run = re.compile(rb"\n(?!" + plain + rb")[^\n]*(?:\n(?!" + plain + rb")[^\n]*)*")
        data = b"abc\n\n2026-03-01 10:00:00 INFO x\n  tb\n  tb2\n2026 x\n" + _text(7, 400)
        found = [match.span() for match in coldlines._OTHER_RUN.finditer(data)]
        assert found[:2] == [(3, 4), (31, 42)]
        assert found == [match.span() for match in run.finditer(data)]

    @pytest.mark.parametrize("literals", LITERALS[:2])
    def test_in_a_storm_the_literals_are_looked_for_between_the_tracebacks(
        self, literals: Literals
    ) -> None:
        """Lines in a traceback are kept with it: without the accelerator, the lines
        between the tracebacks alone are searched, and nothing that matters is lost."""
        records = []
        for index in range(200):
            stamp = STAMP.format(index % 60, index % 1000)
            records.append([f"{stamp} ERROR app.db query failed", *TRACEBACK])
            if index % 7 == 0:
                records.append([f"{stamp} WARNING app.db could not connect to database"])
            if index % 11 == 0:
                records.append([f"{stamp} ERROR app.db an error with no traceback"])
            records += [[f"{stamp} INFO app.http GET /api/orders/{index} {n}"] for n in range(3)]
        data = "".join(line + "\n" for record in records for line in record).encode()
        keep = ColdLines(literals, accelerate=False)
        searched: list[int] = []
        scan = keep._scan

        def spy(body: bytes, starts: list[int]) -> list[tuple[int, int]] | None:
            searched.append(len(body))
            return scan(body, starts)

        keep._scan = spy
        full, kept = _assemble(data, None, 1 << 20), _assemble(data, keep, 1 << 20)
        # every line but the tracebacks' (none of which starts with a digit)
        assert sum(searched) == len(data) - 200 * len("".join(line + "\n" for line in TRACEBACK))
        assert kept.passed  # the GET records at least
        assert [e for e in full.events if e in kept.events] == kept.events
        text = [e.text.encode() for e in full.events]
        matter = [e for e, raw in zip(full.events, text, strict=True) if e.chain
                  or any(literal in raw for literal in literals.exact)
                  or any(literal in raw.lower() for literal in literals.folded)]
        assert all(e in kept.events for e in matter)
        assert len(matter) == 200 + (29 if literals.exact else 19)  # with the ERROR records

    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @settings(max_examples=300, deadline=None)
    @given(
        records=st.lists(st.tuples(st.sampled_from(_HEADERS), st.sampled_from(_LOGGERS)),
                         min_size=1, max_size=40),
        globs=st.lists(st.sampled_from(_GLOBS), min_size=1, max_size=2),
        chunk=st.sampled_from([50, 4096]),
    )
    def test_a_logger_rule_keeps_every_record_of_its_loggers(
        self, records: list[tuple[str, str]], globs: list[str], chunk: int, accelerate: bool
    ) -> None:
        """In whatever header shape a logger's name comes, its records stay."""
        data = "".join(
            shape.format(stamp=STAMP.format(1, n % 1000), name=name) + "\n"
            for n, (shape, name) in enumerate(records)
        ).encode()
        rule = RuleConfig.model_validate(
            {"name": "r", "match": {"logger": globs}, "notify": ["n"]}
        )
        literals = rule_literals([rule]).literals
        assume(literals is not None)
        assert literals is not None
        full = _assemble(data, None, chunk).events
        kept = _assemble(data, ColdLines(literals, accelerate=accelerate, dense_bytes=0),
                         chunk).events
        wanted = [event for event in full if event.logger is not None
                  and any(fnmatch.fnmatchcase(event.logger, glob) for glob in globs)]
        assert [event for event in kept if event in wanted] == wanted

    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    def test_a_traceback_in_a_container_runtimes_envelope_is_kept(self, accelerate: bool) -> None:
        """CRI lines start with a digit, like headers, yet are a stream of their own."""
        plain = [f"{STAMP.format(0, n)} INFO app.api ordinary {n}" for n in range(200)]
        lines = [*plain, *(f"{_CRI}{line}" for line in TRACEBACK[:4]), *plain]
        data = "".join(line + "\n" for line in lines).encode()
        keep = ColdLines(LITERALS[0], accelerate=accelerate)
        chains = [e.chain for e in _assemble(data, keep, 1 << 16).events if e.chain]
        assert chains == [e.chain for e in _assemble(data, None, 1 << 16).events if e.chain]
        assert len(chains) == 1

    def test_line_numbers_and_offsets_count_the_lines_passed_over(self) -> None:
        """A line after a passed-over run keeps its true line number and byte offset."""
        lines = [f"{STAMP.format(1, n)} INFO app n={n}" for n in range(2000)]
        lines[1500] = f"{STAMP.format(1, 1)} ERROR app could not connect to database"
        data = "".join(line + "\n" for line in lines).encode()
        framer = LineFramer()
        framed = framer.feed(data, ColdLines(LITERALS[0]))
        hit = next(line for line in framed if "could not connect" in line.text)
        assert hit.lineno == 1501
        assert data[hit.offset : hit.end] == lines[1500].encode() + b"\n"
        assert framer.offset == len(data)
        assert framer.lineno == 2001


class TestRuleLiterals:
    @pytest.mark.parametrize(
        ("pattern", "exact", "folded"),
        [
            (r"could not connect to (database|server)", {b"could not connect to "}, set()),
            (r"(disk|quota) (full|exceeded)", {b" full", b" exceeded"}, set()),
            (r"(?i)Deadlock detected", set(), {b"deadlock detected"}),
            # a message's lines are joined by "\n", each stripped at its ends
            (r"upstream failed:\n404", {b"upstream failed:"}, set()),
            (r"x\n  File \"/srv/app\.py\"", {b'File "/srv/app.py"'}, set()),
        ],
    )
    def test_a_regex_gives_the_literals_every_match_contains(
        self, pattern: str, exact: set[bytes], folded: set[bytes]
    ) -> None:
        """Literals are those no match can do without; case-insensitive ones are folded."""
        found = message_literals(re.compile(pattern))
        assert found == Literals(frozenset(exact), frozenset(folded))

    @pytest.mark.parametrize("pattern", [r"\d+", r"a|bcd", r"x{2,}", r"(?:foo)?bar?"])
    def test_a_regex_without_a_usable_literal_gives_none(self, pattern: str) -> None:
        """Too short or optional literals are no filter: every line stays."""
        assert message_literals(re.compile(pattern)) is None


def _replays_alike(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> list[dict[str, Any]]:
    """What replay prints for a generated log, the same filtered or not."""
    log = tmp_path / "app.log"
    log.write_bytes(_text(seed=seed, count=6000))
    fast, slow = replay_both(config, log, monkeypatch)
    assert fast == slow
    assert len(fast) > 30
    return fast


class TestReplay:
    def test_replay_prints_the_same_with_and_without_passing_over(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`logwatch replay` shows the same alerts whether or not cold lines are framed."""
        _replays_alike(load_config(write_config(tmp_path, RULES)), tmp_path, monkeypatch, seed=5)

    def test_records_a_drop_rule_takes_are_printed_as_without_the_filter(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SPEC: replay prints what a rule suppresses, `dropped-by-rule` too, not only alerts."""
        log = tmp_path / "app.log"
        lines = [f"{STAMP.format(n % 60, n % 1000)} INFO app.noise tick {n}" for n in range(3000)]
        lines[1500] = f"{STAMP.format(0, 1)} ERROR app.db could not connect to database"
        log.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        config = load_config(write_config(tmp_path, RULES))
        fast, slow = replay_both(config, log, monkeypatch)
        assert fast == slow
        assert [record["suppressed"] for record in fast].count("dropped-by-rule") == 2999

    def test_a_traceback_cut_off_is_kept_when_only_a_traceback_rule_could_take_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A worker killed before its exception line left frames with no type, no message
        and no level: the filter keeps them all the same, within the file and at its end."""
        rules = (
            "  - {name: db, match: {message: 'could not connect'}, notify: [hook]}\n"
            "  - {name: tracebacks, match: {traceback: true}, notify: [hook]}\n"
        )
        config = load_config(write_config(tmp_path, rules))
        log = Log()
        for second in range(2000):
            if second == 1000:
                log.write(killed_traceback())
            log.at(second).logger.info("GET /api/orders/%d 200", second)
        log.write(killed_traceback())
        path = tmp_path / "app.log"
        path.write_text(log.text(), encoding="utf-8")
        fast, slow = replay_both(config, path, monkeypatch)
        assert fast == slow
        assert [(r["first_line"], r["rule"], "cut" in r["flags"]) for r in fast] == [
            (1001, "tracebacks", True), (2008, "tracebacks", True),
        ]

    def test_replay_attaches_the_same_context_lines_with_the_filter_on(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`context_lines` on the source: the filter stays on, and each event that matters
        carries the lines it carries when every line is framed."""
        log = tmp_path / "app.log"
        log.write_bytes(_text(seed=7, count=6000))
        config = load_config(write_config(tmp_path, RULES, source_extra="    context_lines: 3\n"))
        source = config.sources[0]
        assert cold_lines_for(config.rules, format=source.format, header=None,
                              context_lines=3) is not None
        monkeypatch.setattr("logwatch.replay.READ_SIZE", 1 << 14)  # many reads, many edges
        fast = {event.first_line: event for event in file_events(config, [str(log)],
                                                                  all_events=False)}
        monkeypatch.setattr("logwatch.replay._filter", lambda settings: None)
        slow = list(file_events(config, [str(log)], all_events=False))
        # what the rules take, every line framed: each the same, context and all, filtered
        engine = build_engine(config)
        now = datetime(2026, 3, 1, tzinfo=UTC)
        taken = [event for event in slow if engine.evaluate(event, now)]
        assert len(taken) > 100
        assert all(event == fast.get(event.first_line) for event in taken)
        assert all(len(event.context) == 3 for event in taken if event.first_line > 3)
        assert len(fast) < len(slow)

    @pytest.mark.parametrize(
        ("cooldown", "start_ms", "unit"),
        # 12:00:00.005 + 1.2 s is no float a datetime holds to the microsecond
        [("60s", 0, 1.0), ("1200ms", 5, 0.02)],
    )
    def test_what_time_brings_comes_when_due_not_with_the_next_line_read(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cooldown: str, start_ms: int,
        unit: float,
    ) -> None:
        """A cooldown's summary goes out when the cooldown ends, whether or not the lines
        after it are read: else the next alert's cooldown would start later, filtered."""
        rules = f"""  - name: db
    match: {{message: 'could not connect'}}
    cooldown: {cooldown}
    notify: [hook]
"""
        start = datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(milliseconds=start_ms)

        def record(units: int, text: str) -> str:
            moment = start + timedelta(seconds=units * unit)
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
            return f"{stamp},{moment.microsecond // 1000:03d} ERROR app.db {text}"

        lines = [record(0, "could not connect"), record(10, "could not connect"),
                 *[record(100, "noise")] * 200, record(123, "could not connect"),
                 *[record(124, "noise")] * 200]
        log = tmp_path / "app.log"
        log.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        config = load_config(write_config(tmp_path, rules))
        fast, slow = replay_both(config, log, monkeypatch)
        assert fast == slow
        shown = [(record["first_line"], record["suppressed"], record.get("by_time", False))
                 for record in fast]
        # the summary of the held-back one when the cooldown ends, then line 203 alerts:
        # the cooldown that summary began is over
        assert shown == [(1, None, False), (2, "cooldown", False), (1, None, True),
                         (203, None, False)]

    def test_a_slow_rule_for_another_source_leaves_this_ones_filter_on(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A rule that names other sources never takes this one's lines: it costs nothing here."""
        rules = RULES + (
            "  - {name: other-any, match: {source: [other], min_level: DEBUG}, notify: [hook]}\n"
            "  - {name: other-drop, match: {source: [other]}, action: drop}\n"
        )
        other = f'  - name: other\n    paths: ["{tmp_path}/other/*.log"]\n'
        config = load_config(write_config(tmp_path, rules, source_extra=other))
        assert rule_literals(config.rules).slow_rules == ("other-drop",)
        for name, slow in (("app", False), ("other", True), (None, True)):
            keep = cold_lines_for(config.rules, format="auto", header=None,
                                  context_lines=0, source=name)
            assert (keep is None) == slow, name
        # what replay and the daemon use
        assert read_settings(config, str(tmp_path / "a.log"), all_events=False).plan is not None
        assert {name for name, keep in pipeline_cold_lines(config).items() if keep} == {"app"}
        _replays_alike(config, tmp_path, monkeypatch, seed=13)

    def test_a_rule_on_the_logger_alone_looks_for_the_loggers_name(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A logger's name is a piece of its header line: the filter stays, the alerts too."""
        rules = RULES + "  - name: by-logger\n    match: {logger: [app.a*i]}\n    notify: [hook]\n"
        config = load_config(write_config(tmp_path, rules))
        literals = rule_literals(config.rules)
        assert literals.slow_rules == ()
        assert literals.literals is not None
        assert b"app.a" in literals.literals.exact
        log = tmp_path / "app.log"
        log.write_bytes(_text(seed=11, count=6000))
        fast, slow = replay_both(config, log, monkeypatch)
        assert fast == slow
        assert sum(record["rule"] == "by-logger" for record in fast) > 50

    def test_a_rule_with_no_literal_is_named_and_turns_the_filter_off(
        self, tmp_path: Path
    ) -> None:
        """A rule on the source alone could match any line: no filter, and it is named."""
        rules = RULES + "  - name: by-source\n    match: {source: [app]}\n    notify: [hook]\n"
        config = load_config(write_config(tmp_path, rules))
        assert rule_literals(config.rules).slow_rules == ("by-source",)
        source = config.sources[0]
        assert cold_lines_for(config.rules, format=source.format, header=None,
                              context_lines=0) is None

    def test_each_kind_of_source_gets_its_filter(self, tmp_path: Path) -> None:
        """logging's headers, a header pattern of the source's own, JSON with or without."""
        config = load_config(write_config(tmp_path, RULES))
        header = re.compile(r"\[(?P<level>[A-Z]+)\] ")
        assert isinstance(cold_lines_for(config.rules, format="json", header=None,
                                         context_lines=0), ColdJsonLines)
        assert isinstance(cold_lines_for(config.rules, format="auto", header=header,
                                         context_lines=0), ColdHeaderLines)
        assert isinstance(cold_lines_for(config.rules, format="json", header=header,
                                         context_lines=0), ColdJsonLines)
        assert isinstance(cold_lines_for(config.rules, format="auto", header=None,
                                         context_lines=0), ColdLines)


class TestDaemonPipeline:
    """The reader loop with the filter on: counters stay true, records at EOF go out at once."""

    @staticmethod
    def _reader(tmp_path: Path, source_extra: str) -> tuple[Pipeline, Store, Path]:
        (tmp_path / "logs").mkdir()
        config = load_config(write_config(
            tmp_path / "logs", RULES, source_extra="    start_at: beginning\n" + source_extra
        ))
        store = Store.in_dir(config.state_dir)
        # no watcher runs here: every round looks at every file, so appends are seen
        tailer = Tailer(config.sources, store.files(), first_start=True, verify_interval_s=0.0)
        return Pipeline(config, store, tailer, build_engine(config)), store, tmp_path / "logs"

    @pytest.fixture
    def pipeline(self, tmp_path: Path) -> Iterator[tuple[Pipeline, Store, Path]]:
        reader, store, logs = self._reader(tmp_path, "    multiline: {flush_after: 1h}\n")
        yield reader, store, logs
        store.close()

    def test_a_logged_traceback_at_the_end_of_the_file_is_sent_without_waiting(
        self, pipeline: tuple[Pipeline, Store, Path]
    ) -> None:
        """logging writes a record in one write(): at EOF it is complete, flush_after or not."""
        reader, store, logs = pipeline
        record = [f"{STAMP.format(0, 1)} ERROR app.db query failed", *TRACEBACK]
        (logs / "app.log").write_text("\n".join(record) + "\n", encoding="utf-8")
        reader.process()
        assert store.outbox_counts()["pending"] == 1

    def test_a_record_read_while_it_is_being_written_waits_for_its_end(
        self, pipeline: tuple[Pipeline, Store, Path]
    ) -> None:
        """A read may see a write() half done (page by page): a cut line means more comes."""
        reader, store, logs = pipeline
        text = "\n".join([f"{STAMP.format(0, 1)} ERROR app.db query failed", *TRACEBACK]) + "\n"
        cut = text.index("The above exception") + 10  # just after a final exception line
        log = logs / "app.log"
        log.write_text(text[:cut], encoding="utf-8")
        reader.process()
        assert store.outbox_counts()["pending"] == 0  # the chain is not cut in two
        with log.open("a", encoding="utf-8") as out:
            out.write(text[cut:])
        reader.process()
        # the record's header came in the earlier read: it is whole now all the same
        assert store.outbox_counts()["pending"] == 1
        assert len(store.outbox()) == 1

    def test_a_bare_traceback_at_the_end_of_the_file_still_waits(
        self, pipeline: tuple[Pipeline, Store, Path]
    ) -> None:
        """An uncaught traceback is printed line by line: more may come, so it waits."""
        reader, store, logs = pipeline
        (logs / "app.log").write_text("\n".join(TRACEBACK) + "\n", encoding="utf-8")
        reader.process()
        assert store.outbox_counts()["pending"] == 0

    def test_an_alert_carries_its_context_lines_from_across_a_read(
        self, tmp_path: Path
    ) -> None:
        """The daemon with ``context_lines``: the filter passes over the file's plain
        records, yet the alert's context is the lines before it, the first of them in the
        read before its own."""
        reader, store, logs = self._reader(tmp_path, "    context_lines: 3\n")
        try:
            lines = [f"{STAMP.format(1, n % 1000)} INFO app n={n}" for n in range(3000)]
            log = logs / "app.log"
            with log.open("w", encoding="utf-8") as out:
                out.write("".join(line + "\n" for line in lines))
            while reader.counters.lines < len(lines):
                reader.process()
            hit = f"{STAMP.format(1, 1)} CRITICAL app.core out of disk"
            with log.open("a", encoding="utf-8") as out:
                out.write(hit + "\n")  # a read of its own: the lines before are in another
            while reader.counters.lines < len(lines) + 1:
                reader.process()
            reader.commit()
            (row,) = store.outbox()
            assert row.alert().context == tuple(lines[-3:])
        finally:
            store.close()

    def test_lines_passed_over_are_counted_as_lines_and_plain_events(
        self, pipeline: tuple[Pipeline, Store, Path]
    ) -> None:
        """Metrics read the same as if every line had been assembled.

        Except a record passed over with lines that start with a digit and are
        no header: it counts as an event for each line.
        """
        reader, _, logs = pipeline
        data = _text(seed=9, count=3000)
        (logs / "app.log").write_bytes(data)
        while reader.counters.lines < data.count(b"\n"):
            reader.process()
        full = _assemble(data, None, 1 << 16).events
        reader.commit()
        assert reader.counters.lines == data.count(b"\n")
        assert reader.counters.bytes_by_source["app"] == len(data)
        # the file ends with a whole record, so nothing is held back for flush_after
        digit_led = sum(
            1 for line in data.decode().splitlines()
            if line[:1].isdigit() and not RECORD_HEADER.match(line)
        )
        assert digit_led > 0
        assert len(full) <= reader.counters.events <= len(full) + digit_led
