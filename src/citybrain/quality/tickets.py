"""整改工单 (rectification tickets): the feedback loop from a quality run to the source department.

After each run, every rule with failures has one open ticket for its resource, addressed to the
resource's source department and holding the failing records (key, field, value). A later run on a
newer version marks each record fixed (still there, now passes) or removed (no longer there), adds
records that started failing, and closes the ticket only when none of its records fails any more.
Nobody closes a ticket by hand: the data must change. The source department may reject a ticket,
with a reason (the rule is wrong for this data); records it disputed are not ticketed again by the
same rule. Open tickets past their deadline (set by severity) are escalated to the chief data officer.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.catalog.models import Resource
from citybrain.errors import Conflict, Invalid, NotFound
from citybrain.quality.models import (
    TICKET_TRANSITIONS,
    ItemStatus,
    QualityRun,
    QualityTicket,
    QualityTicketItem,
    TicketStatus,
    can_move,
    department_names,
)
from citybrain.quality.permissions import is_overseer
from citybrain.quality.schemas import TicketDetail, TicketItemPublic, TicketPublic

if TYPE_CHECKING:
    from citybrain.quality.service import Evaluation

#: days to rectify, by severity; override with CITYBRAIN_QUALITY_DEADLINE_DAYS='{"high": 2, ...}'
DEFAULT_DEADLINE_DAYS: dict[str, int] = {"high": 3, "medium": 7, "low": 15}
#: records kept per ticket; counts stay exact
ITEMS_CAP = 1000


def deadline_days() -> dict[str, int]:
    days = dict(DEFAULT_DEADLINE_DAYS)
    raw = os.environ.get("CITYBRAIN_QUALITY_DEADLINE_DAYS")
    if raw:
        try:
            given = json.loads(raw)
            days.update({str(k): int(v) for k, v in given.items() if str(k) in days and int(v) > 0})
        except (ValueError, TypeError, AttributeError):
            raise Invalid(
                'CITYBRAIN_QUALITY_DEADLINE_DAYS 应为 JSON，如 {"high": 3, "medium": 7, "low": 15}',
                details={"value": raw},
            ) from None
    return days


def _number(prefix: str, now: datetime) -> str:
    return f"{prefix}-{now:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def _title(resource: Resource, result: Any, description: str) -> str:
    what = description or result.rule_id
    return f"{resource.name}：{what}（{result.failed} 条问题数据）"[:300]


def _rejected_keys(ctx: Context, resource: Resource, rule_id: str) -> set[tuple[str | None, str]]:
    rows = ctx.session.execute(
        select(QualityTicketItem.key, QualityTicketItem.field)
        .join(QualityTicket, QualityTicket.id == QualityTicketItem.ticket_id)
        .where(
            QualityTicket.resource_id == resource.id,
            QualityTicket.rule_id == rule_id,
            QualityTicket.status == TicketStatus.REJECTED,
        )
    )
    return {(k, f) for k, f in rows}


def sync_after_run(ctx: Context, resource: Resource, run: QualityRun, ev: Evaluation) -> tuple[int, int]:
    """Open, update and close the resource's tickets from one run; returns (opened, closed)."""
    assert ev.result is not None
    now = run.created_at
    days = deadline_days()
    descriptions = {b.rule.id: b.rule.description for b in ev.bound}
    open_tickets = {
        t.rule_id: t
        for t in ctx.session.scalars(
            select(QualityTicket)
            .options(selectinload(QualityTicket.items))
            .where(QualityTicket.resource_id == resource.id, QualityTicket.status == TicketStatus.OPEN)
        )
    }
    opened = closed = 0
    for result in ev.result.results:
        ticket = open_tickets.get(result.rule_id)
        if ticket is not None and run.version < ticket.last_version:
            continue  # a re-run of an older version says nothing about the corrected one
        if ticket is None and result.failed == 0:
            continue
        rows = ev.has_rows(result.rule_id)
        samples = {(s.key, s.column): s for s in result.samples}
        if ticket is None:
            # the samples are the first failing records by key, as many as a ticket keeps
            keys = set(samples) - _rejected_keys(ctx, resource, result.rule_id)
            if rows and not keys:
                continue  # every failing record was disputed before
            ticket = QualityTicket(
                number=_number("ZG", now),
                resource_id=resource.id,
                resource_key=resource.key,
                dept_id=resource.dept_id,
                rule_id=result.rule_id,
                kind=result.kind,
                dimension=str(result.dimension),
                severity=str(result.severity),
                title=_title(resource, result, descriptions.get(result.rule_id, "")),
                status=TicketStatus.OPEN,
                opened_run_id=run.id,
                opened_version=run.version,
                last_run_id=run.id,
                last_version=run.version,
                failed=result.failed,
                due_at=now + timedelta(days=days.get(str(result.severity), days["medium"])),
                opened_at=now,
            )
            ticket.items = [_item(k, samples.get(k)) for k in sorted(keys, key=_sort_key)[:ITEMS_CAP]]
            ctx.session.add(ticket)
            opened += 1
            ctx.session.flush()
            record_ctx(
                ctx,
                AuditEntry(
                    "ticket_open",
                    resource_type="quality_ticket",
                    resource_id=ticket.number,
                    row_count=result.failed,
                    details={"resource": resource.key, "rule": result.rule_id, "version": run.version},
                ),
            )
            continue
        # an existing open ticket: settle its records against this version
        open_pairs = {(i.key, i.field) for i in ticket.items if i.status == ItemStatus.OPEN and i.key is not None}
        still = ev.failing_among(result, open_pairs) if rows else set()
        resolved = [i for i in ticket.items if i.status == ItemStatus.OPEN and (i.key, i.field) not in still]
        present = ev.present({i.key for i in resolved if i.key is not None})
        for item in resolved:
            item.status = ItemStatus.FIXED if item.key in present else ItemStatus.REMOVED
            item.fixed_version = run.version
            item.fixed_at = now
        known = {(i.key, i.field) for i in ticket.items}
        disputed = _rejected_keys(ctx, resource, result.rule_id)
        room = ITEMS_CAP - len(ticket.items)
        for k in sorted(still - known - disputed, key=_sort_key)[: max(room, 0)]:
            ticket.items.append(_item(k, samples.get(k)))
        ticket.failed = result.failed
        ticket.last_run_id = run.id
        ticket.last_version = run.version
        if all(i.status != ItemStatus.OPEN for i in ticket.items) and (rows or result.failed == 0):
            ticket.status = TicketStatus.CLOSED
            ticket.closed_at = now
            ticket.closed_version = run.version
            closed += 1
            record_ctx(
                ctx,
                AuditEntry(
                    "ticket_close",
                    resource_type="quality_ticket",
                    resource_id=ticket.number,
                    details={"resource": resource.key, "rule": result.rule_id, "version": run.version},
                ),
            )
    ctx.session.flush()
    return opened, closed


