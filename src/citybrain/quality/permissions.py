"""Governance rules. Tickets belong to the department that must rectify (``dept_id``); objections to
the department they were routed to, and are visible to the one that raised them too."""

from typing import Any

from citybrain.auth.rules import ALL_STAFF, Role, rule
from citybrain.catalog.permissions import resource_visible

#: roles that see every department's tickets and objections
OVERSEERS = frozenset({Role.ADMIN, Role.CDO})


def is_overseer(actor: Any) -> bool:
    return actor.kind == "system" or bool(actor.roles & OVERSEERS)


def objection_visible(actor: Any, objection: Any) -> str | None:
    """The raiser's department and the department it was routed to may see an objection."""
    if objection is None or is_overseer(actor):
        return None
    if actor.dept_id in (getattr(objection, "dept_id", None), getattr(objection, "raised_by_dept_id", None)):
        return None
    return "只能查看本部门提出或受理的数据异议"


RULES = {
    "rule_list": rule("quality:read", any_dept=ALL_STAFF, check=resource_visible),
    "rule_create": rule("quality:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "rule_delete": rule("quality:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "quality_run": rule("quality:write", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "quality_show": rule("quality:read", any_dept=ALL_STAFF, check=resource_visible),
    "quality_league": rule("quality:read", any_dept={Role.ADMIN, Role.CDO}),
    "quality_metrics": rule("quality:read", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "ticket_list": rule("quality:read", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "ticket_show": rule("quality:read", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "ticket_reject": rule("quality:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "ticket_recheck": rule("quality:write", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "tickets_escalate": rule("quality:admin", any_dept={Role.ADMIN, Role.CDO}),
    "objection_create": rule(
        "quality:objection", any_dept={Role.ADMIN, Role.CDO, Role.STEWARD, Role.CONSUMER}, check=resource_visible
    ),
    "objection_list": rule("quality:read", any_dept={Role.ADMIN, Role.CDO, Role.STEWARD, Role.CONSUMER}),
    "objection_show": rule(
        "quality:read", any_dept={Role.ADMIN, Role.CDO, Role.STEWARD, Role.CONSUMER}, check=objection_visible
    ),
    "objection_uphold": rule("quality:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "objection_reject": rule("quality:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
}
