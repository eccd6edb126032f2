"""共享交换指标: 数据资源共享率, requests fulfilled and time to approve, calls per resource and
department, verification counts, demands answered."""

from __future__ import annotations

from statistics import median
from typing import Any

from sqlalchemy import func, select

from citybrain.actions import Context, action
from citybrain.auth.rules import Role
from citybrain.catalog.models import Resource, ShareType
from citybrain.org.models import Department
from citybrain.share.models import (
    AccessMode,
    DemandStatus,
    GrantStatus,
    RequestStatus,
    ShareCall,
    ShareDemand,
    ShareGrant,
    ShareRequest,
)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


@action("share_metrics")
def share_metrics(ctx: Context) -> dict[str, Any]:
    """Platform-wide figures for the CDO; a steward gets the figures of their own department's data."""
    ctx.authorize("share_metrics")
    scoped = not (ctx.actor.kind == "system" or ctx.actor.has_role(Role.ADMIN, Role.CDO, Role.SECURITY))
    dept = ctx.actor.dept_id
    s = ctx.session

    res_q = select(Resource.share_type, func.count()).where(Resource.status == "active")
    if scoped:
        res_q = res_q.where(Resource.dept_id == dept)
    by_type = {k: n for k, n in s.execute(res_q.group_by(Resource.share_type))}
    total_resources = sum(by_type.values())
    shareable = total_resources - by_type.get(ShareType.NONE.value, 0)
    granted_q = select(func.count(func.distinct(ShareGrant.resource_id))).where(
        ShareGrant.status == GrantStatus.ACTIVE.value
    )
    if scoped:
        granted_q = granted_q.where(ShareGrant.dept_id == dept)
    in_use = int(s.scalar(granted_q) or 0)

    req_q = select(ShareRequest)
    if scoped:
        req_q = req_q.where(ShareRequest.dept_id == dept)
    requests = list(s.scalars(req_q))
    status_counts: dict[str, int] = {}
    for r in requests:
        status_counts[r.status] = status_counts.get(r.status, 0) + 1
    decided = [r for r in requests if r.status in (RequestStatus.GRANTED, RequestStatus.REFUSED)]
    fulfilled = status_counts.get(RequestStatus.GRANTED.value, 0)
    # time to approve counts only requests a person had to decide (not the automatic grants)
    waits = [
        (r.decided_at - r.created_at).total_seconds() / 3600
        for r in requests
        if r.status == RequestStatus.GRANTED and r.decided_at and r.share_type != ShareType.UNCONDITIONAL.value
    ]

    names = {d.id: d.name for d in s.scalars(select(Department))}
    call_q = select(ShareCall.resource_key, func.count(), func.coalesce(func.sum(ShareCall.rows), 0))
    dept_q = select(ShareCall.consumer_dept_id, func.count(), func.coalesce(func.sum(ShareCall.rows), 0))
    verify_q = select(ShareCall.hit, func.count()).where(ShareCall.mode == AccessMode.VERIFY.value)
    if scoped:
        call_q = call_q.where(ShareCall.dept_id == dept)
        dept_q = dept_q.where(ShareCall.dept_id == dept)
        verify_q = verify_q.where(ShareCall.dept_id == dept)
    per_resource = [
        {"resource": k, "calls": n, "rows": int(rows)}
        for k, n, rows in s.execute(call_q.group_by(ShareCall.resource_key).order_by(func.count().desc()))
    ]
    per_dept = [
        {"dept_id": k, "dept": names.get(k, k), "calls": n, "rows": int(rows)}
        for k, n, rows in s.execute(dept_q.group_by(ShareCall.consumer_dept_id).order_by(func.count().desc()))
    ]
    verify = {bool(hit): n for hit, n in s.execute(verify_q.group_by(ShareCall.hit))}

    demand_q = select(ShareDemand.status, func.count())
    if scoped:
        demand_q = demand_q.where(ShareDemand.dept_id == dept)
    demands = {k: n for k, n in s.execute(demand_q.group_by(ShareDemand.status))}
    demand_total = sum(demands.values())

    return {
        "scope": "department" if scoped else "platform",
        "resources": {
            "total": total_resources,
            "by_share_type": by_type,
            "shareable": shareable,
            # 数据资源共享率: resources listed as shareable (无条件 + 有条件) over all resources
            "share_rate": _rate(shareable, total_resources),
            "in_use": in_use,
            "use_rate": _rate(in_use, shareable),
        },
        "requests": {
            "total": len(requests),
            "by_status": status_counts,
            "fulfilled": fulfilled,
            "fulfilment_rate": _rate(fulfilled, len(decided)),
            "approve_hours_avg": round(sum(waits) / len(waits), 2) if waits else None,
            "approve_hours_median": round(median(waits), 2) if waits else None,
        },
        "calls": {
            "total": sum(r["calls"] for r in per_resource),
            "per_resource": per_resource,
            "per_department": per_dept,
        },
        "verifications": {
            "total": verify.get(True, 0) + verify.get(False, 0),
            "matched": verify.get(True, 0),
            "not_matched": verify.get(False, 0),
        },
        "demands": {
            "total": demand_total,
            "by_status": demands,
            "answered": demand_total - demands.get(DemandStatus.OPEN.value, 0),
        },
    }


@action("share_usage")
def share_usage(ctx: Context, *, grant_id: str | None = None, days: int = 30) -> dict[str, Any]:
    """A consumer department's own usage: calls and rows per grant and per mode."""
    ctx.authorize("share_usage")
    from datetime import timedelta

    from citybrain.db import utcnow

    since = utcnow() - timedelta(days=max(1, min(days, 366)))
    q = select(ShareCall.grant_id, ShareCall.resource_key, ShareCall.mode, func.count(), func.sum(ShareCall.rows))
    q = q.where(ShareCall.at > since)
    if ctx.actor.kind != "system":
        q = q.where(ShareCall.consumer_dept_id == ctx.actor.dept_id)
    if grant_id:
        q = q.where(ShareCall.grant_id == grant_id)
    grouped = ctx.session.execute(q.group_by(ShareCall.grant_id, ShareCall.resource_key, ShareCall.mode))
    items = [{"grant": g, "resource": k, "mode": m, "calls": n, "rows": int(r or 0)} for g, k, m, n, r in grouped]
    return {
        "days": days,
        "calls": sum(i["calls"] for i in items),
        "rows": sum(i["rows"] for i in items),
        "items": items,
    }
