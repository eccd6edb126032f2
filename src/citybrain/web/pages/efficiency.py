"""Console pages of the 工业企业效益综合评价: cycles, a year's overview with its towns, the firm list, one
firm's breakdown (or its data in 数据核对), the Excel download and the 危污乱散低 register."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from citybrain.efficiency import service
from citybrain.efficiency.api_schemas import ClearoutUpdate, ObjectionCreate, TransitionIn
from citybrain.efficiency.cycle import STATE_NAMES, TRANSITIONS
from citybrain.efficiency.params import INDICATOR_NAMES
from citybrain.efficiency.reports import CLASS_NAMES, to_xlsx
from citybrain.errors import CityBrainError, NotFound, parse
from citybrain.web.deps import Ctx
from citybrain.web.i18n import register
from citybrain.web.pages.common import add_nav, render

router = APIRouter(include_in_schema=False)

register(
    {
        "nav.efficiency": {"zh": "亩均效益评价", "en": "Efficiency evaluation"},
        "eff.title": {"zh": "工业企业效益综合评价", "en": "Industrial enterprise efficiency evaluation"},
        "eff.clearout": {"zh": "危污乱散低整治台账", "en": "Clear-out register"},
        "eff.results": {"zh": "企业评价结果", "en": "Firm results"},
    }
)
add_nav("/efficiency", "nav.efficiency", {"admin", "cdo", "steward", "consumer", "security", "public"})

PAGE = 50
BONUS_NAMES = {"tax_tier": "税收上台阶", "listing": "股改上市", "hightech": "国家高新技术企业", "honour": "上级荣誉"}
DEDUCTION_NAMES = {
    "environment": "环境保护违法",
    "safety": "安全生产违法",
    "fire": "消防违法",
    "tax": "纳税违法",
    "complaint": "被举报或媒体曝光",
}
RULE_NAMES = {
    "adjust-1": "调档1：80分以上但用地<3亩或税收<200万元，降为B类",
    "adjust-2": "调档2：税收≥1000万元或销售≥10亿元且得分<60，列为B类",
    "adjust-3": "调档3：应税销售≥2000万元的规下企业不得评为A类",
    "adjust-4": "调档4：领导小组研究调整（科技领军、重点培育）",
    "adjust-5": "调档5：发生较大以上环保、安全、火灾事故，列为D类",
    "deduct-5-severe": "举报曝光造成严重或恶劣影响，直接降为D类",
    "T-1": "暂缓定类：注册未满2年的租赁型新办企业",
    "T-2": "暂缓定类：供地未满3年的新办企业",
    "T-3": "暂缓定类：兼并重组取得土地未满2年",
    "T-other": "暂缓定类：其他需要暂缓定类的企业",
}
FIRM_TYPES = {
    "above_scale_clean": "规上工业企业（无生产性排污）",
    "above_scale_emitting": "规上工业企业（有生产性排污）",
    "below_scale": "规下工业企业",
}


def _common() -> dict[str, Any]:
    return {
        "state_names": STATE_NAMES,
        "class_names": CLASS_NAMES,
        "bonus_names": BONUS_NAMES,
        "deduction_names": DEDUCTION_NAMES,
        "rule_names": RULE_NAMES,
        "firm_types": FIRM_TYPES,
        "indicator_names": INDICATOR_NAMES,
    }


@router.get("/efficiency")
def cycles_page(ctx: Ctx, request: Request) -> Response:
    cycles = [service.cycle_public(c) for c in service.efficiency_cycle_list(ctx)]
    return render(request, "efficiency/cycles.html", {"cycles": cycles, **_common()})


def _year_page(ctx: Ctx, request: Request, year: int, *, error: str | None = None, status: int = 200) -> Response:
    cycle = service.efficiency_cycle_show(ctx, year)
    can_manage = ctx.allowed("efficiency_cycle_advance", service.office(ctx))
    report = None
    try:
        report = service.efficiency_report(ctx, year) if ctx.allowed("efficiency_report") else None
    except NotFound:
        report = None
    runs = service.efficiency_run_list(ctx, year) if ctx.allowed("efficiency_run_list") else []
    return render(
        request,
        "efficiency/year.html",
        {
            "cycle": cycle,
            "next_states": TRANSITIONS.get(cycle["state"], ()),
            "can_manage": can_manage,
            "report": report,
            "runs": runs[:10],
            "error": error,
            **_common(),
        },
        status_code=status,
    )


@router.get("/efficiency/clearout")
def clearout_page(ctx: Ctx, request: Request) -> Response:
    year = request.query_params.get("year")
    rows = service.efficiency_clearout_list(
        ctx,
        year=int(year) if year and year.isdigit() else None,
        town_code=request.query_params.get("town_code") or None,
    )
    return render(
        request, "efficiency/clearout.html", {"rows": rows, "statuses": ["待整治", "整治中", "已提升", "已腾退"]}
    )


@router.post("/efficiency/clearout/{entry_id}")
def clearout_update(
    ctx: Ctx, entry_id: str, status: Annotated[str, Form()], note: Annotated[str | None, Form()] = None
) -> Response:
    service.efficiency_clearout_update(ctx, entry_id, parse(ClearoutUpdate, {"status": status, "note": note or None}))
    return RedirectResponse("/efficiency/clearout", status_code=303)


@router.get("/efficiency/{year}")
def year_page(ctx: Ctx, request: Request, year: int) -> Response:
    return _year_page(ctx, request, year)


@router.post("/efficiency/{year}/advance")
def year_advance(
    ctx: Ctx,
    request: Request,
    year: int,
    to: Annotated[str, Form()],
    note: Annotated[str | None, Form()] = None,
    check_deadline: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        data = parse(TransitionIn, {"to": to, "note": note or None, "check_deadline": check_deadline or None})
        service.efficiency_cycle_advance(ctx, year, data)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _year_page(ctx, request, year, error=exc.message, status=exc.http_status)
    return RedirectResponse(f"/efficiency/{year}", status_code=303)


@router.post("/efficiency/{year}/run")
def year_run(ctx: Ctx, request: Request, year: int) -> Response:
    try:
        service.efficiency_run(ctx, year)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _year_page(ctx, request, year, error=exc.message, status=exc.http_status)
    return RedirectResponse(f"/efficiency/{year}", status_code=303)


@router.get("/efficiency/{year}/report.xlsx")
def year_report_xlsx(ctx: Ctx, year: int, town_code: str | None = None) -> Response:
    data = service.efficiency_report(ctx, year, town_code=town_code)
    name = f"{year}年度工业企业效益综合评价{('-' + town_code) if town_code else ''}.xlsx"
    return Response(
        to_xlsx(data),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/efficiency/{year}/results")
def results_page(ctx: Ctx, request: Request, year: int) -> Response:
    qp = request.query_params
    try:
        page = max(int(qp.get("page") or 1), 1)
    except ValueError:
        page = 1
    town = qp.get("town_code") or None
    cls = qp.get("cls") or None
    q = qp.get("q") or None
    out = service.efficiency_result_list(ctx, year, town_code=town, cls=cls, q=q, limit=PAGE, offset=(page - 1) * PAGE)
    return render(
        request,
        "efficiency/results.html",
        {
            "year": year,
            "page_data": out,
            "page": page,
            "pages": max((out["total"] + PAGE - 1) // PAGE, 1),
            "filters": {"town_code": town or "", "cls": cls or "", "q": q or ""},
            **_common(),
        },
    )


def _firm_page(
    ctx: Ctx, request: Request, year: int, uscc: str, *, error: str | None = None, status: int = 200
) -> Response:
    result = None
    try:
        result = service.efficiency_result_show(ctx, year, uscc)
    except NotFound:
        result = None
    data = service.efficiency_firm_data(ctx, year, uscc)
    objections = [o for o in service.efficiency_objection_list(ctx, year) if o.uscc == data["uscc"]]
    return render(
        request,
        "efficiency/firm.html",
        {
            "year": year,
            "result": result,
            "data": data,
            "objections": objections,
            "can_object": data["state"] == "checking" and ctx.allowed("efficiency_objection_create"),
            "error": error,
            **_common(),
        },
        status_code=status,
    )


@router.get("/efficiency/{year}/firms/{uscc}")
def firm_page(ctx: Ctx, request: Request, year: int, uscc: str) -> Response:
    return _firm_page(ctx, request, year, uscc)


@router.post("/efficiency/{year}/firms/{uscc}/objection")
def firm_objection(
    ctx: Ctx,
    request: Request,
    year: int,
    uscc: str,
    message: Annotated[str, Form()],
    resource_key: Annotated[str | None, Form()] = None,
    field: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        data = parse(
            ObjectionCreate,
            {"uscc": uscc, "message": message, "resource_key": resource_key or None, "field": field or None},
        )
        service.efficiency_objection_create(ctx, year, data)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _firm_page(ctx, request, year, uscc, error=exc.message, status=exc.http_status)
    return RedirectResponse(f"/efficiency/{year}/firms/{uscc}", status_code=303)


@router.post("/efficiency/{year}/firms/{uscc}/confirm")
def firm_confirm(ctx: Ctx, request: Request, year: int, uscc: str) -> Response:
    try:
        service.efficiency_confirm_data(ctx, year, uscc)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _firm_page(ctx, request, year, uscc, error=exc.message, status=exc.http_status)
    return RedirectResponse(f"/efficiency/{year}/firms/{uscc}", status_code=303)
