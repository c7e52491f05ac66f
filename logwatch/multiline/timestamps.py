"""Timestamps at the start of log lines -> UTC-aware datetimes.

Log files carry many timestamp shapes; these are the ones Python programs and
the usual wrappers write. A time without a zone is taken as UTC: guessing the
host's zone would make the same file parse differently on another machine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# ISO 8601 and logging's asctime ("2026-01-01 12:00:00,123"), optionally
# followed by a zone with or without a space (gunicorn writes " +0000").
_ISO = re.compile(
    r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?"
    r"(?:\s?(Z|[+-]\d\d:?\d\d)(?![\d:]))?"
)
# Apache/nginx/Django: "01/May/2024:12:00:00 +0000", "01/May/2024 12:00:00".
_CLF = re.compile(r"(\d\d)/([A-Z][a-z]{2})/(\d{4})[: ](\d\d:\d\d:\d\d)(?: ([+-]\d{4}))?")
# Apache error log: "Wed May 01 12:00:00.123456 2024".
_CTIME = re.compile(
    r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.(\d+))? (\d{4})"
)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


def leading_timestamp(text: str, pos: int = 0) -> tuple[datetime | None, int] | None:
    """Match a timestamp at ``pos``: (the time if it is a valid date, end), or None."""
    fast = _asctime(text, pos)
    if fast is not None:
        return fast, pos + 23
    match = _ISO.match(text, pos)
    if match is not None:
        return _from_iso(*match.groups()), match.end()
    match = _CLF.match(text, pos)
    if match is not None:
        day, month, year, clock, zone = match.groups()
        return _from_parts(year, month, day, clock, None, zone), match.end()
    match = _CTIME.match(text, pos)
    if match is not None:
        month, day, clock, fraction, year = match.groups()
        return _from_parts(year, month, day, clock, fraction, None), match.end()
    return None


# logging's asctime with nothing that makes it a zone after it: the shape whose
# time ``_ISO`` would give too, matched by one C call.
_ASCTIME = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)[.,](\d{3}) (?![Z+-])", re.ASCII)
# "YYYY-MM-DD HH:MM:SS" -> that second: a log's lines share their second with the lines around
_SECONDS: dict[str, datetime] = {}
_SECONDS_KEPT = 256
# adding one to the second is cheaper than building a datetime from its fields
_MILLIS = tuple(timedelta(milliseconds=n) for n in range(1000))


def _asctime(text: str, pos: int) -> datetime | None:
    """logging's "YYYY-MM-DD HH:MM:SS,mmm " without the general regex, or None to take it.

    Only the shape ``_ISO`` gives the same answer for: ASCII digits, a space
    after the milliseconds and no zone behind it, a valid date and time.
    """
    match = _ASCTIME.match(text, pos)
    if match is None:
        return None
    second, millis = match.groups()
    moment = _SECONDS.get(second)
    if moment is None:
        try:
            moment = datetime(
                int(second[:4]),
                int(second[5:7]),
                int(second[8:10]),
                int(second[11:13]),
                int(second[14:16]),
                int(second[17:19]),
                tzinfo=UTC,
            )
        except ValueError:
            return None  # let the regex path decide what an invalid date gives
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        _SECONDS[second] = moment
    return moment + _MILLIS[int(millis)]


def parse_timestamp(text: str) -> datetime | None:
    """Parse a whole timestamp string (JSON fields, user header groups)."""
    text = text.strip()
    found = leading_timestamp(text)
    if found is not None and found[1] == len(text):
        return found[0]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _from_iso(date: str, clock: str, fraction: str | None, zone: str | None) -> datetime | None:
    iso = f"{date}T{clock}"
    if fraction:
        iso += "." + fraction[:6].ljust(6, "0")
    if zone and zone != "Z":
        iso += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _from_parts(
    year: str, month: str, day: str, clock: str, fraction: str | None, zone: str | None
) -> datetime | None:
    number = _MONTHS.get(month)
    if number is None:
        return None
    return _from_iso(f"{year}-{number:02d}-{int(day):02d}", clock, fraction, zone)
