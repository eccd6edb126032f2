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
from citybrain.web.deps import Ctx, request_lang
from citybrain.web.i18n import register, translate
from citybrain.web.pages.common import add_nav, render

router = APIRouter(include_in_schema=False)

#: UI strings of the case console and the citizens' pages: key → (中文, English)
_STRINGS: dict[str, tuple[str, str]] = {
    "nav.cases": ("案件办理", "Cases"),
    "nav.cases_board": ("督办", "Supervision"),
    "nav.cases_kpi": ("考核", "KPIs"),
    # queue
    "cases.queue.title": ("案件办理队列", "Case queue"),
    "cases.notices.unread": ("未读通知", "Unread notices"),
    "cases.notices.unread_n": ("未读通知（{n}）", "Unread notices ({n})"),
    "cases.filter.source": ("来源", "Source"),
    "cases.filter.grid": ("网格/区划代码（前缀）", "Grid or division code (prefix)"),
    "cases.filter.code": ("类别代码", "Category code"),
    "cases.filter.only": ("只看", "Show only"),
    "cases.filter.needs_human": ("待人工分类", "Awaiting manual classification"),
    "cases.filter.overdue": ("超期", "Overdue"),
    "cases.filter.not_overdue": ("未超期", "Not overdue"),
    "cases.filter.open_only": ("只看未办结", "Open cases only"),
    "cases.filter.mine": ("只看我的待办", "My tasks only"),
    "cases.search.placeholder": ("搜索标题、描述或案件编号", "Search titles, descriptions or case numbers"),
    "cases.total": ("共 {n} 件", "{n} cases"),
    "cases.none": ("没有符合条件的案件", "No cases match"),
    # case rows
    "cases.col.number": ("编号", "No."),
    "cases.col.title": ("标题", "Title"),
    "cases.col.category": ("类别", "Category"),
    "cases.col.source": ("来源", "Source"),
    "cases.col.grid": ("网格", "Grid"),
    "cases.col.state": ("状态", "Status"),
    "cases.col.level": ("处置层级", "Level"),
    "cases.col.due": ("时限", "Deadline"),
    "cases.col.timer": ("计时", "Timer"),
    "cases.col.supervision": ("督办", "Supervision"),
    "cases.merged_n": ("合并 {n} 条", "{n} merged"),
    "cases.needs_human": ("待人工分类", "Needs classification"),
    "cases.unclassified": ("未分类", "Unclassified"),
    "cases.unlocated": ("未定位", "Not located"),
    "cases.supervised_n": ("督办 {n}", "Supervised ×{n}"),
    # case page
    "cases.case.page_title": ("案件 {id}", "Case {id}"),
    "cases.back_queue": ("← 案件办理队列", "← Case queue"),
    "cases.f.number": ("案件编号", "Case number"),
    "cases.version": ("（第 {n} 版）", "(version {n})"),
    "cases.f.state": ("状态", "Status"),
    "cases.supervised_times": ("督办 {n} 次", "supervised {n}×"),
    "cases.f.category": ("类别", "Category"),
    "cases.confidence": ("（建议置信度 {c}）", "(suggestion confidence {c})"),
    "cases.needs_confirm": ("待人工确认", "Needs confirmation"),
    "cases.f.component": ("部件标识码", "Component ID"),
    "cases.f.source": ("来源", "Source"),
    "cases.merged_reports": ("（合并 {n} 条上报）", "({n} reports merged)"),
    "cases.self_disposed": ("自行处置", "Handled on the spot"),
    "cases.f.location": ("位置", "Location"),
    "cases.f.grid": ("网格", "Grid"),
    "cases.near_boundary": (
        "距网格边界 {m} 米，相邻网格：{grids}",
        "{m} m from the grid boundary; neighbouring grids: {grids}",
    ),
    "cases.f.level": ("处置层级", "Assigned to"),
    "cases.f.urgency": ("紧急程度", "Urgency"),
    "cases.urgent": ("紧急", "Urgent"),
    "cases.normal": ("一般", "Normal"),
    "cases.f.reported": ("上报时间", "Reported at"),
    "cases.f.due": ("当前环节时限", "Deadline of the current stage"),
    "cases.suggestions": ("分类建议（请人工确认）", "Suggested categories (please confirm)"),
    "cases.confidence_short": ("置信度 {c}", "confidence {c}"),
    "cases.adopt": ("采用此分类", "Use this category"),
    "cases.handle": ("办理", "Actions"),
    "cases.no_actions": ("当前没有您可以执行的操作。", "There is nothing you can do on this case now."),
    "cases.no_dept": ("（不指定部门）", "(no department)"),
    "cases.timeline": ("时间轴", "Timeline"),
    "cases.col.time": ("时间", "Time"),
    "cases.col.action": ("操作", "Action"),
    "cases.col.change": ("状态变化", "State change"),
    "cases.col.actor": ("操作人", "By"),
    "cases.col.note": ("说明", "Note"),
    "cases.reports_n": ("上报记录（{n}）", "Reports ({n})"),
    "cases.col.channel": ("渠道", "Channel"),
    "cases.col.content": ("内容", "Content"),
    "cases.col.address": ("地址", "Address"),
    "cases.col.reporter": ("上报人", "Reporter"),
    "cases.col.merged": ("合并", "Merged"),
    "cases.yes": ("是", "yes"),
    "cases.attachments": ("照片与附件", "Photos and attachments"),
    "cases.bytes": ("（{type}，{n} 字节）", "({type}, {n} bytes)"),
    # step forms
    "cases.field.reject_reason": ("不立案原因", "Why it is not registered"),
    "cases.field.kind": ("类型", "Type"),
    "cases.field.kind_event": ("事项", "Event (事项)"),
    "cases.field.kind_part": ("部件", "Component (部件)"),
    "cases.field.code": ("代码（5 位）", "Code (5 digits)"),
    "cases.field.reason": ("原因", "Reason"),
    "cases.field.level": ("派往层级", "Send to level"),
    "cases.field.by_rules": (
        "按路由规则（部件先属主、事项先属地）",
        "By the routing rules (components: owner first; events: locality first)",
    ),
    "cases.field.dept": ("或派往部门", "Or to a department"),
    "cases.field.note": ("说明", "Note"),
    "cases.field.return_reason": ("回退原因", "Why it is returned"),
    "cases.field.days": ("延长工作日", "Working days to add"),
    "cases.field.approve": ("审批", "Decision"),
    "cases.field.approve_yes": ("批准", "Approve"),
    "cases.field.approve_no": ("不批准", "Refuse"),
    "cases.field.comment": ("意见", "Comment"),
    "cases.field.hang_reason": ("挂账原因", "Why it is put on hold"),
    "cases.field.disposal": ("处置情况", "What was done"),
    "cases.field.feedback": ("反馈说明", "Note"),
    "cases.field.verify_note": ("核查意见", "Verification note"),
    "cases.field.verify_fail": ("不通过原因", "Why it failed"),
    "cases.field.revisit_note": ("回访记录", "Notes of the call"),
    "cases.field.unsatisfied": ("不满意原因", "Why the caller is unsatisfied"),
    "cases.field.close_note": ("结案说明", "Closing note"),
    "cases.field.evaluation": ("评价", "Evaluation"),
    "cases.field.satisfied": ("满意", "Satisfied"),
    "cases.field.mostly": ("基本满意", "Mostly satisfied"),
    "cases.field.unsatisfied_option": ("不满意", "Unsatisfied"),
    "cases.field.score": ("得分（0–100）", "Score (0–100)"),
    "cases.field.supervise": ("督办意见", "Supervision note"),
    # board
    "cases.board.title": ("督办看板", "Supervision board"),
    "cases.board.sweep": ("立即检查超期并督办", "Check deadlines and escalate now"),
    "cases.board.swept": (
        "检查 {checked} 件，预警 {warned} 件，督办 {escalated} 件",
        "{checked} checked, {warned} warned, {escalated} escalated",
    ),
    "cases.board.overdue_open": ("超期未办结", "Overdue, open"),
    "cases.board.soon": ("即将超期", "Due soon"),
    "cases.board.supervised": ("督办中", "Under supervision"),
    "cases.board.hung": ("挂账", "On hold"),
    "cases.board.overdue": ("超期案件", "Overdue cases"),
    "cases.board.hung_register": ("挂账台账", "Hold register"),
    "cases.board.notices": ("最新通知", "Latest notices"),
    "cases.board.no_overdue": ("没有超期案件。", "No overdue cases."),
    "cases.board.no_soon": ("没有即将超期的案件。", "Nothing is due soon."),
    "cases.board.no_supervised": ("没有督办中的案件。", "No case is under supervision."),
    "cases.board.no_hung": ("没有挂账案件。", "No case is on hold."),
    "cases.board.no_notices": ("暂无通知", "No notices"),
    "cases.notice.supervise": ("督办", "Supervision"),
    "cases.notice.warning": ("预警", "Warning"),
    "cases.notice.dispatch": ("派遣", "Dispatch"),
    "cases.notice.rework": ("返工", "Rework"),
    "cases.notice.redo": ("重办", "Redo"),
    "cases.notice.extension": ("延期", "Extension"),
    # KPIs
    "cases.kpi.title": ("考核 · {month}", "KPIs · {month}"),
    "cases.kpi.month": ("月份", "Month"),
    "cases.kpi.by": ("维度", "By"),
    "cases.kpi.run": ("统计", "Compute"),
    "cases.kpi.note": (
        "按上报时间统计；环比对比 {mom} 起，同比对比 {yoy} 起（变化以百分点计）。",
        "Cases by the time they were reported; month on month compares with the period from {mom}, "
        "year on year with the one from {yoy} (changes in percentage points).",
    ),
    "cases.kpi.none": ("本期没有案件。", "No cases in this period."),
    "cases.kpi.reported": ("上报", "Reported"),
    "cases.kpi.registered": ("立案", "Registered"),
    "cases.kpi.closed": ("结案", "Closed"),
    "cases.kpi.self_disposed": ("自行处置", "Handled on the spot"),
    "cases.kpi.avg_dispose": ("平均处置时长（小时）", "Average disposal time (hours)"),
    "cases.kpi.mom": ("环比", "MoM"),
    "cases.kpi.yoy": ("同比", "YoY"),
    "cases.rate.close_rate": ("结案率", "Closure rate"),
    "cases.rate.close_on_time_rate": ("按期结案率", "Closed on time"),
    "cases.rate.dispose_rate": ("处置率", "Disposal rate"),
    "cases.rate.dispose_on_time_rate": ("按期处置率", "Disposed on time"),
    "cases.rate.rework_rate": ("返工率", "Rework rate"),
    "cases.rate.dispatch_accuracy_rate": ("准确派遣率", "Dispatch accuracy"),
    "cases.rate.register_on_time_rate": ("按时立案率", "Registered on time"),
    "cases.rate.satisfaction_rate": ("满意率", "Satisfaction"),
    "cases.dim.city": ("全市", "Whole city"),
    "cases.dim.district": ("区县", "District"),
    "cases.dim.street": ("街道", "Street"),
    "cases.dim.community": ("社区", "Community"),
    "cases.dim.grid": ("网格", "Grid"),
    "cases.dim.department": ("部门", "Department"),
    "cases.dim.source": ("来源", "Source"),
    "cases.dim.category": ("类别", "Category"),
    # citizens: report form and status page
    "cases.report.page_title": ("随手拍", "Report a problem"),
    "cases.report.title": ("市民随手拍", "Report a problem in the city"),
    "cases.report.intro": (
        "看到井盖缺失、垃圾满溢、占道经营等城市管理问题？告诉我们问题和位置，我们会派人处理。",
        "Seen a missing manhole cover, an overflowing bin or a stall blocking the pavement? "
        "Tell us what and where, and we will send someone.",
    ),
    "cases.report.desc": ("问题描述（必填）", "What is the problem (required)"),
    "cases.report.addr": ("地址（如：延陵西路与晋陵北路交叉口）", "Address (e.g. 延陵西路与晋陵北路交叉口)"),
    "cases.report.coords": ("我知道经纬度", "I know the coordinates"),
    "cases.report.lat": ("纬度", "Latitude"),
    "cases.report.long": ("经度", "Longitude"),
    "cases.report.category": (
        "问题类别（不确定可不选，由工作人员判断）",
        "Category (leave it if unsure; staff will decide)",
    ),
    "cases.report.unsure": ("不确定", "Not sure"),
    "cases.report.photo": (
        "现场照片（选填，JPEG/PNG/WebP，不超过 10 MB）",
        "Photo (optional; JPEG, PNG or WebP up to 10 MB)",
    ),
    "cases.report.name": ("称呼（选填）", "Your name (optional)"),
    "cases.report.phone": ("联系电话（选填，仅工作人员可见）", "Phone (optional; seen by staff only)"),
    "cases.report.submit": ("提交", "Submit"),
    "cases.report.track": ("查询办理进度", "Track a report"),
    "cases.status.page_title": ("办理进度", "Report status"),
    "cases.status.title": ("办理进度查询", "Track a report"),
    "cases.status.created": ("提交成功！请记下您的案件编号", "Thank you! Note your case number"),
    "cases.status.created_after": ("，可随时查询进度。", " to follow its progress at any time."),
    "cases.status.query": ("查询", "Look up"),
    "cases.status.closed": ("已办结", "Closed"),
    "cases.status.open": ("办理中", "In progress"),
    "cases.status.category": ("问题类别", "Category"),
    "cases.status.pending": ("待确认", "To be confirmed"),
    "cases.status.desc": ("问题描述", "Description"),
    "cases.status.where": ("地点", "Location"),
    "cases.status.agency": ("处理单位", "Handled by"),
    "cases.status.expected": ("预计办结", "Expected by"),
    "cases.status.report": ("我要上报问题", "Report a problem"),
    "cases.event.report": ("上报", "Reported"),
    "cases.event.merge": ("合并上报", "Report merged"),
}
_STATE_EN = {
    "reported": "Reported",
    "accepted": "Accepted, being verified",
    "registered": "Registered",
    "rejected": "Not registered",
    "dispatched": "Dispatched",
    "signed": "In progress",
    "hung": "On hold",
    "disposed": "Disposed",
    "feedback": "Reported back, to verify",
    "verified": "Verified",
    "revisited": "Caller revisited",
    "closed": "Closed",
    "evaluated": "Evaluated",
}
_ACTION_EN = {
    "accept": "Accept",
    "reject": "Do not register",
    "register": "Register",
    "dispatch": "Dispatch",
    "sign": "Sign for",
    "return": "Return",
    "extend_request": "Request an extension",
    "extend_decide": "Decide on the extension",
    "hang": "Put on hold",
    "unhang": "Take off hold",
    "dispose": "Dispose",
    "feedback": "Report back",
    "verify_pass": "Verification passed",
    "verify_fail": "Verification failed (rework)",
    "revisit_satisfied": "Revisit: satisfied",
    "revisit_unsatisfied": "Revisit: unsatisfied (redo)",
    "close": "Close",
    "evaluate": "Evaluate",
    "reclassify": "Reclassify",
    "supervise": "Supervise",
    "self_dispose": "Handled on the spot",
}
SOURCES = {
    "hotline": ("12345 热线", "12345 hotline"),
    "patrol": ("巡查上报", "Patrol report"),
    "open311": ("市民随手拍", "Citizen report (Open311)"),
    "iot": ("物联感知", "IoT sensor"),
    "video": ("视频识别", "Video detection"),
}
LEVELS = {
    "city": ("市", "City"),
    "district": ("区县", "District"),
    "street": ("街道", "Street"),
    "community": ("社区", "Community"),
    "grid": ("网格", "Grid"),
}
TIMER = {
    "on_time": ("正常", "On time", "ok"),
    "due_soon": ("即将超期", "Due soon", "warn"),
    "overdue": ("超期", "Overdue", "bad"),
}
_STRINGS.update({f"cases.state.{s.value}": (label, _STATE_EN[s.value]) for s, label in STATE_LABELS.items()})
_STRINGS.update({f"cases.action.{a.value}": (label, _ACTION_EN[a.value]) for a, label in ACTION_LABELS.items()})
_STRINGS.update({f"cases.source.{k}": v for k, v in SOURCES.items()})
_STRINGS.update({f"cases.level.{k}": v for k, v in LEVELS.items()})
_STRINGS.update({f"cases.timer.{k}": v[:2] for k, v in TIMER.items()})
register({key: {"zh": zh, "en": en} for key, (zh, en) in _STRINGS.items()})

