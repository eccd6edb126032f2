"""Shared builders for the aggregation tests (no tests here): a department, its steward, a catalogued resource."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from citybrain.auth.actor import Actor
from citybrain.auth.rules import Role
from citybrain.standards import generate

FIELDS = [
    {"name": "uscc", "title": "统一社会信用代码", "standard": "uscc", "required": True},
    {"name": "org_name", "title": "单位名称", "standard": "org_name", "required": True},
    {"name": "reg_date", "title": "成立日期", "standard": "date"},
    {"name": "capital", "title": "注册资本", "standard": "amount"},
    {"name": "staff", "title": "从业人数", "data_type": "integer"},
]
HEADER_ZH = ["统一社会信用代码", "单位名称", "成立日期", "注册资本", "从业人数"]

_rng = random.Random(4320)


def uscc() -> str:
    return generate.uscc(_rng, division="320400", department="9", category="1")


@dataclass
class World:
    dept: Any
    steward: Actor
    resource: Any
    key: str


def world(factory: Any, key: str = "scj_qydj", *, dept_name: str = "市市场监督管理局", **overrides: Any) -> World:
    dept = factory.dept(name=dept_name)
    _user, steward = factory.user(Role.STEWARD, dept=dept)
    res = factory.resource(dept, key=key, name="企业登记信息", fields=overrides.pop("fields", FIELDS), **overrides)
    return World(dept=dept, steward=steward, resource=res, key=key)


def csv_text(rows: list[list[Any]], header: list[str] = HEADER_ZH) -> str:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    return "\r\n".join(lines) + "\r\n"
