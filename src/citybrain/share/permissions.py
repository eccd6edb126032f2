"""Sharing rules.

Data access (``share_lookup`` …) is never granted by role alone: the predicate requires the actor's
department to be the grant's consumer, whatever the role — an administrator or a CDO reads other
departments' data only through a grant of their own.
"""

from typing import Any

from citybrain.auth.rules import Role, rule

_OVERSEERS = frozenset({Role.ADMIN, Role.CDO, Role.SECURITY})
_REQUESTERS = {Role.CONSUMER, Role.STEWARD, Role.CDO, Role.ADMIN}
_STAFF_READERS = {Role.CONSUMER, Role.STEWARD, Role.CDO, Role.ADMIN, Role.SECURITY, Role.GRID_OPERATOR}


def _party(actor: Any, item: Any) -> str | None:
    """The consumer department, the source department and overseers may see a request or grant."""
    if item is None or actor.kind == "system" or actor.roles & _OVERSEERS:
        return None
    if actor.dept_id in (getattr(item, "consumer_dept_id", None), getattr(item, "dept_id", None)):
        return None
    return "只能查看本部门提出或本部门数据的共享申请和授权"


def _consumer(actor: Any, grant: Any) -> str | None:
    if grant is None or actor.kind == "system":
        return None
    if actor.dept_id != getattr(grant, "consumer_dept_id", None):
        return "该授权不属于本部门，不能使用"
    return None


def _not_self(actor: Any, request: Any) -> str | None:
    # separation of duties: nobody approves their own request
    if request is not None and actor.user_id and actor.user_id == getattr(request, "requester_id", None):
        return "不能审批本人提出的申请"
    return None


def _demand_party(actor: Any, demand: Any) -> str | None:
    if demand is None or actor.kind == "system" or actor.roles & _OVERSEERS:
        return None
    if actor.dept_id in (demand.consumer_dept_id, demand.dept_id):
        return None
    return "只能查看本部门提出或转交本部门的需求"


RULES = {
    "share_request_create": rule("share:request", any_dept=_REQUESTERS),
    "share_request_list": rule("share:request", any_dept=_STAFF_READERS),
    "share_request_show": rule("share:request", any_dept=_STAFF_READERS, check=_party),
    "share_request_approve": rule(
        "share:approve", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}, check=_not_self
    ),
    "share_request_refuse": rule(
        "share:approve", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}, check=_not_self
    ),
    "demand_create": rule("share:request", any_dept=_REQUESTERS),
    "demand_list": rule("share:request", any_dept=_STAFF_READERS),
    "demand_answer": rule("share:approve", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "grant_list": rule("share:request", any_dept=_STAFF_READERS),
    "grant_show": rule("share:request", any_dept=_STAFF_READERS, check=_party),
    "grant_suspend": rule("share:approve", any_dept={Role.ADMIN, Role.CDO, Role.SECURITY}, own_dept={Role.STEWARD}),
    "grant_resume": rule("share:approve", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "grant_revoke": rule("share:approve", any_dept={Role.ADMIN, Role.CDO, Role.SECURITY}, own_dept={Role.STEWARD}),
    "grant_token_issue": rule("share:request", any_dept=_REQUESTERS, check=_consumer),
    "share_lookup": rule("share:access", any_dept=_STAFF_READERS, check=_consumer),
    "share_query": rule("share:access", any_dept=_STAFF_READERS, check=_consumer),
    "share_verify": rule("share:access", any_dept=_STAFF_READERS, check=_consumer),
    "share_export_start": rule("share:access", any_dept=_STAFF_READERS, check=_consumer),
    "share_export_show": rule("share:access", any_dept=_STAFF_READERS, check=_consumer),
    "share_export_download": rule("share:access", any_dept=_STAFF_READERS, check=_consumer),
    # operations: building a version's key index reads the whole version, so only its stewards and
    # the platform's administrators may start one (lookups build it themselves when needed)
    "share_index_build": rule("share:approve", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "share_usage": rule("share:request", any_dept=_STAFF_READERS),
    "anomaly_list": rule("share:monitor", any_dept=set(_OVERSEERS), own_dept={Role.STEWARD}),
    "anomaly_acknowledge": rule("share:monitor", any_dept=set(_OVERSEERS), own_dept={Role.STEWARD}),
    "share_metrics": rule("share:monitor", any_dept=set(_OVERSEERS), own_dept={Role.STEWARD}),
}