add_nav("/cases", "nav.cases", {"admin", "cdo", "grid_operator", "steward", "consumer", "security"})
add_nav("/cases-board", "nav.cases_board", {"admin", "cdo"})
add_nav("/cases-kpi", "nav.cases_kpi", {"admin", "cdo", "grid_operator", "steward", "consumer", "security"})

_TZ = ZoneInfo("Asia/Shanghai")
PAGE = 50

DISPATCH_LEVELS = [
    ("", "cases.field.by_rules"),
    ("district", "cases.level.district"),
    ("street", "cases.level.street"),
    ("community", "cases.level.community"),
    ("grid", "cases.level.grid"),
]

#: allowed action → (URL step, rule, form fields); fields: (name, label key, kind, required, extra), where a
#: select's options are (value, label key)
STEP_FORMS: dict[str, tuple[str, str, list[tuple[str, str, str, bool, Any]]]] = {
    "accept": ("accept", "case_accept", []),
    "register": ("register", "case_register", []),
    "reject": ("reject", "case_reject", [("reason", "cases.field.reject_reason", "text", True, None)]),
    "reclassify": (
        "reclassify",
        "case_reclassify",
        [
            (
                "kind",
                "cases.field.kind",
                "select",
                True,
                [("事项", "cases.field.kind_event"), ("部件", "cases.field.kind_part")],
            ),
            ("code", "cases.field.code", "text", True, None),
            ("reason", "cases.field.reason", "text", True, None),
        ],
    ),
    "dispatch": (
        "dispatch",
        "case_dispatch",
        [
            ("level", "cases.field.level", "select", False, DISPATCH_LEVELS),
            ("dept", "cases.field.dept", "dept", False, None),
            ("reason", "cases.field.note", "text", False, None),
        ],
    ),
    "sign": ("sign", "case_sign", []),
    "return": ("return", "case_return", [("reason", "cases.field.return_reason", "text", True, None)]),
    "extend_request": (
        "extend-request",
        "case_extend_request",
        [("days", "cases.field.days", "number", True, None), ("reason", "cases.field.reason", "text", True, None)],
    ),
    "extend_decide": (
        "extend-decide",
        "case_extend_decide",
        [
            (
                "approve",
                "cases.field.approve",
                "select",
                True,
                [("true", "cases.field.approve_yes"), ("false", "cases.field.approve_no")],
            ),
            ("reason", "cases.field.comment", "text", False, None),
        ],
    ),
    "hang": ("hang", "case_hang", [("reason", "cases.field.hang_reason", "text", True, None)]),
    "unhang": ("unhang", "case_unhang", []),
    "dispose": ("dispose", "case_dispose", [("note", "cases.field.disposal", "textarea", True, None)]),
    "feedback": ("feedback", "case_feedback", [("reason", "cases.field.feedback", "text", False, None)]),
    "verify_pass": (
        "verify",
        "case_verify",
        [("passed", "", "hidden", True, "true"), ("note", "cases.field.verify_note", "text", False, None)],
    ),
    "verify_fail": (
        "verify",
        "case_verify",
        [("passed", "", "hidden", True, "false"), ("note", "cases.field.verify_fail", "text", True, None)],
    ),
    "revisit_satisfied": (
        "revisit",
        "case_revisit",
        [("satisfied", "", "hidden", True, "true"), ("note", "cases.field.revisit_note", "text", False, None)],
    ),
    "revisit_unsatisfied": (
        "revisit",
        "case_revisit",
        [("satisfied", "", "hidden", True, "false"), ("note", "cases.field.unsatisfied", "text", True, None)],
    ),
    "close": ("close", "case_close", [("reason", "cases.field.close_note", "text", False, None)]),
    "evaluate": (
        "evaluate",
        "case_evaluate",
        [
            (
                "evaluation",
                "cases.field.evaluation",
                "select",
                True,
                [
                    ("满意", "cases.field.satisfied"),
                    ("基本满意", "cases.field.mostly"),
                    ("不满意", "cases.field.unsatisfied_option"),
                ],
            ),
            ("score", "cases.field.score", "number", False, None),
        ],
    ),
    "supervise": ("supervise", "case_supervise", [("reason", "cases.field.supervise", "text", False, None)]),
}


