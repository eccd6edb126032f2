"""Department metrics of the feedback loop and the league table for the chief data officer.

- 质量得分: mean overall score of the department's resources, each at its latest run;
- 问题数据整改率: problem records rectified (fixed or removed) / problem records ticketed; records of
  rejected tickets are left out of both, since the department disputed them rather than ignored them;
- 平均整改时长: mean hours from a ticket's opening to its automatic closure;
- 异议: objections routed to the department, upheld (including fixed) and rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from citybrain.actions import Context, action
from citybrain.catalog.models import Resource
from citybrain.org.models import Department
from citybrain.quality.models import (
    ItemStatus,
    ObjectionStatus,
    QualityObjection,
    QualityRun,
    QualityTicket,
    QualityTicketItem,
    TicketStatus,
)
from citybrain.quality.schemas import DeptMetrics


def compute(ctx: Context, dept_ids: set[str] | None = None, now: datetime | None = None) -> list[DeptMetrics]:
    now = now or datetime.now(UTC)
    depts = {d.id: d for d in ctx.session.scalars(select(Department))}
    wanted = set(depts) if dept_ids is None else dept_ids & set(depts)
    out = {
        d: DeptMetrics(dept_id=d, dept_code=depts[d].code, dept_name=depts[d].name)
        for d in sorted(wanted, key=lambda x: depts[x].code)
    }
    resources = {r.id: r.dept_id for r in ctx.session.scalars(select(Resource).where(Resource.status == "active"))}
    latest: dict[str, QualityRun] = {}
    for run in ctx.session.scalars(select(QualityRun).order_by(QualityRun.created_at)):
        latest[run.resource_id] = run
    scores: dict[str, list[float]] = {}
    for rid, run in latest.items():
        dept = resources.get(rid)
        if dept in out and run.overall is not None:
            scores.setdefault(dept, []).append(run.overall)
    for rid, dept in resources.items():
        if dept in out and rid in latest:
            out[dept].resources += 1
    for dept, values in scores.items():
        out[dept].score = round(sum(values) / len(values), 2)

    hours: dict[str, list[float]] = {}
    for t in ctx.session.scalars(select(QualityTicket)):
        m = out.get(t.dept_id)
        if m is None:
            continue
        m.tickets += 1
        if t.status == TicketStatus.OPEN:
            m.tickets_open += 1
            if t.due_at < now:
                m.tickets_overdue += 1
        elif t.status == TicketStatus.CLOSED:
            m.tickets_closed += 1
            if t.closed_at is not None:
                hours.setdefault(t.dept_id, []).append((t.closed_at - t.opened_at).total_seconds() / 3600)
        elif t.status == TicketStatus.REJECTED:
            m.tickets_rejected += 1
        if t.escalated_at is not None:
            m.tickets_escalated += 1
    for dept, values in hours.items():
        out[dept].avg_rectify_hours = round(sum(values) / len(values), 2)

    rows = ctx.session.execute(
        select(QualityTicket.dept_id, QualityTicketItem.status)
        .join(QualityTicket, QualityTicket.id == QualityTicketItem.ticket_id)
        .where(QualityTicket.status != TicketStatus.REJECTED)
    )
    for dept, status in rows:
        m = out.get(dept)
        if m is None:
            continue
        m.problem_records += 1
        if status in (ItemStatus.FIXED, ItemStatus.REMOVED):
            m.rectified_records += 1
    for m in out.values():
        if m.problem_records:
            m.rectification_rate = round(m.rectified_records / m.problem_records, 4)

    for o in ctx.session.scalars(select(QualityObjection)):
        m = out.get(o.dept_id)
        if m is None:
            continue
        m.objections += 1
        if o.status in (ObjectionStatus.UPHELD, ObjectionStatus.FIXED):
            m.objections_upheld += 1
        elif o.status == ObjectionStatus.REJECTED:
            m.objections_rejected += 1
        else:
            m.objections_open += 1
    return list(out.values())


@action("quality_metrics")
def quality_metrics(ctx: Context, dept: str) -> DeptMetrics:
    """One department's metrics (its stewards may see their own)."""
    from citybrain.org.service import get_department

    department = get_department(ctx, dept)
    ctx.authorize("quality_metrics", {"dept_id": department.id})
    return compute(ctx, {department.id})[0]


@action("quality_league")
def quality_league(ctx: Context) -> list[DeptMetrics]:
    """Departments with evaluated resources or tickets, best first: score, then rectification rate."""
    ctx.authorize("quality_league")
    rows = [m for m in compute(ctx) if m.resources or m.tickets or m.objections]
    return sorted(
        rows,
        key=lambda m: (
            m.score is None,
            -(m.score or 0.0),
            -(m.rectification_rate if m.rectification_rate is not None else 1.0),
            m.dept_code,
        ),
    )
