"""Timestamps at the start of log lines -> UTC-aware datetimes.

Log files carry many timestamp shapes; these are the ones Python programs and
the usual wrappers write. A time without a zone is taken as UTC: guessing the
host's zone would make the same file parse differently on another machine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

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
