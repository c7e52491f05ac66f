"""A source's `timezone`: the times its files write without a zone are read in it.

The logs are written by the real `logging` module in a child process whose
``TZ`` is the app's zone, with its default ``asctime`` (local time, no
offset), at moments the test chooses; `logwatch replay` runs as a user runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logwatch.config import config_schema, load_config_text
from logwatch.errors import ConfigError
from logwatch.model import Event, Origin
from logwatch.multiline import Assembler, blocks, timestamps
from logwatch.multiline.headers import HeaderParser
from logwatch.multiline.timestamps import reader_for
from logwatch.sources.framing import LineFramer
from tests.daemon_harness import logwatch

# What an app logs: for each (format, datefmt, moment, how) one record made at
# that moment (seconds since the epoch). "json" formats the record as JSON with
# logging's own formatTime, "json-epoch" with its `created`; "exception" logs a
# real traceback with it.
WRITER = """\
import json, logging, sys

class At(logging.Filter):
    def filter(self, record):
        record.created = self.moment
        record.msecs = int((self.moment - int(self.moment)) * 1000) + 0.0
        return True

class Json(logging.Formatter):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def format(self, record):
        stamp = {"time": record.created} if self.epoch else {"asctime": self.formatTime(record)}
        return json.dumps({**stamp, "levelname": record.levelname, "name": record.name,
                           "message": record.getMessage()})

def charge(order):
    raise ConnectionError(f"gateway timeout for order {order}")

at = At()
log = logging.getLogger("shop.billing")
log.setLevel(logging.DEBUG)
handlers = {}
for fmt, datefmt, moment, how in json.load(sys.stdin):
    handler = handlers.get((fmt, datefmt))
    if handler is None:
        handler = handlers[fmt, datefmt] = logging.StreamHandler(sys.stdout)
        if fmt.startswith("json"):
            handler.setFormatter(Json(fmt == "json-epoch"))
        else:
            handler.setFormatter(logging.Formatter(fmt, datefmt))
        handler.addFilter(at)
    log.handlers[:] = [handler]
    at.moment = moment
    if how == "exception":
        try:
            charge(42)
        except ConnectionError:
            log.exception("charge failed")
    else:
        log.log(getattr(logging, how.upper()), "charge failed for order %d", 42)
