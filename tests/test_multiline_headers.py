"""Record headers and envelopes are read from what real formatters and runtimes write."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logwatch.multiline import headers, timestamps
from logwatch.multiline.envelopes import unwrap
from logwatch.multiline.headers import HeaderParser
from logwatch.multiline.timestamps import UTC_TIMES

CREATED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def format_record(fmt: str, datefmt: str | None, level: int, name: str, message: str) -> str:
    """What a real logging.Formatter writes for one record (in UTC)."""
    formatter = logging.Formatter(fmt, datefmt)
    formatter.converter = lambda *_: CREATED.timetuple()
    record = logging.LogRecord(name, level, __file__, 1, message, None, None)
    record.created = CREATED.timestamp()
    record.msecs = 678
    return formatter.format(record)


GUNICORN_DATES = "%Y-%m-%d %H:%M:%S %z"
# (format, datefmt, shows logger, shows a time)
FORMATS = [
    ("%(asctime)s %(levelname)s %(name)s %(message)s", None, True, True),
    ("%(asctime)s - %(name)s - %(levelname)s - %(message)s", None, True, True),
    ("%(levelname)s:%(name)s:%(message)s", None, True, False),
    ("%(asctime)s [%(levelname)s] %(name)s: %(message)s", None, True, True),
    ("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s", GUNICORN_DATES, False, True),
    ("[%(asctime)s: %(levelname)s/%(processName)s] %(message)s", None, False, True),
    ("%(asctime)s | %(levelname)-8s | %(name)s - %(message)s", None, True, True),
    ("%(asctime)s %(process)d %(levelname)s %(name)s %(message)s", None, True, True),
]


class TestHeaders:
    @pytest.mark.parametrize(("fmt", "datefmt", "has_logger", "has_time"), FORMATS)
    @pytest.mark.parametrize(
        ("level", "name"), [(logging.ERROR, "ERROR"), (logging.WARNING, "WARNING")]
    )
    def test_common_formats_are_read(
        self,
        fmt: str,
        datefmt: str | None,
        has_logger: bool,
        has_time: bool,
        level: int,
        name: str,
    ) -> None:
        """Level, logger, message and time come out of the usual logging formats."""
        line = format_record(fmt, datefmt, level, "app.db", "query failed: timeout")
        header = HeaderParser().parse(line)
        assert header is not None, line
        assert header.level == name
        assert header.logger == ("app.db" if has_logger else None)
        assert header.message == "query failed: timeout"
        if has_time:
            assert header.timestamp is not None
            assert header.timestamp.replace(microsecond=0) == CREATED.replace(microsecond=0)

    @pytest.mark.parametrize(
        "fmt",
        [
            "[%(asctime)s] %(levelname)s in %(module)s: %(message)s",  # Flask's default
            "%(asctime)s %(levelname)s in %(module)s: %(message)s",
        ],
    )
    def test_flask_names_the_module_where_a_logger_would_be(self, fmt: str) -> None:
        """"ERROR in views: ..." is not logger "in" with message "views: ..."."""
        line = format_record(fmt, None, logging.ERROR, "app.db", "query failed: timeout")
        assert " in test_multiline_headers: " in line
        header = HeaderParser().parse(line)
        assert header is not None
        assert (header.level, header.logger, header.message) == (
            "ERROR", "test_multiline_headers", "query failed: timeout"
        )
        assert header.timestamp is not None
        assert header.timestamp.replace(microsecond=0) == CREATED.replace(microsecond=0)

    @pytest.mark.parametrize(
        ("line", "level"),
        [
            ("2026-01-02 03:04:05,678 WARN app.db slow", "WARNING"),
            ("2026-01-02 03:04:05,678 FATAL app.db gone", "CRITICAL"),
            ("2026-01-02 03:04:05 [error    ] query failed  key=1", "ERROR"),
            ("ERROR:    Exception in ASGI application", "ERROR"),
        ],
    )
    def test_level_names_are_normalised(self, line: str, level: str) -> None:
        """WARN, FATAL and lower-case bracketed levels map to the logging names."""
        header = HeaderParser().parse(line)
        assert header is not None
        assert header.level == level

    def test_warnings_lines_are_headers(self) -> None:
        """warnings.formatwarning output starts a WARNING record."""
        import warnings

        line = warnings.formatwarning("old() is deprecated", DeprecationWarning, "/srv/app.py", 4)
        header = HeaderParser().parse(line.split("\n")[0])
        assert header is not None
        assert header.level == "WARNING"

    @pytest.mark.parametrize(
        "line",
        [
            "Traceback (most recent call last):",
            "ValueError: invalid literal for int() with base 10: 'x'",
            "KeyboardInterrupt",
            "42 rows rejected",
            "    return int(text)",
        ],
    )
    def test_traceback_lines_are_not_headers(self, line: str) -> None:
        """Nothing a traceback prints reads as a record header."""
        assert HeaderParser().parse(line) is None

    def test_naive_times_are_taken_as_utc(self) -> None:
        """A header time without a zone is UTC, not the host's zone."""
        stamp = UTC_TIMES.parse("2026-01-02 03:04:05,678")
        assert stamp == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
        assert UTC_TIMES.parse("2026-01-02T03:04:05.678+02:00") == CREATED.replace(hour=1)
        assert UTC_TIMES.parse("not a time") is None


