"""一网统管 actions: the case workflow (立案 → 派遣 → 处置 → 核查 → 结案), grids, 部件, notices.

Intake lives in ``intake``, 督办 in ``supervision``, 考核 in ``kpi``, the Open311 interface in
``open311``; this module imports them so the registry sees every action. Each state change is one
call to ``workflow.transition`` (state machine + effects + clock + timeline + audit, one transaction);
every change takes the ``version`` the operator saw, so two people acting on one case at once cannot
both win.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, true

from citybrain.actions import Context, action
from citybrain.auth.rules import Role
from citybrain.cases.codes import load_codes, make_component_id
from citybrain.cases.enums import HOTLINE, CaseAction, CaseState, allowed_actions
from citybrain.cases.models import Attachment, Case, CaseEvent, Component, GridArea, Notification, Outbox, Report
from citybrain.cases.permissions import visible_filter
from citybrain.cases.routing import LOCALITY, Target, assign, invalidate_space, manual_target, route, space
from citybrain.cases.schemas import (
    CaseDetail,
    CaseQuery,
    ComponentCreate,
    ComponentUpdate,
    DispatchIn,
    DisposeIn,
    EvaluateIn,
    ExtendDecideIn,
    ExtendRequestIn,
    OptionalReasonIn,
    ReasonIn,
    ReclassifyIn,
    RevisitIn,
    VerifyIn,
)
from citybrain.cases.space import Level
from citybrain.cases.timelimits import Stage
from citybrain.cases.workflow import (
    add_event,
    audit,
    check_version,
    emit,
    flush,
    get_case,
    notify_assignee,
    refresh_timer,
    remaining_seconds,
    stage_deadline,
    transition,
)
from citybrain.db import utcnow
from citybrain.errors import Conflict, Invalid, NotFound

A = CaseAction


def _fmt(moment: datetime | None) -> str:
    if moment is None:
        return "无"
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


# ---- 受理 / 立案 / 不立案 -------------------------------------------------------------------------


@action("case_accept")
def case_accept(ctx: Context, ref: str, *, version: int | None = None, now: datetime | None = None) -> Case:
    """受理: the centre takes the report up for 核实."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_accept", case)
    transition(ctx, case, A.ACCEPT, audit_name="case_accept", version=version, now=now)
    if case.source == HOTLINE:
        # a 12345 ticket has its own 受理 limit; 立案+派遣 is counted from the 受理, not from the call
        moment = case.accepted_at or utcnow()
        case.dispatch_due_at = stage_deadline(case, Stage.DISPATCH, moment)
        refresh_timer(case, moment)
        flush(ctx.session, case)
    return case


@action("case_register")
def case_register(ctx: Context, ref: str, *, version: int | None = None, now: datetime | None = None) -> Case:
    """立案: the report is confirmed as a case of its category (which a person has now checked)."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_register", case)
    if case.code is None:
        raise Invalid("案件尚未确定事项/部件分类，请先重新分类再立案", details={"field": "code"})
    check_version(case, version)
    # registering is the person's confirmation of the suggested category
    case.needs_human = False
    transition(ctx, case, A.REGISTER, audit_name="case_register", now=now)
    return case


@action("case_reject")
def case_reject(
    ctx: Context, ref: str, data: ReasonIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    """不立案 / 注销, with the reason the reporter will see."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_reject", case)
    transition(
        ctx, case, A.REJECT, audit_name="case_reject", params={"reason": data.reason}, reason=data.reason,
        version=version, now=now,
    )  # fmt: skip
    return case


