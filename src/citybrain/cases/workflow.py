"""The machinery every case action shares: clocks, the one transition path, timeline, notices.

Every state change goes through :func:`transition`, which

1. checks the version the operator saw (optimistic locking: a stale page gets ``Conflict``),
2. asks the state machine (``enums.next_state``: illegal moves are refused with the allowed ones),
3. applies the action's effects (stage times, on-time flags, counters, deadlines),
4. re-reads the stage clock on the working calendar,
5. appends the timeline event and the audit event, in the caller's transaction.

So a change and its audit entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.exc import StaleDataError

from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.cases.config import get_config
from citybrain.cases.enums import HOTLINE, CaseAction, CaseState, apply_effects, next_state
from citybrain.cases.models import Case, CaseEvent, Notification, Outbox
from citybrain.cases.timelimits import Stage, TimeLimit, default_table
from citybrain.cases.worktime import TimerState, default_calendar
from citybrain.db import utcnow
from citybrain.errors import Conflict, NotFound

_KIND = {"部件": "part", "事项": "event"}


# ---- clocks -------------------------------------------------------------------------------------


def stage_limit(case: Case, stage: Stage) -> TimeLimit:
    # the hotline's 受理 limit is the hotline's own; every other stage follows the category
    kind = "hotline" if stage is Stage.ACCEPT else _KIND.get(case.kind, "event")
    return default_table().limit_for(kind, case.code, case.area_class or "B", case.urgency or "normal", stage)


def stage_deadline(case: Case, stage: Stage, start: datetime) -> datetime:
    """When ``stage`` started at ``start`` runs out, on the working calendar (holidays, 调休)."""
    return default_calendar().deadline(start, stage_limit(case, stage))


def extend(due: datetime, days: float | None) -> datetime:
    """An approved 延期 adds working days to the disposal deadline."""
    return default_calendar().add_working_days(due, float(days or 0))


def _clock(case: Case) -> tuple[Stage, datetime | None, datetime | None] | None:
    """(stage, deadline, start) of the clock running in the case's state; None when none runs."""
    state = CaseState(case.state)
    if state in (CaseState.REPORTED, CaseState.ACCEPTED):
        if case.source == HOTLINE and case.accepted_at is None and case.accept_due_at is not None:
            return Stage.ACCEPT, case.accept_due_at, case.reported_at
        return Stage.DISPATCH, case.dispatch_due_at, _dispatch_start(case)
    if state is CaseState.REGISTERED:
        return Stage.DISPATCH, case.dispatch_due_at, _dispatch_start(case)
    if state in (CaseState.DISPATCHED, CaseState.SIGNED):
        return Stage.DISPOSE, case.dispose_due_at, case.dispose_started_at
    if state is CaseState.FEEDBACK:
        return Stage.VERIFY, case.verify_due_at, case.feedback_at
    # 挂账 stops the clock (the register is reviewed instead); finished stages have none
    return None


def _dispatch_start(case: Case) -> datetime | None:
    """When the 立案+派遣 clock started: 上报, the hotline's 受理, or the last 回退 — whichever set the
    deadline. The limit is in calendar minutes, so the deadline minus the limit gives it back exactly."""
    limit = stage_limit(case, Stage.DISPATCH)
    if case.dispatch_due_at is not None and not limit.unit.is_working:
        return case.dispatch_due_at - timedelta(minutes=limit.value)
    return case.reported_at


def timer_of(case: Case, now: datetime) -> TimerState | None:
    clock = _clock(case)
    if clock is None or clock[1] is None:
        return None
    stage, due, start = clock
    assert due is not None
    working = stage_limit(case, stage).unit.is_working
    return default_calendar().overdue_state(
        now, due, start=start, warn_fraction=get_config().warn_fraction, working=working
    )