def _labels(request: Request) -> dict[str, Any]:
    """Display names of states, actions, sources, levels and timer states in the request's language."""
    lang = request_lang(request)
    return {
        "states": {s.value: translate(f"cases.state.{s.value}", lang) for s in CaseState},
        "actions": {
            **{a.value: translate(f"cases.action.{a.value}", lang) for a in CaseAction},
            "report": translate("cases.event.report", lang),
            "merge": translate("cases.event.merge", lang),
        },
        "sources": {k: translate(f"cases.source.{k}", lang) for k in SOURCES},
        "levels": {k: translate(f"cases.level.{k}", lang) for k in LEVELS},
        "timer": {k: (translate(f"cases.timer.{k}", lang), v[2]) for k, v in TIMER.items()},
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
            "state_choices": [(s.value, translate(f"cases.state.{s.value}", request_lang(request))) for s in CaseState],
            **_labels(request),
        },
    )


@router.get("/cases-board")
def board_page(
    ctx: Ctx,
    request: Request,
    checked: int | None = None,
    warned: int | None = None,
    escalated: int | None = None,
) -> Response:
    """督办 board: overdue and at-risk cases, the escalated ones and the latest notices."""
    ctx.authorize("cases_supervise")
    _, overdue = service.case_list(ctx, CaseQuery(overdue=True, open_only=True, limit=200))
    _, open_cases = service.case_list(ctx, CaseQuery(open_only=True, limit=500))
    soon = [c for c in open_cases if c.timer_state == "due_soon"]
    _, supervised = service.case_list(ctx, CaseQuery(supervised=True, open_only=True, limit=200))
    _, hung = service.case_list(ctx, CaseQuery(state="hung", limit=200))
    notices = service.notification_list(ctx, limit=50)
    swept = None
    if checked is not None:
        swept = translate(
            "cases.board.swept", request_lang(request), checked=checked, warned=warned or 0, escalated=escalated or 0
        )
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
            **_labels(request),
        },
    )


@router.post("/cases-board/sweep")
def board_sweep(ctx: Ctx, request: Request) -> Response:
    result = supervision.cases_supervise(ctx)
    # the figures travel, not a sentence, so the board says them in the reader's language
    counts = f"checked={result['checked']}&warned={len(result['warned'])}&escalated={len(result['escalated'])}"
    return RedirectResponse(f"/cases-board?{counts}", status_code=303)


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
    lang = request_lang(request)
    if by == "source":
        # the source names the KPI module gives are Chinese; the console shows the reader's language
        for row in result["rows"]:
            if row["key"] in SOURCES:
                row["name"] = translate(f"cases.source.{row['key']}", lang)
    return render(
        request,
        "cases/kpi.html",
        {
            "result": result,
            "month": f"{start:%Y-%m}",
            "by": result["by"],
            "dimensions": {k: translate(f"cases.dim.{k}", lang) for k in kpi.DIMENSIONS},
            "rate_labels": {k: translate(f"cases.rate.{k}", lang) for k in kpi.RATES},
        },
    )


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
        forms.append({"action": name, "step": step, "fields": fields})
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
            **_labels(request),
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
