"""考核 (KPIs): counts, rates and average durations of cases, by any dimension, with 同比 / 环比.

One ``GROUP BY`` query per period does all the work in the database (SQLite or PostgreSQL); Python
only divides the handful of aggregated rows. The cohort of a period is the cases *reported* in it
(``reported_at`` in [start, end)), so every stage count of a row refers to the same cases:

- 结案率 = 结案数 / 应结案数 (应结案 = 立案); 按期结案率 = 按期结案数 / 应结案数;
- 处置率 = 处置数 / 应处置数 (应处置 = 派遣; 处置 counts dispatched cases only, so a 自行处置 case — handled
  on the spot by the grid worker who reported it, never dispatched — does not push it past 100 %);
  按期处置率 = 按期处置数 / 应处置数; 自行处置数 is counted on its own;
- 返工率 = 返工数 / (处置数, counting reworked ones); 准确派遣率 = 准确派遣数 (never returned) / 派遣数;
- 按时立案率 = 按时立案数 / 立案数; 满意率 = 满意 (回访满意, else 评价 满意/基本满意) / 已回访或评价;
- 平均受理时长 (上报 → 受理) and 平均处置时长 (派遣 → 处置完毕), in hours.

同比 compares with the same dates a year earlier, 环比 with the period just before (the previous
calendar month when the period is whole months); both are given as the earlier rates and the change in
percentage points.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, literal, or_, select

from citybrain.actions import Context, action
from citybrain.cases.models import Case, GridArea
from citybrain.errors import Invalid
from citybrain.org.models import Department

Dimension = Literal["city", "district", "street", "community", "grid", "department", "source", "category"]

DIMENSIONS: dict[str, Any] = {
    "city": None,
    "district": Case.district_code,
    "street": Case.street_code,
    "community": Case.community_code,
    "grid": Case.grid_id,
    "department": Case.assignee_dept_id,
    "source": Case.source,
    "category": Case.code,
}
SOURCE_LABELS = {
    "hotline": "12345 热线",
    "patrol": "巡查上报",
    "open311": "市民随手拍",
    "iot": "物联感知",
    "video": "视频识别",
}

#: rate name → (numerator count, denominator count, Chinese label)
RATES: dict[str, tuple[str, str, str]] = {
    "close_rate": ("closed", "registered", "结案率"),
    "close_on_time_rate": ("closed_on_time", "registered", "按期结案率"),
    "dispose_rate": ("disposed", "dispatched", "处置率"),
    "dispose_on_time_rate": ("disposed_on_time", "dispatched", "按期处置率"),
    "rework_rate": ("reworked", "disposed_or_reworked", "返工率"),
    "dispatch_accuracy_rate": ("dispatched_accurate", "dispatched", "准确派遣率"),
    "register_on_time_rate": ("registered_on_time", "registered", "按时立案率"),
    "satisfaction_rate": ("satisfied", "rated", "满意率"),
}
COUNT_LABELS = {
    "reported": "上报数",
    "reports": "上报次数（含合并）",
    "accepted": "受理数",
    "registered": "立案数（应结案数）",
    "registered_on_time": "按时立案数",
    "dispatched": "派遣数（应处置数）",
    "dispatched_accurate": "准确派遣数",
    "disposed": "处置数",
    "disposed_on_time": "按期处置数",
    "disposed_late": "超期处置数",
    "self_disposed": "自行处置数",
    "reworked": "返工数",
    "closed": "结案数",
    "closed_on_time": "按期结案数",
    "closed_late": "超期结案数",
    "rated": "回访/评价数",
    "satisfied": "满意数",
    "overdue": "超期案件数",
    "supervised": "督办数",
}


def _n(condition: Any) -> Any:
    # COUNT(*) FILTER (WHERE …), which PostgreSQL and SQLite (3.30+) both have: no CASE to evaluate and no
    # numeric SUM per row, the bulk of the work when a period holds a million cases
    return func.count().filter(condition)


def _hours(dialect: str, start: Any, end: Any) -> Any:
    if dialect == "postgresql":
        # date_part gives a double; EXTRACT gives numeric (PostgreSQL 14+), whose AVG over a million cases
        # costs a fifth of the whole KPI query
        return func.date_part("epoch", end - start) / 3600.0
    # SQLite keeps UTC timestamps as ISO text, which julianday reads
    return (func.julianday(end) - func.julianday(start)) * 24.0


def _measures(dialect: str) -> list[Any]:
    c = Case
    return [
        func.count().label("reported"),
        func.coalesce(func.sum(c.report_count), 0).label("reports"),
        _n(c.accepted_at.is_not(None)).label("accepted"),
        _n(c.registered_at.is_not(None)).label("registered"),
        _n(c.registered_on_time.is_(True)).label("registered_on_time"),
        _n(c.dispatched_at.is_not(None)).label("dispatched"),
        _n(and_(c.dispatched_at.is_not(None), c.dispatch_accurate.is_(True))).label("dispatched_accurate"),
        _n(and_(c.disposed_at.is_not(None), c.dispatched_at.is_not(None))).label("disposed"),
        _n(and_(c.disposed_on_time.is_(True), c.dispatched_at.is_not(None))).label("disposed_on_time"),
        _n(c.disposed_on_time.is_(False)).label("disposed_late"),
        _n(c.self_disposed.is_(True)).label("self_disposed"),
        _n(c.rework_count > 0).label("reworked"),
        _n(or_(c.disposed_at.is_not(None), c.rework_count > 0)).label("disposed_or_reworked"),
        _n(c.closed_at.is_not(None)).label("closed"),
        _n(c.closed_on_time.is_(True)).label("closed_on_time"),
        _n(and_(c.closed_at.is_not(None), c.closed_on_time.is_not(True))).label("closed_late"),
        _n(or_(c.satisfaction.is_not(None), c.evaluation.is_not(None))).label("rated"),
        _n(or_(c.satisfaction == "满意", and_(c.satisfaction.is_(None), c.evaluation.in_(("满意", "基本满意"))))).label(
            "satisfied"
        ),
        _n(c.overdue.is_(True)).label("overdue"),
        _n(c.supervision_level > 0).label("supervised"),
        func.avg(_hours(dialect, c.reported_at, c.accepted_at)).label("avg_accept_hours"),
        func.avg(_hours(dialect, c.dispatched_at, c.disposed_at)).label("avg_dispose_hours"),
    ]


def aggregate(session: Any, start: datetime, end: datetime, by: str) -> dict[str | None, dict[str, Any]]:
    """key → counts and averages of the cases reported in [start, end), one SQL query."""
    if by not in DIMENSIONS:
        raise Invalid(f"统计维度无效：{by}（可选 {'、'.join(DIMENSIONS)}）", details={"field": "by"})
    dialect = session.get_bind().dialect.name
    column = DIMENSIONS[by]
    key = (column if column is not None else literal("320400")).label("key")
    q = (
        select(key, *_measures(dialect))
        .where(Case.reported_at >= start, Case.reported_at < end)
        .group_by(key if column is None else column)
    )
    out: dict[str | None, dict[str, Any]] = {}
    for row in session.execute(q).mappings():
        values = dict(row)
        out[values.pop("key")] = values
    return out


def rates(counts: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, (num, den, _label) in RATES.items():
        d = counts.get(den) or 0
        out[name] = round((counts.get(num) or 0) / d, 4) if d else None
    return out


def _months(moment: datetime, n: int) -> datetime:
    month = moment.month - 1 + n
    year = moment.year + month // 12
    month = month % 12 + 1
    import calendar

    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """环比: the period just before; whole calendar months step back by months (so Feb follows Jan)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    ls, le = start.astimezone(tz), end.astimezone(tz)
    whole_months = ls.day == 1 and le.day == 1 and ls.time() == le.time() == datetime.min.time()
    if whole_months:
        span = (le.year - ls.year) * 12 + le.month - ls.month
        if span > 0:
            return _months(ls, -span), ls
    return start - (end - start), start


