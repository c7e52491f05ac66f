"""The cold-line filter of a source with its own header pattern: the same events that matter."""

from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.config import Config, load_config
from logwatch.daemon.engine import build_engine
from logwatch.daemon.pipeline import Pipeline
from logwatch.daemon.pipeline import _cold_lines as pipeline_cold_lines
from logwatch.model import Event, Origin
from logwatch.multiline import Assembler
from logwatch.multiline.ansi import strip_ansi
from logwatch.multiline.assembler import Format
from logwatch.rules.literals import Literals
from logwatch.sources import Tailer
from logwatch.sources.coldheaders import ColdHeaderLines
from logwatch.sources.framing import LineFramer
from logwatch.store import Store
from tests.coldlines_support import RULES, replay_both, write_config


def _chained_traceback() -> list[str]:
    """A real one: chained, as this interpreter prints it."""
    try:
        try:
            config: dict[str, str] = {}
            config["missing"]
        except KeyError as exc:
            raise ConnectionError("could not connect to database") from exc
    except ConnectionError:
        return traceback.format_exc().rstrip("\n").split("\n")
    raise AssertionError("unreachable")


def _plain_traceback() -> list[str]:
    try:
        print(1 / 0)
    except ZeroDivisionError:
        return traceback.format_exc().rstrip("\n").split("\n")
    raise AssertionError("unreachable")


def _group_traceback() -> list[str]:
    try:
        raise ExceptionGroup("two failed", [ValueError("a"), TypeError("b")])
    except ExceptionGroup:
        return traceback.format_exc().rstrip("\n").split("\n")


CHAINED = _chained_traceback()
PLAIN = _plain_traceback()
GROUP = _group_traceback()
STAMP = "2026-03-01 12:00:{:02d}.{:03d}"
# the format of the logs below, and the pattern a user would write for it
HEADER = re.compile(r"\[(?P<timestamp>[^\]]+)\] (?P<level>[A-Z]+) (?P<logger>[\w.]+)")
_CRI = "2026-03-01T12:00:00.100000000Z stderr F "


def _header(n: int, level: str, logger: str, message: str) -> str:
    return f"[{STAMP.format(n % 60, n % 1000)}] {level} {logger} {message}"


# Lines of every shape next to the records: what a header pattern may match
# without the line being a header (a traceback's, an envelope, JSON, blank,
# indented), bytes the framer changes (CR, bad UTF-8, ANSI codes, NULs, a line
# past the cap), and records with the rules' literals.
_SHAPES: list[bytes] = [
    *(line.encode() for line in (
        _header(1, "INFO", "app.api", "ordinary"),
        _header(2, "INFO", "app.api", "ordinary, another"),
        _header(3, "ERROR", "app.db", "could not connect to database"),
        _header(4, "CRITICAL", "app.core", "out of disk"),
        _header(5, "ERROR", "app.worker", "job failed"),
        _header(6, "INFO", "app.api", "caf\u00e9 \u2603"),
        _header(16, "INFO", "app.api", "CAF\u00c9 in capitals"),
        _header(7, "WARNING", "app.api", "slow"),
        "[not a header] at all",
        "",
        "   ",
        "\tindented",
        "  continued message",
        "plain text under a record",
        "ValueError: a bare exception line",
        "12:00:01 digits first",
        '{"level": "error", "message": "a JSON record"}',
        "Mar  1 12:00:00 host app[42]: " + _header(8, "INFO", "app.api", "in syslog"),
        "<13>Mar  1 12:00:00 host app[42]: plain",
        "[Sun Mar 01 12:00:00.100 2026] [pid 42] [error] apache's own",
        f"{_CRI}{_header(9, 'INFO', 'app.api', 'in a CRI envelope')}",
        *(f"{_CRI}{line}" for line in CHAINED[:4]),
        "Exception in thread worker:",
        "Process Worker-1:",
        "--- Logging error ---",
        *CHAINED,
        *GROUP,
    )),
    _header(10, "INFO", "app.api", "windows line end").encode() + b"\r",
    _header(11, "INFO", "app.api", "bad bytes \xff\xfe").encode("latin-1"),
    _header(12, "INFO", "app.api", "\x1b[31mcolour\x1b[0m").encode(),
    _header(15, "INFO", "app.db", "could not \x1b[1mconnect\x1b[0m to database").encode(),
    b"\0\0\0" + _header(13, "INFO", "app.api", "after a hole").encode(),
    _header(14, "INFO", "app.api", "long " + "x" * 100).encode(),
]
# patterns that read lines other than headers as headers too
PATTERNS = [
    HEADER,
    re.compile(r"\w+"),  # Traceback, ValueError, Mar, Process ...: exactly what is special
    re.compile(r".*"),  # blank and indented lines, JSON, all
    re.compile(r"(?i)\[.*(?:info|error)"),
    re.compile(r"\[[^\]]*\] \w+ [\w.]+ [^!]*$"),
    # these read the bytes the framer takes off (a CR, a hole's NULs) as a header
    re.compile(r"\[.*\s$"),
    re.compile(r"[^\[\s]"),
]
LITERALS = [
    Literals(frozenset({b"could not connect"}), frozenset()),
    Literals(frozenset(), frozenset({b"err", b"crit", b"fatal"})),
    Literals(frozenset(), frozenset()),  # only traceback rules
    Literals(frozenset(), frozenset({"caf\u00e9".encode()})),  # IGNORECASE, not ASCII
]
CAP = 100  # the framer's line cap in these tests: one shape is past it


