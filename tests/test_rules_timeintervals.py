"""Time intervals: quiet hours and maintenance windows on the operator's wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from logwatch.model import Alert, AlertStatus, Severity
from logwatch.rules import AnySilencer, MuteTimes, SilenceSet, TimeInterval

NIGHTS: dict[str, Any] = {
    "times": [{"start": "22:00", "end": "24:00"}, {"start": "00:00", "end": "07:00"}]
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "now", "expected"),
    [
        pytest.param(NIGHTS, "2026-01-05 23:30", True, id="late evening"),
        pytest.param(NIGHTS, "2026-01-05 06:59", True, id="early morning"),
        pytest.param(NIGHTS, "2026-01-05 07:00", False, id="end is exclusive"),
        pytest.param(NIGHTS, "2026-01-05 22:00", True, id="start is inclusive"),
        pytest.param({"weekdays": ["monday:friday"]}, "2026-01-09 12:00", True, id="friday"),
        pytest.param({"weekdays": ["monday:friday"]}, "2026-01-10 12:00", False, id="saturday"),
        pytest.param({"weekdays": ["Saturday", "sunday"]}, "2026-01-11 12:00", True, id="names"),
        pytest.param({"days_of_month": ["-1"]}, "2026-02-28 12:00", True, id="last of feb"),
        pytest.param({"days_of_month": ["-1"]}, "2028-02-28 12:00", False, id="leap year"),
        pytest.param({"days_of_month": ["1:7"]}, "2026-03-07 12:00", True, id="first week"),
        pytest.param({"months": ["december"]}, "2026-12-24 12:00", True, id="month name"),
        pytest.param({"months": ["1:3"]}, "2026-04-01 00:00", False, id="month range"),
        pytest.param({"years": ["2026"]}, "2027-01-01 00:00", False, id="year"),
        pytest.param(
            {"weekdays": ["monday:friday"], "times": [{"start": "09:00", "end": "17:00"}]},
            "2026-01-10 10:00",
            False,
            id="every field must hold",
        ),
        pytest.param(
            {**NIGHTS, "location": "Asia/Shanghai"}, "2026-01-05 15:00", True, id="tz: 23:00 local"
        ),
        pytest.param(
            {**NIGHTS, "location": "Asia/Shanghai"}, "2026-01-05 23:30", False, id="tz: 07:30"
        ),
        pytest.param({}, "2026-01-05 12:00", True, id="empty holds always"),
        pytest.param({"days_of_month": ["25:-1"]}, "2026-02-27 12:00", True, id="25th to last"),
    ],
)
def test_contains(spec: dict[str, Any], now: str, expected: bool) -> None:
    assert TimeInterval.parse(**spec).contains(utc(now)) is expected


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"times": [{"start": "22:00", "end": "06:00"}]}, "split a range over midnight"),
        ({"times": [{"start": "25:00", "end": "26:00"}]}, "bad time '25:00'"),
        ({"times": [{"start": "9", "end": "10:00"}]}, "use HH:MM"),
        ({"weekdays": ["funday"]}, "bad weekday 'funday'"),
        ({"days_of_month": ["0"]}, "day of month 0 is outside"),
        ({"months": ["13"]}, "month 13 is outside"),
        ({"location": "Mars/Olympus"}, "unknown time zone"),
        # Alertmanager refuses these too: as written they would never hold.
        ({"weekdays": ["friday:monday"]}, "weekday range 'friday:monday' ends before"),
        ({"months": ["december:january"]}, "month range 'december:january' ends before"),
        ({"days_of_month": ["20:10"]}, "day of month range '20:10' ends before"),
        ({"days_of_month": ["-1:-7"]}, "ends before it starts"),
        ({"years": ["2027:2026"]}, "ends before it starts"),
    ],
)
def test_bad_intervals_are_refused_with_a_remedy(spec: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        TimeInterval.parse(**spec)


def alert(rule: str) -> Alert:
    moment = utc("2026-01-05 12:00")
    return Alert(
        id="a", status=AlertStatus.FIRING, rule=rule, severity=Severity.ERROR, title="t",
        host="h", source="s", file="f", first_line=1, last_line=1, exc_type=None,
        exc_message=None, fingerprint=None, count=1, first_seen=moment, last_seen=moment,
        labels={}, text="",
    )


class TestMuteTimes:
    nights = TimeInterval.parse(times=NIGHTS["times"])

    def test_mute_during_mutes_only_that_rule_only_then(self) -> None:
        mute = MuteTimes({"chatty": [self.nights]})
        assert mute.silenced(alert("chatty"), utc("2026-01-05 23:00"))
        assert not mute.silenced(alert("chatty"), utc("2026-01-05 12:00"))
        assert not mute.silenced(alert("db-down"), utc("2026-01-05 23:00"))

    def test_active_during_mutes_outside_the_interval(self) -> None:
        office = TimeInterval.parse(weekdays=["monday:friday"])
        mute = MuteTimes({}, active_during={"office-only": [office]})
        assert not mute.silenced(alert("office-only"), utc("2026-01-05 12:00"))
        assert mute.silenced(alert("office-only"), utc("2026-01-10 12:00"))

    def test_any_silencer_combines(self) -> None:
        combined = AnySilencer(SilenceSet(), MuteTimes({"chatty": [self.nights]}))
        assert combined.silenced(alert("chatty"), utc("2026-01-05 23:00"))
        assert not combined.silenced(alert("chatty"), utc("2026-01-05 12:00"))
