"""Rules stage, muting by the calendar: Alertmanager-style time intervals.

An interval holds when every field it sets holds (times of day, weekdays,
days of the month, months, years), read on the wall clock of its
``location``. A named interval is a list of them and holds when any does. A
rule muted during an interval (quiet hours, a maintenance window) sends
nothing while it holds; one active only during an interval, nothing outside.

The parsers take the strings operators write (``"22:00"``,
``"monday:friday"``, ``"-1"`` for the last day of the month) and raise
``ValueError`` with a remedy, so the config package can call them from its
validators.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logwatch.model import Alert

_WEEKDAYS = {name.lower(): index for index, name in enumerate(calendar.day_name)}
_MONTHS = {name.lower(): index for index, name in enumerate(calendar.month_name) if name}

_Range = tuple[int, int]  # inclusive at both ends


def _clock_minutes(text: str) -> int:
    hours, sep, minutes = text.strip().partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
        total = int(hours) * 60 + int(minutes)
        if int(minutes) < 60 and total <= 24 * 60:
            return total
    raise ValueError(f"bad time {text!r}; use HH:MM from 00:00 to 24:00")


def _ranges(
    items: Iterable[str], parse_one: Mapping[str, int] | None, what: str, bounds: _Range
) -> tuple[_Range, ...]:
    """Parse ``a`` or ``a:b`` items; names through ``parse_one``, else integers."""

    def value(text: str) -> int:
        text = text.strip().lower()
        if parse_one is not None and text in parse_one:
            return parse_one[text]
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"bad {what} {text!r}") from None
        low, high = bounds
        if not (low <= number <= high) or (number == 0 and what == "day of month"):
            raise ValueError(f"{what} {number} is outside {low}..{high}")
        return number

    ranges = []
    for item in items:
        first, sep, last = item.partition(":")
        start = value(first)
        end = value(last) if sep else start
        # Mixed signs (days "25:-1") are resolved per month; an inverted range
        # of one sign would never hold, so quiet hours would never start.
        if (start < 0) == (end < 0) and start > end:
            raise ValueError(
                f"{what} range {item.strip()!r} ends before it starts; "
                "split a range over the end of the week, month or year in two"
            )
        ranges.append((start, end))
    return tuple(ranges)


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """One interval; a field left empty does not restrict."""

    times: tuple[_Range, ...] = ()  # minutes of the day, [start, end)
    weekdays: tuple[_Range, ...] = ()  # 0 = Monday
    days_of_month: tuple[_Range, ...] = ()  # negative counts from the month's end
    months: tuple[_Range, ...] = ()  # 1 = January
    years: tuple[_Range, ...] = ()
    location: tzinfo = UTC

    @classmethod
    def parse(
        cls,
        *,
        times: Sequence[Mapping[str, str]] = (),
        weekdays: Sequence[str] = (),
        days_of_month: Sequence[str] = (),
        months: Sequence[str] = (),
        years: Sequence[str] = (),
        location: str = "UTC",
    ) -> TimeInterval:
        """Build from config strings: ``times: [{start: "22:00", end: "24:00"}]`` etc."""
        spans = []
        for span in times:
            start, end = _clock_minutes(span["start"]), _clock_minutes(span["end"])
            if end <= start:
                raise ValueError(
                    f"time range {span['start']}-{span['end']} ends before it starts; "
                    "split a range over midnight in two: 22:00-24:00 and 00:00-06:00"
                )
            spans.append((start, end))
        try:
            zone: tzinfo = UTC if location.upper() == "UTC" else ZoneInfo(location)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {location!r}; use an IANA name") from None
        return cls(
            times=tuple(spans),
            weekdays=_ranges(weekdays, _WEEKDAYS, "weekday", (0, 6)),
            days_of_month=_ranges(days_of_month, None, "day of month", (-31, 31)),
            months=_ranges(months, _MONTHS, "month", (1, 12)),
            years=_ranges(years, None, "year", (1, 9999)),
            location=zone,
        )

    def contains(self, now: datetime) -> bool:
        local = now.astimezone(self.location)
        minute = local.hour * 60 + local.minute
        if self.times and not any(start <= minute < end for start, end in self.times):
            return False
        weekday = local.weekday()
        if self.weekdays and not any(a <= weekday <= b for a, b in self.weekdays):
            return False
        if self.days_of_month and not self._day_matches(local):
            return False
        if self.months and not any(a <= local.month <= b for a, b in self.months):
            return False
        return not self.years or any(a <= local.year <= b for a, b in self.years)

    def _day_matches(self, local: datetime) -> bool:
        length = calendar.monthrange(local.year, local.month)[1]

        def absolute(day: int) -> int:
            return length + 1 + day if day < 0 else day

        return any(
            absolute(start) <= local.day <= absolute(end) for start, end in self.days_of_month
        )


def holds(intervals: Iterable[TimeInterval], now: datetime) -> bool:
    """Whether a named interval (a list of intervals) holds at ``now``."""
    return any(interval.contains(now) for interval in intervals)


class MuteTimes:
    """A Silencer from each rule's `mute_during` and `active_during` intervals."""

    def __init__(
        self,
        mute_during: Mapping[str, Sequence[TimeInterval]],
        active_during: Mapping[str, Sequence[TimeInterval]] | None = None,
    ) -> None:
        self._mute = {rule: tuple(spans) for rule, spans in mute_during.items() if spans}
        self._active = {
            rule: tuple(spans) for rule, spans in (active_during or {}).items() if spans
        }

    @property
    def idle(self) -> bool:
        """Whether it never mutes: no rule has intervals."""
        return not self._mute and not self._active

    def silenced(self, alert: Alert, now: datetime) -> bool:
        muting = self._mute.get(alert.rule)
        if muting and holds(muting, now):
            return True
        active = self._active.get(alert.rule)
        return bool(active) and not holds(active or (), now)
