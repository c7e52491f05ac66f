"""Timestamps at the start of log lines -> UTC-aware datetimes.

Log files carry many timestamp shapes; these are the ones Python programs and
the usual wrappers write. A time without a zone is read in the zone its
source names (``sources[].timezone``), UTC unless it names one: guessing the
host's zone would make the same file parse differently on another machine.
A wall-clock time that a change to or from summer time repeats (autumn) or
skips (spring) is read as ``fold=0`` reads it: the first of the two moments,
or with the offset in force before the change.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCAL = "local"  # the ``timezone`` that names the machine's own zone

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
# logging's asctime with nothing that makes it a zone after it: the shape whose
# time ``_ISO`` would give too.
_ASCTIME = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)[.,](\d{3}) (?![Z+-])", re.ASCII)
_SECONDS_KEPT = 256
# adding one to the second is cheaper than building a datetime from its fields
_MILLIS = tuple(timedelta(milliseconds=n) for n in range(1000))

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


class TimeReader:
    """Reads timestamps; one written without a zone is a wall-clock time in ``zone``.

    ``zone`` None: the machine's, as the C library reads it (``TZ``,
    /etc/localtime), which is the zone ``logging``'s default ``asctime`` writes.
    """

    __slots__ = ("_seconds", "zone")

    def __init__(self, zone: tzinfo | None = UTC) -> None:
        self.zone = zone
        # "YYYY-MM-DD HH:MM:SS" -> that second: a log's lines share their second
        # with the lines around
        self._seconds: dict[str, datetime] = {}

    def leading(self, text: str, pos: int = 0) -> tuple[datetime | None, int] | None:
        """Match a timestamp at ``pos``: (the time if it is a valid date, end), or None."""
        # logging's asctime first, without the general regex: one C call and a
        # look-up (no method call: this runs for every record header)
        match = _ASCTIME.match(text, pos)
        if match is not None:
            second, millis = match.groups()
            moment = self._seconds.get(second) or self._second(second)
            if moment is not None:
                return moment + _MILLIS[int(millis)], pos + 23
        match = _ISO.match(text, pos)
        if match is not None:
            return self._from_iso(*match.groups()), match.end()
        match = _CLF.match(text, pos)
        if match is not None:
            day, month, year, clock, zone = match.groups()
            return self._from_parts(year, month, day, clock, None, zone), match.end()
        match = _CTIME.match(text, pos)
        if match is not None:
            month, day, clock, fraction, year = match.groups()
            return self._from_parts(year, month, day, clock, fraction, None), match.end()
        return None

    def parse(self, text: str) -> datetime | None:
        """Parse a whole timestamp string (JSON fields, user header groups)."""
        text = text.strip()
        found = self.leading(text)
        if found is not None and found[1] == len(text):
            return found[0]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment if moment.tzinfo else self._wall(moment)

    def _second(self, second: str) -> datetime | None:
        """"YYYY-MM-DD HH:MM:SS" of an asctime, cached; None to let ``_ISO`` read it.

        ``_ASCTIME`` matches only the shape ``_ISO`` gives the same answer for:
        ASCII digits, a space after the milliseconds and no zone behind it.
        What is no valid time (a date that does not exist, a time UTC cannot
        hold) is left to the general path, which says what it gives.
        """
        utc = self.zone is UTC
        try:
            wall = datetime(
                int(second[:4]),
                int(second[5:7]),
                int(second[8:10]),
                int(second[11:13]),
                int(second[14:16]),
                int(second[17:19]),
                tzinfo=UTC if utc else None,  # not through _wall: a new second every few lines
            )
        except ValueError:
            return None
        moment = wall if utc else self._wall(wall)
        if moment is not None:
            if len(self._seconds) >= _SECONDS_KEPT:
                self._seconds.clear()
            self._seconds[second] = moment
        return moment

    def _wall(self, wall: datetime) -> datetime | None:
        """The zone-less ``wall`` read in this reader's zone, in UTC; None if UTC cannot hold it."""
        zone = self.zone
        if zone is UTC:
            return wall.replace(tzinfo=UTC)
        try:
            if zone is None:
                # timestamp(), not astimezone(), whose zone for a time in a spring
                # gap is the one after it; whole seconds, which a float holds exactly
                second = datetime.fromtimestamp(wall.replace(microsecond=0).timestamp(), UTC)
                return second.replace(microsecond=wall.microsecond)
            return wall.replace(tzinfo=zone).astimezone(UTC)
        except (OverflowError, OSError, ValueError):
            return None  # January of year 1 east of Greenwich, December 9999 west of it

    def _from_iso(
        self, date: str, clock: str, fraction: str | None, zone: str | None
    ) -> datetime | None:
        iso = f"{date}T{clock}"
        if fraction:
            iso += "." + fraction[:6].ljust(6, "0")
        if zone:
            iso += zone if zone == "Z" or ":" in zone else f"{zone[:3]}:{zone[3:]}"
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            return moment
        # UTC at once, not through _wall: in an ISO log every header comes this way
        return moment.replace(tzinfo=UTC) if self.zone is UTC else self._wall(moment)

    def _from_parts(
        self, year: str, month: str, day: str, clock: str, fraction: str | None, zone: str | None
    ) -> datetime | None:
        number = _MONTHS.get(month)
        if number is None:
            return None
        return self._from_iso(f"{year}-{number:02d}-{int(day):02d}", clock, fraction, zone)


UTC_TIMES = TimeReader(UTC)


def zone_named(name: str) -> tzinfo | None:
    """The zone a ``timezone`` setting names: ``UTC``, an IANA name, or ``local``
    (None: the machine's). Raises ValueError for a name zoneinfo does not know."""
    if name.upper() == "UTC":
        return UTC
    if name.lower() == LOCAL:
        return None
    try:
        return ZoneInfo(name)
    # OSError: a name that is a directory or an unreadable file under the zone tree
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Berlin, UTC, or"
            f" {LOCAL} for this machine's zone"
        ) from None


@functools.cache  # one reader for each zone: its cache of seconds serves every file
def reader_for(name: str) -> TimeReader:
    """The reader for the ``timezone`` setting ``name`` (as ``zone_named`` reads it)."""
    zone = zone_named(name)
    return UTC_TIMES if zone is UTC else TimeReader(zone)
