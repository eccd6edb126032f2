"""Who may act on 一网统管 cases.

- 坐席 / 网格员 (``grid_operator``) act within their ``divisions`` (a division code the case's grid
  code starts with); one with no divisions works at the city centre and sees the whole city;
- department staff (``steward``, ``consumer``) act on cases assigned to their department;
- supervisors (``cdo``, ``admin``) see and supervise everything;
- citizens (anonymous, Open311) only create reports and read the public status page.
"""

from __future__ import annotations

from typing import Any

from citybrain.auth.rules import ALL_STAFF, Role, rule

_SUPERVISORS = frozenset({Role.ADMIN, Role.CDO})
_DEPT_STAFF = frozenset({Role.STEWARD, Role.CONSUMER})
_CENTRE = _SUPERVISORS | {Role.GRID_OPERATOR}
_HANDLERS = _SUPERVISORS | _DEPT_STAFF | {Role.GRID_OPERATOR}


def _codes(resource: Any) -> list[str]:
    get = resource.get if isinstance(resource, dict) else lambda k: getattr(resource, k, None)
    return [c for c in (get("grid_id"), get("community_code"), get("street_code"), get("district_code")) if c]


def in_divisions(actor: Any, resource: Any) -> bool:
    """True when the resource lies in one of the actor's divisions (or the actor has no limit)."""
    if not actor.divisions:
        return True
    codes = _codes(resource)
    return any(code.startswith(div) for code in codes for div in actor.divisions)


def _get(resource: Any, key: str) -> Any:
    return resource.get(key) if isinstance(resource, dict) else getattr(resource, key, None)


def case_in_area(actor: Any, case: Any) -> str | None:
    """Centre work (受理, 立案, 派遣, 核查, 结案): supervisors anywhere, operators in their divisions."""
    if case is None or actor.kind == "system" or actor.roles & _SUPERVISORS:
        return None
    if Role.GRID_OPERATOR in actor.roles and in_divisions(actor, case):
        return None
    return "只能处理本辖区的案件"


def case_assignee(actor: Any, case: Any) -> str | None:
    """Disposal work (签收, 处置, 回退, 延期, 挂账): the department or grid worker the case is assigned to."""
    if case is None or actor.kind == "system" or actor.roles & _SUPERVISORS:
        return None
    dept = _get(case, "assignee_dept_id")
    user = _get(case, "assignee_user_id")
    if user is not None and user == actor.user_id:
        return None
    if dept is not None and dept == actor.dept_id and actor.roles & (_DEPT_STAFF | {Role.GRID_OPERATOR}):
        return None
    if dept is None and Role.GRID_OPERATOR in actor.roles and actor.divisions and in_divisions(actor, case):
        # assigned to a locality (街道 / 社区) rather than a person: its operators act for it
        return None
    return "只能处理派遣给本部门或本人的案件"


def case_visible(actor: Any, case: Any) -> str | None:
    if case is None or actor.kind == "system" or actor.roles & (_SUPERVISORS | {Role.SECURITY}):
        return None
    if case_assignee(actor, case) is None:
        return None
    if Role.GRID_OPERATOR in actor.roles and in_divisions(actor, case):
        return None
    return "无权查看该案件"


def _own_component(actor: Any, component: Any) -> str | None:
    if component is None or actor.roles & _SUPERVISORS or actor.kind == "system":
        return None
    return None if _get(component, "owner_dept_id") == actor.dept_id else "只能登记本部门的部件"


