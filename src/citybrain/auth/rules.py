"""The vocabulary of authorization: roles and per-action rules.

Each domain declares its rules in ``<domain>/permissions.py`` as ``RULES: dict[str, Rule]``;
``citybrain.auth.policy`` gathers them and is the one place that answers
"may this actor do this action on this resource?". This module imports nothing from the
platform so any domain can use it without cycles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    ADMIN = "admin"  # 平台管理员
    CDO = "cdo"  # 首席数据官
    STEWARD = "steward"  # 部门数据管理员
    CONSUMER = "consumer"  # 部门数据使用人
    GRID_OPERATOR = "grid_operator"  # 网格员 / 坐席
    SECURITY = "security"  # 安全管理员 (audit and anomaly review)
    PUBLIC = "public"  # 公众 / 企业 (registered portal users)


ROLE_TITLES: dict[Role, tuple[str, str]] = {
    Role.ADMIN: ("平台管理员", "Platform administrator"),
    Role.CDO: ("首席数据官", "Chief data officer"),
    Role.STEWARD: ("数据管理员", "Data steward"),
    Role.CONSUMER: ("数据使用人", "Data consumer"),
    Role.GRID_OPERATOR: ("网格员/坐席", "Grid operator"),
    Role.SECURITY: ("安全管理员", "Security officer"),
    Role.PUBLIC: ("公众用户", "Public user"),
}

ALL_STAFF = frozenset({Role.ADMIN, Role.CDO, Role.STEWARD, Role.CONSUMER, Role.GRID_OPERATOR, Role.SECURITY})

#: A predicate refines a rule for one resource: it returns None when allowed, or a reason (Chinese) when not.
Predicate = Callable[[Any, Any], str | None]


@dataclass(frozen=True)
class Rule:
    """Who may perform one action.

    - ``any_dept``: roles allowed on any department's resources;
    - ``own_dept``: roles allowed only when the resource belongs to their own department
      (the resource exposes ``dept_id``); when the resource is None (a create or a list) they
      are allowed and the action itself pins the department;
    - ``scope``: the API-token scope needed (session logins carry every scope of their roles);
    - ``anonymous``: whether an unauthenticated visitor may do it;
    - ``check``: an extra predicate for rules that depend on the resource's attributes.
    """

    scope: str
    any_dept: frozenset[Role] = frozenset()
    own_dept: frozenset[Role] = frozenset()
    anonymous: bool = False
    check: Predicate | None = None
    description: str = ""
    roles_all: frozenset[Role] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles_all", self.any_dept | self.own_dept)


def rule(
    scope: str,
    *,
    any_dept: set[Role] | frozenset[Role] = frozenset(),
    own_dept: set[Role] | frozenset[Role] = frozenset(),
    anonymous: bool = False,
    check: Predicate | None = None,
    description: str = "",
) -> Rule:
    return Rule(scope, frozenset(any_dept), frozenset(own_dept), anonymous, check, description)
