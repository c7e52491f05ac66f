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


# "YYYY-MM-DD HH:MM:SS" -> its fields: a log's lines share their second with the lines around
_SECONDS: dict[str, tuple[int, int, int, int, int, int]] = {}
_SECONDS_KEPT = 256


def _asctime(text: str, pos: int) -> datetime | None:
    """logging's "YYYY-MM-DD HH:MM:SS,mmm " without a regex, or None to take the slow path.

    Only the shape ``_ISO`` gives the same answer for: ASCII digits, a space
    after the milliseconds and no zone behind it, a valid date and time.
    """
    if text[pos + 23 : pos + 24] != " " or text[pos + 24 : pos + 25] in ("Z", "+", "-"):
        return None
    stamp = text[pos : pos + 23]
    if (
        stamp[4] != "-"
        or stamp[7] != "-"
        or stamp[10] not in "T "
        or stamp[13] != ":"
        or stamp[16] != ":"
        or stamp[19] not in ".,"
    ):
        return None
    millis = stamp[20:]
    if not (millis.isdigit() and millis.isascii()):
        return None
    second = stamp[:19]
    fields = _SECONDS.get(second)
    if fields is None:
        digits = stamp[:4] + stamp[5:7] + stamp[8:10] + stamp[11:13] + stamp[14:16] + stamp[17:19]
        if not (digits.isdigit() and digits.isascii()):
            return None
        fields = (
            int(digits[:4]),
            int(digits[4:6]),
            int(digits[6:8]),
            int(digits[8:10]),
            int(digits[10:12]),
            int(digits[12:14]),
        )
        try:
            datetime(*fields, tzinfo=UTC)  # validates the date and time
        except ValueError:
            return None  # let the regex path decide what an invalid date gives
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        _SECONDS[second] = fields
    year, month, day, hour, minute, sec = fields
    return datetime(year, month, day, hour, minute, sec, int(millis) * 1000, UTC)


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
