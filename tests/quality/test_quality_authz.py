"""Who may do what in governance: role × operation × own / other department, written out by hand."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from citybrain.auth.actor import ANONYMOUS, Actor
from citybrain.auth.policy import decide
from citybrain.auth.rules import Role

OWN, OTHER = "d-own", "d-other"
A, C, S, U, G, X, P = (
    Role.ADMIN,
    Role.CDO,
    Role.STEWARD,
    Role.CONSUMER,
    Role.GRID_OPERATOR,
    Role.SECURITY,
    Role.PUBLIC,
)
ROLES = [A, C, S, U, G, X, P]
STAFF = {A, C, S, U, G, X}

# operation -> (roles allowed on their own department's object, roles allowed on another's)
MATRIX: dict[str, tuple[set[Role], set[Role]]] = {
    "rule_list": (STAFF, STAFF),
    "rule_create": ({A, S}, {A}),
    "rule_delete": ({A, S}, {A}),
    "quality_run": ({A, C, S}, {A, C}),
    "quality_show": (STAFF, STAFF),
    "quality_league": ({A, C}, {A, C}),
    "quality_metrics": ({A, C, S}, {A, C}),
    "ticket_list": ({A, C, S}, {A, C}),
    "ticket_show": ({A, C, S}, {A, C}),
    "ticket_reject": ({A, S}, {A}),
    "ticket_recheck": ({A, C, S}, {A, C}),
    "tickets_escalate": ({A, C}, {A, C}),
    "objection_create": ({A, C, S, U}, {A, C, S, U}),
    "objection_uphold": ({A, S}, {A}),
    "objection_reject": ({A, S}, {A}),
}


def actor(role: Role) -> Actor:
    return Actor(kind="user", user_id=f"u-{role}", username=str(role), dept_id=OWN, roles=frozenset({role}))


def thing(dept: str) -> SimpleNamespace:
    # shared metadata, so catalog visibility does not decide; tickets and objections carry dept_id too
    return SimpleNamespace(dept_id=dept, share_type="无条件共享", open_type="无条件开放", raised_by_dept_id=None)


@pytest.mark.parametrize("operation", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("whose", ["own", "other"])
def test_matrix(operation: str, role: Role, whose: str) -> None:
    own_ok, other_ok = MATRIX[operation]
    expected = role in (own_ok if whose == "own" else other_ok)
    decision = decide(actor(role), operation, thing(OWN if whose == "own" else OTHER))
    assert decision.allowed is expected, f"{role} {operation} {whose}: {decision.reason}"
    if not expected:
        assert decision.reason, "every refusal says why"


def test_anonymous_may_do_nothing_in_governance() -> None:
    for operation in MATRIX:
        assert not decide(ANONYMOUS, operation, thing(OWN)).allowed


@pytest.mark.parametrize(
    ("role", "dept", "raised_by", "expected"),
    [
        (U, OWN, None, True),  # routed to my department
        (U, OTHER, OWN, True),  # raised by my department
        (U, OTHER, OTHER, False),
        (S, OTHER, OTHER, False),
        (C, OTHER, OTHER, True),
    ],
)
def test_an_objection_is_visible_to_its_raiser_and_its_receiver(
    role: Role, dept: str, raised_by: str, expected: bool
) -> None:
    obj = SimpleNamespace(dept_id=dept, raised_by_dept_id=raised_by)
    assert decide(actor(role), "objection_show", obj).allowed is expected


def test_restricted_resources_hide_their_quality_from_other_departments() -> None:
    hidden = SimpleNamespace(dept_id=OTHER, share_type="不予共享", open_type="不予开放")
    assert not decide(actor(S), "quality_show", hidden).allowed
    assert not decide(actor(U), "objection_create", hidden).allowed
    assert decide(actor(C), "quality_show", hidden).allowed