"""

ASCTIME = "%(asctime)s %(levelname)s %(name)s %(message)s"
Plan = list[tuple[str, str | None, datetime, str]]


def written(plan: Plan, tz: str = "Europe/Berlin") -> str:
    """What an app whose machine is in ``tz`` logs, record by record, as ``plan`` says."""
    moments = [(fmt, datefmt, moment.timestamp(), how) for fmt, datefmt, moment, how in plan]
    done = subprocess.run(
        [sys.executable, "-c", WRITER], input=json.dumps(moments),
        env={**os.environ, "TZ": tz}, capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def assembled(
    text: str, timezone: str, *, header: re.Pattern[str] | None = None, memo: bool = True
) -> list[Event]:
    """The events a source with this ``timezone`` (and ``header``) makes of ``text``."""
    assembler = Assembler(Origin("app", "app.log"), header_pattern=header, timezone=timezone)
    if not memo:
        assembler._blocks = None  # every line stepped through the machine
    lines = LineFramer().feed(text.encode())
    return assembler.feed(lines) + assembler.flush()


WINTER = utc(2026, 1, 15, 21, 30)  # 22:30 in Berlin (CET, +01:00)
SUMMER = utc(2026, 7, 15, 20, 30)  # 22:30 in Berlin (CEST, +02:00)

# (format, datefmt, whether the time it writes has no zone)
SHAPES = {
    "asctime": (ASCTIME, None, True),
    "ISO with a T": (ASCTIME, "%Y-%m-%dT%H:%M:%S", True),
    "Flask's [asctime]": ("[%(asctime)s] %(levelname)s in %(module)s: %(message)s", None, True),
    "Django's [dd/Mon/yyyy]": ("[%(asctime)s] %(levelname)s %(message)s", "%d/%b/%Y %H:%M:%S",
                               True),
    "ctime": ("%(asctime)s %(levelname)s %(name)s %(message)s", "%a %b %d %H:%M:%S %Y", True),
    "Apache's error log": ("[%(asctime)s] [wsgi:error] [pid %(process)d] %(message)s",
                           "%a %b %d %H:%M:%S %Y", True),
    "a JSON record": ("json", None, True),
    "gunicorn's +hhmm": ("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
                         "%Y-%m-%d %H:%M:%S %z", False),
    "ISO with an offset": (ASCTIME, "%Y-%m-%dT%H:%M:%S%z", False),
}


class TestEveryShape:
    @pytest.mark.parametrize("moment", [WINTER, SUMMER], ids=["winter", "summer"])
    @pytest.mark.parametrize("shape", SHAPES)
    def test_each_record_is_read_at_the_moment_it_was_made(
        self, shape: str, moment: datetime
    ) -> None:
        """In every shape, a record's time is the moment logging made it; a time
        written with an offset reads the same whatever the source's zone."""
        fmt, datefmt, zone_less = SHAPES[shape]
        how = "exception" if fmt == ASCTIME else "error"
        text = written([(fmt, datefmt, moment, how)])
        [berlin] = [event.timestamp for event in assembled(text, "Europe/Berlin")]
        [as_utc] = [event.timestamp for event in assembled(text, "UTC")]
        assert berlin is not None, text
        assert as_utc is not None, text
        assert berlin.replace(microsecond=0) == moment, text
        assert (as_utc == berlin) is not zone_less, text

    def test_a_header_patterns_timestamp_group_is_read_in_the_zone(self) -> None:
        """A source's own header pattern: its `timestamp` group is read in the zone."""
        header = re.compile(r"(?P<timestamp>\S+ \S+) (?P<level>[A-Z]+) (?P<message>.*)")
        text = written([(ASCTIME, None, WINTER + timedelta(milliseconds=250), "exception")])
        [event] = assembled(text, "Europe/Berlin", header=header)
        assert event.timestamp == WINTER + timedelta(milliseconds=250)

    def test_an_epoch_number_has_no_zone_to_read(self) -> None:
        """A JSON time given as seconds since the epoch is one moment in any zone."""
        text = written([("json-epoch", None, WINTER, "error")])
        assert [event.timestamp for event in assembled(text, "Asia/Kolkata")] == [WINTER]

    def test_replayed_blocks_give_what_stepping_gives(self) -> None:
        """A storm replayed from the block memo carries each record's own time, in the zone."""
        blocks.SHARED._templates.clear()
        # (eighths of a second: logging computes msecs from a float, exactly for these)
        moments = [WINTER + timedelta(seconds=7 * n, milliseconds=125 * (n % 8))
                   for n in range(12)]
        text = written([(ASCTIME, None, moment, "exception") for moment in moments])
        replayed = assembled(text, "Europe/Berlin")
        assert blocks.SHARED._templates  # the memo did replay the storm
        assert replayed == assembled(text, "Europe/Berlin", memo=False)
        assert [event.timestamp for event in replayed] == moments


class TestDaylightSaving:
    BERLIN = reader_for("Europe/Berlin")

    def test_the_hour_repeated_in_autumn_is_read_as_its_first(self) -> None:
        """02:30 comes twice on 25 October in Berlin; both are read as the first (fold=0)."""
        first, second = utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)
        text = written([(ASCTIME, None, first, "error"), (ASCTIME, None, second, "error")])
        assert text.count("2026-10-25 02:30:00,000 ERROR") == 2
        assert [event.timestamp for event in assembled(text, "Europe/Berlin")] == [first, first]

    @pytest.mark.parametrize(
        "text", ["2026-03-29 02:30:00,000 ERROR app x", "2026-03-29T02:30:00 ERROR app x"]
    )
    def test_an_hour_skipped_in_spring_is_read_with_the_offset_before_it(self, text: str) -> None:
        """02:30 never happens on 29 March in Berlin; such a time (another writer's, a
        clock set by hand) is read with the offset before the change, as fold=0 does."""
        header = HeaderParser(times=self.BERLIN).parse(text)
        assert header is not None
        assert header.timestamp == utc(2026, 3, 29, 1, 30)

    @pytest.mark.parametrize(
        ("zone", "text"),
        [
            ("Europe/Berlin", "0001-01-01 00:30:00,000 ERROR app x"),
            ("America/New_York", "9999-12-31 23:30:00,000 ERROR app x"),
            ("America/New_York", "9999-12-31T23:30:00.5 ERROR app x"),
        ],
    )
    def test_a_time_utc_cannot_hold_is_no_time(self, zone: str, text: str) -> None:
        """Before year 1 or after 9999 in UTC: a header still, without a time."""
        header = HeaderParser(times=reader_for(zone)).parse(text)
        assert header is not None
        assert (header.level, header.timestamp) == ("ERROR", None)

    def test_local_is_the_machines_zone_across_its_changes(self) -> None:
        """`local` reads each wall time as the zone TZ names does: gaps and repeats alike."""
        probe = (
            "import json, sys\n"
            "from logwatch.multiline.timestamps import reader_for\n"
            "local, named = reader_for('local'), reader_for(sys.argv[1])\n"
            "times = [f'{d} {h:02d}:30:00,250 ' for d in sys.argv[2:] for h in range(24)]\n"
            "print(json.dumps([[str(local.leading(t)[0]), str(named.leading(t)[0]),\n"
            "                   str(local.parse(t.strip())), str(named.parse(t.strip()))]\n"
            "                  for t in times]))\n"
        )
        for zone, days in [
            ("Europe/Berlin", ["2026-03-29", "2026-10-25", "2026-07-01"]),
            ("America/New_York", ["2026-03-08", "2026-11-01"]),
        ]:
            done = subprocess.run(
                [sys.executable, "-c", probe, zone, *days], env={**os.environ, "TZ": zone},
                capture_output=True, text=True, timeout=60, check=True,
            )
            for local_leading, named_leading, local_parse, named_parse in json.loads(done.stdout):
                assert local_leading == named_leading == local_parse == named_parse


