"""HTTP API of 一网统管: intake from every channel, the case workflow, 督办, 考核, grids and notices.

Thin adapters over ``citybrain.cases`` actions. A workflow step is ``POST /api/v1/cases/{ref}/{step}``
with the step's fields and the ``version`` the client saw (in the body, or as ``If-Match``); a client
acting on a stale version gets 409 and should reload.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from citybrain.cases import intake, kpi, service, supervision
from citybrain.cases.schemas import (
    AlarmIn,
    CaseDetail,
    CasePublic,
    CaseQuery,
    ComponentCreate,
    ComponentPublic,
    DispatchIn,
    DisposeIn,
    EvaluateIn,
    ExtendDecideIn,
    ExtendRequestIn,
    GridPublic,
    HotlineTicketIn,
    IntakeResult,
    NotificationPublic,
    OptionalReasonIn,
    PatrolIn,
    Photo,
    ReasonIn,
    ReclassifyIn,
    ReportIn,
    RevisitIn,
    RoutingRuleIn,
    RoutingRulePublic,
    VerifyIn,
)
from citybrain.errors import Invalid, NotAuthenticated, NotFound, parse
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1/cases", tags=["cases 一网统管"])

#: workflow step in the URL → (action, body schema or None)
STEPS: dict[str, tuple[Callable[..., Any], type[BaseModel] | None]] = {
    "accept": (service.case_accept, None),
    "register": (service.case_register, None),
    "reject": (service.case_reject, ReasonIn),
    "reclassify": (service.case_reclassify, ReclassifyIn),
    "dispatch": (service.case_dispatch, DispatchIn),
    "sign": (service.case_sign, None),
    "return": (service.case_return, ReasonIn),
    "extend-request": (service.case_extend_request, ExtendRequestIn),
    "extend-decide": (service.case_extend_decide, ExtendDecideIn),
    "hang": (service.case_hang, ReasonIn),
    "unhang": (service.case_unhang, None),
    "dispose": (service.case_dispose, DisposeIn),
    "feedback": (service.case_feedback, OptionalReasonIn),
    "verify": (service.case_verify, VerifyIn),
    "revisit": (service.case_revisit, RevisitIn),
    "close": (service.case_close, OptionalReasonIn),
    "evaluate": (service.case_evaluate, EvaluateIn),
    "supervise": (supervision.case_supervise, OptionalReasonIn),
}


def run_step(ctx: Any, ref: str, step: str, body: dict[str, Any], if_match: str | None = None) -> Any:
    """Shared by the API and the console pages: one workflow step with the version the client saw."""
    if step not in STEPS:
        raise NotFound(f"未知的办理环节 {step}", details={"step": step, "allowed": sorted(STEPS)})
    fn, schema = STEPS[step]
    body = dict(body)
    version = body.pop("version", None)
    if version in (None, "") and if_match:
        version = if_match.strip().strip('W/"').strip('"')
    try:
        version = int(version) if version not in (None, "") else None
    except (TypeError, ValueError):
        raise Invalid("version 须为整数", details={"field": "version"}) from None
    if schema is None:
        return fn(ctx, ref, version=version)
    return fn(ctx, ref, parse(schema, body), version=version)


class CaseList(BaseModel):
    total: int
    items: list[CasePublic]


# ---- intake -------------------------------------------------------------------------------------


@router.post("/reports", response_model=IntakeResult, status_code=201, summary="Report from any channel")
def report_create(ctx: Ctx, data: ReportIn) -> object:
    return intake.case_report(ctx, data)


@router.post("/hotline", response_model=IntakeResult, status_code=201, summary="12345 工单 from the hotline")
def hotline_create(ctx: Ctx, data: HotlineTicketIn) -> object:
    return intake.case_hotline_create(ctx, data)


@router.post("/patrol", response_model=IntakeResult, status_code=201, summary="巡查上报 by a grid worker")
def patrol_create(ctx: Ctx, data: PatrolIn) -> object:
    return intake.case_patrol_report(ctx, data)


@router.post("/patrol/upload", response_model=IntakeResult, status_code=201, summary="巡查上报 with photos")
async def patrol_upload(
    ctx: Ctx,
    data: Annotated[str, Form(description="PatrolIn as JSON")],
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> object:
    try:
        fields = json.loads(data)
    except json.JSONDecodeError as exc:
        raise Invalid(f"data 不是有效的 JSON：{exc}", details={"field": "data"}) from None
    files = [
        Photo(filename=f.filename or "photo", content_type=f.content_type or "", data=await f.read())
        for f in photos or []
    ]
    return intake.case_patrol_report(ctx, parse(PatrolIn, fields), photos=files)


@router.get("/attachments/{attachment_id}", summary="A photo or file of a case")
def attachment(ctx: Ctx, attachment_id: str) -> Response:
    row, content = service.case_attachment_show(ctx, attachment_id)
    return Response(
        content,
        media_type=row.content_type,
        headers={"content-disposition": f'inline; filename="{row.sha256[:16]}"', "x-content-type-options": "nosniff"},
    )


def _signature_ok(ctx: Any, body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    expected = hmac.new(ctx.settings.secret("cases_webhook"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.removeprefix("sha256="))


@router.post("/webhook", response_model=IntakeResult, status_code=201, summary="IoT / video-AI alarm")
async def webhook_intake(
    ctx: Ctx, request: Request, x_citybrain_signature: Annotated[str | None, Header()] = None
) -> object:
    """Devices without an account sign the body: ``X-CityBrain-Signature: sha256=<HMAC-SHA256 hex>``
    with the ``cases_webhook`` secret; an API token with the ``cases:webhook`` scope needs no signature."""
    raw = await request.body()
    if not ctx.actor.is_authenticated and not _signature_ok(ctx, raw, x_citybrain_signature):
        raise NotAuthenticated("告警推送签名无效", details={"header": "X-CityBrain-Signature"})
    try:
        payload = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise Invalid(f"JSON 解析失败：{exc}", details={"field": "body"}) from None
    return intake.case_webhook_intake(ctx, parse(AlarmIn, payload))


# ---- reading, 督办, 考核 ---------------------------------------------------------------------------


@router.get("", response_model=CaseList, summary="Cases the caller may see, most urgent first")
def case_list(ctx: Ctx, query: Annotated[CaseQuery, Query()]) -> object:
    total, rows = service.case_list(ctx, query)
    return {"total": total, "items": rows}


@router.get("/kpi", summary="考核 KPIs for cases reported in [start, end), with 同比 and 环比")
def case_kpi(ctx: Ctx, start: datetime, end: datetime, by: kpi.Dimension = "city") -> object:
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("start / end 须带时区，如 2026-10-01T00:00:00+08:00", details={"field": "start"})
    return kpi.cases_kpi(ctx, start, end, by)


@router.post("/supervise", summary="Run the 督办 sweep now")
def supervise_sweep(ctx: Ctx) -> object:
    return supervision.cases_supervise(ctx)


@router.get("/notifications", response_model=list[NotificationPublic])
def notifications(ctx: Ctx, unread_only: bool = False) -> object:
    return service.notification_list(ctx, unread_only=unread_only)


@router.post("/notifications/{notification_id}/read", response_model=NotificationPublic)
def notification_read(ctx: Ctx, notification_id: str) -> object:
    return service.notification_read(ctx, notification_id)


# ---- reference data -----------------------------------------------------------------------------


class GridImportIn(BaseModel):
    demo: bool = False
    grids_total: int = 400
    geojson: dict[str, Any] | None = None


class WorkerIn(BaseModel):
    user: str | None


@router.get("/grids", response_model=list[GridPublic])
def grids(ctx: Ctx, level: str | None = None, parent: str | None = None) -> object:
    return service.grid_list(ctx, level=level, parent=parent)


@router.post("/grids/import", summary="Import the five-level boundaries (GeoJSON) or the demo grid")
def grids_import(ctx: Ctx, data: GridImportIn) -> dict[str, int]:
    return {"imported": service.grid_import(ctx, data.geojson, demo=data.demo, grids_total=data.grids_total)}


@router.put("/grids/{code}/worker", response_model=GridPublic)
def grid_worker(ctx: Ctx, code: str, data: WorkerIn) -> object:
    return service.grid_assign_worker(ctx, code, data.user)


@router.get("/components", response_model=list[ComponentPublic])
def components(ctx: Ctx, grid: str | None = None, code: str | None = None) -> object:
    return service.component_list(ctx, grid=grid, code=code)


@router.post("/components", response_model=ComponentPublic, status_code=201)
def component_create(ctx: Ctx, data: ComponentCreate) -> object:
    return service.component_create(ctx, data)


@router.get("/routing-rules", response_model=list[RoutingRulePublic])
def routing_rules(ctx: Ctx) -> object:
    from citybrain.cases import routing

    return routing.routing_rule_list(ctx)


@router.post("/routing-rules", response_model=RoutingRulePublic, status_code=201)
def routing_rule_create(ctx: Ctx, data: RoutingRuleIn) -> object:
    from citybrain.cases import routing

    return routing.routing_rule_create(ctx, data)


# ---- one case -----------------------------------------------------------------------------------


@router.get("/{ref}", response_model=CaseDetail, summary="A case with timeline, reports and the legal steps")
def case_show(ctx: Ctx, ref: str) -> object:
    return service.case_show(ctx, ref)


@router.post("/{ref}/{step}", response_model=CasePublic, summary="A workflow step (受理, 立案, 派遣, 处置 …)")
def case_step(
    ctx: Ctx,
    ref: str,
    step: str,
    body: Annotated[dict[str, Any] | None, Body()] = None,
    if_match: Annotated[str | None, Header()] = None,
) -> object:
    return run_step(ctx, ref, step, body or {}, if_match)
