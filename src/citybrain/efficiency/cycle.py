"""The yearly cycle of 溧政发〔2023〕6号 四、评价流程 as an explicit state machine.

数据采集 (collecting) → 数据核对 (checking) → 评价分类 (evaluating) → 结果通报 (published).

Going back is allowed where the method needs it: 数据核对 → 数据采集 when a department must reload, 评价分类 →
数据核对 when an objection reopens the data, and 结果通报 → 评价分类 for "因客观原因造成综合评价结果有误或遗漏的，
由企业申请，经镇（区、街道）审核、领导小组核准，对评价结果给予调整或增补" (a reason is then required).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from citybrain.errors import Conflict

COLLECTING: Final = "collecting"
CHECKING: Final = "checking"
EVALUATING: Final = "evaluating"
PUBLISHED: Final = "published"

STATES: tuple[str, ...] = (COLLECTING, CHECKING, EVALUATING, PUBLISHED)
STATE_NAMES: dict[str, str] = {
    COLLECTING: "数据采集",
    CHECKING: "数据核对",
    EVALUATING: "评价分类",
    PUBLISHED: "结果通报",
}

#: state → the states it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    COLLECTING: (CHECKING,),
    CHECKING: (EVALUATING, COLLECTING),
    EVALUATING: (PUBLISHED, CHECKING),
    PUBLISHED: (EVALUATING,),
}

#: moves that must say why (going back)
NEEDS_NOTE: frozenset[tuple[str, str]] = frozenset(
    {(CHECKING, COLLECTING), (EVALUATING, CHECKING), (PUBLISHED, EVALUATING)}
)


def state_name(state: str) -> str:
    return STATE_NAMES.get(state, state)


def check_transition(current: str, target: str) -> None:
    """Raise :class:`Conflict` naming the allowed moves unless ``current → target`` is in the table."""
    allowed = TRANSITIONS.get(current, ())
    if target not in allowed:
        names = "、".join(f"{state_name(s)}（{s}）" for s in allowed) or "无"
        raise Conflict(
            f"不能从“{state_name(current)}”转到“{state_name(target)}”；当前允许：{names}",
            details={"from": current, "to": target, "allowed": list(allowed)},
        )


def deadline_passed(deadline: dt.date | None, today: dt.date) -> bool:
    """Whether the 数据核对 period is over: after the deadline day (the deadline day itself still counts)."""
    return deadline is not None and today > deadline


def check_status(*, objections: int, open_objections: int, confirmed: bool, deadline_over: bool) -> str:
    """A firm's 数据核对 status; silence after the deadline is acceptance (逾期视为认可)."""
    if open_objections:
        return "有异议待答复"
    if objections:
        return "异议已答复"
    if confirmed:
        return "已确认"
    return "逾期视为认可" if deadline_over else "待核对"
