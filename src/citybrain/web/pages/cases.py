"""一网统管 console pages: the operator queue, a case with its timeline and steps, the 督办 board, 考核,
and the citizens' report form and public status page (no login needed for those two)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from citybrain.cases import kpi, open311, service, supervision
from citybrain.cases.enums import ACTION_LABELS, STATE_LABELS, CaseAction, CaseState
from citybrain.cases.schemas import CaseQuery, Photo
from citybrain.errors import CityBrainError, parse
from citybrain.web.api.cases import run_step
from citybrain.web.deps import Ctx
from citybrain.web.i18n import register
from citybrain.web.pages.common import add_nav, render

router = APIRouter(include_in_schema=False)

register(
    {
        "nav.cases": {"zh": "案件办理", "en": "Cases"},
        "nav.cases_board": {"zh": "督办", "en": "Supervision"},
        "nav.cases_kpi": {"zh": "考核", "en": "KPIs"},
    }
)
add_nav("/cases", "nav.cases", {"admin", "cdo", "grid_operator", "steward", "consumer", "security"})
add_nav("/cases-board", "nav.cases_board", {"admin", "cdo"})
add_nav("/cases-kpi", "nav.cases_kpi", {"admin", "cdo", "grid_operator", "steward", "consumer", "security"})

_TZ = ZoneInfo("Asia/Shanghai")
PAGE = 50
SOURCES = {
    "hotline": "12345 热线",
    "patrol": "巡查上报",
    "open311": "市民随手拍",
    "iot": "物联感知",
    "video": "视频识别",
}
LEVELS = {"city": "市", "district": "区县", "street": "街道", "community": "社区", "grid": "网格"}
TIMER = {"on_time": ("正常", "ok"), "due_soon": ("即将超期", "warn"), "overdue": ("超期", "bad")}

DISPATCH_LEVELS = [
    ("", "按路由规则（部件先属主、事项先属地）"),
    ("district", "区县"),
    ("street", "街道"),
    ("community", "社区"),
    ("grid", "网格"),
]

#: allowed action → (URL step, rule, form fields); fields: (name, label, kind, required, extra)
STEP_FORMS: dict[str, tuple[str, str, list[tuple[str, str, str, bool, Any]]]] = {
    "accept": ("accept", "case_accept", []),
    "register": ("register", "case_register", []),
    "reject": ("reject", "case_reject", [("reason", "不立案原因", "text", True, None)]),
    "reclassify": (
        "reclassify",
        "case_reclassify",
        [
            ("kind", "类型", "select", True, [("事项", "事项"), ("部件", "部件")]),
            ("code", "代码（5 位）", "text", True, None),
            ("reason", "原因", "text", True, None),
        ],
    ),
    "dispatch": (
        "dispatch",
        "case_dispatch",
        [
            ("level", "派往层级", "select", False, DISPATCH_LEVELS),
            ("dept", "或派往部门", "dept", False, None),
            ("reason", "说明", "text", False, None),
        ],
    ),
    "sign": ("sign", "case_sign", []),
    "return": ("return", "case_return", [("reason", "回退原因", "text", True, None)]),
    "extend_request": (
        "extend-request",
        "case_extend_request",
        [("days", "延长工作日", "number", True, None), ("reason", "原因", "text", True, None)],
    ),
    "extend_decide": (
        "extend-decide",
        "case_extend_decide",
        [
            ("approve", "审批", "select", True, [("true", "批准"), ("false", "不批准")]),
            ("reason", "意见", "text", False, None),
        ],
    ),
    "hang": ("hang", "case_hang", [("reason", "挂账原因", "text", True, None)]),
    "unhang": ("unhang", "case_unhang", []),
    "dispose": ("dispose", "case_dispose", [("note", "处置情况", "textarea", True, None)]),
    "feedback": ("feedback", "case_feedback", [("reason", "反馈说明", "text", False, None)]),
    "verify_pass": (
        "verify",
        "case_verify",
        [("passed", "", "hidden", True, "true"), ("note", "核查意见", "text", False, None)],
    ),
    "verify_fail": (
        "verify",
        "case_verify",
        [("passed", "", "hidden", True, "false"), ("note", "不通过原因", "text", True, None)],
    ),
    "revisit_satisfied": (
        "revisit",
        "case_revisit",
        [("satisfied", "", "hidden", True, "true"), ("note", "回访记录", "text", False, None)],
    ),
    "revisit_unsatisfied": (
        "revisit",
        "case_revisit",
        [("satisfied", "", "hidden", True, "false"), ("note", "不满意原因", "text", True, None)],
    ),
    "close": ("close", "case_close", [("reason", "结案说明", "text", False, None)]),
    "evaluate": (
        "evaluate",
        "case_evaluate",
        [
            ("evaluation", "评价", "select", True, [("满意", "满意"), ("基本满意", "基本满意"), ("不满意", "不满意")]),
            ("score", "得分（0–100）", "number", False, None),
        ],
    ),
    "supervise": ("supervise", "case_supervise", [("reason", "督办意见", "text", False, None)]),
}


def _labels() -> dict[str, Any]:
    return {
        "states": {s.value: label for s, label in STATE_LABELS.items()},
        "actions": {a.value: label for a, label in ACTION_LABELS.items()},
        "sources": SOURCES,
        "levels": LEVELS,
        "timer": TIMER,
    }


@router.get("/cases")
def queue_page(ctx: Ctx, request: Request) -> Response:
    """坐席 queue: filters, the most urgent first."""
    fields = CaseQuery.model_fields
    params = {k: v for k, v in request.query_params.items() if v and k in fields}
    page = max(int(request.query_params.get("page", "1") or 1), 1)
    query = parse(CaseQuery, {**params, "limit": PAGE, "offset": (page - 1) * PAGE})
    total, rows = service.case_list(ctx, query)
    notices = service.notification_list(ctx, unread_only=True, limit=10)
    return render(
        request,
        "cases/queue.html",
        {
            "rows": rows,
            "notices": notices,
            "total": total,
            "page": page,
            "pages": max((total + PAGE - 1) // PAGE, 1),
            "params": params,
            "state_choices": [(s.value, s.label) for s in CaseState],
            **_labels(),
        },
    )


@router.get("/cases-board")
def board_page(ctx: Ctx, request: Request, swept: str | None = None) -> Response:
    """督办 board: overdue and at-risk cases, the escalated ones and the latest notices."""
    ctx.authorize("cases_supervise")
    _, overdue = service.case_list(ctx, CaseQuery(overdue=True, open_only=True, limit=200))
    _, open_cases = service.case_list(ctx, CaseQuery(open_only=True, limit=500))
    soon = [c for c in open_cases if c.timer_state == "due_soon"]
    _, supervised = service.case_list(ctx, CaseQuery(supervised=True, open_only=True, limit=200))
    _, hung = service.case_list(ctx, CaseQuery(state="hung", limit=200))
    notices = service.notification_list(ctx, limit=50)
    return render(
        request,
        "cases/board.html",
        {
            "overdue": overdue,
            "soon": soon,
            "supervised": supervised,
            "hung": hung,
            "notices": notices,
            "swept": swept,
            **_labels(),
        },
    )


@router.post("/cases-board/sweep")
def board_sweep(ctx: Ctx, request: Request) -> Response:
    result = supervision.cases_supervise(ctx)
    summary = f"检查 {result['checked']} 件，预警 {len(result['warned'])} 件，督办 {len(result['escalated'])} 件"
    from urllib.parse import quote

    return RedirectResponse(f"/cases-board?swept={quote(summary)}", status_code=303)


@router.get("/cases-kpi")
def kpi_page(ctx: Ctx, request: Request, by: str = "district", month: str | None = None) -> Response:
    """考核 for a month (default: this one), by a dimension, with 同比 and 环比."""
    now = datetime.now(_TZ)
    try:
        year, mon = (int(p) for p in (month or f"{now:%Y-%m}").split("-"))
        start = datetime(year, mon, 1, tzinfo=_TZ)
    except ValueError:
        start = datetime(now.year, now.month, 1, tzinfo=_TZ)
    end = kpi._months(start, 1)
    result = kpi.cases_kpi(ctx, start, end, by if by in kpi.DIMENSIONS else "district")
    return render(
        request,
        "cases/kpi.html",
        {"result": result, "month": f"{start:%Y-%m}", "by": result["by"], "dimensions": DIMENSION_LABELS},
    )


DIMENSION_LABELS = {
    "city": "全市",
    "district": "区县",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
    "department": "部门",
    "source": "来源",
    "category": "类别",
}


def _case_page(ctx: Ctx, request: Request, ref: str, error: str | None = None, status: int = 200) -> Response:
    case = service.case_show(ctx, ref)
    forms = []
    model = service.get_case(ctx.session, case.id)
    suggestions: list[dict[str, Any]] = []
    if case.needs_human and case.events and case.events[0].details:
        suggestions = list(case.events[0].details.get("suggestions") or [])
    for name in case.allowed_actions:
        spec = STEP_FORMS.get(name)
        if spec is None:
            continue
        step, rule, fields = spec
        if not ctx.allowed(rule, model):
            continue
        forms.append({"action": name, "label": ACTION_LABELS[CaseAction(name)], "step": step, "fields": fields})
    from citybrain.org.service import department_list

    departments = department_list(ctx)
    return render(
        request,
        "cases/case.html",
        {
            "c": case,
            "forms": forms,
            "suggestions": suggestions if ctx.allowed("case_reclassify", model) else [],
            "error": error,
            "departments": departments,
            "dept_names": {d.id: d.name for d in departments},
            **_labels(),
        },
        status_code=status,
    )


@router.get("/cases/{ref}")
def case_page(ctx: Ctx, request: Request, ref: str) -> Response:
    return _case_page(ctx, request, ref)


@router.post("/cases/{ref}/act/{step}")
async def case_act(ctx: Ctx, request: Request, ref: str, step: str) -> Response:
    form = await request.form()
    body = {k: v for k, v in form.items() if isinstance(v, str) and v.strip() != ""}
    try:
        run_step(ctx, ref, step, body)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _case_page(ctx, request, ref, error=exc.message, status=exc.http_status)
    return RedirectResponse(f"/cases/{ref}", status_code=303)


# ---- citizens -----------------------------------------------------------------------------------


@router.get("/report")
def report_form(ctx: Ctx, request: Request, error: str | None = None) -> Response:
    """市民随手拍: describe the problem and where it is; the category is optional."""
    services = open311.open311_service_list(ctx)
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in services:
        groups.setdefault(s["group"], []).append(s)
    return render(request, "cases/report.html", {"groups": groups, "error": error, "form": {}})


@router.post("/report")
async def report_submit(
    ctx: Ctx,
    request: Request,
    description: Annotated[str, Form()] = "",
    address_string: Annotated[str, Form()] = "",
    lat: Annotated[str, Form()] = "",
    long: Annotated[str, Form()] = "",
    service_code: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    first_name: Annotated[str, Form()] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    raw = {
        "description": description,
        "address_string": address_string,
        "lat": lat,
        "long": long,
        "service_code": service_code,
        "phone": phone,
        "first_name": first_name,
    }
    try:
        data = parse(open311.RequestIn, {k: v.strip() for k, v in raw.items() if v.strip()})
        photos = []
        if photo is not None and photo.filename:
            content = await photo.read()
            if content:
                photos.append(Photo(filename=photo.filename, content_type=photo.content_type or "", data=content))
        created = open311.open311_request_create(ctx, data, photos=photos)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        services = open311.open311_service_list(ctx)
        groups: dict[str, list[dict[str, Any]]] = {}
        for s in services:
            groups.setdefault(s["group"], []).append(s)
        return render(
            request, "cases/report.html", {"groups": groups, "error": exc.message, "form": raw}, status_code=422
        )
    return RedirectResponse(f"/report/status/{created['service_request_id']}?new=1", status_code=303)


@router.get("/report/status")
def status_lookup(ctx: Ctx, request: Request, id: str | None = None) -> Response:
    if id:
        return RedirectResponse(f"/report/status/{id.strip()}", status_code=303)
    return render(request, "cases/status.html", {"r": None, "new": False})


@router.get("/report/status/{request_id}")
def status_page(ctx: Ctx, request: Request, request_id: str, new: bool = False) -> Response:
    """Public status: state, the body handling it and the outcome, never the reporter's details."""
    found = open311.open311_request_show(ctx, request_id)
    return render(request, "cases/status.html", {"r": found, "new": new, "rid": request_id})