_C = "cases:write"
RULES = {
    # intake
    "case_report": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_hotline_create": rule("cases:hotline", any_dept=_CENTRE),
    "case_patrol_report": rule(_C, any_dept={Role.GRID_OPERATOR, *_SUPERVISORS}, check=case_in_area),
    "case_webhook_intake": rule("cases:webhook", anonymous=True, any_dept=ALL_STAFF | {Role.PUBLIC}),
    "open311_request_create": rule("open311", anonymous=True, any_dept=ALL_STAFF | {Role.PUBLIC}),
    "open311_request_show": rule("open311", anonymous=True, any_dept=ALL_STAFF | {Role.PUBLIC}),
    "open311_request_list": rule("open311", anonymous=True, any_dept=ALL_STAFF | {Role.PUBLIC}),
    "open311_token_show": rule("open311", anonymous=True, any_dept=ALL_STAFF | {Role.PUBLIC}),
    "open311_service_list": rule("open311", anonymous=True, any_dept=ALL_STAFF | {Role.PUBLIC}),
    # centre work
    "case_accept": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_register": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_reject": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_dispatch": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_reclassify": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_verify": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_close": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_evaluate": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_revisit": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_extend_decide": rule(_C, any_dept=_CENTRE, check=case_in_area),
    "case_unhang": rule(_C, any_dept=_CENTRE, check=case_in_area),
    # disposal work
    "case_sign": rule(_C, any_dept=_HANDLERS, check=case_assignee),
    "case_dispose": rule(_C, any_dept=_HANDLERS, check=case_assignee),
    "case_feedback": rule(_C, any_dept=_HANDLERS, check=case_assignee),
    "case_return": rule(_C, any_dept=_HANDLERS, check=case_assignee),
    "case_extend_request": rule(_C, any_dept=_HANDLERS, check=case_assignee),
    "case_hang": rule(_C, any_dept=_HANDLERS, check=case_assignee),
    # supervision
    "case_supervise": rule("cases:supervise", any_dept=_SUPERVISORS),
    "cases_supervise": rule("cases:supervise", any_dept=_SUPERVISORS),
    "cases_kpi": rule("cases:read", any_dept=ALL_STAFF),
    # reading
    "case_list": rule("cases:read", any_dept=ALL_STAFF),
    "case_show": rule("cases:read", any_dept=ALL_STAFF, check=case_visible),
    "case_attachment_show": rule("cases:read", any_dept=ALL_STAFF, check=case_visible),
    "notification_list": rule("cases:read", any_dept=ALL_STAFF),
    "notification_read": rule("cases:read", any_dept=ALL_STAFF),
    "outbox_deliver": rule("cases:admin", any_dept={Role.ADMIN}),
    # reference data
    "grid_import": rule("cases:admin", any_dept={Role.ADMIN}),
    "grid_list": rule("cases:read", any_dept=ALL_STAFF),
    "grid_assign_worker": rule("cases:admin", any_dept={Role.ADMIN}),
    "component_create": rule("cases:components", any_dept=_SUPERVISORS, own_dept={Role.STEWARD}),
    "component_update": rule("cases:components", any_dept=_SUPERVISORS, own_dept={Role.STEWARD}),
    "component_list": rule("cases:read", any_dept=ALL_STAFF),
    "routing_rule_list": rule("cases:read", any_dept=ALL_STAFF),
    "routing_rule_create": rule("cases:admin", any_dept=_SUPERVISORS),
    "routing_rule_update": rule("cases:admin", any_dept=_SUPERVISORS),
    "routing_rule_delete": rule("cases:admin", any_dept=_SUPERVISORS),
}


def visible_filter(actor: Any) -> Any:
    """SQL condition selecting the cases ``case_visible`` allows, for list queries."""
    from sqlalchemy import false, or_, true

    from citybrain.cases.models import Case

    if actor.kind == "system" or actor.roles & (_SUPERVISORS | {Role.SECURITY}):
        return true()
    conditions = []
    if actor.user_id:
        conditions.append(Case.assignee_user_id == actor.user_id)
    if actor.dept_id and actor.roles & (_DEPT_STAFF | {Role.GRID_OPERATOR}):
        conditions.append(Case.assignee_dept_id == actor.dept_id)
    if Role.GRID_OPERATOR in actor.roles:
        if not actor.divisions:
            return true()
        conditions.extend(Case.grid_id.startswith(div) for div in actor.divisions)
    return or_(*conditions) if conditions else false()
