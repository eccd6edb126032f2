"""Authorization as a matrix: role × operation × own / other department.

The expected table is written out by hand; a change to a rule that is not also made here fails.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from citybrain.auth.actor import ANONYMOUS, Actor
from citybrain.auth.policy import decide, rules
from citybrain.auth.rules import Role

OWN, OTHER = "d-own", "d-other"
ROLES = [Role.ADMIN, Role.CDO, Role.STEWARD, Role.CONSUMER, Role.GRID_OPERATOR, Role.SECURITY, Role.PUBLIC]

# operation -> roles allowed on their own department's object, roles allowed on another's
A, C, S, U, G, X, P = (
    Role.ADMIN,
    Role.CDO,
    Role.STEWARD,
    Role.CONSUMER,
    Role.GRID_OPERATOR,
    Role.SECURITY,
    Role.PUBLIC,
)
MATRIX: dict[str, tuple[set[Role], set[Role]]] = {
    "department_create": ({A}, {A}),
    "department_update": ({A}, {A}),
    "user_create": ({A}, {A}),
    "user_list": ({A}, {A}),
    "standard_create": ({A, C}, {A, C}),
    "resource_create": ({A, S}, {A}),
    "resource_update": ({A, S}, {A}),
    "resource_retire": ({A, S}, {A}),
    "catalog_import": ({A, S}, {A}),  # and the import checks every row's department (tests/platform)
    "catalog_export": ({A, C, S, U, G, X}, {A, C, S, U, G, X}),
    "audit_verify": ({A, C, X}, {A, C, X}),
    "audit_list": ({A, C, X}, {A, C, X}),
    "token_create": ({A, C, S, U, G, X, P}, {A, C, S, U, G, X, P}),
    "share_index_build": ({A, C, S}, {A, C}),
}


def actor(role: Role) -> Actor:
    return Actor(kind="user", user_id=f"u-{role}", username=str(role), dept_id=OWN, roles=frozenset({role}))


@pytest.mark.parametrize("operation", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("whose", ["own", "other"])
def test_matrix(operation: str, role: Role, whose: str) -> None:
    own_ok, other_ok = MATRIX[operation]
    resource = {"dept_id": OWN if whose == "own" else OTHER}
    expected = role in (own_ok if whose == "own" else other_ok)
    decision = decide(actor(role), operation, resource)
    assert decision.allowed is expected, f"{role} {operation} {whose}: {decision.reason}"
    if not expected:
        assert decision.reason, "every refusal says why"


def _res(share: str, open_: str, dept: str) -> SimpleNamespace:
    return SimpleNamespace(share_type=share, open_type=open_, dept_id=dept)


@pytest.mark.parametrize(
    ("role", "whose", "share", "open_", "expected"),
    [
        # 不予共享 metadata: the source department and overseers only
        (S, "own", "不予共享", "不予开放", True),
        (U, "own", "不予共享", "不予开放", True),
        (S, "other", "不予共享", "不予开放", False),
        (U, "other", "不予共享", "不予开放", False),
        (G, "other", "不予共享", "不予开放", False),
        (C, "other", "不予共享", "不予开放", True),
        (A, "other", "不予共享", "不予开放", True),
        (X, "other", "不予共享", "不予开放", True),
        # shared metadata is visible to every department
        (U, "other", "有条件共享", "不予开放", True),
        (G, "other", "无条件共享", "不予开放", True),
        # the public sees only what may be opened
        (P, "other", "无条件共享", "不予开放", False),
        (P, "other", "无条件共享", "有条件开放", True),
    ],
)
def test_resource_visibility(role: Role, whose: str, share: str, open_: str, expected: bool) -> None:
    resource = _res(share, open_, OWN if whose == "own" else OTHER)
    assert decide(actor(role), "resource_show", resource).allowed is expected


def test_anonymous_sees_only_open_metadata_and_cannot_write() -> None:
    assert decide(ANONYMOUS, "resource_show", _res("无条件共享", "无条件开放", OTHER)).allowed
    assert not decide(ANONYMOUS, "resource_show", _res("无条件共享", "不予开放", OTHER)).allowed
    for op in ("resource_create", "department_create", "audit_list", "token_create"):
        assert not decide(ANONYMOUS, op, None).allowed


def test_token_scope_narrows_a_role() -> None:
    steward = Actor(
        kind="token",
        user_id="u",
        username="s",
        dept_id=OWN,
        roles=frozenset({S}),
        scopes=frozenset({"catalog:read"}),
        token_id="t",
    )
    assert decide(steward, "resource_show", _res("无条件共享", "无条件开放", OWN)).allowed
    refused = decide(steward, "resource_create", {"dept_id": OWN})
    assert not refused.allowed and "catalog:write" in refused.reason


def test_undeclared_action_is_refused() -> None:
    assert not decide(actor(A), "no_such_action", None).allowed


def test_every_registered_action_has_a_rule_and_asks_for_it() -> None:
    import inspect

    from citybrain.actions import ACTIONS, load_all

    load_all()
    declared = rules()
    assert ACTIONS, "actions registered"
    for name, fn in ACTIONS.items():
        assert name in declared, f"action {name} has no authorization rule"
        source = inspect.getsource(inspect.unwrap(fn))
        assert "ctx.authorize(" in source, f"action {name} never calls ctx.authorize"