def refresh_timer(case: Case, now: datetime) -> None:
    """Set ``stage``, ``due_at``, ``timer_state`` and the sticky ``overdue`` flag for ``now``."""
    clock = _clock(case)
    if clock is None or clock[1] is None:
        case.stage = case.due_at = case.timer_state = None
        return
    case.stage, case.due_at = clock[0].value, clock[1]
    state = timer_of(case, now)
    case.timer_state = state.value if state is not None else None
    if state is TimerState.OVERDUE:
        case.overdue = True


def remaining_seconds(case: Case, now: datetime) -> float | None:
    if case.due_at is None:
        return None
    return (case.due_at - now).total_seconds()


# ---- loading and locking ------------------------------------------------------------------------


def get_case(session: Session, ref: str) -> Case:
    """A case by id or by its public number (request_id)."""
    # an id (32 hex characters) is looked up by key: a case this unit of work already holds costs no
    # query, which is most of the calls when one request takes a case through several steps
    found = session.get(Case, ref) if len(ref) == 32 else None
    if found is None:
        found = session.scalar(select(Case).where(Case.request_id == ref))
    if found is None:
        raise NotFound(f"案件 {ref} 不存在", details={"case": ref})
    return found


def check_version(case: Case, version: int | None) -> None:
    """The operator acted on ``version``; refuse when someone changed the case since."""
    if version is not None and version != case.version:
        raise Conflict(
            f"案件已被他人更新（您看到的是第 {version} 版，当前为第 {case.version} 版），请刷新后重试",
            details={"field": "version", "expected": version, "current": case.version},
        )