def _sort_key(k: tuple[str | None, str]) -> tuple[str, str]:
    return (k[0] or "", k[1])


def _item(k: tuple[str | None, str], sample: Any) -> QualityTicketItem:
    return QualityTicketItem(
        key=k[0],
        field=k[1],
        value=sample.value if sample is not None else None,
        related=[list(p) for p in sample.related] if sample is not None else [],
        status=ItemStatus.OPEN,
    )


# -- reading -------------------------------------------------------------------------------------


def get_ticket(ctx: Context, ref: str) -> QualityTicket:
    ticket = ctx.session.scalar(
        select(QualityTicket)
        .options(selectinload(QualityTicket.items))
        .where((QualityTicket.id == ref) | (QualityTicket.number == ref))
    )
    if ticket is None:
        raise NotFound(f"整改工单 {ref} 不存在", details={"ticket": ref})
    return ticket


def _public(ticket: QualityTicket, names: dict[str, str], now: datetime, cls: type[TicketPublic] = TicketPublic) -> Any:
    items = ticket.items
    data = {c.key: getattr(ticket, c.key) for c in QualityTicket.__table__.columns}
    data.update(
        dept_name=names.get(ticket.dept_id),
        overdue=ticket.status == TicketStatus.OPEN and ticket.due_at < now,
        items_open=sum(1 for i in items if i.status == ItemStatus.OPEN),
        items_total=len(items),
    )
    if cls is TicketDetail:
        data["items"] = [TicketItemPublic.model_validate(i) for i in items]
    return cls.model_validate(data)


