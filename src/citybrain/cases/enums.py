"""案件状态机 (case state machine): states, actions, the transition table and their side effects.

The whole life of a case is the explicit table ``TRANSITIONS[(state, action)] -> state``:

上报 → 受理/核实 → 立案 | 不立案 → 派遣 → 签收 → 处置 (延期申请 / 回退 / 挂账) → 反馈 → 核查
(不通过 → 返工) → 结案 → 评价; 12345 热线 cases add 回访 after 核查 (不满意 → 重办).

A few moves also depend on the case, not only on its state (``GUARDS``): only hotline cases are
revisited, and a hotline case is closed only after its 回访. ``allowed_actions`` applies both, and
``next_state`` refuses anything else with the allowed actions listed.

``apply_effects`` is the one ``match`` dispatcher for what each action changes besides the state:
stage timestamps (for the 考核 KPIs), on-time flags, counters and stage deadlines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from citybrain.errors import Conflict


class CaseState(StrEnum):
    REPORTED = "reported"  # 上报
    ACCEPTED = "accepted"  # 受理 (核实中)
    REGISTERED = "registered"  # 立案 (待派遣)
    REJECTED = "rejected"  # 不立案 / 注销
    DISPATCHED = "dispatched"  # 已派遣 (待签收)
    SIGNED = "signed"  # 已签收 (处置中)
    HUNG = "hung"  # 挂账
    DISPOSED = "disposed"  # 处置完毕 (待反馈)
    FEEDBACK = "feedback"  # 已反馈 (待核查)
    VERIFIED = "verified"  # 核查通过
    REVISITED = "revisited"  # 已回访 (热线)
    CLOSED = "closed"  # 结案
    EVALUATED = "evaluated"  # 已评价

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in FINAL_STATES


STATE_LABELS: Mapping[CaseState, str] = {
    CaseState.REPORTED: "上报",
    CaseState.ACCEPTED: "受理核实",
    CaseState.REGISTERED: "立案",
    CaseState.REJECTED: "不立案",
    CaseState.DISPATCHED: "已派遣",
    CaseState.SIGNED: "处置中",
    CaseState.HUNG: "挂账",
    CaseState.DISPOSED: "处置完毕",
    CaseState.FEEDBACK: "已反馈待核查",
    CaseState.VERIFIED: "核查通过",
    CaseState.REVISITED: "已回访",
    CaseState.CLOSED: "结案",
    CaseState.EVALUATED: "已评价",
}
FINAL_STATES = frozenset({CaseState.REJECTED, CaseState.CLOSED, CaseState.EVALUATED})


class CaseAction(StrEnum):
    ACCEPT = "accept"  # 受理
    REJECT = "reject"  # 不立案
    REGISTER = "register"  # 立案
    DISPATCH = "dispatch"  # 派遣
    SIGN = "sign"  # 签收
    RETURN = "return"  # 回退
    EXTEND_REQUEST = "extend_request"  # 延期申请
    EXTEND_DECIDE = "extend_decide"  # 延期审批
    HANG = "hang"  # 挂账
    UNHANG = "unhang"  # 解除挂账
    DISPOSE = "dispose"  # 处置
    FEEDBACK = "feedback"  # 反馈
    VERIFY_PASS = "verify_pass"  # 核查通过
    VERIFY_FAIL = "verify_fail"  # 核查不通过 → 返工
    REVISIT_SATISFIED = "revisit_satisfied"  # 回访满意
    REVISIT_UNSATISFIED = "revisit_unsatisfied"  # 回访不满意 → 重办
    CLOSE = "close"  # 结案
    EVALUATE = "evaluate"  # 评价
    RECLASSIFY = "reclassify"  # 重新分类
    SUPERVISE = "supervise"  # 督办
    SELF_DISPOSE = "self_dispose"  # 自行处置 (网格员当场处置)

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: Mapping[CaseAction, str] = {
    CaseAction.ACCEPT: "受理",
    CaseAction.REJECT: "不立案",
    CaseAction.REGISTER: "立案",
    CaseAction.DISPATCH: "派遣",
    CaseAction.SIGN: "签收",
    CaseAction.RETURN: "回退",
    CaseAction.EXTEND_REQUEST: "延期申请",
    CaseAction.EXTEND_DECIDE: "延期审批",
    CaseAction.HANG: "挂账",
    CaseAction.UNHANG: "解除挂账",
    CaseAction.DISPOSE: "处置",
    CaseAction.FEEDBACK: "反馈",
    CaseAction.VERIFY_PASS: "核查通过",
    CaseAction.VERIFY_FAIL: "核查不通过（返工）",
    CaseAction.REVISIT_SATISFIED: "回访满意",
    CaseAction.REVISIT_UNSATISFIED: "回访不满意（重办）",
    CaseAction.CLOSE: "结案",
    CaseAction.EVALUATE: "评价",
    CaseAction.RECLASSIFY: "重新分类",
    CaseAction.SUPERVISE: "督办",
    CaseAction.SELF_DISPOSE: "自行处置",
}

S, A = CaseState, CaseAction

#: (from state, action) → to state. Nothing else is a legal move.
TRANSITIONS: Mapping[tuple[CaseState, CaseAction], CaseState] = {
    (S.REPORTED, A.ACCEPT): S.ACCEPTED,
    (S.REPORTED, A.REJECT): S.REJECTED,
    # 自行处置: a grid worker reports a problem already handled on the spot; it skips 派遣 and waits for 核查
    (S.REPORTED, A.SELF_DISPOSE): S.FEEDBACK,
    (S.ACCEPTED, A.REJECT): S.REJECTED,
    (S.ACCEPTED, A.REGISTER): S.REGISTERED,
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    # a district or street passes a case further down (街道 → 社区 → 网格员) or across to a department
    (S.DISPATCHED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.SIGN): S.SIGNED,
    (S.DISPATCHED, A.RETURN): S.REGISTERED,
    (S.SIGNED, A.RETURN): S.REGISTERED,
    (S.SIGNED, A.EXTEND_REQUEST): S.SIGNED,
    (S.SIGNED, A.EXTEND_DECIDE): S.SIGNED,
    (S.SIGNED, A.HANG): S.HUNG,
    (S.HUNG, A.UNHANG): S.SIGNED,
    (S.SIGNED, A.DISPOSE): S.DISPOSED,
    (S.HUNG, A.DISPOSE): S.DISPOSED,
    (S.DISPOSED, A.FEEDBACK): S.FEEDBACK,
    (S.FEEDBACK, A.VERIFY_PASS): S.VERIFIED,
    (S.FEEDBACK, A.VERIFY_FAIL): S.SIGNED,
    (S.VERIFIED, A.CLOSE): S.CLOSED,
    (S.VERIFIED, A.REVISIT_SATISFIED): S.REVISITED,
    (S.VERIFIED, A.REVISIT_UNSATISFIED): S.DISPATCHED,
    (S.REVISITED, A.CLOSE): S.CLOSED,
    (S.CLOSED, A.EVALUATE): S.EVALUATED,
    **{(s, A.RECLASSIFY): s for s in (S.REPORTED, S.ACCEPTED, S.REGISTERED, S.DISPATCHED)},
    **{
        (s, A.SUPERVISE): s
        for s in (S.REPORTED, S.ACCEPTED, S.REGISTERED, S.DISPATCHED, S.SIGNED, S.HUNG, S.DISPOSED, S.FEEDBACK)
    },
}

HOTLINE = "hotline"


def _hotline_only(case: Any) -> str | None:
    return None if case.source == HOTLINE else "仅 12345 热线案件需要回访"


def _close_guard(case: Any) -> str | None:
    if case.source == HOTLINE and case.state == CaseState.VERIFIED:
        return "热线案件须先回访再结案"
    return None


def _self_dispose_guard(case: Any) -> str | None:
    # only the patrol report that says so is self-disposed, at intake: never offered on other cases
    return None if getattr(case, "self_disposed", False) else "仅网格员巡查上报时当场处置的案件可自行处置"


def _extend_request_guard(case: Any) -> str | None:
    return "已有待审批的延期申请" if case.extension_pending_days else None


def _extend_decide_guard(case: Any) -> str | None:
    return None if case.extension_pending_days else "没有待审批的延期申请"


#: extra conditions on the case itself; a guard returns the reason a move is refused, or None
GUARDS: Mapping[CaseAction, Callable[[Any], str | None]] = {
    A.REVISIT_SATISFIED: _hotline_only,
    A.REVISIT_UNSATISFIED: _hotline_only,
    A.CLOSE: _close_guard,
    A.EXTEND_REQUEST: _extend_request_guard,
    A.EXTEND_DECIDE: _extend_decide_guard,
    A.SELF_DISPOSE: _self_dispose_guard,
}


def parse_action(value: str) -> CaseAction:
    try:
        return CaseAction(value)
    except ValueError:
        raise Conflict(
            f"未知操作 {value!r}", details={"field": "action", "allowed": [a.value for a in CaseAction]}
        ) from None


def allowed_actions(case: Any) -> list[CaseAction]:
    """Actions legal for ``case`` now (state table plus guards), in the table's order."""
    state = CaseState(case.state)
    return [
        action
        for (src, action) in TRANSITIONS
        if src is state and (action not in GUARDS or GUARDS[action](case) is None)
    ]