def flush(session: Session, case: Case | None = None) -> None:
    """Flush, turning a lost optimistic-lock race (another transaction won) into ``Conflict``."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise Conflict(
            "案件刚被他人更新，请刷新后重试", details={"field": "version", "case": case.id if case else None}
        ) from None


# ---- writing new rows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    key: str  # the attribute
    name: str  # the column
    default: Any  # a value, or a callable of no arguments, or None
    callable_default: bool
    json: bool  # stores None as JSON null
    version: bool


@cache
def _columns(mapper: Any) -> tuple[_Column, ...]:
    """How ``insert_new`` fills each column of a mapped class; refuses one it cannot fill as a flush would."""
    plan = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column.server_default is not None:
            raise TypeError(f"insert_new: {column} has a server default the object would lack")
        default = column.default
        if default is not None and not (default.is_scalar or default.is_callable):
            raise TypeError(f"insert_new: {column} has a default it cannot compute")
        plan.append(
            _Column(
                prop.key,
                column.key,
                default.arg if default is not None else None,
                default is not None and default.is_callable,
                bool(column.type.should_evaluate_none),
                mapper.version_id_col is column,
            )
        )
    return tuple(plan)


def insert_new(session: Session, obj: Any) -> None:
    """INSERT a new mapped object at once, with the columns it has values for, and make it the session's
    persistent copy of that row (as if it had been loaded).

    What the unit of work would write, for less: a flush costs several times the statement on the intake
    path, and the ORM sends every column, NULLs included — 74 parameters for a case, past the 50 up to
    which psycopg caches a statement's conversion, which then ran on every INSERT. Columns are filled as a
    flush fills them (a Python default where the value is unset or None, but JSON null for a JSON column
    given None; the version counter at 1), on the object too, so nothing is left to load. Mapped classes
    with server-side defaults are refused (the database would fill what the object then lacks).
    """
    state = sa_inspect(obj)
    # the object is transient: its attributes are set straight in its state, which
    # make_transient_to_detached then takes as loaded
    given = state.dict
    values: dict[str, Any] = {}
    for column in _columns(state.mapper):
        value = given.get(column.key)
        null_json = column.json and column.key in given  # a JSON column given None stores JSON null
        if column.version:
            value = 1
        elif value is None and not null_json and column.default is not None:
            # SQLAlchemy wraps a callable default to take the execution context
            value = column.default(None) if column.callable_default else column.default
        given[column.key] = value
        if value is not None or null_json:
            values[column.name] = value
    session.execute(insert(state.mapper.local_table), values)
    make_transient_to_detached(obj)
    session.add(obj)


# ---- timeline, audit, notices -------------------------------------------------------------------


def add_event(
    ctx: Any,
    case: Case,
    action: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    first: bool = False,
) -> CaseEvent:
    """Append to the case's timeline; ``first`` says the case is new (no events), sparing the query for
    the last sequence number on the intake path, and is written at once (``insert_new``: the intake
    writes the case that way, so the event has its row to refer to)."""
    seq = 1
    if case.id is not None and not first:
        last = ctx.session.scalar(select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case.id))
        seq = (last or 0) + 1
    actor = ctx.actor
    event = CaseEvent(
        case_id=case.id,
        seq=seq,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_user_id=actor.user_id,
        actor_name=actor.username or actor.kind,
        actor_dept_id=actor.dept_id,
        reason=reason,
        details=dict(details) if details else None,
        at=at or utcnow(),
    )
    if first:
        insert_new(ctx.session, event)
    else:
        ctx.session.add(event)
    return event


def audit(ctx: Any, name: str, case: Case, **details: Any) -> None:
    payload = {"request_id": case.request_id, **{k: v for k, v in details.items() if v is not None}}
    record_ctx(ctx, AuditEntry(name, resource_type="city_case", resource_id=case.id, details=payload))


def transition(
    ctx: Any,
    case: Case,
    action: CaseAction,
    *,
    audit_name: str,
    params: Mapping[str, Any] | None = None,
    reason: str | None = None,
    version: int | None = None,
    now: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> CaseEvent:
    """The one path of a state change (see the module doc)."""
    check_version(case, version)
    now = now or utcnow()
    source = case.state
    target = next_state(case, action)
    apply_effects(case, action, now, params or {})
    case.state = target.value
    refresh_timer(case, now)
    # write the case first: a lost race must surface here as Conflict, not from a later autoflush
    flush(ctx.session, case)
    event = add_event(
        ctx, case, action.value, from_state=source, to_state=target.value, reason=reason, details=details, at=now
    )
    flush(ctx.session, case)
    audit(ctx, audit_name, case, action=action.value, from_state=source, to_state=target.value, reason=reason)
    return event


def notify(ctx: Any, case: Case | None, kind: str, message: str, **target: str | None) -> Notification:
    """An in-app notice to ``user_id``, ``dept_id`` or ``division_code`` (everyone working there)."""
    note = Notification(
        case_id=case.id if case is not None else None,
        user_id=target.get("user_id"),
        dept_id=target.get("dept_id"),
        division_code=target.get("division_code"),
        kind=kind,
        message=message[:500],
    )
    ctx.session.add(note)
    return note


def notify_assignee(ctx: Any, case: Case, kind: str, message: str) -> Notification | None:
    if case.assignee_user_id:
        return notify(ctx, case, kind, message, user_id=case.assignee_user_id)
    if case.assignee_dept_id:
        return notify(ctx, case, kind, message, dept_id=case.assignee_dept_id)
    if case.assignee_division:
        return notify(ctx, case, kind, message, division_code=case.assignee_division)
    return None


def emit(ctx: Any, event: str, case: Case, **extra: Any) -> Outbox | None:
    """Queue a webhook delivery when a URL is configured; it is sent after commit by ``outbox_deliver``."""
    url = get_config().webhook_url
    if not url:
        return None
    payload = {
        "event": event,
        "case_id": case.id,
        "request_id": case.request_id,
        "state": case.state,
        "code": case.code,
        "grid_id": case.grid_id,
        "assignee_dept_id": case.assignee_dept_id,
        "supervision_level": case.supervision_level,
        "at": utcnow().isoformat(),
        **extra,
    }
    row = Outbox(event=event, url=url, payload=payload)
    ctx.session.add(row)
    return row
