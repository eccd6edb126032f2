"""The one place that decides ``allowed(actor, action, resource)``.

Rules are declared per domain (``<domain>/permissions.py``) and gathered here; the decision
logic lives only in this module. List endpoints use the ``*_filter`` helpers of their domain,
which call ``allowed`` semantics through the same rules.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from citybrain.auth.actor import Actor
from citybrain.auth.rules import Role, Rule
from citybrain.errors import NotAuthenticated, NotAuthorized

#: every domain that declares rules; adding a domain means adding it here
DOMAINS = ("org", "auth", "catalog", "audit", "ingest", "quality", "share", "opendata", "cases", "efficiency")


@cache
def rules() -> dict[str, Rule]:
    table: dict[str, Rule] = {}
    for domain in DOMAINS:
        try:
            module = importlib.import_module(f"citybrain.{domain}.permissions")
        except ModuleNotFoundError as exc:
            if exc.name != f"citybrain.{domain}.permissions" and exc.name != f"citybrain.{domain}":
                raise
            continue
        for name, rule in module.RULES.items():
            if name in table:
                raise RuntimeError(f"authorization rule {name!r} declared twice")
            table[name] = rule
    return table


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def _resource_dept(resource: Any) -> str | None:
    if resource is None:
        return None
    if isinstance(resource, dict):
        return resource.get("dept_id")
    return getattr(resource, "dept_id", None)


def decide(actor: Actor, action: str, resource: Any = None) -> Decision:
    table = rules()
    if action not in table:
        # an undeclared action is a programming error; refusing keeps it safe
        return Decision(False, f"未声明的操作 {action}")
    rule = table[action]
    if not actor.is_authenticated:
        if rule.anonymous:
            return _check(rule, actor, resource)
        return Decision(False, "需要登录")
    if actor.kind == "system":
        return Decision(True)
    if actor.scopes is not None and rule.scope not in actor.scopes and "*" not in actor.scopes:
        return Decision(False, f"令牌缺少权限范围 {rule.scope}")
    if actor.roles & rule.any_dept:
        return _check(rule, actor, resource)
    if actor.roles & rule.own_dept:
        dept = _resource_dept(resource)
        if dept is None or dept == actor.dept_id:
            return _check(rule, actor, resource)
        return Decision(False, "只能操作本部门的资源")
    if rule.anonymous:
        return _check(rule, actor, resource)
    return Decision(False, f"角色 {'、'.join(sorted(actor.roles)) or '无'} 无权执行 {action}")


def _check(rule: Rule, actor: Actor, resource: Any) -> Decision:
    if rule.check is None:
        return Decision(True)
    reason = rule.check(actor, resource)
    return Decision(reason is None, reason or "")


def allowed(actor: Actor, action: str, resource: Any = None) -> bool:
    return decide(actor, action, resource).allowed


def require(actor: Actor, action: str, resource: Any = None) -> None:
    decision = decide(actor, action, resource)
    if decision:
        return
    if not actor.is_authenticated and not rules().get(action, Rule("")).anonymous:
        raise NotAuthenticated("请先登录", details={"action": action})
    raise NotAuthorized(f"无权执行此操作：{decision.reason}", details={"action": action, "reason": decision.reason})


def scopes_for_roles(roles: frozenset[Role] | set[Role]) -> set[str]:
    """Every token scope the given roles could use: a token may not be wider than its owner."""
    return {r.scope for r in rules().values() if r.roles_all & set(roles)}