def next_state(case: Any, action: CaseAction) -> CaseState:
    """The state ``action`` leads to, or ``Conflict`` naming the current state and the allowed actions."""
    state = CaseState(case.state)
    allowed = allowed_actions(case)
    target = TRANSITIONS.get((state, action))
    if target is None or action not in allowed:
        reason = GUARDS[action](case) if target is not None and action in GUARDS else None
        names = "、".join(f"{a.label}({a.value})" for a in allowed) or "无"
        raise Conflict(
            f"当前状态「{state.label}」不能执行「{action.label}」{'：' + reason if reason else ''}；可执行：{names}",
            details={
                "state": state.value,
                "action": action.value,
                "reason": reason,
                "allowed": [a.value for a in allowed],
            },
        )
    return target


def apply_effects(case: Any, action: CaseAction, now: datetime, params: Mapping[str, Any]) -> None:
    """What ``action`` changes besides the state: timestamps, on-time flags, counters, deadlines.

    Stage clocks: 立案派遣 runs from 上报; 处置 from 派遣 (restarted when a returned case is
    dispatched again, and on 重办); 核查 from 反馈. Timestamps keep the *first* time a stage was
    reached, so KPIs count each case once.
    """
    from citybrain.cases import workflow
    from citybrain.cases.timelimits import Stage

    def on_time(due: datetime | None) -> bool | None:
        return None if due is None else now <= due

    match action:
        case A.ACCEPT:
            case.accepted_at = now
        case A.REJECT:
            case.rejected_at = now
            case.reject_reason = params.get("reason")
        case A.REGISTER:
            case.registered_at = now
            case.registered_on_time = on_time(case.dispatch_due_at)
        case A.DISPATCH:
            case.dispatch_count += 1
            if case.dispatched_at is None:
                case.dispatched_at = now
                case.dispatched_on_time = on_time(case.dispatch_due_at)
                case.dispatch_accurate = True
            if case.state == CaseState.REGISTERED or case.dispose_started_at is None:
                case.dispose_started_at = now
                case.dispose_due_at = workflow.stage_deadline(case, Stage.DISPOSE, now)
        case A.SIGN:
            case.signed_at = case.signed_at or now
        case A.RETURN:
            case.return_count += 1
            case.dispatch_accurate = False
        case A.EXTEND_REQUEST:
            case.extension_pending_days = params["days"]
        case A.EXTEND_DECIDE:
            if params.get("approve") and case.dispose_due_at is not None:
                case.dispose_due_at = workflow.extend(case.dispose_due_at, case.extension_pending_days)
                case.extension_count += 1
            case.extension_pending_days = None
        case A.HANG:
            case.hung_at = now
        case A.UNHANG:
            case.hung_at = None
        case A.DISPOSE:
            case.disposed_at = now
            case.disposed_on_time = on_time(case.dispose_due_at)
        case A.FEEDBACK:
            case.feedback_at = now
            case.verify_due_at = workflow.stage_deadline(case, Stage.VERIFY, now)
        case A.VERIFY_PASS:
            case.verified_at = now
        case A.VERIFY_FAIL:
            # 返工: the disposal has to be done again, so it is no longer counted as disposed
            case.rework_count += 1
            case.disposed_at = None
            case.disposed_on_time = None
            case.feedback_at = None
        case A.REVISIT_SATISFIED:
            case.revisited_at = now
            case.satisfaction = "满意"
        case A.REVISIT_UNSATISFIED:
            # 重办: the same department disposes again on a fresh clock
            case.revisited_at = now
            case.satisfaction = "不满意"
            case.redo_count += 1
            case.disposed_at = case.disposed_on_time = case.feedback_at = case.verified_at = None
            case.dispose_started_at = now
            case.dispose_due_at = workflow.stage_deadline(case, Stage.DISPOSE, now)
        case A.CLOSE:
            case.closed_at = now
            case.closed_on_time = bool(case.disposed_on_time)
        case A.EVALUATE:
            case.evaluated_at = now
            case.evaluation = params.get("evaluation")
            case.evaluation_score = params.get("score")
        case A.RECLASSIFY:
            case.reclassify_count += 1
            if case.dispatched_at is None:
                case.dispatch_due_at = workflow.stage_deadline(case, Stage.DISPATCH, case.reported_at)
            if case.dispose_started_at is not None and case.disposed_at is None:
                case.dispose_due_at = workflow.stage_deadline(case, Stage.DISPOSE, case.dispose_started_at)
        case A.SUPERVISE:
            case.supervision_level += 1
            case.supervised_at = now
        case A.SELF_DISPOSE:
            # 受理, 立案 and 处置 happen at once on the spot; nothing is dispatched (dispatched_at stays
            # empty, so the 派遣-based disposal KPIs do not count it), and the 核查 clock starts now
            case.accepted_at = case.registered_at = now
            case.registered_on_time = on_time(case.dispatch_due_at)
            case.disposed_at = case.feedback_at = now
            case.disposed_on_time = True
            case.disposal_note = params.get("note")
            case.verify_due_at = workflow.stage_deadline(case, Stage.VERIFY, now)
