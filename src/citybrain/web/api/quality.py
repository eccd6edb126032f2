"""HTTP API of governance (数据治理): rules, runs, quality reports, tickets, objections, league table."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from citybrain.quality import metrics, objections, service, tickets
from citybrain.quality.schemas import (
    DecisionIn,
    DeptMetrics,
    ObjectionCreate,
    ObjectionPublic,
    QualityReport,
    RejectIn,
    RuleIn,
    RulePublic,
    RunPublic,
    TicketDetail,
    TicketPublic,
)
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1/quality", tags=["quality 数据治理"])


class RunIn(BaseModel):
    version: int | None = None


class EscalateIn(BaseModel):
    now: datetime | None = None


@router.get("/resources/{ref}/rules", response_model=list[RulePublic])
def rule_list(ctx: Ctx, ref: str) -> object:
    return service.rule_list(ctx, ref)


@router.post("/resources/{ref}/rules", response_model=RulePublic, status_code=201)
def rule_create(ctx: Ctx, ref: str, data: RuleIn) -> object:
    return service.rule_create(ctx, ref, data)


@router.delete("/resources/{ref}/rules/{rule_id}", status_code=204)
def rule_delete(ctx: Ctx, ref: str, rule_id: str) -> Response:
    service.rule_delete(ctx, ref, rule_id)
    return Response(status_code=204)


@router.post("/resources/{ref}/runs", response_model=RunPublic, status_code=201, summary="Run the rules on a version")
def quality_run(ctx: Ctx, ref: str, data: RunIn | None = None) -> object:
    return service.quality_run(ctx, ref, data.version if data else None)


@router.get("/resources/{ref}", response_model=QualityReport, summary="Scores, trend and failing samples")
def quality_show(ctx: Ctx, ref: str, version: int | None = None) -> object:
    return service.quality_show(ctx, ref, version)


@router.get("/league", response_model=list[DeptMetrics], summary="Department league table (首席数据官)")
def quality_league(ctx: Ctx) -> object:
    return metrics.quality_league(ctx)


@router.get("/departments/{dept}/metrics", response_model=DeptMetrics)
def quality_metrics(ctx: Ctx, dept: str) -> object:
    return metrics.quality_metrics(ctx, dept)


@router.get("/tickets", response_model=list[TicketPublic], summary="Rectification tickets (整改工单) inbox")
def ticket_list(
    ctx: Ctx,
    status: str | None = None,
    resource: str | None = None,
    dept: str | None = None,
    escalated: bool | None = None,
    overdue: bool | None = None,
    limit: int = 200,
) -> object:
    return tickets.ticket_list(
        ctx, status=status, resource=resource, dept=dept, escalated=escalated, overdue=overdue, limit=min(limit, 1000)
    )


@router.get("/tickets/{ref}", response_model=TicketDetail)
def ticket_show(ctx: Ctx, ref: str) -> object:
    return tickets.ticket_show(ctx, ref)


@router.post("/tickets/{ref}/reject", response_model=TicketDetail)
def ticket_reject(ctx: Ctx, ref: str, data: RejectIn) -> object:
    return tickets.ticket_reject(ctx, ref, data.reason)


@router.post("/tickets/{ref}/recheck", response_model=TicketDetail, summary="复核: run on the current version")
def ticket_recheck(ctx: Ctx, ref: str) -> object:
    return tickets.ticket_recheck(ctx, ref)


@router.post("/tickets/escalate", response_model=list[TicketPublic], summary="Escalate overdue tickets")
def tickets_escalate(ctx: Ctx, data: EscalateIn | None = None) -> object:
    return tickets.tickets_escalate(ctx, data.now if data else None)


@router.post("/resources/{ref}/objections", response_model=ObjectionPublic, status_code=201)
def objection_create(ctx: Ctx, ref: str, data: ObjectionCreate) -> object:
    return objections.objection_create(ctx, ref, data)


@router.get("/objections", response_model=list[ObjectionPublic], summary="Data objections (数据异议)")
def objection_list(ctx: Ctx, status: str | None = None, direction: str | None = None) -> object:
    return objections.objection_list(ctx, status=status, direction=direction)


@router.get("/objections/{ref}", response_model=ObjectionPublic)
def objection_show(ctx: Ctx, ref: str) -> object:
    return objections.objection_show(ctx, ref)


@router.post("/objections/{ref}/uphold", response_model=ObjectionPublic)
def objection_uphold(ctx: Ctx, ref: str, data: DecisionIn | None = None) -> object:
    return objections.objection_uphold(ctx, ref, data.reason if data else "")


@router.post("/objections/{ref}/reject", response_model=ObjectionPublic)
def objection_reject(ctx: Ctx, ref: str, data: RejectIn) -> object:
    return objections.objection_reject(ctx, ref, data.reason)
