"""Console pages of the sharing exchange.

* 共享交换 (``/share``): a consumer's requests, grants and credentials, usage and data demands;
* 审批待办 (``/share/inbox``): a steward's (or the CDO's) pending requests, routed demands, grants on
  their data;
* 共享监管 (``/share/oversight``): the CDO's and security officers' view of every request, demand,
  alert and the sharing metrics.

Forms post back here; a refused or invalid form comes back with the reason shown, never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from citybrain.auth.rules import ALL_STAFF, Role
from citybrain.catalog.service import get_resource, to_public
from citybrain.errors import CityBrainError, parse
from citybrain.masking import default_spec
from citybrain.share import anomalies, metrics, service
from citybrain.share.models import AccessMode
from citybrain.share.schemas import (
    ApprovalIn,
    DemandAnswer,
    DemandCreate,
    ShareRequestCreate,
)
from citybrain.web.deps import Ctx
from citybrain.web.i18n import register
from citybrain.web.pages.catalog import RESOURCE_PANELS
from citybrain.web.pages.common import add_nav, render

router = APIRouter(include_in_schema=False)

register(
    {
        "nav.share": {"zh": "共享交换", "en": "Data sharing"},
        "nav.share_inbox": {"zh": "审批待办", "en": "Approvals"},
        "nav.share_oversight": {"zh": "共享监管", "en": "Sharing oversight"},
        "share.my_requests": {"zh": "本部门的共享申请", "en": "My department's requests"},
        "share.my_grants": {"zh": "本部门持有的授权", "en": "Grants my department holds"},
        "share.usage": {"zh": "近 30 日调用", "en": "Usage, last 30 days"},
        "share.demands": {"zh": "数据需求", "en": "Data demands"},
        "share.new_demand": {"zh": "提出目录外数据需求", "en": "Ask for data not in the catalog"},
        "share.request_new": {"zh": "申请共享", "en": "Request access"},
        "share.browse": {"zh": "浏览数据目录并申请", "en": "Browse the catalog to request data"},
        "share.resource": {"zh": "数据资源", "en": "Resource"},
        "share.source": {"zh": "来源部门", "en": "Source department"},
        "share.consumer": {"zh": "使用部门", "en": "Consumer department"},
        "share.fields": {"zh": "字段", "en": "Fields"},
        "share.rows": {"zh": "行范围", "en": "Row scope"},
        "share.all_rows": {"zh": "全部行", "en": "All rows"},
        "share.purpose": {"zh": "用途", "en": "Purpose"},
        "share.basis": {"zh": "共享依据", "en": "Legal basis"},
        "share.days": {"zh": "期限（天）", "en": "Period (days)"},
        "share.volume": {"zh": "预计日调用量（行）", "en": "Expected rows per day"},
        "share.modes": {"zh": "使用方式", "en": "Access modes"},
        "share.unmask": {"zh": "申请解除脱敏", "en": "Ask to lift masking"},
        "share.masking": {"zh": "脱敏", "en": "Masking"},
        "share.default_mask": {"zh": "默认脱敏", "en": "Default masking"},
        "share.plain": {"zh": "明文", "en": "As is"},
        "share.submit": {"zh": "提交申请", "en": "Submit request"},
        "share.status": {"zh": "状态", "en": "Status"},
        "share.expires": {"zh": "到期", "en": "Expires"},
        "share.rate": {"zh": "频率上限（次/分）", "en": "Rate limit (per minute)"},
        "share.approve": {"zh": "批准", "en": "Approve"},
        "share.refuse": {"zh": "拒绝", "en": "Refuse"},
        "share.reason": {"zh": "原因", "en": "Reason"},
        "share.comment": {"zh": "意见", "en": "Comment"},
        "share.approvals": {"zh": "审批记录", "en": "Decisions"},
        "share.pending": {"zh": "待审批的申请", "en": "Requests waiting for you"},
        "share.routed": {"zh": "转交本部门的需求", "en": "Demands routed to my department"},
        "share.source_grants": {"zh": "本部门数据的授权", "en": "Grants on my department's data"},
        "share.credentials": {"zh": "访问凭证", "en": "Credentials"},
        "share.issue_token": {"zh": "签发（轮换）授权令牌", "en": "Issue (rotate) the grant token"},
        "share.token_once": {
            "zh": "令牌只显示这一次，请立即妥善保存；再次签发将使旧令牌失效。",
            "en": "The token is shown only once; issuing again revokes the old one.",
        },
        "share.suspend": {"zh": "暂停", "en": "Suspend"},
        "share.resume": {"zh": "恢复", "en": "Resume"},
        "share.revoke": {"zh": "撤销", "en": "Revoke"},
        "share.anomalies": {"zh": "异常告警", "en": "Alerts"},
        "share.ack": {"zh": "已处理", "en": "Acknowledge"},
        "share.metrics": {"zh": "共享指标", "en": "Sharing metrics"},
        "share.all_requests": {"zh": "全部共享申请", "en": "All requests"},
        "share.none": {"zh": "暂无", "en": "None"},
        "share.answer_supply": {"zh": "以资源答复", "en": "Supply as resource"},
        "share.title": {"zh": "需求名称", "en": "Title"},
        "share.description": {"zh": "需求描述", "en": "Description"},
        "share.routed_to": {"zh": "转交部门", "en": "Routed to"},
        "share.unrouted": {"zh": "待首席数据官分派", "en": "Waiting for the CDO"},
        "share.op.prefix": {"zh": "前缀匹配", "en": "starts with"},
        "share.op.in": {"zh": "等于其一", "en": "one of"},
        "share.row_hint": {
            "zh": "如按行政区划限定：字段 division_code，前缀 320402（多个用逗号分隔）",
            "en": "E.g. field division_code, prefix 320402 (comma-separated)",
        },
        "share.mode.lookup": {"zh": "按主键查询", "en": "Lookup by key"},
        "share.mode.query": {"zh": "条件查询", "en": "Filtered query"},
        "share.mode.export": {"zh": "批量导出", "en": "Bulk export"},
        "share.mode.verify": {"zh": "数据核验", "en": "Verification"},
        "share.status.pending_steward": {"zh": "待来源部门审核", "en": "Waiting for the source steward"},
        "share.status.pending_cdo": {"zh": "待首席数据官审批", "en": "Waiting for the CDO"},
        "share.status.granted": {"zh": "已授权", "en": "Granted"},
        "share.status.refused": {"zh": "已拒绝", "en": "Refused"},
        "share.status.active": {"zh": "有效", "en": "Active"},
        "share.status.suspended": {"zh": "已暂停", "en": "Suspended"},
        "share.status.revoked": {"zh": "已撤销", "en": "Revoked"},
        "share.status.open": {"zh": "待答复", "en": "Open"},
        "share.status.supplied": {"zh": "已提供", "en": "Supplied"},
        "share.status.acknowledged": {"zh": "已处理", "en": "Acknowledged"},
        "share.kind.volume_jump": {"zh": "调用量突增", "en": "Volume jump"},
        "share.kind.off_hours_export": {"zh": "非工作时间导出", "en": "Off-hours export"},
        "share.kind.key_enumeration": {"zh": "疑似遍历查询", "en": "Key enumeration"},
        "share.expired": {"zh": "已到期", "en": "Expired"},
    }
)

_STAFF = {str(r) for r in ALL_STAFF} - {Role.GRID_OPERATOR.value}
add_nav("/share", "nav.share", _STAFF)
add_nav("/share/inbox", "nav.share_inbox", {"steward", "cdo", "admin"})
add_nav("/share/oversight", "nav.share_oversight", {"cdo", "admin", "security"})


def _back(url: str, *, error: str | None = None, notice: str | None = None) -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    if error:
        url += f"{sep}error={quote(error)}"
    elif notice:
        url += f"{sep}notice={quote(notice)}"
    return RedirectResponse(url, status_code=303)


def _refused(ctx: Ctx, exc: CityBrainError, url: str) -> RedirectResponse:
    if exc.http_status == 401:
        raise exc
    ctx.session.rollback()
    return _back(url, error=exc.message)


def _split(raw: str | None) -> list[str]:
    return [v.strip() for v in (raw or "").replace("，", ",").split(",") if v.strip()]


async def _form(request: Request) -> Any:
    return await request.form()


@router.get("/share")
def share_home(ctx: Ctx, request: Request, error: str | None = None, notice: str | None = None) -> Response:
    ctx.authorize("share_request_list")
    return render(
        request,
        "share/index.html",
        {
            "requests": service.share_request_list(ctx, box="mine"),
            "grants": service.grant_list(ctx, box="mine"),
            "usage": metrics.share_usage(ctx),
            "demands": service.demand_list(ctx, box="mine"),
            "error": error,
            "notice": notice,
        },
    )


@router.get("/share/request")
def request_form(ctx: Ctx, request: Request, resource: str, error: str | None = None) -> Response:
    ctx.authorize("share_request_create")
    res = get_resource(ctx.session, resource)
    public = to_public(res)
    infos = service.field_infos(res)
    masks = {name: default_spec(info) for name, info in infos.items()}
    return render(
        request,
        "share/request.html",
        {"r": public, "masks": masks, "modes": [m.value for m in AccessMode], "error": error},
    )


@router.post("/share/request")
async def request_submit(ctx: Ctx, request: Request) -> Response:
    form = await _form(request)
    resource = str(form.get("resource") or "")
    url = f"/share/request?resource={quote(resource)}"
    row_filter = []
    if form.get("row_field") and form.get("row_values"):
        row_filter.append(
            {
                "field": form.get("row_field"),
                "op": form.get("row_op") or "prefix",
                "values": _split(form.get("row_values")),
            }
        )
    try:
        data = parse(
            ShareRequestCreate,
            {
                "resource": resource,
                "fields": form.getlist("fields"),
                "purpose": form.get("purpose") or "",
                "legal_basis": form.get("legal_basis") or "",
                "row_filter": row_filter,
                "modes": form.getlist("modes") or ["lookup", "query", "export"],
                "unmask": form.getlist("unmask"),
                "days": form.get("days") or 365,
                "expected_volume": form.get("expected_volume") or None,
            },
        )
        req = service.share_request_create(ctx, data)
    except CityBrainError as exc:
        return _refused(ctx, exc, url)
    return _back(f"/share/requests/{req.id}")


@router.get("/share/requests/{request_id}")
def request_page(
    ctx: Ctx, request: Request, request_id: str, error: str | None = None, notice: str | None = None
) -> Response:
    req = service.share_request_show(ctx, request_id)
    row = service.get_request(ctx.session, request_id)
    can_decide = ctx.allowed("share_request_approve", row) and _can_stage(ctx, row)
    return render(
        request,
        "share/request_detail.html",
        {"req": req, "can_decide": can_decide, "terms": req.terms, "error": error, "notice": notice},
    )


def _can_stage(ctx: Ctx, row: Any) -> bool:
    try:
        service._stage_for(ctx, row)
    except CityBrainError:
        return False
    return True


@router.post("/share/requests/{request_id}/approve")
async def request_approve(ctx: Ctx, request: Request, request_id: str) -> Response:
    form = await _form(request)
    url = f"/share/requests/{request_id}"
    raw: dict[str, Any] = {"comment": form.get("comment") or "", "unmask": form.getlist("unmask")}
    if form.getlist("fields"):
        raw["fields"] = form.getlist("fields")
    if form.get("days"):
        raw["days"] = form.get("days")
    if form.get("rate_limit"):
        raw["rate_limit"] = form.get("rate_limit")
    if form.get("row_field") and form.get("row_values"):
        raw["row_filter"] = [
            {
                "field": form.get("row_field"),
                "op": form.get("row_op") or "prefix",
                "values": _split(form.get("row_values")),
            }
        ]
    try:
        service.share_request_approve(ctx, request_id, parse(ApprovalIn, raw))
    except CityBrainError as exc:
        return _refused(ctx, exc, url)
    return _back(url, notice="已批准")


@router.post("/share/requests/{request_id}/refuse")
async def request_refuse(ctx: Ctx, request: Request, request_id: str) -> Response:
    form = await _form(request)
    url = f"/share/requests/{request_id}"
    try:
        service.share_request_refuse(ctx, request_id, str(form.get("reason") or ""))
    except CityBrainError as exc:
        return _refused(ctx, exc, url)
    return _back(url, notice="已拒绝")


@router.get("/share/grants/{grant_id}")
def grant_page(
    ctx: Ctx, request: Request, grant_id: str, error: str | None = None, notice: str | None = None
) -> Response:
    grant = service.grant_show(ctx, grant_id)
    row = service.get_grant(ctx.session, grant_id)
    return render(
        request,
        "share/grant.html",
        {
            "g": grant,
            "is_consumer": ctx.actor.dept_id == grant.consumer_dept_id,
            "can_manage": ctx.allowed("grant_suspend", row),
            "can_resume": ctx.allowed("grant_resume", row),
            "usage": metrics.share_usage(ctx, grant_id=grant_id)
            if ctx.actor.dept_id == grant.consumer_dept_id
            else None,
            "token": None,
            "error": error,
            "notice": notice,
        },
    )


@router.post("/share/grants/{grant_id}/token")
def grant_token(ctx: Ctx, request: Request, grant_id: str) -> Response:
    try:
        issued = service.grant_token_issue(ctx, grant_id)
    except CityBrainError as exc:
        return _refused(ctx, exc, f"/share/grants/{grant_id}")
    grant = service.grant_show(ctx, grant_id)
    # the secret is rendered into this one response and nowhere else (no redirect, no query string)
    response = render(
        request,
        "share/grant.html",
        {"g": grant, "is_consumer": True, "can_manage": False, "can_resume": False, "usage": None, "token": issued},
    )
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/share/grants/{grant_id}/{op}")
async def grant_change(ctx: Ctx, request: Request, grant_id: str, op: str) -> Response:
    form = await _form(request)
    url = f"/share/grants/{grant_id}"
    reason = str(form.get("reason") or "")
    try:
        if op == "suspend":
            service.grant_suspend(ctx, grant_id, reason)
        elif op == "resume":
            service.grant_resume(ctx, grant_id, reason)
        elif op == "revoke":
            service.grant_revoke(ctx, grant_id, reason)
        else:
            return _back(url, error="未知操作")
    except CityBrainError as exc:
        return _refused(ctx, exc, url)
    return _back(url, notice="已更新")


@router.post("/share/demands")
async def demand_submit(ctx: Ctx, request: Request) -> Response:
    form = await _form(request)
    try:
        data = parse(
            DemandCreate,
            {"title": form.get("title") or "", "description": form.get("description") or "",
             "purpose": form.get("purpose") or ""},
        )  # fmt: skip
        service.demand_create(ctx, data)
    except CityBrainError as exc:
        return _refused(ctx, exc, "/share")
    return _back("/share", notice="需求已提交")


@router.post("/share/demands/{demand_id}/answer")
async def demand_reply(ctx: Ctx, request: Request, demand_id: str) -> Response:
    form = await _form(request)
    resource = str(form.get("resource") or "").strip()
    try:
        data = parse(
            DemandAnswer,
            {"outcome": "supplied" if resource else "refused", "resource": resource or None,
             "reason": form.get("reason") or ""},
        )  # fmt: skip
        service.demand_answer(ctx, demand_id, data)
    except CityBrainError as exc:
        return _refused(ctx, exc, "/share/inbox")
    return _back("/share/inbox", notice="已答复")


@router.get("/share/inbox")
def inbox(ctx: Ctx, request: Request, error: str | None = None, notice: str | None = None) -> Response:
    ctx.authorize("share_request_list")
    return render(
        request,
        "share/inbox.html",
        {
            "requests": service.share_request_list(ctx, box="inbox"),
            "demands": service.demand_list(ctx, box="inbox", status="open"),
            "grants": service.grant_list(ctx, box="source"),
            "alerts": anomalies.anomaly_list(ctx, status="open") if ctx.allowed("anomaly_list") else [],
            "error": error,
            "notice": notice,
        },
    )


@router.get("/share/oversight")
def oversight(ctx: Ctx, request: Request, error: str | None = None, notice: str | None = None) -> Response:
    m = metrics.share_metrics(ctx)
    return render(
        request,
        "share/oversight.html",
        {
            "m": m,
            "requests": service.share_request_list(ctx, box="all"),
            "demands": service.demand_list(ctx, box="all"),
            "alerts": anomalies.anomaly_list(ctx),
            "error": error,
            "notice": notice,
        },
    )


@router.post("/share/anomalies/{alert_id}/ack")
async def alert_ack(ctx: Ctx, request: Request, alert_id: str) -> Response:
    form = await _form(request)
    back = "/share/oversight" if ctx.actor.has_role(Role.ADMIN, Role.CDO, Role.SECURITY) else "/share/inbox"
    try:
        anomalies.anomaly_acknowledge(ctx, alert_id, str(form.get("comment") or ""))
    except CityBrainError as exc:
        return _refused(ctx, exc, back)
    return _back(back, notice="已处理")


def _resource_panel(ctx: Any, resource: Any) -> dict[str, Any] | None:
    """A 申请共享 link on the catalog page of every resource another department may ask for."""
    actor = ctx.actor
    if not actor.is_authenticated or not actor.dept_id or actor.dept_id == resource.dept_id:
        return None
    if not ctx.allowed("share_request_create") or resource.share_type == "不予共享":
        return None
    lang = getattr(ctx, "lang", "zh")
    label = "申请共享此数据" if lang == "zh" else "Request access to this data"
    html = Markup('<a class="button" id="share-request" href="/share/request?resource={}">{}</a>').format(
        escape(resource.key), label
    )
    return {"title": "共享交换" if lang == "zh" else "Data sharing", "html": html}


if _resource_panel not in RESOURCE_PANELS:
    RESOURCE_PANELS.append(_resource_panel)
