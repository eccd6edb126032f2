"""Console pages of governance: the steward's inbox (tickets and objections), a ticket, an objection,
a resource's quality page (scores, failing samples, history) and the league table."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from citybrain.actions import Context
from citybrain.errors import CityBrainError, parse
from citybrain.quality import metrics, objections, service, tickets
from citybrain.quality.models import QualityRun
from citybrain.quality.schemas import (
    DIMENSION_LABELS,
    OBJECTION_STATUS_LABELS,
    SEVERITY_LABELS,
    TICKET_STATUS_LABELS,
    ObjectionCreate,
)
from citybrain.web.deps import Ctx
from citybrain.web.i18n import register
from citybrain.web.pages.catalog import RESOURCE_PANELS
from citybrain.web.pages.common import add_nav, render

router = APIRouter(include_in_schema=False)

register(
    {
        "nav.quality": {"zh": "数据治理", "en": "Governance"},
        "nav.league": {"zh": "质量排行", "en": "Quality league"},
        "q.inbox": {"zh": "治理待办", "en": "Governance inbox"},
        "q.tickets": {"zh": "整改工单", "en": "Rectification tickets"},
        "q.objections": {"zh": "数据异议", "en": "Data objections"},
        "q.objections.received": {"zh": "本部门受理的数据异议", "en": "Objections to my department"},
        "q.objections.raised": {"zh": "本部门提出的数据异议", "en": "Objections my department raised"},
        "q.none": {"zh": "暂无", "en": "None"},
        "q.number": {"zh": "编号", "en": "No."},
        "q.resource": {"zh": "数据资源", "en": "Resource"},
        "q.rule": {"zh": "规则", "en": "Rule"},
        "q.dimension": {"zh": "质量维度", "en": "Dimension"},
        "q.severity": {"zh": "严重程度", "en": "Severity"},
        "q.status": {"zh": "状态", "en": "Status"},
        "q.failed": {"zh": "问题数据", "en": "Failing rows"},
        "q.checked": {"zh": "检查", "en": "Checked"},
        "q.dept": {"zh": "责任部门", "en": "Responsible department"},
        "q.target_dept": {"zh": "受理部门", "en": "Handled by"},
        "q.due": {"zh": "整改期限", "en": "Due"},
        "q.overdue": {"zh": "已逾期", "en": "Overdue"},
        "q.escalated": {"zh": "已上报首席数据官", "en": "Escalated to the CDO"},
        "q.opened": {"zh": "开单时间", "en": "Opened"},
        "q.closed": {"zh": "关闭时间", "en": "Closed"},
        "q.version": {"zh": "版本", "en": "Version"},
        "q.opened_version": {"zh": "发现版本", "en": "Found in version"},
        "q.last_version": {"zh": "最近复核版本", "en": "Last checked version"},
        "q.key": {"zh": "主键", "en": "Key"},
        "q.field": {"zh": "字段", "en": "Field"},
        "q.value": {"zh": "值", "en": "Value"},
        "q.related": {"zh": "关联值/比对值", "en": "Related / other source"},
        "q.items": {"zh": "问题记录", "en": "Problem records"},
        "q.item.open": {"zh": "待整改", "en": "Open"},
        "q.item.fixed": {"zh": "已整改", "en": "Fixed"},
        "q.item.removed": {"zh": "已删除", "en": "Removed"},
        "q.reject": {"zh": "驳回", "en": "Reject"},
        "q.reject.reason": {"zh": "驳回理由（必填）", "en": "Reason (required)"},
        "q.reason": {"zh": "理由", "en": "Reason"},
        "q.recheck": {"zh": "复核当前版本", "en": "Recheck current version"},
        "q.recheck.hint": {
            "zh": "上传更正后的新版本后，复核会在当前版本上重新执行规则；问题记录全部通过后工单自动关闭。",
            "en": "After loading a corrected version, a recheck runs the rules on it; "
            "the ticket closes once all its records pass.",
        },
        "q.run": {"zh": "立即评估", "en": "Run now"},
        "q.score": {"zh": "综合得分", "en": "Overall score"},
        "q.scores": {"zh": "质量得分", "en": "Scores"},
        "q.trend": {"zh": "历史评估", "en": "History"},
        "q.samples": {"zh": "不合格样例", "en": "Failing samples"},
        "q.not_run": {"zh": "尚未评估：数据入湖后将自动评估，也可立即评估。", "en": "Not evaluated yet."},
        "q.skipped": {"zh": "未执行的规则", "en": "Rules not run"},
        "q.compare.sources": {
            "zh": "比对：本资源「{this}」（{this_dept}） ↔ 「{other}」（{other_dept}），权威来源：{auth}",
            "en": "Comparison: {this} ({this_dept}) ↔ {other} ({other_dept}); authoritative: {auth}",
        },
        "q.objection.new": {"zh": "提出数据异议", "en": "Raise a data objection"},
        "q.objection.keys": {"zh": "有异议的记录主键（每行一个）", "en": "Disputed record keys (one per line)"},
        "q.objection.field": {"zh": "字段（可选）", "en": "Field (optional)"},
        "q.objection.description": {"zh": "异议内容", "en": "What is wrong"},
        "q.objection.evidence": {"zh": "依据（证明材料、文号等）", "en": "Evidence"},
        "q.objection.submit": {"zh": "提交异议", "en": "Submit"},
        "q.objection.routed": {"zh": "已提交，受理部门：{dept}", "en": "Submitted; handled by {dept}"},
        "q.uphold": {"zh": "异议成立", "en": "Uphold"},
        "q.uphold.hint": {
            "zh": "异议成立后，请以新版本数据更正；新版本入湖后异议标记为已更正。",
            "en": "Once upheld, correct the records in a new version.",
        },
        "q.raised_by": {"zh": "提出人", "en": "Raised by"},
        "q.description": {"zh": "异议内容", "en": "Description"},
        "q.evidence": {"zh": "依据", "en": "Evidence"},
        "q.decision": {"zh": "处理意见", "en": "Decision"},
        "q.fixed_version": {"zh": "更正版本", "en": "Fixed in version"},
        "q.league": {"zh": "部门数据质量排行", "en": "Department quality league"},
        "q.rank": {"zh": "排名", "en": "Rank"},
        "q.resources": {"zh": "已评估资源", "en": "Resources"},
        "q.rate": {"zh": "问题数据整改率", "en": "Rectification rate"},
        "q.avg_hours": {"zh": "平均整改时长（小时）", "en": "Avg. hours to rectify"},
        "q.open": {"zh": "待整改", "en": "Open"},
        "q.objections.upheld_rejected": {"zh": "异议成立/不成立", "en": "Objections upheld/rejected"},
        "q.panel": {"zh": "数据质量", "en": "Data quality"},
        "q.panel.link": {"zh": "查看质量详情", "en": "Quality details"},
        "q.origin.catalog": {"zh": "目录派生", "en": "From catalog"},
        "q.origin.steward": {"zh": "自定义", "en": "Custom"},
        "q.filter.all": {"zh": "全部", "en": "All"},
        "q.filter.apply": {"zh": "筛选", "en": "Filter"},
        "q.filter.escalated": {"zh": "仅看已上报首席数据官", "en": "Escalated only"},
        "q.latest": {"zh": "查看最新评估", "en": "Latest run"},
        "q.mine": {"zh": "本部门治理指标", "en": "My department"},
    }
)

add_nav("/quality", "nav.quality", {"admin", "cdo", "steward", "consumer"})
add_nav("/quality/league", "nav.league", {"admin", "cdo"})


def _labels() -> dict[str, Any]:
    return {
        "dimensions": DIMENSION_LABELS,
        "severities": SEVERITY_LABELS,
        "ticket_status": TICKET_STATUS_LABELS,
        "objection_status": OBJECTION_STATUS_LABELS,
    }


@router.get("/quality")
def inbox_page(
    ctx: Ctx, request: Request, status: str | None = "open", escalated: str | None = None, dept: str | None = None
) -> Response:
    only_escalated = True if escalated else None
    ticket_rows = (
        tickets.ticket_list(ctx, status=status or None, escalated=only_escalated, dept=dept or None)
        if ctx.allowed("ticket_list")
        else []
    )
    own = ctx.actor.dept_id
    mine = metrics.quality_metrics(ctx, own) if own and ctx.allowed("quality_metrics", {"dept_id": own}) else None
    received = objections.objection_list(ctx, direction="received") if ctx.allowed("objection_list") else []
    raised = objections.objection_list(ctx, direction="raised") if ctx.allowed("objection_list") else []
    if not ctx.allowed("ticket_list") and not ctx.allowed("objection_list"):
        ctx.authorize("ticket_list")  # neither list: refuse the page with the policy's reason
    return render(
        request,
        "quality/inbox.html",
        {
            "tickets": ticket_rows,
            "show_tickets": ctx.allowed("ticket_list"),
            "received": received,
            "raised": raised,
            "status": status or "",
            "escalated": bool(escalated),
            "dept": dept or "",
            "mine": mine,
            **_labels(),
        },
    )


def _ticket_page(ctx: Context, request: Request, ref: str, *, error: str | None = None) -> Response:
    ticket = tickets.ticket_show(ctx, ref)
    return render(
        request,
        "quality/ticket.html",
        {
            "tk": ticket,
            "error": error,
            "can_reject": ticket.status == "open" and ctx.allowed("ticket_reject", ticket),
            "can_recheck": ticket.status == "open" and ctx.allowed("ticket_recheck", ticket),
            **_labels(),
        },
        status_code=422 if error else 200,
    )


@router.get("/quality/tickets/{ref}")
def ticket_page(ctx: Ctx, request: Request, ref: str) -> Response:
    return _ticket_page(ctx, request, ref)


@router.post("/quality/tickets/{ref}/reject")
def ticket_reject(ctx: Ctx, request: Request, ref: str, reason: Annotated[str, Form()] = "") -> Response:
    try:
        tickets.ticket_reject(ctx, ref, reason)
    except CityBrainError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        ctx.session.rollback()
        return _ticket_page(ctx, request, ref, error=exc.message)
    return RedirectResponse(f"/quality/tickets/{quote(ref)}", status_code=303)


@router.post("/quality/tickets/{ref}/recheck")
def ticket_recheck(ctx: Ctx, request: Request, ref: str) -> Response:
    try:
        tickets.ticket_recheck(ctx, ref)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _ticket_page(ctx, request, ref, error=exc.message)
    return RedirectResponse(f"/quality/tickets/{quote(ref)}", status_code=303)


def _objection_page(ctx: Context, request: Request, ref: str, *, error: str | None = None) -> Response:
    obj = objections.objection_show(ctx, ref)
    can = obj.status == "open" and ctx.allowed("objection_uphold", obj)
    return render(
        request,
        "quality/objection.html",
        {"o": obj, "error": error, "can_decide": can, **_labels()},
        status_code=422 if error else 200,
    )


@router.get("/quality/objections/{ref}")
def objection_page(ctx: Ctx, request: Request, ref: str) -> Response:
    return _objection_page(ctx, request, ref)


@router.post("/quality/objections/{ref}/decide")
def objection_decide(
    ctx: Ctx,
    request: Request,
    ref: str,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        if decision == "uphold":
            objections.objection_uphold(ctx, ref, reason)
        else:
            objections.objection_reject(ctx, ref, reason)
    except CityBrainError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        ctx.session.rollback()
        return _objection_page(ctx, request, ref, error=exc.message)
    return RedirectResponse(f"/quality/objections/{quote(ref)}", status_code=303)


def _resource_page(
    ctx: Context,
    request: Request,
    ref: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    version: int | None = None,
) -> Response:
    report = service.quality_show(ctx, ref, version)
    from citybrain.catalog.service import get_resource

    resource = get_resource(ctx.session, ref)
    return render(
        request,
        "quality/resource.html",
        {
            "rep": report,
            "fields": [f.name for f in resource.fields],
            "can_run": ctx.allowed("quality_run", resource),
            "can_object": ctx.allowed("objection_create", resource),
            "error": error,
            "form": form or {},
            **_labels(),
        },
        status_code=422 if error else 200,
    )


@router.get("/quality/resources/{ref}")
def resource_page(ctx: Ctx, request: Request, ref: str, version: int | None = None) -> Response:
    return _resource_page(ctx, request, ref, version=version)


@router.post("/quality/resources/{ref}/run")
def resource_run(ctx: Ctx, request: Request, ref: str) -> Response:
    try:
        service.quality_run(ctx, ref)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _resource_page(ctx, request, ref, error=exc.message)
    return RedirectResponse(f"/quality/resources/{quote(ref)}", status_code=303)


@router.post("/quality/resources/{ref}/objections")
def resource_objection(
    ctx: Ctx,
    request: Request,
    ref: str,
    keys: Annotated[str, Form()] = "",
    field: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    evidence: Annotated[str, Form()] = "",
) -> Response:
    form = {"keys": keys, "field": field, "description": description, "evidence": evidence}
    try:
        data = parse(
            ObjectionCreate,
            {
                "keys": [k for k in keys.replace(",", "\n").splitlines() if k.strip()],
                "field": field or None,
                "description": description,
                "evidence": evidence,
            },
        )
        obj = objections.objection_create(ctx, ref, data)
    except CityBrainError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        ctx.session.rollback()
        return _resource_page(ctx, request, ref, error=exc.message, form=form)
    return RedirectResponse(f"/quality/objections/{quote(obj.number)}", status_code=303)


@router.get("/quality/league")
def league_page(ctx: Ctx, request: Request) -> Response:
    return render(request, "quality/league.html", {"rows": metrics.quality_league(ctx)})


def _panel(ctx: Context, resource: Any) -> dict[str, Any] | None:
    """A 数据质量 panel on the catalog page of a resource: latest score per dimension and a link."""
    if not ctx.allowed("quality_show", resource):
        return None
    from sqlalchemy import select

    run = ctx.session.scalar(
        select(QualityRun).where(QualityRun.resource_id == resource.id).order_by(QualityRun.created_at.desc()).limit(1)
    )
    zh = ctx.lang != "en"
    link = f'<a href="/quality/resources/{escape(resource.key)}">{"查看质量详情" if zh else "Quality details"}</a>'
    if run is None:
        text = "尚未评估" if zh else "Not evaluated yet"
        return {"title": "数据质量" if zh else "Data quality", "html": Markup(f"<p>{text}。{link}</p>")}
    dims = "".join(
        f'<div class="kpi">{escape(DIMENSION_LABELS.get(k, k))}<b>{v:.2f}</b></div>' for k, v in run.dimensions.items()
    )
    overall = "—" if run.overall is None else f"{run.overall:.2f}"
    head = f'<div class="kpi">{"综合得分" if zh else "Overall"}（v{run.version}）<b>{overall}</b></div>'
    html = Markup(f'<div class="kpis">{head}{dims}</div><p>{link}</p>')
    return {"title": "数据质量" if zh else "Data quality", "html": html}


if _panel not in RESOURCE_PANELS:
    RESOURCE_PANELS.append(_panel)
