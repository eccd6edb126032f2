"""Working-time calendar: every expected value below was counted by hand on the 2024 calendar
(春节 02-10..02-17 with Sundays 02-04 and 02-18 worked; 国庆 10-01..10-07 with Sunday 09-29 and
Saturday 10-12 worked; working periods 08:30–12:00 and 13:30–17:30)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from citybrain.cases import worktime
from citybrain.cases.timelimits import TimeLimit, TimeUnit, limit_for
from citybrain.cases.worktime import TimerState, WorkCalendar
from citybrain.errors import Invalid

SH = ZoneInfo("Asia/Shanghai")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # lunch break: 11:00–12:00 is 1 h, 13:30–14:30 the second
        (at(2024, 3, 5, 11, 0), 2, at(2024, 3, 5, 14, 30)),
        # a night: 16:30–17:30, then 08:30–09:30 next morning
        (at(2024, 3, 5, 16, 30), 2, at(2024, 3, 6, 9, 30)),
        # a weekend: Friday 16:30 → Monday 09:30
        (at(2024, 3, 8, 16, 30), 2, at(2024, 3, 11, 9, 30)),
        # 春节: Friday 02-09 16:30, holiday 02-10..02-17, adjusted working Sunday 02-18
        (at(2024, 2, 9, 16, 30), 2, at(2024, 2, 18, 9, 30)),
        # adjusted working Sunday 02-04 follows Saturday 02-03
        (at(2024, 2, 3, 10, 0), 1, at(2024, 2, 4, 9, 30)),
        # 国庆: Friday 09-27 17:00 → adjusted working Sunday 09-29
        (at(2024, 9, 27, 17, 0), 1, at(2024, 9, 29, 9, 0)),
        # ending exactly at the end of the morning is 12:00, not 13:30
        (at(2024, 3, 5, 10, 0), 2, at(2024, 3, 5, 12, 0)),
        # a start in the lunch break waits for 13:30
        (at(2024, 3, 5, 12, 30), 1, at(2024, 3, 5, 14, 30)),
        # a whole working day is 7.5 h
        (at(2024, 3, 5, 8, 30), 7.5, at(2024, 3, 5, 17, 30)),
    ],
)
def test_add_working_hours(start: datetime, hours: float, expected: datetime) -> None:
    assert worktime.add_working_hours(start, hours) == expected


def test_result_is_in_shanghai_time_even_for_a_utc_start() -> None:
    start = datetime(2024, 3, 5, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    result = worktime.add_working_hours(start, 2)
    assert result == at(2024, 3, 5, 14, 30)
    assert result.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # same clock time on the next working day
        (at(2024, 3, 11, 9, 0), 1, at(2024, 3, 12, 9, 0)),
        # start of the working day → end of that day
        (at(2024, 3, 11, 8, 30), 1, at(2024, 3, 11, 17, 30)),
        (at(2024, 3, 11, 7, 0), 1, at(2024, 3, 11, 17, 30)),
        # reported on Saturday → end of Monday
        (at(2024, 3, 9, 10, 0), 1, at(2024, 3, 11, 17, 30)),
        # in the lunch break → 12:00 next working day
        (at(2024, 3, 11, 12, 45), 1, at(2024, 3, 12, 12, 0)),
        # Friday before 春节 → the adjusted working Sunday 02-18
        (at(2024, 2, 9, 10, 0), 1, at(2024, 2, 18, 10, 0)),
        # 违法搭建 15 working days across 国庆 (09-29 Sunday and 10-12 Saturday worked)
        (at(2024, 9, 20, 10, 0), 15, at(2024, 10, 16, 10, 0)),
        # half a working day = 3.75 h: 15:00–17:30 then 08:30–09:45
        (at(2024, 3, 8, 15, 0), 0.5, at(2024, 3, 11, 9, 45)),
    ],
)
def test_add_working_days(start: datetime, days: float, expected: datetime) -> None:
    assert worktime.add_working_days(start, days) == expected


def test_calendar_minutes_run_through_holidays() -> None:
    assert worktime.add_calendar_minutes(at(2024, 2, 10, 23, 55), 10) == at(2024, 2, 11, 0, 5)


def test_working_time_between_counts_only_working_periods() -> None:
    # Thu 02-08 16:30–17:30 (1 h) + Fri 02-09 (7.5 h) + Sun 02-18 08:30–09:30 (1 h)
    assert worktime.working_time_between(at(2024, 2, 8, 16, 30), at(2024, 2, 18, 9, 30)) == 9.5 * 3600
    assert worktime.working_time_between(at(2024, 2, 18, 9, 30), at(2024, 2, 8, 16, 30)) == -9.5 * 3600
    assert worktime.working_time_between(at(2024, 3, 5, 12, 0), at(2024, 3, 5, 13, 30)) == 0


def test_deadline_from_the_time_limit_table() -> None:
    # 道路不洁 4 working hours dispatched Friday 15:00: 2.5 h Friday, 1.5 h Monday
    limit = limit_for("event", "06012", "A", "normal", "dispose")
    assert worktime.deadline(at(2024, 3, 8, 15, 0), limit) == at(2024, 3, 11, 10, 0)
    # urgent 立案+派遣 runs on the calendar clock, at night too
    urgent = limit_for("event", "06012", "A", "urgent", "dispatch")
    assert worktime.deadline(at(2024, 3, 9, 23, 55), urgent) == at(2024, 3, 10, 0, 5)


def test_remaining_and_overdue_state() -> None:
    start, due = at(2024, 3, 8, 15, 0), at(2024, 3, 11, 10, 0)
    assert worktime.remaining(at(2024, 3, 8, 17, 0), due) == timedelta(hours=2)
    assert worktime.remaining(at(2024, 3, 8, 17, 0), due, working=False) == timedelta(hours=65)
    assert worktime.remaining(at(2024, 3, 11, 11, 0), due) == timedelta(hours=-1)
    assert worktime.overdue_state(at(2024, 3, 8, 17, 0), due, start=start) is TimerState.ON_TIME
    # 0.5 h of 4 h left ≤ 20 % → warning
    assert worktime.overdue_state(at(2024, 3, 11, 9, 30), due, start=start) is TimerState.DUE_SOON
    # finishing exactly at the deadline is on time, not overdue
    assert worktime.overdue_state(due, due) is TimerState.ON_TIME
    assert worktime.overdue_state(due, due, start=start) is TimerState.DUE_SOON
    assert worktime.overdue_state(due + timedelta(minutes=1), due) is TimerState.OVERDUE


def test_year_without_holiday_data_falls_back_to_weekdays(caplog: pytest.LogCaptureFixture) -> None:
    worktime._statutory_workday.cache_clear()
    worktime._warned_years.discard(2031)
    with caplog.at_level(logging.WARNING, logger="citybrain.cases.worktime"):
        # Friday 2031-01-03 → Monday 2031-01-06
        assert worktime.add_working_days(at(2031, 1, 3, 10, 0), 1) == at(2031, 1, 6, 10, 0)
    assert any("2031" in r.getMessage() for r in caplog.records)


def test_naive_and_negative_inputs_are_refused() -> None:
    with pytest.raises(Invalid, match="时区"):
        worktime.add_working_hours(datetime(2024, 3, 5, 9, 0), 1)
    with pytest.raises(Invalid):
        worktime.add_working_days(at(2024, 3, 5, 9, 0), -1)


def test_custom_hours_and_local_holiday() -> None:
    calendar = WorkCalendar(
        periods=[(time(9, 0), time(17, 0))],
        extra_holidays=[date(2024, 3, 6)],
        extra_workdays=[date(2024, 3, 9)],
    )
    # Tue 16:00 + 2 h: 1 h Tuesday, Wednesday off locally, 1 h Thursday
    assert calendar.add_working_hours(at(2024, 3, 5, 16, 0), 2) == at(2024, 3, 7, 10, 0)
    # Friday 16:00 + 2 h: the locally worked Saturday counts
    assert calendar.add_working_hours(at(2024, 3, 8, 16, 0), 2) == at(2024, 3, 9, 10, 0)
    with pytest.raises(Invalid):
        WorkCalendar(periods=[(time(13, 0), time(12, 0))])


def test_time_limit_units_are_validated() -> None:
    assert str(TimeLimit(15, TimeUnit.WORKING_DAYS)) == "15 个工作日"
    with pytest.raises(Invalid):
        TimeLimit(1, "fortnights")  # type: ignore[arg-type]
