"""Who may do what in the 工业企业效益综合评价.

- The 领导小组 office (市工信局) runs the cycle: its 数据管理员 (steward) act on resources whose
  ``dept_id`` is the office's; platform admins and the CDO on any.
- Department stewards load their own department's data, and answer the 数据核对 objections routed to
  their department (the resource passed is ``{"dept_id": <source department>}``; the office's own for
  an objection naming no data).
- A town user (``Actor.divisions``) sees only firms registered in its towns; a firm (a public user bound
  to a 统一社会信用代码, :class:`citybrain.efficiency.models.FirmAccount`) sees only itself.

Views pass a resource ``{"dept_id", "town_code", "uscc", "viewer_uscc"}``: the firm's town and code,
and the code the acting public user is bound to (looked up by the service, since rules cannot query).
"""

from __future__ import annotations

from typing import Any

from citybrain.auth.rules import ALL_STAFF, Role, rule

_OFFICE_ANY = {Role.ADMIN, Role.CDO}
_OVERSEERS = {Role.ADMIN, Role.CDO, Role.SECURITY}


def _get(resource: Any, key: str) -> Any:
    if resource is None:
        return None
    if isinstance(resource, dict):
        return resource.get(key)
    return getattr(resource, key, None)


def firm_visible(actor: Any, resource: Any) -> str | None:
    """None when ``actor`` may see the firm described by ``resource``, else the reason (Chinese)."""
    if resource is None:
        return None
    if actor.kind == "system" or actor.roles & _OVERSEERS:
        return None
    uscc = _get(resource, "uscc")
    if actor.roles <= {Role.PUBLIC}:
        bound = _get(resource, "viewer_uscc")
        if not bound:
            return "企业账号尚未绑定统一社会信用代码"
        if uscc is not None and uscc != bound:
            return "企业用户只能查看本企业的评价数据"
        return None
    if actor.divisions:
        town = _get(resource, "town_code")
        if town is None:
            # a list: the service narrows it to the actor's towns
            return None
        if not any(str(town).startswith(d) for d in actor.divisions):
            return "只能查看本镇（区、街道）企业的评价数据"
    return None


def clearout_editor(actor: Any, resource: Any) -> str | None:
    """The office (resource ``dept_id``) or the firm's own town may move a clear-out entry."""
    if actor.kind == "system" or actor.roles & {Role.ADMIN, Role.CDO}:
        return None
    if actor.divisions:
        return firm_visible(actor, resource)
    if actor.dept_id and actor.dept_id == _get(resource, "dept_id"):
        return None
    return "只有领导小组办公室或企业所在镇（区、街道）可以更新整治台账"


_READ = ALL_STAFF | {Role.PUBLIC}

RULES = {
    "efficiency_catalog_install": rule("efficiency:admin", any_dept={Role.ADMIN}),
    "efficiency_demo_load": rule("efficiency:admin", any_dept={Role.ADMIN}),
    "efficiency_data_load": rule("efficiency:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "efficiency_firm_bind": rule("efficiency:admin", any_dept={Role.ADMIN}),
    "efficiency_cycle_create": rule("efficiency:manage", any_dept=_OFFICE_ANY, own_dept={Role.STEWARD}),
    "efficiency_cycle_advance": rule("efficiency:manage", any_dept=_OFFICE_ANY, own_dept={Role.STEWARD}),
    "efficiency_cycle_list": rule("efficiency:read", any_dept=_READ),
    "efficiency_cycle_show": rule("efficiency:read", any_dept=_READ),
    "efficiency_exception_list": rule("efficiency:read", any_dept=ALL_STAFF),
    "efficiency_firm_data": rule("efficiency:read", any_dept=_READ, check=firm_visible),
    "efficiency_confirm_data": rule("efficiency:check", any_dept=_READ, check=firm_visible),
    "efficiency_objection_create": rule("efficiency:check", any_dept=_READ, check=firm_visible),
    "efficiency_objection_list": rule("efficiency:read", any_dept=_READ, check=firm_visible),
    "efficiency_objection_reply": rule("efficiency:manage", any_dept=_OFFICE_ANY, own_dept={Role.STEWARD}),
    "efficiency_run": rule("efficiency:manage", any_dept=_OFFICE_ANY, own_dept={Role.STEWARD}),
    "efficiency_run_list": rule("efficiency:read", any_dept=ALL_STAFF),
    "efficiency_decide": rule("efficiency:manage", any_dept=_OFFICE_ANY, own_dept={Role.STEWARD}),
    "efficiency_decision_list": rule("efficiency:read", any_dept=ALL_STAFF),
    "efficiency_confirm": rule("efficiency:manage", any_dept=_OFFICE_ANY, own_dept={Role.STEWARD}),
    "efficiency_result_list": rule("efficiency:read", any_dept=_READ, check=firm_visible),
    "efficiency_result_show": rule("efficiency:read", any_dept=_READ, check=firm_visible),
    "efficiency_report": rule("efficiency:read", any_dept=ALL_STAFF, check=firm_visible),
    "efficiency_clearout_list": rule("efficiency:read", any_dept=ALL_STAFF, check=firm_visible),
    "efficiency_clearout_update": rule(
        "efficiency:check", any_dept=_OFFICE_ANY | {Role.STEWARD, Role.CONSUMER}, check=clearout_editor
    ),
}
