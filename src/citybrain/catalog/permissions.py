"""Catalog rules. Metadata visibility follows 共享属性 and 开放属性."""

from typing import Any

from citybrain.auth.rules import ALL_STAFF, Role, rule

_OVERSEERS = {Role.ADMIN, Role.CDO, Role.SECURITY}


def resource_visible(actor: Any, resource: Any) -> str | None:
    """None when ``actor`` may see ``resource``'s catalog entry, else the reason."""
    if resource is None:
        return None
    if not actor.is_authenticated or actor.roles <= {Role.PUBLIC}:
        if resource.open_type == "不予开放":
            return "该资源不向社会开放"
        return None
    if resource.share_type != "不予共享":
        return None
    if actor.roles & _OVERSEERS or actor.dept_id == resource.dept_id:
        return None
    return "该资源不予共享，仅来源部门可见"


RULES = {
    "standard_list": rule("catalog:read", any_dept=ALL_STAFF | {Role.PUBLIC}, anonymous=True),
    "standard_show": rule("catalog:read", any_dept=ALL_STAFF | {Role.PUBLIC}, anonymous=True),
    "standard_create": rule("standard:write", any_dept={Role.ADMIN, Role.CDO}),
    "standard_update": rule("standard:write", any_dept={Role.ADMIN, Role.CDO}),
    "resource_search": rule("catalog:read", any_dept=ALL_STAFF | {Role.PUBLIC}, anonymous=True),
    "resource_show": rule("catalog:read", any_dept=ALL_STAFF | {Role.PUBLIC}, anonymous=True, check=resource_visible),
    "resource_history": rule("catalog:read", any_dept=ALL_STAFF, check=resource_visible),
    "resource_create": rule("catalog:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "resource_update": rule("catalog:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "resource_retire": rule("catalog:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "catalog_import": rule("catalog:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "catalog_export": rule("catalog:read", any_dept=ALL_STAFF),
}


def visible_filter(actor: Any) -> Any:
    """SQL condition selecting the resources ``resource_visible`` allows, for list queries."""
    from sqlalchemy import or_, true

    from citybrain.catalog.models import Resource

    if not actor.is_authenticated or actor.roles <= {Role.PUBLIC}:
        return Resource.open_type != "不予开放"
    if actor.kind == "system" or actor.roles & _OVERSEERS:
        return true()
    return or_(Resource.share_type != "不予共享", Resource.dept_id == actor.dept_id)