@dataclass
class Run:
    events: list[Event]
    passed: int


def _assemble(
    data: bytes,
    keep: ColdHeaderLines | None,
    chunk: int,
    header: re.Pattern[str],
    format: Format = "auto",
    encoding: str = "utf-8",
) -> Run:
    framer = LineFramer(max_line_bytes=CAP, encoding=encoding)
    assembler = Assembler(Origin("app", "app.log", "uid"), format=format, header_pattern=header)
    events: list[Event] = []
    for start in range(0, len(data), chunk):
        events += assembler.feed(framer.feed(data[start : start + chunk], keep))
    events += assembler.flush()
    return Run(events, framer.take_passed()[0])


def _filter(literals: Literals, header: re.Pattern[str], **options: object) -> ColdHeaderLines:
    return ColdHeaderLines(literals, header, json_records=True, max_line_bytes=CAP,
                           **options)  # type: ignore[arg-type]


def _check_same(
    data: bytes, literals: Literals, header: re.Pattern[str], chunk: int,
    encoding: str = "utf-8", **options: object
) -> Run:
    """Every event but the records passed over comes out identical, in order; those
    are one header line each, with no literal."""
    full = _assemble(data, None, chunk, header, encoding=encoding)
    keep = _filter(literals, header, encoding=encoding, **options)
    kept = _assemble(data, keep, chunk, header, encoding=encoding)
    kept_spans = {(e.first_line, e.last_line) for e in kept.events}
    dropped = [e for e in full.events if (e.first_line, e.last_line) not in kept_spans]
    assert [e for e in full.events if e not in dropped] == kept.events
    assert len(dropped) == kept.passed
    lines = data.split(b"\n")
    for event in dropped:
        assert event.first_line == event.last_line
        assert not event.has_traceback  # no rule on tracebacks could take it
        line = lines[event.first_line - 1]
        assert header.match(line.decode(encoding, errors="replace").removesuffix("\r"))
        text = strip_ansi(event.text).encode(encoding, errors="replace")  # as the rules see it
        assert not any(literal in text for literal in literals.exact)
        # (a rule's IGNORECASE folds more than ASCII; the bytes' lower() does not)
        assert not any(literal.decode() in event.text.lower() for literal in literals.folded)
    return kept


def _log(count: int, *, every: int = 500) -> bytes:
    """Ordinary one-line records, a traceback and a hit now and then."""
    lines: list[str] = []
    for n in range(count):
        if n % every == every // 2:
            lines += [_header(n, "ERROR", "app.worker", "job failed"), *CHAINED]
        elif n % every == every // 3:
            lines.append(_header(n, "ERROR", "app.db", "could not connect to database"))
        else:
            lines.append(_header(n, "INFO", "app.http", f"GET /orders/{n * 7919 % 10**6} 200"))
    return "".join(line + "\n" for line in lines).encode()


