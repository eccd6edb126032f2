"""异常监测: usage patterns that suggest misuse of a grant, raised as alerts.

* ``volume_jump`` — a consumer's rows over the last 24 hours exceed ``share_volume_factor`` times its
  baseline (its daily average over the previous ``share_volume_baseline_days``; before it has that much
  history, the daily volume it declared in its request), and at least ``share_volume_min_rows``;
* ``off_hours_export`` — a bulk export started outside working hours (``share_work_start_hour`` to
  ``share_work_end_hour``, Beijing time) or at a weekend;
* ``key_enumeration`` — at least ``share_enum_min_calls`` lookups or verifications within
  ``share_enum_window_minutes``, at least ``share_enum_miss_ratio`` of them misses: someone walking the
  key space rather than checking records they hold.

The thresholds are settings (``CITYBRAIN_SHARE_*``, see :mod:`citybrain.settings`), read from the
context of each call. Alerts go to the source department's steward and to the security officers
(``anomaly_list``); one open alert per kind and grant and day, so a burst raises one alert, not
thousands.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.auth.rules import Role
from citybrain.db import utcnow
from citybrain.errors import Invalid, NotFound
from citybrain.settings import Settings, get_settings
from citybrain.share import usage
from citybrain.share.models import AccessMode, AnyGrant, ShareAlert, ShareCall, ShareExport
from citybrain.share.schemas import AlertPublic
from citybrain.waiting import may_wait

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def clock() -> datetime:
    """Now (UTC). Tests replace it to put a call at 3 a.m."""
    return utcnow()


def _raise(ctx: Context, grant: AnyGrant, kind: str, message: str, details: dict[str, Any]) -> ShareAlert | None:
    now = clock()
    recent = ctx.session.scalar(
        select(ShareAlert.id).where(
            ShareAlert.grant_id == grant.id,
            ShareAlert.kind == kind,
            ShareAlert.status == "open",
            ShareAlert.at > now - timedelta(days=1),
        )
    )
    if recent:
        return None
    alert = ShareAlert(
        kind=kind,
        grant_id=grant.id,
        resource_key=grant.resource_key,
        dept_id=grant.dept_id,
        consumer_dept_id=grant.consumer_dept_id,
        message=message,
        details=details,
        at=now,
    )
    ctx.session.add(alert)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "share_alert",
            result="ok",
            resource_type="share_alert",
            resource_id=alert.id,
            details={"kind": kind, "grant": grant.id, "resource": grant.resource_key, **details},
        ),
    )
    return alert


#: per grant, what its last full volume check found: (when, the thresholds it used, rows in 24 hours,
#: the number of rows at or below which there is no jump). Within VOLUME_RECHECK, while the rows counted
#: since stay under that bar, the check adds them up instead of reading the day's minutes again (1,440
#: rows on a grant busy all day). Calls made through another process are seen at the next full check.
_volume_seen: dict[str, tuple[datetime, tuple[Any, ...], int, float]] = {}
VOLUME_RECHECK = timedelta(seconds=10)


def check_volume(ctx: Context, grant: AnyGrant, rows: int | None = None) -> ShareAlert | None:
    """``rows``: what the call just added (None: unknown, check in full)."""
    cfg = ctx.settings
    now = clock()
    knobs = (cfg.share_volume_factor, cfg.share_volume_min_rows, cfg.share_volume_baseline_days, grant.expected_volume)
    seen = _volume_seen.get(grant.id)
    if rows is not None and seen is not None and seen[1] == knobs and timedelta(0) <= now - seen[0] < VOLUME_RECHECK:
        estimate = seen[2] + rows
        if estimate <= seen[3]:
            _volume_seen[grant.id] = (seen[0], knobs, estimate, seen[3])
            return None

    def quiet(today: int, bar: float) -> None:
        _volume_seen[grant.id] = (now, knobs, today, bar)

    # reads a day's minutes of the grant's usage: not on the event loop (see citybrain.waiting)
    may_wait("a recount of the grant's last day of calls")
    minute, day = usage.minute_of(now), usage.MINUTES_PER_DAY
    today = usage.rows_between(ctx.session, grant.id, minute - day, minute)
    if today < cfg.share_volume_min_rows:
        return quiet(today, cfg.share_volume_min_rows - 1)
    days = cfg.share_volume_baseline_days
    first = usage.first_minute(ctx.session, grant.id)
    has_history = first is not None and first < minute - days * day
    if has_history:
        past = usage.rows_between(ctx.session, grant.id, minute - (days + 1) * day, minute - day)
        baseline = past / days
        basis = f"近 {days} 日日均"
    elif grant.expected_volume:
        baseline = float(grant.expected_volume)
        basis = "申请时声明的日均量"
    else:
        # no baseline yet; one appears only with time (a week of history), so look again after VOLUME_RECHECK
        return quiet(today, float("inf"))
    factor = cfg.share_volume_factor
    bar = max(factor * baseline, cfg.share_volume_min_rows)
    if today <= bar:
        return quiet(today, bar)
    _volume_seen.pop(grant.id, None)
    return _raise(
        ctx,
        grant,
        "volume_jump",
        f"近 24 小时调取 {today} 行，超过{basis} {baseline:.0f} 行的 {factor:g} 倍",
        {"rows_24h": today, "baseline": round(baseline, 1), "basis": basis, "factor": factor},
    )


def check_enumeration(ctx: Context, grant: AnyGrant) -> ShareAlert | None:
    cfg = ctx.settings
    now = clock()
    minutes = cfg.share_enum_window_minutes
    rows = ctx.session.execute(
        select(func.count(), func.sum(case((ShareCall.hit.is_(False), 1), else_=0))).where(
            ShareCall.grant_id == grant.id,
            ShareCall.mode.in_([AccessMode.LOOKUP.value, AccessMode.VERIFY.value]),
            ShareCall.at > now - timedelta(minutes=minutes),
        )
    ).one()
    calls, misses = int(rows[0] or 0), int(rows[1] or 0)
    if calls < cfg.share_enum_min_calls or misses / calls < cfg.share_enum_miss_ratio:
        return None
    return _raise(
        ctx,
        grant,
        "key_enumeration",
        f"{minutes} 分钟内按键查询/核验 {calls} 次，其中 {misses} 次未命中，疑似遍历",
        {"calls": calls, "misses": misses, "window_minutes": minutes},
    )


def is_off_hours(at: datetime, settings: Settings | None = None) -> bool:
    cfg = settings or get_settings()
    local = at.astimezone(LOCAL_TZ)
    return local.weekday() >= 5 or not (cfg.share_work_start_hour <= local.hour < cfg.share_work_end_hour)


def after_call(
    ctx: Context, grant: AnyGrant, mode: AccessMode, hit: bool | None = None, rows: int | None = None
) -> None:
    check_volume(ctx, grant, rows)
    # only a miss can make the window look like enumeration (a hit lowers its miss ratio), so a hit skips
    # the window count: the check runs, at the latest, on the next miss
    if mode in (AccessMode.LOOKUP, AccessMode.VERIFY) and hit is not True:
        check_enumeration(ctx, grant)


def after_export_start(ctx: Context, grant: AnyGrant, export: ShareExport) -> ShareAlert | None:
    now = clock()
    if not is_off_hours(now, ctx.settings):
        return None
    local = now.astimezone(LOCAL_TZ)
    return _raise(
        ctx,
        grant,
        "off_hours_export",
        f"非工作时间（北京时间 {local:%Y-%m-%d %H:%M}）发起批量导出",
        {"export": export.id, "local_time": local.isoformat(timespec="minutes")},
    )


# -- actions ---------------------------------------------------------------------------------------


@action("anomaly_list")
def anomaly_list(ctx: Context, *, status: str | None = None, kind: str | None = None) -> list[AlertPublic]:
    """Security officers, the CDO and administrators see every alert; a steward those on their data."""
    ctx.authorize("anomaly_list")
    q = select(ShareAlert).order_by(ShareAlert.at.desc()).limit(500)
    if not (ctx.actor.kind == "system" or ctx.actor.has_role(Role.ADMIN, Role.CDO, Role.SECURITY)):
        q = q.where(ShareAlert.dept_id == ctx.actor.dept_id)
    if status:
        q = q.where(ShareAlert.status == status)
    if kind:
        q = q.where(ShareAlert.kind == kind)
    return [AlertPublic.model_validate(a) for a in ctx.session.scalars(q)]


@action("anomaly_acknowledge")
def anomaly_acknowledge(ctx: Context, alert_id: str, comment: str = "") -> AlertPublic:
    alert = ctx.session.get(ShareAlert, alert_id)
    ctx.authorize("anomaly_acknowledge", alert)
    if alert is None:
        raise NotFound(f"告警 {alert_id} 不存在")
    if alert.status != "open":
        raise Invalid("该告警已处理", details={"status": alert.status})
    alert.status = "acknowledged"
    alert.acknowledged_by = ctx.actor.label()
    record_ctx(
        ctx,
        AuditEntry(
            "anomaly_acknowledge", resource_type="share_alert", resource_id=alert.id, details={"comment": comment}
        ),
    )
    ctx.session.flush()
    return AlertPublic.model_validate(alert)