class TestEnvelopes:
    def test_docker_json_file(self) -> None:
        """A Docker json-file record gives its log line, stream and time."""
        doc = {"log": '  File "/srv/app/main.py", line 5\n', "stream": "stderr", "time": "t"}
        wrapped = unwrap(json.dumps(doc))
        assert wrapped is not None
        assert (wrapped.text, wrapped.stream, wrapped.partial) == (doc["log"][:-1], "stderr", False)
        split = unwrap(json.dumps({**doc, "log": "x" * 10}))
        assert split is not None
        assert split.partial

    def test_application_json_is_not_an_envelope(self) -> None:
        """An application's JSON record with a "log" key but no stream/time stays a record."""
        assert unwrap(json.dumps({"log": "x", "level": "info"})) is None

    def test_cri(self) -> None:
        """CRI lines give their text and stream; "P" marks a piece of a longer line."""
        wrapped = unwrap("2026-01-02T03:04:05.678901234Z stdout P Traceback (most")
        assert wrapped is not None
        assert (wrapped.text, wrapped.stream) == ("Traceback (most", "stdout")
        assert wrapped.partial
        assert wrapped.timestamp == CREATED.replace(microsecond=678901)

    def test_syslog(self) -> None:
        """A syslog prefix is stripped, keeping the indentation of what follows."""
        wrapped = unwrap('May  1 12:00:00 web01 app[4242]:   File "/srv/app/main.py", line 5')
        assert wrapped is not None
        assert wrapped.text == '  File "/srv/app/main.py", line 5'
        assert wrapped.stream == "app[4242]"

    def test_iso_syslog_needs_a_pid(self) -> None:
        """An ISO-timestamped application header is not mistaken for syslog."""
        assert unwrap("2026-01-02T03:04:05Z INFO app.db: connected") is None
        assert unwrap("2026-01-02T03:04:05Z web01 app[7]: connected") is not None

    def test_apache_mod_wsgi(self) -> None:
        """mod_wsgi's error log prefix and referer suffix are stripped."""
        line = (
            "[Wed May 01 12:00:00.123456 2024] [wsgi:error] [pid 8] [client 10.0.0.1:4242]"
            " Traceback (most recent call last):, referer: https://example.com/"
        )
        wrapped = unwrap(line)
        assert wrapped is not None
        assert wrapped.text == "Traceback (most recent call last):"
        assert wrapped.stream == "pid 8"

    def test_plain_lines_have_no_envelope(self) -> None:
        """Ordinary log lines are left alone."""
        line = format_record(*FORMATS[0][:2], logging.INFO, "app", "hello")
        assert unwrap(line) is None
        assert unwrap(sys.version) is None


# Times as they stand at the start of lines, mostly near logging's asctime, valid or not.
_STAMPS = st.tuples(
    st.sampled_from(["2026-01-02", "2026-02-30", "2026-13-01", "\u0662\u0660\u0662\u0666-01-02",
                     "202-01-02", "2026/01/02"]),
    st.sampled_from([" ", "T", "  ", ""]),
    st.sampled_from(["03:04:05", "23:59:60", "24:00:00", "3:04:05", "03:04"]),
    st.sampled_from([",", ".", "", " "]),
    st.sampled_from(["678", "6789", "67", "\u0666\u0667\u0668", ""]),
    st.sampled_from([" ", "", "Z", " Z", "+0100", " +0000", " -01:00", " +", "x", ":"]),
    st.sampled_from(["", "ERROR app", "Z", "+", "-", "1"]),
).map("".join)
_TAIL_PIECES = st.sampled_from(
    [" ", "  ", "\t", "ERROR", "error", "WARN", "INFO", "app.db", "App", "[ERROR]", "[error    ]",
     "-", "|", ":", "--", "app:", "ERROR/MainProcess]", "[app]", "query", "failed", "caf\u00e9"]
)


class TestCachedReading:
    """What the fast paths and caches read is what the general path reads."""

    @settings(max_examples=500, deadline=None)
    @given(_STAMPS)
    @example("2026-01-02 03:04:05,678 Z")
    @example("2026-01-02 03:04:05.678 +0100 x")
    @example("2026-01-02T03:04:05,678 -01:00")
    @example("2026-01-02 03:04:05,678 ")
    @example("2026-02-30 03:04:05,678 x")
    @example("2026-01-02 03:04:05,\u0666\u0667\u0668 x")
    @example("2026-01-02 03:04:05,67 x")
    @example("2026-01-02 03:04:05,6789 x")
    def test_asctime_gives_what_the_regexes_give(self, text: str) -> None:
        fast = UTC_TIMES.leading(text)
        original = timestamps._ASCTIME
        try:
            timestamps._ASCTIME = re.compile("(?!)")  # matches nothing: the regexes read all
            assert UTC_TIMES.leading(text) == fast
        finally:
            timestamps._ASCTIME = original

    @settings(max_examples=500, deadline=None)
    @given(
        st.sampled_from(["2026-01-02 03:04:05,678", "[2026-01-02 03:04:05]", "01/May/2024 12:00"]),
        st.lists(_TAIL_PIECES, max_size=8).map("".join),
    )
    def test_a_header_read_from_the_tail_cache_is_read_in_full(
        self, stamp: str, tail: str
    ) -> None:
        text = stamp + tail
        cached = [HeaderParser().parse(text) for _ in range(2)]  # the second comes from the cache
        kept = headers._TAIL_KEPT
        try:
            headers._TAIL_KEPT = -1
            assert cached == [HeaderParser().parse(text)] * 2
        finally:
            headers._TAIL_KEPT = kept
