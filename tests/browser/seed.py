"""A small city for the console tests: departments, users and catalog entries, all made through the actions."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from citybrain.auth.rules import Role
from citybrain.catalog import service
from citybrain.catalog.schemas import ResourceCreate, ResourceUpdate
from citybrain.catalog.transfer import FIELD_COLUMNS, FIELD_SHEET, RESOURCE_COLUMNS, RESOURCE_SHEET

PERSON_FIELDS = [
    {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id", "required": True},
    {"name": "name", "title": "姓名", "standard": "person_name"},
    {"name": "mobile", "title": "联系电话", "standard": "mobile"},
    {"name": "address", "title": "住址", "standard": "address"},
]


@dataclass
class City:
    police: Any
    market: Any
    bigdata: Any
    admin: str
    steward: str
    consumer: str
    public: str
    population_oid: str


def seed_city(factory: Any, run: Any) -> City:
    police = factory.dept(code="gaj", name="市公安局")
    market = factory.dept(code="scjgj", name="市市场监管局")
    bigdata = factory.dept(code="dsj", name="市大数据管理局")
    factory.user(Role.ADMIN, dept=bigdata, username="admin1")
    factory.user(Role.STEWARD, dept=market, username="steward1")
    factory.user(Role.CONSUMER, dept=police, username="consumer1")
    factory.user(Role.PUBLIC, username="citizen1")
    population = run(
        service.resource_create,
        ResourceCreate.model_validate(
            {
                "key": "population",
                "name": "人口基础信息",
                "dept": police.id,
                "category": "基础库",
                "base_library": "人口",
                "share_type": "有条件共享",
                "share_basis": "《常州市公共数据管理办法》",
                "open_type": "不予开放",
                "open_basis": "含个人信息",
                "grade": "重要",
                "update_frequency": "每日",
                "fields": PERSON_FIELDS,
                "primary_key": ["citizen_id"],
            }
        ),
    )
    run(service.resource_update, "population", ResourceUpdate(revision=1, description="全市户籍与常住人口"))
    factory.resource(market, key="market_entities", name="市场主体登记信息", topic="营商环境", tags=["企业"])
    factory.resource(
        bigdata,
        key="credit_profile",
        name="企业信用画像",
        category="主题库",
        topic="社会信用",
        share_type="有条件共享",
        share_basis="信用信息共享目录",
        open_type="有条件开放",
        grade="重要",
    )
    factory.resource(market, key="inspections", name="双随机抽查结果", open_type="不予开放", open_basis="执法过程信息")
    return City(police, market, bigdata, "admin1", "steward1", "consumer1", "citizen1", population.oid)


def workbook(resources: list[dict[str, Any]], fields: list[dict[str, Any]]) -> bytes:
    """A workbook in the 目录编制 template's layout, with whatever rows a test needs (valid or not)."""
    wb = Workbook()
    ws = wb.active
    ws.title = RESOURCE_SHEET
    ws.append([t for t, _ in RESOURCE_COLUMNS])
    for item in resources:
        ws.append([item.get(a) for _, a in RESOURCE_COLUMNS])
    fs = wb.create_sheet(FIELD_SHEET)
    fs.append([t for t, _ in FIELD_COLUMNS])
    for f in fields:
        fs.append([f.get(a) for _, a in FIELD_COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD = {
    "key": "school_roll",
    "name": "学籍信息",
    "dept": "scjgj",
    "category": "部门库",
    "share_type": "无条件共享",
    "open_type": "无条件开放",
    "grade": "一般",
}
GOOD_FIELDS = [
    {"resource": "school_roll", "name": "student_id", "title": "学籍号", "required": "是"},
    {"resource": "school_roll", "name": "citizen_id", "title": "身份证号", "standard": "citizen_id"},
]