@action("case_reclassify")
def case_reclassify(
    ctx: Context, ref: str, data: ReclassifyIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    """重新分类: a person corrects the category; deadlines follow it, and a dispatched case is rerouted."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_reclassify", case)
    check_version(case, version)
    entry = load_codes(case.edition).get(data.kind, data.code)
    if data.component_id is not None:
        component = ctx.session.get(Component, data.component_id)
        if component is None:
            raise NotFound(f"部件 {data.component_id} 未登记", details={"field": "component_id"})
    before = {"kind": case.kind, "code": case.code, "code_name": case.code_name}
    case.kind, case.code, case.code_name = data.kind, entry.code, entry.name
    case.component_id = data.component_id
    case.needs_human = False
    transition(
        ctx, case, A.RECLASSIFY, audit_name="case_reclassify", reason=data.reason, now=now,
        details={"before": before, "after": {"kind": case.kind, "code": case.code, "code_name": case.code_name}},
    )  # fmt: skip
    if case.state == CaseState.DISPATCHED.value:
        # the old category's owner was the wrong body: send it to the new one, forgetting old returns
        case.returned_by = []
        target = route(ctx.session, case)
        if target is not None and (target.dept_id, target.user_id, target.division) != (
            case.assignee_dept_id,
            case.assignee_user_id,
            case.assignee_division,
        ):
            _send(ctx, case, target, reason=f"重新分类后改派：{target.reason}", now=now)
    return case


# ---- 派遣 / 回退 ---------------------------------------------------------------------------------


def _send(ctx: Context, case: Case, target: Target, *, reason: str, now: datetime | None, auto: bool = False) -> None:
    assign(case, target)
    transition(
        ctx, case, A.DISPATCH, audit_name="case_dispatch", reason=reason, now=now,
        details={"level": target.level, "division": target.division, "dept_id": target.dept_id,
                 "user_id": target.user_id, "auto": auto},
    )  # fmt: skip
    notify_assignee(
        ctx, case, "dispatch", f"新派遣案件 {case.request_id}「{case.title}」，处置时限 {_fmt(case.dispose_due_at)}"
    )
    emit(ctx, "dispatch", case, reason=reason)


@action("case_dispatch")
def case_dispatch(
    ctx: Context,
    ref: str,
    data: DispatchIn | None = None,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """派遣: by the routing rules (部件先属主后属地, 事项先属地后属主), down a level, or across to a department."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_dispatch", case)
    check_version(case, version)
    data = data or DispatchIn()
    if data.level is None and data.dept is None:
        target = route(ctx.session, case)
        if target is None:
            raise Conflict(
                "没有可派遣的对象（未配置路由规则，或属主、属地均已回退），请人工指定层级或部门",
                details={"returned_by": case.returned_by, "code": case.code},
            )
    else:
        target = manual_target(ctx, case, data)
    _send(ctx, case, target, reason=data.reason or target.reason, now=now)
    return case


@action("case_return")
def case_return(
    ctx: Context, ref: str, data: ReasonIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    """回退: not ours (with the reason); the case is rerouted to the next target, else waits at the centre."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_return", case)
    check_version(case, version)
    now = now or utcnow()
    key = f"dept:{case.assignee_dept_id}" if case.assignee_dept_id else LOCALITY
    previous = {"dept_id": case.assignee_dept_id, "user_id": case.assignee_user_id, "division": case.assignee_division}
    case.returned_by = [*[k for k in (case.returned_by or []) if k != key], key]
    transition(
        ctx, case, A.RETURN, audit_name="case_return", reason=data.reason, now=now,
        details={"returned_by": key, "previous": previous},
    )  # fmt: skip
    case.level, case.assignee_division, case.assignee_dept_id, case.assignee_user_id = "city", None, None, None
    # the centre gets a fresh 派遣 clock for the case it has to route again
    case.dispatch_due_at = stage_deadline(case, Stage.DISPATCH, now)
    refresh_timer(case, now)
    flush(ctx.session, case)
    target = route(ctx.session, case)
    if target is not None:
        _send(ctx, case, target, reason=f"回退后自动改派：{target.reason}", now=now, auto=True)
    return case


# ---- 处置 ----------------------------------------------------------------------------------------


@action("case_sign")
def case_sign(ctx: Context, ref: str, *, version: int | None = None, now: datetime | None = None) -> Case:
    case = get_case(ctx.session, ref)
    ctx.authorize("case_sign", case)
    transition(ctx, case, A.SIGN, audit_name="case_sign", version=version, now=now)
    return case


@action("case_extend_request")
def case_extend_request(
    ctx: Context, ref: str, data: ExtendRequestIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    case = get_case(ctx.session, ref)
    ctx.authorize("case_extend_request", case)
    transition(
        ctx, case, A.EXTEND_REQUEST, audit_name="case_extend_request", params={"days": data.days},
        reason=data.reason, version=version, now=now, details={"days": data.days},
    )  # fmt: skip
    return case


@action("case_extend_decide")
def case_extend_decide(
    ctx: Context, ref: str, data: ExtendDecideIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    case = get_case(ctx.session, ref)
    ctx.authorize("case_extend_decide", case)
    days = case.extension_pending_days
    transition(
        ctx, case, A.EXTEND_DECIDE, audit_name="case_extend_decide", params={"approve": data.approve},
        reason=data.reason, version=version, now=now, details={"approve": data.approve, "days": days},
    )  # fmt: skip
    verdict = f"已批准延期 {days:g} 个工作日，新时限 {_fmt(case.dispose_due_at)}" if data.approve else "延期申请未批准"
    notify_assignee(ctx, case, "extension", f"案件 {case.request_id}：{verdict}")
    return case


@action("case_hang")
def case_hang(
    ctx: Context, ref: str, data: ReasonIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    """挂账: cannot be solved in time (funding, planning); the case goes on the register with its reason."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_hang", case)
    transition(ctx, case, A.HANG, audit_name="case_hang", reason=data.reason, version=version, now=now)
    return case