# Times at the start of lines near logging's asctime, around the changes and the ends
# of the calendar, with and without a zone.
_STAMPS = st.tuples(
    st.sampled_from(["2026-03-29", "2026-10-25", "2026-01-02", "0001-01-01", "9999-12-31",
                     "2026-02-30"]),
    st.sampled_from([" ", "T"]),
    st.sampled_from(["02:30:00", "00:30:00", "23:30:00", "24:00:00"]),
    st.sampled_from([",123", ".123", ",12", ""]),
    st.sampled_from([" ", "Z", " +0100", "-05:00", "", "x"]),
    st.sampled_from(["", "ERROR app x"]),
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_STAMPS, zone=st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]))
def test_the_asctime_shortcut_reads_what_the_regexes_read(text: str, zone: str) -> None:
    """In any zone, logging's asctime read without the general regex gives its time."""
    fast = reader_for(zone).leading(text)
    original = timestamps._ASCTIME
    try:
        timestamps._ASCTIME = re.compile("(?!)")  # matches nothing: the regexes read all
        assert reader_for(zone).leading(text) == fast
    finally:
        timestamps._ASCTIME = original


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, path="cfg.yaml", environ={})
    return [str(problem) for problem in caught.value.problems]


SOURCE = "sources:\n  - name: app\n    paths: [app.log]\n"


class TestConfig:
    def test_an_unknown_zone_is_a_problem_at_its_value(self) -> None:
        """A misspelt zone fails `check` at its line and column, with the remedy."""
        [problem] = _problems(SOURCE + "    timezone: Europe/Berln\n")
        assert problem.startswith("cfg.yaml:4:15: sources[0].timezone: ")
        assert "unknown time zone 'Europe/Berln'; use an IANA name like Europe/Berlin" in problem

    @pytest.mark.parametrize("name", ["Europe", "", "../etc/localtime", "zone.tab", "Local/x"])
    def test_what_is_no_zone_is_refused(self, name: str) -> None:
        """A directory of zones, a path out of the zone tree, a data file: no zone."""
        [problem] = _problems(SOURCE + f"    timezone: {json.dumps(name)}\n")
        assert "unknown time zone" in problem

    @pytest.mark.parametrize(
        ("given", "kept"),
        [(None, "UTC"), ("utc", "UTC"), ("Local", "local"), ("Asia/Kolkata", "Asia/Kolkata")],
    )
    def test_names_are_kept_in_one_spelling(self, given: str | None, kept: str) -> None:
        """UTC unless a zone is named; `utc` and `local` in any case."""
        line = f"    timezone: {given}\n" if given is not None else ""
        [source] = load_config_text(SOURCE + line, environ={}).sources
        assert source.timezone == kept

    def test_the_schema_offers_it(self) -> None:
        """`logwatch schema` shows the key, its default and what it takes."""
        timezone = config_schema()["$defs"]["SourceConfig"]["properties"]["timezone"]
        assert timezone["default"] == "UTC"
        assert "IANA" in timezone["description"]


def _config(tmp_path: Path, source: str, rule: str) -> Path:
    config = tmp_path / "logwatch.yaml"
    config.write_text(
        "sources:\n"
        f"  - {{name: app, paths: [app.log]{source}}}\n"
        "time_intervals:\n"
        "  nights:\n"
        "    - times: [{start: '22:00', end: '24:00'}, {start: '00:00', end: '07:00'}]\n"
        "      location: Europe/Berlin\n"
        "rules:\n"
        f"  - {{name: r, match: {{level: ERROR}}, notify: [log]{rule}}}\n"
        "notifiers: {log: {type: console}}\n",
        encoding="utf-8",
    )
    return config