def year_before(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return _months(start, -12), _months(end, -12)


def _names(session: Any, by: str, keys: list[str | None]) -> dict[str | None, str]:
    real = [k for k in keys if k]
    if by in ("district", "street", "community", "grid"):
        rows = session.execute(select(GridArea.code, GridArea.name).where(GridArea.code.in_(real)))
        return dict(rows.all())
    if by == "department":
        rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(real)))
        return {**dict(rows.all()), None: "未派至部门（属地处置）"}
    if by == "category":
        from citybrain.cases.codes import load_codes

        book = load_codes()
        return {
            k: (book.find("事项", k) or book.find("部件", k)).name
            for k in real
            if book.find("事项", k) or book.find("部件", k)
        }
    if by == "source":
        return {k: SOURCE_LABELS.get(k, k) for k in real}
    return {"320400": "全市"}


def _delta(now: dict[str, float | None], then: dict[str, float | None]) -> dict[str, float | None]:
    return {
        k: (round((now[k] - then[k]) * 100, 2) if now[k] is not None and then.get(k) is not None else None) for k in now
    }


def report(session: Any, start: datetime, end: datetime, by: str = "city") -> dict[str, Any]:
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("统计起止时间须带时区", details={"field": "start"})
    if end <= start:
        raise Invalid("统计结束时间须晚于开始时间", details={"field": "end"})
    current = aggregate(session, start, end, by)
    mom_period = previous_period(start, end)
    yoy_period = year_before(start, end)
    mom = aggregate(session, *mom_period, by)
    yoy = aggregate(session, *yoy_period, by)
    names = _names(session, by, list(current))
    rows = []
    for key in sorted(current, key=lambda k: (k is None, k or "")):
        counts = current[key]
        averages = {
            "avg_accept_hours": _round(counts.pop("avg_accept_hours")),
            "avg_dispose_hours": _round(counts.pop("avg_dispose_hours")),
        }
        now_rates = rates(counts)
        prev = mom.get(key, {})
        last_year = yoy.get(key, {})
        rows.append(
            {
                "key": key,
                "name": names.get(key, key or "未知"),
                "counts": {k: int(v or 0) for k, v in counts.items() if k in COUNT_LABELS},
                "rates": now_rates,
                "averages": averages,
                "mom": {
                    "rates": rates(prev) if prev else None,
                    "delta_pp": _delta(now_rates, rates(prev)) if prev else None,
                },
                "yoy": {
                    "rates": rates(last_year) if last_year else None,
                    "delta_pp": _delta(now_rates, rates(last_year)) if last_year else None,
                },
            }
        )
    return {
        "by": by,
        "start": start,
        "end": end,
        "mom_period": list(mom_period),
        "yoy_period": list(yoy_period),
        "labels": {"counts": COUNT_LABELS, "rates": {k: v[2] for k, v in RATES.items()}},
        "rows": rows,
    }


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


@action("cases_kpi")
def cases_kpi(ctx: Context, start: datetime, end: datetime, by: str = "city") -> dict[str, Any]:
    """考核 figures for cases reported in [start, end), by ``by``, with 同比 and 环比."""
    ctx.authorize("cases_kpi")
    return report(ctx.session, start, end, by)