@action("case_unhang")
def case_unhang(ctx: Context, ref: str, *, version: int | None = None, now: datetime | None = None) -> Case:
    case = get_case(ctx.session, ref)
    ctx.authorize("case_unhang", case)
    transition(ctx, case, A.UNHANG, audit_name="case_unhang", version=version, now=now)
    return case


@action("case_dispose")
def case_dispose(
    ctx: Context, ref: str, data: DisposeIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    case = get_case(ctx.session, ref)
    ctx.authorize("case_dispose", case)
    case.disposal_note = data.note
    transition(ctx, case, A.DISPOSE, audit_name="case_dispose", reason=data.note, version=version, now=now)
    return case


@action("case_feedback")
def case_feedback(
    ctx: Context,
    ref: str,
    data: OptionalReasonIn | None = None,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """反馈: the disposer reports back; the 核查 clock starts."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_feedback", case)
    reason = data.reason if data else None
    transition(ctx, case, A.FEEDBACK, audit_name="case_feedback", reason=reason, version=version, now=now)
    return case


# ---- 核查 / 回访 / 结案 / 评价 ----------------------------------------------------------------------


@action("case_verify")
def case_verify(
    ctx: Context, ref: str, data: VerifyIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    """核查: passed, or 返工 back to the same disposer on the same clock."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_verify", case)
    move = A.VERIFY_PASS if data.passed else A.VERIFY_FAIL
    transition(ctx, case, move, audit_name="case_verify", reason=data.note, version=version, now=now)
    if not data.passed:
        notify_assignee(ctx, case, "rework", f"案件 {case.request_id} 核查不通过，请返工：{data.note}")
    return case


@action("case_revisit")
def case_revisit(
    ctx: Context, ref: str, data: RevisitIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    """热线回访: satisfied → may close; unsatisfied → 重办 by the same department on a fresh clock."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_revisit", case)
    move = A.REVISIT_SATISFIED if data.satisfied else A.REVISIT_UNSATISFIED
    transition(ctx, case, move, audit_name="case_revisit", reason=data.note, version=version, now=now)
    if not data.satisfied:
        notify_assignee(ctx, case, "redo", f"案件 {case.request_id} 回访不满意，请重办：{data.note or ''}")
    return case


@action("case_close")
def case_close(
    ctx: Context,
    ref: str,
    data: OptionalReasonIn | None = None,
    *,
    version: int | None = None,
    now: datetime | None = None,
) -> Case:
    case = get_case(ctx.session, ref)
    ctx.authorize("case_close", case)
    reason = data.reason if data else None
    transition(ctx, case, A.CLOSE, audit_name="case_close", reason=reason, version=version, now=now)
    emit(ctx, "close", case)
    return case


@action("case_evaluate")
def case_evaluate(
    ctx: Context, ref: str, data: EvaluateIn, *, version: int | None = None, now: datetime | None = None
) -> Case:
    case = get_case(ctx.session, ref)
    ctx.authorize("case_evaluate", case)
    transition(
        ctx, case, A.EVALUATE, audit_name="case_evaluate", params={"evaluation": data.evaluation, "score": data.score},
        reason=data.note, version=version, now=now, details={"evaluation": data.evaluation, "score": data.score},
    )  # fmt: skip
    return case


# ---- reading ------------------------------------------------------------------------------------


def _query(ctx: Context, query: CaseQuery) -> Any:
    q = select(Case).where(visible_filter(ctx.actor))
    exact = {
        "state": Case.state,
        "source": Case.source,
        "kind": Case.kind,
        "code": Case.code,
        "district": Case.district_code,
        "street": Case.street_code,
        "dept": Case.assignee_dept_id,
    }
    for name, column in exact.items():
        value = getattr(query, name)
        if value:
            q = q.where(column == value)
    if query.grid:
        q = q.where(Case.grid_id.startswith(query.grid))
    if query.overdue is not None:
        q = q.where(Case.overdue.is_(query.overdue))
    if query.supervised is not None:
        q = q.where(Case.supervision_level > 0 if query.supervised else Case.supervision_level == 0)
    if query.needs_human is not None:
        q = q.where(Case.needs_human.is_(query.needs_human))
    if query.open_only:
        q = q.where(Case.state.not_in([CaseState.REJECTED.value, CaseState.CLOSED.value, CaseState.EVALUATED.value]))
    if query.mine:
        actor = ctx.actor
        mine = [Case.assignee_user_id == actor.user_id] if actor.user_id else []
        if actor.dept_id:
            mine.append(Case.assignee_dept_id == actor.dept_id)
        # a case held by a locality (街道 / 社区) is the to-do of the operators working there
        mine.extend(
            (Case.assignee_division == d) & Case.assignee_user_id.is_(None) & Case.assignee_dept_id.is_(None)
            for d in actor.divisions
        )
        q = q.where(or_(*mine)) if mine else q.where(Case.id.is_(None))
    if query.q:
        like = f"%{query.q}%"
        q = q.where(or_(Case.title.like(like), Case.description.like(like), Case.request_id == query.q))
    return q


@action("case_list")
def case_list(ctx: Context, query: CaseQuery | None = None) -> tuple[int, list[Case]]:
    """Cases the actor may see; the most urgent first (running clocks by deadline, then the newest)."""
    ctx.authorize("case_list")
    query = query or CaseQuery()
    q = _query(ctx, query)
    total = ctx.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = ctx.session.scalars(
        q.order_by(Case.due_at.is_(None), Case.due_at, Case.reported_at.desc()).limit(query.limit).offset(query.offset)
    )
    return total, list(rows)


def detail(ctx: Context, case: Case, now: datetime | None = None) -> CaseDetail:
    now = now or utcnow()
    session = ctx.session
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
    reports = session.scalars(select(Report).where(Report.case_id == case.id).order_by(Report.received_at))
    files = session.scalars(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.at))
    neighbours: list[str] = []
    boundary = None
    index = space(session).index
    if index is not None and case.grid_id and case.lon is not None and case.lat is not None:
        hit = index.locate(case.lon, case.lat)
        if hit is not None:
            boundary = round(hit.boundary_distance_m, 1)
            from citybrain.cases.routing import NEAR_BOUNDARY_M

            if boundary <= NEAR_BOUNDARY_M:
                neighbours = index.neighbours(case.grid_id)
    return CaseDetail.model_validate(
        {
            **{name: getattr(case, name) for name in CaseDetail.model_fields if hasattr(case, name)},
            "events": list(events),
            "reports": list(reports),
            "attachments": list(files),
            "allowed_actions": [a.value for a in allowed_actions(case)],
            "neighbours": neighbours,
            "boundary_distance_m": boundary,
            "remaining_seconds": remaining_seconds(case, now),
        }
    )


@action("case_show")
def case_show(ctx: Context, ref: str) -> CaseDetail:
    """A case with its timeline, source reports, photos and the actions legal now."""
    case = get_case(ctx.session, ref)
    ctx.authorize("case_show", case)
    return detail(ctx, case)


@action("case_attachment_show")
def case_attachment_show(ctx: Context, attachment_id: str) -> tuple[Attachment, bytes]:
    row = ctx.session.get(Attachment, attachment_id)
    case = ctx.session.get(Case, row.case_id) if row is not None else None
    ctx.authorize("case_attachment_show", case)
    if row is None or case is None:
        raise NotFound(f"附件 {attachment_id} 不存在")
    return row, (ctx.settings.home / "attachments" / row.path).read_bytes()


# ---- grids --------------------------------------------------------------------------------------


@action("grid_import")
def grid_import(
    ctx: Context, geojson: dict[str, Any] | str | None = None, *, demo: bool = False, grids_total: int = 400
) -> int:
    """Load the five-level boundaries (GeoJSON, or the demo grid over 常州); grid workers are kept."""
    ctx.authorize("grid_import")
    from citybrain.cases.space import areas_from_geojson

    if demo:
        from citybrain.cases.gridgen import build_demo_city

        areas = list(build_demo_city(grids_total=grids_total).areas)
    elif geojson is not None:
        areas = areas_from_geojson(geojson)
    else:
        raise Invalid("请提供 GeoJSON 边界数据，或选择演示网格", details={"field": "geojson"})
    session = ctx.session
    workers = dict(session.execute(select(GridArea.code, GridArea.worker_user_id)).all())
    now = utcnow()
    rows = []
    for area in areas:
        minx, miny, maxx, maxy = area.geometry.bounds
        codes = _ancestors(area.code, area.level)
        rows.append(
            {
                "code": area.code,
                "name": area.name,
                "level": area.level.value,
                "parent_code": area.parent_code,
                "area_class": area.area_class,
                "geometry": area.feature()["geometry"],
                "min_lon": minx,
                "min_lat": miny,
                "max_lon": maxx,
                "max_lat": maxy,
                "worker_user_id": workers.get(area.code),
                "imported_at": now,
                **codes,
            }
        )
    session.execute(delete(GridArea))
    if rows:
        session.execute(insert(GridArea), rows)
    # this process's cached grid index must not outlive the boundaries it was built from
    invalidate_space()
    record_details = {"areas": len(rows), "grids": sum(1 for a in areas if a.level is Level.GRID), "demo": demo}
    from citybrain.audit.service import AuditEntry, record_ctx

    record_ctx(ctx, AuditEntry("grid_import", resource_type="case_grid", row_count=len(rows), details=record_details))
    return len(rows)


def _ancestors(code: str, level: Level) -> dict[str, str | None]:
    depth = {Level.CITY: 0, Level.DISTRICT: 1, Level.STREET: 2, Level.COMMUNITY: 3, Level.GRID: 4}[level]
    return {
        "district_code": code[:6] if depth >= 1 else None,
        "street_code": code[:9] if depth >= 2 else None,
        "community_code": code[:12] if depth >= 3 else None,
    }


@action("grid_list")
def grid_list(
    ctx: Context, *, level: str | None = None, parent: str | None = None, limit: int = 1000
) -> list[GridArea]:
    ctx.authorize("grid_list")
    q = select(GridArea).order_by(GridArea.code).limit(min(limit, 10000))
    if level:
        q = q.where(GridArea.level == level)
    if parent:
        q = q.where(GridArea.parent_code == parent)
    return list(ctx.session.scalars(q))


@action("grid_assign_worker")
def grid_assign_worker(ctx: Context, code: str, user: str | None) -> GridArea:
    """网格员: the person a 事项 in this grid goes to first (属地)."""
    ctx.authorize("grid_assign_worker")
    from citybrain.auth.service import get_user

    grid = ctx.session.get(GridArea, code)
    if grid is None or grid.level != Level.GRID.value:
        raise NotFound(f"单元网格 {code} 不存在", details={"field": "code"})
    worker = get_user(ctx, user) if user else None
    if worker is not None and Role.GRID_OPERATOR.value not in (worker.roles or []):
        raise Invalid(f"用户 {worker.username} 不是网格员", details={"field": "user"})
    grid.worker_user_id = worker.id if worker else None
    # the routing cache keys on imported_at, so a new worker takes effect at once
    grid.imported_at = utcnow()
    ctx.session.flush()
    from citybrain.audit.service import AuditEntry, record_ctx

    record_ctx(
        ctx,
        AuditEntry("grid_assign_worker", resource_type="case_grid", resource_id=code, details={"user": user or None}),
    )
    return grid


# ---- 部件 ----------------------------------------------------------------------------------------


@action("component_create")
def component_create(ctx: Context, data: ComponentCreate) -> Component:
    """登记部件: its owner (权属单位) is who a 部件 case goes to first."""
    from citybrain.org.service import get_department

    dept = get_department(ctx, data.owner_dept)
    ctx.authorize("component_create", {"dept_id": dept.id})
    entry = load_codes().get("部件", data.code)
    index = space(ctx.session).index
    hit = index.locate(data.lon, data.lat) if index is not None else None
    ident = data.ident
    if ident is None:
        division = hit.district_code if hit is not None else dept.division_code[:6]
        prefix = f"{division}{entry.code}"
        last = ctx.session.scalar(select(func.max(Component.ident)).where(Component.ident.startswith(prefix)))
        ident = make_component_id(division, entry.code, int(last[-6:]) + 1 if last else 1)
    if ctx.session.get(Component, ident) is not None:
        raise Conflict(f"部件标识码 {ident} 已存在", details={"field": "ident"})
    component = Component(
        ident=ident,
        code=entry.code,
        edition=entry.edition,
        name=entry.name,
        owner_dept_id=dept.id,
        owner_uscc=dept.uscc,
        grid_id=hit.grid_id if hit is not None else None,
        status=data.status,
        lon=data.lon,
        lat=data.lat,
        address=data.address,
    )
    ctx.session.add(component)
    ctx.session.flush()
    from citybrain.audit.service import AuditEntry, record_ctx

    record_ctx(ctx, AuditEntry("component_create", resource_type="case_component", resource_id=ident))
    return component


@action("component_update")
def component_update(ctx: Context, ident: str, data: ComponentUpdate) -> Component:
    component = ctx.session.get(Component, ident)
    ctx.authorize("component_update", component)
    if component is None:
        raise NotFound(f"部件 {ident} 未登记", details={"field": "ident"})
    changes = data.model_dump(exclude_none=True)
    if data.owner_dept:
        from citybrain.org.service import get_department

        dept = get_department(ctx, data.owner_dept)
        component.owner_dept_id, component.owner_uscc = dept.id, dept.uscc
    if data.status:
        component.status = data.status
    if data.address is not None:
        component.address = data.address
    ctx.session.flush()
    from citybrain.audit.service import AuditEntry, record_ctx

    record_ctx(ctx, AuditEntry("component_update", resource_type="case_component", resource_id=ident, details=changes))
    return component


@action("component_list")
def component_list(ctx: Context, *, grid: str | None = None, code: str | None = None) -> list[Component]:
    ctx.authorize("component_list")
    q = select(Component).order_by(Component.ident).limit(1000)
    if grid:
        q = q.where(Component.grid_id.startswith(grid))
    if code:
        q = q.where(Component.code == code)
    return list(ctx.session.scalars(q))


# ---- notices and webhooks -----------------------------------------------------------------------


def _notice_filter(ctx: Context) -> Any:
    actor = ctx.actor
    if actor.kind == "system":
        return true()
    conditions = []
    if actor.user_id:
        conditions.append(Notification.user_id == actor.user_id)
    if actor.dept_id:
        conditions.append(Notification.dept_id == actor.dept_id)
    if actor.divisions:
        conditions.extend(Notification.division_code.startswith(d) for d in actor.divisions)
    elif actor.roles & {Role.ADMIN, Role.CDO, Role.GRID_OPERATOR}:
        # the city centre and its supervisors watch every division
        conditions.append(Notification.division_code.is_not(None))
    return or_(*conditions) if conditions else Notification.id.is_(None)


@action("notification_list")
def notification_list(ctx: Context, *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    ctx.authorize("notification_list")
    q = select(Notification).where(_notice_filter(ctx)).order_by(Notification.created_at.desc()).limit(min(limit, 500))
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    return list(ctx.session.scalars(q))


@action("notification_read")
def notification_read(ctx: Context, notification_id: str) -> Notification:
    ctx.authorize("notification_read")
    note = ctx.session.scalar(select(Notification).where(Notification.id == notification_id, _notice_filter(ctx)))
    if note is None:
        raise NotFound(f"通知 {notification_id} 不存在")
    note.read_at = note.read_at or utcnow()
    return note


Sender = Callable[[str, dict[str, Any]], None]


def _http_send(url: str, payload: dict[str, Any]) -> None:
    import httpx

    response = httpx.post(url, json=payload, timeout=5.0)
    response.raise_for_status()


@action("outbox_deliver")
def outbox_deliver(ctx: Context, *, limit: int = 100, sender: Sender | None = None) -> dict[str, int]:
    """Send due webhook deliveries; a failure is retried later with a growing pause, 8 times at most."""
    ctx.authorize("outbox_deliver")
    send = sender or _http_send
    now = utcnow()
    due = ctx.session.scalars(
        select(Outbox)
        .where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.created_at)
        .limit(limit)
    )
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for row in due:
        row.attempts += 1
        try:
            send(row.url, row.payload)
        except Exception as exc:  # any transport or HTTP failure is recorded and retried
            row.last_error = str(exc)[:500]
            if row.attempts >= 8:
                row.status = "failed"
                counts["failed"] += 1
            else:
                row.next_attempt_at = now + timedelta(minutes=2**row.attempts)
                counts["retry"] += 1
        else:
            row.status, row.sent_at = "sent", now
            counts["sent"] += 1
    return counts


# every other cases module registers its actions on import
from citybrain.cases import intake, kpi, open311, supervision  # noqa: E402
from citybrain.cases.supervision import case_supervise, cases_supervise  # noqa: E402

__all__ = [
    "add_event",
    "audit",
    "case_supervise",
    "cases_supervise",
    "detail",
    "intake",
    "kpi",
    "open311",
    "supervision",
]
