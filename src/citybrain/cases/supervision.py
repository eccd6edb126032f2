"""督办 (supervision): overdue cases climb one level up the chain; at-risk ones get a warning first.

``cases_supervise(now)`` is the sweep a scheduler runs every few minutes. For each case whose stage
clock runs (受理, 立案派遣, 处置, 核查) it reads the clock on the working calendar:

- 即将超期 (at most ``warn_fraction`` of the stage's time left): a 预警 notice to whoever holds it;
- 超期: 督办 through the state machine (``supervision_level`` + 1), escalated one level above the
  holder (网格 → 社区 → 街道 → 区县 → 市; a department → the city), notices to the holder and to
  the level above, and a webhook event when one is configured.

``supervision_mark`` remembers "<stage>:<state>" of the last notice, so one deadline warns once and
escalates once; the next stage's deadline starts afresh, and a repeated 督办 climbs from the level the
previous one reached.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from citybrain.actions import Context, action
from citybrain.cases.enums import CaseAction, CaseState
from citybrain.cases.models import Case
from citybrain.cases.schemas import OptionalReasonIn
from citybrain.cases.timelimits import Stage
from citybrain.cases.workflow import emit, flush, get_case, notify, notify_assignee, timer_of, transition
from citybrain.cases.worktime import TimerState
from citybrain.db import utcnow
from citybrain.org.models import Department

CITY = "320400"
_LEVEL_NAMES = {"grid": "网格", "community": "社区", "street": "街道", "district": "区县", "city": "市"}
_CLOCK_STATES = [
    s.value
    for s in (
        CaseState.REPORTED,
        CaseState.ACCEPTED,
        CaseState.REGISTERED,
        CaseState.DISPATCHED,
        CaseState.SIGNED,
        CaseState.FEEDBACK,
    )
]
#: how far ahead the sweep looks for 即将超期; longer than any 20 % of a configured limit plus holidays
_HORIZON = timedelta(days=30)


def level_of(code: str) -> str:
    if len(code) == 15:
        return "grid"
    if len(code) == 12:
        return "community"
    if len(code) == 9:
        return "street"
    return "city" if code.endswith("00") else "district"


def parent_of(code: str) -> str:
    level = level_of(code)
    if level == "grid":
        return code[:12]
    if level == "community":
        return code[:9]
    if level == "street":
        return code[:6]
    return code[:4] + "00" if level == "district" else code


def holder_division(session: Any, case: Case) -> str:
    """The division code of whoever holds the case now (a department: its own division)."""
    if case.assignee_dept_id:
        dept = session.get(Department, case.assignee_dept_id)
        return dept.division_code[:6] if dept is not None else CITY
    if case.assignee_division:
        return case.assignee_division
    # still at the centre (受理 / 立案 / 派遣): the district's centre holds it, or the city's
    return case.district_code or CITY


def escalation_target(session: Any, case: Case) -> str:
    base = case.supervise_division if case.supervision_level and case.supervise_division else None
    base = base or holder_division(session, case)
    return parent_of(base)


def escalate(ctx: Context, case: Case, *, reason: str, now: datetime, auto: bool, version: int | None = None) -> str:
    above = escalation_target(ctx.session, case)
    level = level_of(above)
    transition(
        ctx, case, CaseAction.SUPERVISE, audit_name="case_supervise", reason=reason, version=version, now=now,
        details={"division": above, "level": level, "auto": auto},
    )  # fmt: skip
    case.supervise_division = above
    flush(ctx.session, case)
    notify_assignee(ctx, case, "supervise", f"督办：案件 {case.request_id}「{case.title}」{reason}，请尽快办理")
    notify(
        ctx,
        case,
        "supervise",
        f"督办（第 {case.supervision_level} 次）：案件 {case.request_id}「{case.title}」{reason}，"
        f"已升级至{_LEVEL_NAMES[level]}级",
        division_code=above,
    )
    emit(ctx, "supervise", case, reason=reason, division=above)
    return above


@action("case_supervise")
def case_supervise(
    ctx: Context,
    ref: str,
    data: OptionalReasonIn | None = None,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """人工督办: a supervisor escalates one case, with a reason."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_supervise", case)
    reason = (data.reason if data else None) or "人工督办"
    escalate(ctx, case, reason=reason, now=now or utcnow(), auto=False, version=version)
    return case


@action("cases_supervise")
def cases_supervise(ctx: Context, now: datetime | None = None) -> dict[str, Any]:
    """The 督办 sweep (see the module doc). Returns what it did, by public case number."""
    ctx.authorize("cases_supervise")
    now = now or utcnow()
    rows = ctx.session.scalars(
        select(Case)
        .where(Case.state.in_(_CLOCK_STATES), Case.due_at.is_not(None), Case.due_at <= now + _HORIZON)
        .order_by(Case.due_at)
    )
    checked, warned, escalated = 0, [], []
    for case in list(rows):
        checked += 1
        state = timer_of(case, now)
        if state is None:
            continue
        if case.timer_state != state.value:
            case.timer_state = state.value
        if state is TimerState.OVERDUE and not case.overdue:
            case.overdue = True
        if state is TimerState.ON_TIME:
            continue
        mark = f"{case.stage}:{state.value}"
        if case.supervision_mark == mark:
            continue
        stage_label = Stage(case.stage).label if case.stage else "办理"
        if state is TimerState.OVERDUE:
            escalate(ctx, case, reason=f"{stage_label}已超期（时限 {_local(case.due_at)}）", now=now, auto=True)
            escalated.append(case.request_id)
        else:
            message = f"预警：案件 {case.request_id}「{case.title}」{stage_label}即将超期（时限 {_local(case.due_at)}）"
            if notify_assignee(ctx, case, "warning", message) is None:
                # nobody holds it yet: the centre of its district (or the city) is warned
                notify(ctx, case, "warning", message, division_code=holder_division(ctx.session, case))
            warned.append(case.request_id)
        case.supervision_mark = mark
    flush(ctx.session)
    return {"checked": checked, "warned": warned, "escalated": escalated}


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "无"
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")
