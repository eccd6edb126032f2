"""工作时间日历 (working-time calendar) for case timers.

Case limits run either on the calendar clock (自然时间, e.g. "立案+派遣 ≤ 30 分钟") or on the working
clock (工作时间: 工作小时 / 工作日). The working clock only runs inside the working periods
(default 08:30–12:00 and 13:30–17:30, Asia/Shanghai) of working days. Working days follow the
State Council's 法定节假日 and 调休 (adjusted working days, e.g. Sunday 2024-02-04 and Sunday
2024-02-18 around the 2024 春节 holiday 02-10..02-17) through the ``chinesecalendar`` package.
For a year that package does not know yet, the calendar falls back to Monday–Friday and logs a
warning, so a timer never crashes on a far date; ``extra_holidays`` / ``extra_workdays`` let a city
add a newly announced arrangement before the package catches up.

Conventions:

- A timer that starts outside working time starts at the next working instant.
- ``add_working_hours``: a result that falls exactly on the end of a working period is that end
  (12:00, not 13:30).
- ``add_working_days``: *n* working days after an instant is the instant with the same working-clock
  reading on the *n*-th next working day ("same clock time"). A start before work or on a rest day
  counts as the end of the previous working day, so a case reported on Saturday with 1 working day
  is due at the end of Monday (17:30), and one reported at 09:00 on Monday is due at 09:00 on
  Tuesday. A start in the lunch break counts as 12:00. Fractions of a day (热线受理 0.5 个工作日)
  add that share of a working day's hours.
- Every result is timezone-aware in the calendar's zone; naive datetimes are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from citybrain.cases.timelimits import TimeLimit, TimeUnit
from citybrain.errors import Invalid

__all__ = [
    "DEFAULT_PERIODS",
    "TimerState",
    "WorkCalendar",
    "add_calendar_minutes",
    "add_working_days",
    "add_working_hours",
    "deadline",
    "default_calendar",
    "overdue_state",
    "remaining",
    "working_time_between",
]

log = logging.getLogger(__name__)

DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
DEFAULT_TZ = "Asia/Shanghai"
#: how far a timer may reach; a limit beyond ten years is a configuration error, not a deadline
_MAX_DAYS = 3660

_warned_years: set[int] = set()


@lru_cache(maxsize=8192)
def _statutory_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "法定节假日数据不含 %s 年，按周一至周五计算工作日 (chinesecalendar has no data for %s)",
                day.year,
                day.year,
            )
        return day.weekday() < 5


class TimerState(StrEnum):
    ON_TIME = "on_time"  # 正常
    DUE_SOON = "due_soon"  # 即将超期 (预警)
    OVERDUE = "overdue"  # 超期

    @property
    def label(self) -> str:
        return {"on_time": "正常", "due_soon": "即将超期", "overdue": "超期"}[self.value]


class WorkCalendar:
    """Working days and working periods in one time zone."""

    def __init__(
        self,
        periods: Sequence[tuple[time, time]] = DEFAULT_PERIODS,
        tz: str | ZoneInfo = DEFAULT_TZ,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        periods = tuple((p[0], p[1]) for p in periods)
        if not periods:
            raise Invalid("工作时段不能为空", details={"field": "periods"})
        for (s1, e1), nxt in zip(periods, (*periods[1:], None), strict=True):
            if not s1 < e1 or (nxt is not None and not e1 <= nxt[0]):
                raise Invalid(f"工作时段无效: {s1}–{e1}（须按时间先后排列且互不重叠）", details={"field": "periods"})
        self.periods = periods
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        if self.extra_holidays & self.extra_workdays:
            raise Invalid("同一日期不能既是节假日又是工作日", details={"field": "extra_holidays"})
        self.day_seconds = sum(
            (datetime.combine(date.min, e) - datetime.combine(date.min, s)).total_seconds() for s, e in periods
        )

    # ---- days and periods ------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        return _statutory_workday(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self._step_working_day(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        return self._step_working_day(day, -1)

    def _step_working_day(self, day: date, step: int) -> date:
        for _ in range(_MAX_DAYS):
            day += timedelta(days=step)
            if self.is_working_day(day):
                return day
        raise Invalid(f"{_MAX_DAYS} 天内没有工作日，请检查日历配置", details={"field": "calendar"})

    def _periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        # arithmetic in UTC so that a zone with summer time would still count real elapsed time
        return [
            (
                datetime.combine(day, s, tzinfo=self.tz).astimezone(UTC),
                datetime.combine(day, e, tzinfo=self.tz).astimezone(UTC),
            )
            for s, e in self.periods
        ]

    def _utc(self, moment: datetime, field: str) -> datetime:
        if not isinstance(moment, datetime):
            raise Invalid(f"{field} 必须是时间 (datetime)", details={"field": field})
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise Invalid(f"{field} 必须带时区 (timezone-aware datetime)", details={"field": field})
        return moment.astimezone(UTC)

    def _local(self, moment_utc: datetime) -> datetime:
        return moment_utc.astimezone(self.tz)

    def _offset_in_day(self, day: date, moment_utc: datetime) -> float:
        """Working seconds of ``day`` elapsed at ``moment_utc`` (0 … day_seconds)."""
        total = 0.0
        for ps, pe in self._periods_on(day):
            if moment_utc > ps:
                total += (min(moment_utc, pe) - ps).total_seconds()
        return total

    def _instant_at(self, day: date, offset: float) -> datetime:
        """Earliest instant of ``day`` whose working-clock reading is ``offset`` (0 < offset ≤ day)."""
        cum = 0.0
        periods = self._periods_on(day)
        for ps, pe in periods:
            length = (pe - ps).total_seconds()
            if offset <= cum + length:
                return ps + timedelta(seconds=offset - cum)
            cum += length
        return periods[-1][1]

    def is_working_time(self, moment: datetime) -> bool:
        utc = self._utc(moment, "moment")
        day = self._local(utc).date()
        return self.is_working_day(day) and any(ps <= utc < pe for ps, pe in self._periods_on(day))

    # ---- clock arithmetic ------------------------------------------------------------------------

    def add_calendar_minutes(self, start: datetime, minutes: float) -> datetime:
        """Calendar (自然) minutes: the clock runs through nights, weekends and holidays."""
        if minutes < 0:
            raise Invalid("分钟数不能为负", details={"field": "minutes"})
        return self._local(self._utc(start, "start") + timedelta(minutes=minutes))

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``hours`` of working time after ``start``; see the module conventions."""
        if hours < 0:
            raise Invalid("工作小时数不能为负", details={"field": "hours"})
        cursor = self._utc(start, "start")
        left = timedelta(hours=hours)
        if not left:
            return self._local(cursor)
        day = self._local(cursor).date()
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                for ps, pe in self._periods_on(day):
                    seg_start = max(ps, cursor)
                    if seg_start >= pe:
                        continue
                    available = pe - seg_start
                    if left <= available:
                        return self._local(seg_start + left)
                    left -= available
            day += timedelta(days=1)
        raise Invalid(f"工作时长超出可计算范围 ({_MAX_DAYS} 天)", details={"field": "hours"})

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """``days`` working days after ``start`` (same working-clock reading on the n-th next working day)."""
        if days < 0:
            raise Invalid("工作日数不能为负", details={"field": "days"})
        if days > _MAX_DAYS:
            raise Invalid(f"工作日数超出可计算范围 ({_MAX_DAYS})", details={"field": "days"})
        utc = self._utc(start, "start")
        whole = int(days)
        fraction = days - whole
        result = self._local(utc)
        if whole:
            day, offset = self._position(utc)
            for _ in range(whole):
                day = self.next_working_day(day)
            result = self._local(self._instant_at(day, offset))
        if fraction:
            result = self.add_working_hours(result, fraction * self.day_seconds / 3600)
        return result

    def _position(self, utc: datetime) -> tuple[date, float]:
        """(working day, working seconds into it) with the reading in (0, day_seconds]."""
        day = self._local(utc).date()
        if self.is_working_day(day):
            offset = self._offset_in_day(day, utc)
            if offset > 0:
                return day, offset
        # before work, or a rest day: the same working instant as the end of the previous working day
        return self.previous_working_day(day), self.day_seconds

    def working_time_between(self, a: datetime, b: datetime) -> float:
        """Working seconds from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        ua, ub = self._utc(a, "a"), self._utc(b, "b")
        if ub < ua:
            return -self.working_time_between(b, a)
        first, last = self._local(ua).date(), self._local(ub).date()
        if (last - first).days > _MAX_DAYS:
            raise Invalid(f"时间跨度超出可计算范围 ({_MAX_DAYS} 天)", details={"field": "b"})
        total = 0.0
        day = first
        while day <= last:
            if self.is_working_day(day):
                for ps, pe in self._periods_on(day):
                    lo, hi = max(ps, ua), min(pe, ub)
                    if hi > lo:
                        total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def deadline(self, start: datetime, limit: TimeLimit) -> datetime:
        """When a timer started at ``start`` with ``limit`` runs out."""
        if limit.unit is TimeUnit.CALENDAR_MINUTES:
            return self.add_calendar_minutes(start, limit.value)
        if limit.unit is TimeUnit.WORKING_HOURS:
            return self.add_working_hours(start, limit.value)
        return self.add_working_days(start, limit.value)

    def remaining(self, now: datetime, deadline: datetime, *, working: bool = True) -> timedelta:
        """Time left until ``deadline``; negative once overdue.

        ``working=True`` measures on the working clock (what a department can still use),
        ``False`` on the calendar clock (for calendar-minute limits).
        """
        if working:
            return timedelta(seconds=self.working_time_between(now, deadline))
        return self._utc(deadline, "deadline") - self._utc(now, "now")

    def overdue_state(
        self,
        now: datetime,
        deadline: datetime,
        *,
        start: datetime | None = None,
        warn_fraction: float = 0.2,
        working: bool = True,
    ) -> TimerState:
        """超期 once ``now`` is past ``deadline`` (finishing exactly at the deadline is on time);
        即将超期 when ``start`` is given and at most ``warn_fraction`` of the allowed time is left."""
        if self._utc(now, "now") > self._utc(deadline, "deadline"):
            return TimerState.OVERDUE
        if start is not None:
            allowed = self.remaining(start, deadline, working=working)
            left = self.remaining(now, deadline, working=working)
            if allowed > timedelta(0) and left <= allowed * warn_fraction:
                return TimerState.DUE_SOON
        return TimerState.ON_TIME


@cache
def default_calendar() -> WorkCalendar:
    """08:30–12:00 and 13:30–17:30, Asia/Shanghai, statutory holidays."""
    return WorkCalendar()


def _cal(calendar: WorkCalendar | None) -> WorkCalendar:
    return calendar if calendar is not None else default_calendar()


def add_working_hours(start: datetime, hours: float, calendar: WorkCalendar | None = None) -> datetime:
    return _cal(calendar).add_working_hours(start, hours)


def add_working_days(start: datetime, days: float, calendar: WorkCalendar | None = None) -> datetime:
    return _cal(calendar).add_working_days(start, days)


def add_calendar_minutes(start: datetime, minutes: float, calendar: WorkCalendar | None = None) -> datetime:
    return _cal(calendar).add_calendar_minutes(start, minutes)


def working_time_between(a: datetime, b: datetime, calendar: WorkCalendar | None = None) -> float:
    return _cal(calendar).working_time_between(a, b)


def deadline(start: datetime, limit: TimeLimit, calendar: WorkCalendar | None = None) -> datetime:
    return _cal(calendar).deadline(start, limit)


def remaining(
    now: datetime, deadline: datetime, *, working: bool = True, calendar: WorkCalendar | None = None
) -> timedelta:
    return _cal(calendar).remaining(now, deadline, working=working)


def overdue_state(
    now: datetime,
    deadline: datetime,
    *,
    start: datetime | None = None,
    warn_fraction: float = 0.2,
    working: bool = True,
    calendar: WorkCalendar | None = None,
) -> TimerState:
    return _cal(calendar).overdue_state(now, deadline, start=start, warn_fraction=warn_fraction, working=working)