@action("ticket_list")
def ticket_list(
    ctx: Context,
    *,
    status: str | None = None,
    resource: str | None = None,
    dept: str | None = None,
    escalated: bool | None = None,
    overdue: bool | None = None,
    limit: int = 200,
) -> list[TicketPublic]:
    """A steward's inbox: their department's tickets (overseers: everyone's), newest first."""
    ctx.authorize("ticket_list")
    q = select(QualityTicket).options(selectinload(QualityTicket.items))
    actor = ctx.actor
    if not is_overseer(actor):
        q = q.where(QualityTicket.dept_id == actor.dept_id)
    elif dept:
        from citybrain.org.service import get_department

        q = q.where(QualityTicket.dept_id == get_department(ctx, dept).id)
    if status:
        if status not in {s.value for s in TicketStatus}:
            raise Invalid(f"工单状态无效：{status}", details={"allowed": [s.value for s in TicketStatus]})
        q = q.where(QualityTicket.status == status)
    if resource:
        q = q.where(QualityTicket.resource_key == resource)
    now = datetime.now(UTC)
    if escalated is not None:
        q = q.where(QualityTicket.escalated_at.is_not(None) if escalated else QualityTicket.escalated_at.is_(None))
    if overdue:
        q = q.where(QualityTicket.status == TicketStatus.OPEN, QualityTicket.due_at < now)
    rows = ctx.session.scalars(q.order_by(QualityTicket.opened_at.desc(), QualityTicket.number).limit(limit))
    names = department_names(ctx.session)
    return [_public(t, names, now) for t in rows]


@action("ticket_show")
def ticket_show(ctx: Context, ref: str) -> TicketDetail:
    ticket = get_ticket(ctx, ref)
    ctx.authorize("ticket_show", ticket)
    return _public(ticket, department_names(ctx.session), datetime.now(UTC), TicketDetail)  # type: ignore[no-any-return]


@action("ticket_reject")
def ticket_reject(ctx: Context, ref: str, reason: str) -> TicketDetail:
    """The source department disputes a ticket; the reason is required and kept with it."""
    ticket = get_ticket(ctx, ref)
    ctx.authorize("ticket_reject", ticket)
    if not (reason or "").strip():
        raise Invalid("驳回整改工单必须说明理由", details={"field": "reason"})
    # the same lock a run takes before settling tickets, so a rejection and an automatic closure
    # cannot both win; the status is read again under it
    ctx.session.execute(select(Resource.id).where(Resource.id == ticket.resource_id).with_for_update(key_share=True))
    ctx.session.refresh(ticket)
    if not can_move(TICKET_TRANSITIONS, ticket.status, TicketStatus.REJECTED):
        raise Conflict(
            f"工单 {ticket.number} 当前状态为「{ticket.status}」，只能驳回待整改的工单",
            details={"status": ticket.status},
        )
    now = datetime.now(UTC)
    ticket.status = TicketStatus.REJECTED
    ticket.rejected_at = now
    ticket.rejected_by = ctx.actor.label()
    ticket.reject_reason = reason.strip()
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "ticket_reject",
            resource_type="quality_ticket",
            resource_id=ticket.number,
            details={"reason": ticket.reject_reason, "resource": ticket.resource_key},
        ),
    )
    return _public(ticket, department_names(ctx.session), now, TicketDetail)  # type: ignore[no-any-return]


@action("ticket_recheck")
def ticket_recheck(ctx: Context, ref: str) -> TicketDetail:
    """复核: run the resource's rules on its current version now, which closes the ticket if its records pass."""
    from citybrain.catalog.service import get_resource
    from citybrain.quality.service import _execute

    ticket = get_ticket(ctx, ref)
    ctx.authorize("ticket_recheck", ticket)
    _execute(ctx, get_resource(ctx.session, ticket.resource_id), None)
    ctx.session.refresh(ticket)
    return _public(get_ticket(ctx, ticket.id), department_names(ctx.session), datetime.now(UTC), TicketDetail)  # type: ignore[no-any-return]


@action("tickets_escalate")
def tickets_escalate(ctx: Context, now: datetime | None = None) -> list[TicketPublic]:
    """Escalate every open ticket past its deadline to the chief data officer (once per ticket)."""
    ctx.authorize("tickets_escalate")
    now = now or datetime.now(UTC)
    overdue = list(
        ctx.session.scalars(
            select(QualityTicket)
            .options(selectinload(QualityTicket.items))
            .where(
                QualityTicket.status == TicketStatus.OPEN,
                QualityTicket.due_at < now,
                QualityTicket.escalated_at.is_(None),
            )
            .order_by(QualityTicket.due_at)
        )
    )
    for ticket in overdue:
        ticket.escalated_at = now
        record_ctx(
            ctx,
            AuditEntry(
                "ticket_escalate",
                resource_type="quality_ticket",
                resource_id=ticket.number,
                details={"due_at": ticket.due_at.isoformat(), "dept_id": ticket.dept_id, "to": "cdo"},
            ),
        )
    ctx.session.flush()
    names = department_names(ctx.session)
    return [_public(t, names, now) for t in overdue]