def _replay(
    config: Path, log: Path, *, tz: str = "UTC", env: dict[str, str] | None = None,
    stdin: bool = False,
) -> list[dict[str, Any]]:
    args = ["replay", "-c", str(config), "--json", "-" if stdin else str(log)]
    if stdin:
        done = subprocess.run(
            [sys.executable, "-m", "logwatch", *args], input=log.read_text(encoding="utf-8"),
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "TZ": tz, **(env or {})},
        )
    else:
        done = logwatch(*args, env={"TZ": tz, **(env or {})})
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


class TestReplay:
    # Written in Berlin at 21:30 and 22:30 local time (CET): the nights begin between them.
    EVENING = (utc(2026, 1, 15, 20, 30), utc(2026, 1, 15, 21, 30))

    @pytest.mark.parametrize(
        ("setting", "tz", "suppressed"),
        [
            (", timezone: Europe/Berlin", "UTC", [None, "silenced"]),
            (", timezone: local", "Europe/Berlin", [None, "silenced"]),
            # read as UTC, 21:30 is 22:30 in Berlin: both in the nights
            (", timezone: local", "UTC", ["silenced", "silenced"]),
        ],
    )
    @pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
    def test_quiet_hours_hold_at_the_records_own_time(
        self, tmp_path: Path, setting: str, tz: str, suppressed: list[str | None], stdin: bool
    ) -> None:
        """Quiet hours in Berlin mute what an app in Berlin logs in them, and only that."""
        log = tmp_path / "app.log"
        log.write_text(written([(ASCTIME, None, moment, "exception") for moment in self.EVENING]))
        config = _config(tmp_path, setting, ", mute_during: [nights],"
                         " labels: {seen: '{{ first_seen }}'}")
        records = _replay(config, log, tz=tz, stdin=stdin)
        assert [record["suppressed"] for record in records] == suppressed
        if suppressed[0] is None:  # the alert's time is the record's
            assert records[0]["labels"]["seen"] == "2026-01-15T20:30:00Z"

    def test_the_machines_zone_is_read_only_when_asked_for(self, tmp_path: Path) -> None:
        """Without the key, times stay UTC on a machine in Berlin too, as before it existed."""
        log = tmp_path / "app.log"
        log.write_text(written([(ASCTIME, None, moment, "error") for moment in self.EVENING]))
        config = _config(tmp_path, "", ", mute_during: [nights]")
        assert [r["suppressed"] for r in _replay(config, log, tz="Europe/Berlin")] == [
            "silenced", "silenced"
        ]
        config = _config(tmp_path, ", timezone: local", ", mute_during: [nights]")
        assert [r["suppressed"] for r in _replay(config, log, tz="Europe/Berlin")] == [
            None, "silenced"
        ]

    def test_a_cooldown_spans_the_spring_change_by_real_time(self, tmp_path: Path) -> None:
        """01:50 and 03:10 on 29 March in Berlin are 20 minutes apart: within a 30m cooldown."""
        log = tmp_path / "app.log"
        moments = [utc(2026, 3, 29, 0, 50), utc(2026, 3, 29, 1, 10)]
        log.write_text(written([(ASCTIME, None, moment, "exception") for moment in moments]))
        assert "2026-03-29 01:50:00,000 ERROR" in log.read_text()
        assert "2026-03-29 03:10:00,000 ERROR" in log.read_text()
        config = _config(tmp_path, ", timezone: Europe/Berlin", ", cooldown: 30m")
        records = [record for record in _replay(config, log) if not record.get("by_time")]
        assert [record["suppressed"] for record in records] == [None, "cooldown"]

    def test_a_big_file_on_two_cores_prints_what_one_core_prints(self, tmp_path: Path) -> None:
        """Past 4 MiB, replay decides in a second process: the times travel with the events."""
        log = tmp_path / "app.log"
        start = utc(2026, 1, 15, 20, 0)
        plan: Plan = [  # one record every 1/15 s for 80 minutes, a traceback every 200 s
            (ASCTIME, None, start + timedelta(seconds=n / 15),
             "exception" if n % 3000 == 0 else "info")
            for n in range(72_000)
        ]
        log.write_text(written(plan))
        assert log.stat().st_size > 4 << 20
        config = _config(tmp_path, ", timezone: Europe/Berlin", ", mute_during: [nights]")
        both = _replay(config, log)
        assert both == _replay(config, log, env={"LOGWATCH_JOBS": "1"})
        # 21:00 to 22:20 in Berlin: the nights begin at 22:00
        assert [record["suppressed"] for record in both] == [None] * 18 + ["silenced"] * 6