class TestColdHeaderLines:
    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @pytest.mark.parametrize("literals", LITERALS)
    @pytest.mark.parametrize("chunk", [97, 4096, 1 << 16])
    def test_one_line_records_are_passed_over_and_the_rest_is_the_same(
        self, literals: Literals, chunk: int, accelerate: bool
    ) -> None:
        data = _log(3000)
        kept = _check_same(data, literals, HEADER, chunk, accelerate=accelerate)
        assert sum(1 for event in kept.events if event.chain) == 6
        if chunk > 1000:
            # all but the hits, the tracebacks' records and a read's last line
            assert kept.passed > 3000 - 6 - 6 - 2 * (len(data) // chunk + 1)

    @pytest.mark.parametrize("accelerate", [True, False], ids=["one-pass", "finds"])
    @pytest.mark.parametrize("header", PATTERNS, ids=lambda p: p.pattern)
    @settings(max_examples=150, deadline=None)
    @given(
        shapes=st.lists(st.sampled_from(_SHAPES), min_size=1, max_size=60),
        chunk=st.sampled_from([7, 50, 4096]),
        literals=st.sampled_from(LITERALS),
    )
    def test_any_mix_of_line_shapes_loses_no_event_that_matters(
        self,
        header: re.Pattern[str],
        shapes: list[bytes],
        chunk: int,
        literals: Literals,
        accelerate: bool,
    ) -> None:
        data = b"".join(line + b"\n" for line in shapes)
        # no dense-buffer shortcut: these buffers are small, and every span must count
        _check_same(data, literals, header, chunk, accelerate=accelerate, dense_bytes=0)

    @settings(max_examples=200, deadline=None)
    @given(
        body=st.lists(st.sampled_from(
            [b"[x] INFO a ok", b"[x] INFO a \xc3\xa9", b"\xff", b"\xe2\x82", b"\xc3", b"z",
             b"\r", b" ", b"[", b"]"]
        ), max_size=40).map(b"".join),
        chunk=st.sampled_from([5, 64]),
    )
    def test_bad_utf8_and_line_ends_read_as_the_framer_reads_them(
        self, body: bytes, chunk: int
    ) -> None:
        """The whole buffer decoded at once gives each line the text the framer gives it."""
        lines = body.replace(b"z", b"\n") + b"\n"
        _check_same(lines, LITERALS[2], re.compile(r"\[x\] \w+ \w+ \S+$"), chunk, dense_bytes=0)

    @settings(max_examples=200, deadline=None)
    @given(
        body=st.lists(st.sampled_from(
            [b"[x] INFO a ok", "[x] INFO a 库存".encode("gb18030"),
             "[x] INFO 失败".encode("gb18030"), b"\x81", b"\x81\x30", b"\x84\x31\xa4",
             b"\xff", b"z", b"\r", b" ", b"[", b"]"]
        ), max_size=40).map(b"".join),
        chunk=st.sampled_from([5, 64]),
    )
    def test_bad_gb18030_and_line_ends_read_as_the_framer_reads_them(
        self, body: bytes, chunk: int
    ) -> None:
        """A newline after a cut four-byte character is still a line end.

        Decoding a whole GB18030 buffer at once, as is done for UTF-8, reads
        ``\\x81\\x30\\n`` as one bad character and the line after it as this one.
        """
        lines = body.replace(b"z", b"\n") + b"\n"
        literals = Literals(frozenset({"失败".encode("gb18030")}), frozenset())
        _check_same(lines, literals, re.compile(r"\[x\] \w+ \w+ \S+$"), chunk,
                    encoding="gb18030", dense_bytes=0)

    @pytest.mark.parametrize("context", [1, 4])
    def test_the_lines_before_a_kept_record_are_kept_with_their_records(
        self, context: int
    ) -> None:
        data = _log(600, every=200)
        full = _assemble(data, None, 1 << 16, HEADER).events
        keep = _filter(LITERALS[0], HEADER, context=context)
        spans = keep(data)
        lines = data.split(b"\n")
        starts = [sum(len(line) + 1 for line in lines[:index]) for index in range(len(lines))]
        for event in full:
            if event.chain or b"could not connect" in event.text.encode():
                first = starts[event.first_line - 1 - context]
                assert any(start <= first and starts[event.last_line] <= end
                           for start, end in spans)
        assert len(spans) < 12

    def test_a_line_past_the_cap_is_kept_with_its_record(self) -> None:
        """Cut, a header may read otherwise than whole: it is never passed over, nor taken
        for the start of a record."""
        long = _header(1, "INFO", "app.api", "x" * 200).encode()
        lines = [_SHAPES[0], long, _SHAPES[0], _SHAPES[0], _SHAPES[0]]
        data = b"".join(line + b"\n" for line in lines)
        at = [sum(len(line) + 1 for line in lines[:index]) for index in range(len(lines))]
        everything = re.compile(".*")
        spans = _filter(LITERALS[2], everything, dense_bytes=0)(data)
        assert spans == [(0, at[2]), (at[4], len(data))]
        whole = ColdHeaderLines(LITERALS[2], everything, json_records=True, max_line_bytes=1000,
                                dense_bytes=0)
        assert whole(data) == [(at[4], len(data))]

    @pytest.mark.parametrize(
        ("line", "header"),
        [
            # the framer takes a CR off a line's end: no header, read as the assembler reads it
            (_header(1, "INFO", "app", "ok").encode() + b"\r", re.compile(r".*\s$")),
            # and a hole's NULs off its start
            (b"\0\0" + _header(1, "INFO", "app", "ok").encode(), re.compile(r"[^\[\s]")),
        ],
        ids=["CR", "NUL"],
    )
    def test_a_header_is_read_in_the_text_the_framer_makes(
        self, line: bytes, header: re.Pattern[str]
    ) -> None:
        data = b"plain text\n" + (line + b"\n") * 3 + b"plain text\n"
        spans = _filter(LITERALS[2], header, dense_bytes=0)(data)
        assert spans == [(0, len(data))]
        _check_same(data, LITERALS[2], header, 1 << 16, dense_bytes=0)

    @pytest.mark.parametrize(
        ("line", "literals"),
        [
            # ANSI codes split the literal in the bytes; the rules see it whole
            (_header(1, "ERROR", "app.db", "could not \x1b[1mconnect to database"), LITERALS[0]),
            # the bytes' lower() folds ASCII alone; a rule's IGNORECASE more
            (_header(1, "INFO", "app.api", "CAF\u00c9"), LITERALS[3]),
        ],
        ids=["ANSI", "non-ASCII case"],
    )
    def test_a_literal_the_bytes_may_hide_keeps_the_whole_read(
        self, line: str, literals: Literals
    ) -> None:
        lines = [_header(n, "INFO", "app", "ok") for n in range(10)]
        lines[5] = line
        data = "".join(line + "\n" for line in lines).encode()
        assert _filter(literals, HEADER, dense_bytes=0)(data) == [(0, len(data))]
        _check_same(data, literals, HEADER, 1 << 16, dense_bytes=0)

    def test_lines_a_pattern_matches_that_are_no_headers_are_kept(self) -> None:
        """A pattern matching "Traceback ..." too: those lines are still no headers."""
        lines = [_header(n, "INFO", "app", "ok") for n in range(50)]
        lines[20:20] = CHAINED
        data = "".join(line + "\n" for line in lines).encode()
        run = _check_same(data, LITERALS[2], re.compile(r"\S+"), 1 << 16, dense_bytes=0)
        kept = "\n".join(event.text for event in run.events)
        assert kept.count("Traceback (most recent call last):") == 2
        assert run.passed > 40


class TestReplay:
    def test_replay_prints_the_same_with_and_without_passing_over(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        header = r"\[(?P<timestamp>[^\]]+)\] (?P<level>[A-Z]+) (?P<logger>[\w.]+) "
        config = load_config(write_config(
            tmp_path, RULES, source_extra=f"    header: {json.dumps(header)}\n"
        ))
        log = tmp_path / "app.log"
        log.write_bytes(_log(20_000))
        fast, slow = replay_both(config, log, monkeypatch)
        assert fast == slow
        # the tracebacks say "could not connect to database": the db rule, first, takes them
        assert sum(1 for record in fast if record["chain"]) == 40
        assert sum(1 for record in fast if record["rule"] == "db") == 80


def _daemon_config(
    logs: Path, header: str, *, rules: str = RULES, extra: str = ""
) -> Config:
    """One source reading ``logs`` from the beginning, by its own ``header`` pattern."""
    return load_config(write_config(
        logs, rules,
        source_extra=f"    start_at: beginning\n{extra}    header: {json.dumps(header)}\n",
    ))


def _reader(config: Config, store: Store) -> Pipeline:
    """The daemon's reading loop, without a watcher: each round looks at every file."""
    tailer = Tailer(config.sources, store.files(), first_start=True, verify_interval_s=0.0)
    return Pipeline(config, store, tailer, build_engine(config))


def test_the_daemon_alerts_on_what_matters_and_counts_every_line(tmp_path: Path) -> None:
    """The live reader with the filter: one alert each for a traceback and a hit among
    3,000 one-line records, and every line and record counted as without it."""
    (tmp_path / "logs").mkdir()
    config = _daemon_config(tmp_path / "logs", HEADER.pattern)
    assert isinstance(pipeline_cold_lines(config)["app"], ColdHeaderLines)
    lines = [_header(n, "INFO", "app.http", f"GET /orders/{n} 200") for n in range(3000)]
    lines[1000:1000] = [_header(1000, "ERROR", "app.worker", "job failed"), *PLAIN]
    lines[2000] = _header(2000, "ERROR", "app.db", "could not connect to database")
    data = "".join(line + "\n" for line in lines).encode()
    (tmp_path / "logs" / "app.log").write_bytes(data)
    store = Store.in_dir(config.state_dir)
    try:
        reader = _reader(config, store)
        while reader.counters.lines < len(lines):
            reader.process()
        reader.commit()
        alerts = sorted((row.alert().rule, row.alert().exc_type) for row in store.outbox())
        assert alerts == [("db", None), ("tracebacks", "ZeroDivisionError")]
        assert reader.counters.bytes_by_source["app"] == len(data)
        assert reader.counters.events == len(_assemble(data, None, 1 << 16, HEADER).events)
    finally:
        store.close()


def _pipeline(tmp_path: Path, header: str) -> tuple[Pipeline, Store, Path]:
    (tmp_path / "logs").mkdir()
    config = _daemon_config(tmp_path / "logs", header, extra="    multiline: {flush_after: 1h}\n")
    store = Store.in_dir(config.state_dir)
    return _reader(config, store), store, tmp_path / "logs"


@pytest.mark.parametrize("header", [HEADER.pattern, r"(?i)\[.*(?:info|error)"])
def test_a_logged_traceback_at_the_end_of_the_file_is_sent_without_waiting(
    tmp_path: Path, header: str
) -> None:
    """A record the source's pattern opens is whole at EOF, as one of logging's is."""
    reader, store, logs = _pipeline(tmp_path, header)
    try:
        record = [_header(1, "ERROR", "app.worker", "job failed"), *PLAIN]
        (logs / "app.log").write_text("\n".join(record) + "\n", encoding="utf-8")
        reader.process()
        assert store.outbox_counts()["pending"] == 1
    finally:
        store.close()


def test_a_bare_traceback_at_the_end_of_the_file_still_waits(tmp_path: Path) -> None:
    """Even where the pattern matches its first line: "Traceback ..." is no header."""
    reader, store, logs = _pipeline(tmp_path, r"\[|Traceback")
    try:
        (logs / "app.log").write_text("\n".join(PLAIN) + "\n", encoding="utf-8")
        reader.process()
        assert reader.counters.lines == len(PLAIN)
        assert store.outbox_counts()["pending"] == 0
    finally:
        store.close()


def test_a_reload_that_changes_the_pattern_leaves_open_files_unfiltered(tmp_path: Path) -> None:
    """A file read before keeps the assembler the old pattern made: the new pattern's
    filter would pass over lines it needs (here: the record an ERROR header opens, which
    a line of lower-case "error" only goes on under the old pattern)."""
    (tmp_path / "logs").mkdir()
    rules = ("  - {name: db, match: {message: could not connect, min_level: ERROR},"
             " notify: [hook]}\n")
    old = r"\[(?P<timestamp>[^\]]+)\] (?P<level>[A-Z]+) (?P<logger>[\w.]+)"
    new = r"(?i)\[(?P<timestamp>[^\]]+)\] (?P<level>[a-z]+) (?P<logger>[\w.]+)"

    before = _daemon_config(tmp_path / "logs", old, rules=rules)
    filler = [_header(n, "INFO", "app.http", f"GET /orders/{n} 200") for n in range(30)]
    log = tmp_path / "logs" / "app.log"
    log.write_text("".join(line + "\n" for line in filler), encoding="utf-8")
    store = Store.in_dir(before.state_dir)
    try:
        reader = _reader(before, store)
        while reader.counters.lines < len(filler):
            reader.process()
        after = _daemon_config(tmp_path / "logs", new, rules=rules)
        reader.reconfigure(after, build_engine(after))
        added = [_header(30, "ERROR", "app.worker", "job failed"),
                 "[2026-03-01 12:01:01.000] info app.worker retry 1",
                 "[2026-03-01 12:01:02.000] error app.db could not connect to database",
                 *filler]
        with log.open("a", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in added))
        while reader.counters.lines < len(filler) + len(added):
            reader.process()
        reader.commit()
        (row,) = store.outbox()
        assert row.alert().first_line == 31
        assert row.alert().last_line == 33
    finally:
        store.close()
