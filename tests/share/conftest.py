"""A small city for sharing tests: a source department with three resources in the lake, two
consumer departments, and the people who request, approve, oversee and audit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

from citybrain.auth.actor import Actor
from citybrain.lake.store import Lake

PEOPLE = pa.table(
    {
        "citizen_id": [f"32040219900101{n:04d}" for n in range(1, 41)],
        "name": [("张三", "李四", "欧阳娜娜", "王五")[n % 4] + str(n) for n in range(1, 41)],
        "division_code": [("320402001", "320404002", "320411003", "320402005")[n % 4] for n in range(1, 41)],
        "mobile": [f"138{n:08d}" for n in range(1, 41)],
        "address": ["常州市天宁区雕庄街道青龙路1号"] * 40,
        "income": [1000 * n for n in range(1, 41)],
    }
)
COMPANIES = pa.table(
    {"uscc": [f"91320400MA{n:07d}X" for n in range(1, 11)], "name": [f"公司{n}" for n in range(1, 11)]}
)

PEOPLE_FIELDS = [
    {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id", "required": True},
    {"name": "name", "title": "姓名", "standard": "person_name"},
    {"name": "division_code", "title": "行政区划", "standard": "division_code"},
    {"name": "mobile", "title": "手机号码", "standard": "mobile"},
    {"name": "address", "title": "住址", "standard": "address"},
    {"name": "income", "title": "收入", "sensitivity": 4},
]


@dataclass
class World:
    source: Any
    consumer_dept: Any
    other_dept: Any
    steward: tuple[Any, Actor]
    consumer: tuple[Any, Actor]
    colleague: tuple[Any, Actor]
    other: tuple[Any, Actor]
    cdo: tuple[Any, Actor]
    security: tuple[Any, Actor]
    admin: tuple[Any, Actor]
    people: Any
    companies: Any
    secret: Any
    lake: Lake


@pytest.fixture
def world(factory, settings) -> World:  # type: ignore[no-untyped-def]
    source = factory.dept(name="常州市公安局")
    consumer_dept = factory.dept(name="常州市民政局")
    other_dept = factory.dept(name="常州市教育局")
    cdo_dept = factory.dept(name="常州市数据局")
    people = factory.resource(
        source,
        key="population",
        name="人口基本信息",
        share_type="有条件共享",
        share_basis="《常州市公共数据管理办法》",
        grade="重要",
        fields=PEOPLE_FIELDS,
        primary_key=["citizen_id"],
        tags=["户籍", "人口"],
    )
    companies = factory.resource(source, key="companies", name="企业登记信息")
    secret = factory.resource(
        source,
        key="secret_cases",
        name="涉密案件",
        share_type="不予共享",
        share_basis="涉及国家秘密",
        open_type="不予开放",
        open_basis="涉密",
    )
    lake = Lake(settings.lake_dir)
    lake.write("population", PEOPLE, primary_key="citizen_id")
    lake.write("companies", COMPANIES, primary_key="uscc")
    lake.write("secret_cases", COMPANIES, primary_key="uscc")
    return World(
        source=source,
        consumer_dept=consumer_dept,
        other_dept=other_dept,
        steward=factory.user("steward", source),
        consumer=factory.user("consumer", consumer_dept),
        colleague=factory.user("consumer", consumer_dept),
        other=factory.user("consumer", other_dept),
        cdo=factory.user("cdo", cdo_dept),
        security=factory.user("security", cdo_dept),
        admin=factory.user("admin", cdo_dept),
        people=people,
        companies=companies,
        secret=secret,
        lake=lake,
    )
