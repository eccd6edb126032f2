"""Test data built through the public actions, never by writing rows directly."""

from __future__ import annotations

import itertools
import random
from typing import Any

from citybrain.auth.actor import SYSTEM, Actor
from citybrain.auth.rules import Role
from citybrain.auth.schemas import TokenCreate, UserCreate
from citybrain.auth.service import actor_for_user, token_create, user_create
from citybrain.catalog.schemas import ResourceCreate
from citybrain.catalog.service import resource_create
from citybrain.org.schemas import DepartmentCreate
from citybrain.org.service import department_create
from citybrain.standards import generate

PASSWORD = "Passw0rd!cb"
_seq = itertools.count(1)


class Factory:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.rng = random.Random(20260701)

    def dept(
        self, code: str | None = None, name: str | None = None, level: str = "市", division_code: str = "320400"
    ) -> Any:
        n = next(_seq)
        code = code or f"dept{n}"
        uscc = generate.uscc(self.rng, division=division_code, department="1", category="1")
        data = DepartmentCreate(
            code=code, name=name or f"测试部门{n}", uscc=uscc, level=level, division_code=division_code
        )
        return self.run(department_create, data)

    def user(
        self, role: Role | str, dept: Any = None, username: str | None = None, divisions: list[str] | None = None
    ) -> tuple[Any, Actor]:
        role = Role(role)
        if dept is None and role != Role.PUBLIC:
            dept = self.dept()
        username = username or f"{role.value}{next(_seq)}"
        data = UserCreate(
            username=username,
            display_name=username,
            password=PASSWORD,
            roles=[role],
            dept=dept.id if dept is not None else None,
            divisions=divisions or [],
        )
        user = self.run(user_create, data)
        return user, actor_for_user(user)

    def token(self, actor: Actor, scopes: list[str], name: str = "test") -> str:
        _token, secret = self.run(token_create, TokenCreate(name=name, scopes=scopes), actor=actor)
        return secret

    def resource(self, dept: Any, key: str | None = None, actor: Actor = SYSTEM, **overrides: Any) -> Any:
        key = key or f"res_{next(_seq)}"
        data: dict[str, Any] = dict(
            key=key,
            name=f"测试资源 {key}",
            dept=dept.id,
            category="部门库",
            share_type="无条件共享",
            open_type="无条件开放",
            fields=[
                {"name": "uscc", "title": "统一社会信用代码", "standard": "uscc", "required": True},
                {"name": "name", "title": "单位名称", "standard": "org_name"},
            ],
            primary_key=["uscc"],
        )
        data.update(overrides)
        return self.run(resource_create, ResourceCreate.model_validate(data), actor=actor)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    response = client.post(
        "/login", data={"username": username, "password": password, "next": "/catalog"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response
