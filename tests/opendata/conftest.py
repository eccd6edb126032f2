"""A small open-data world: a transport bureau with an open, a conditional and a closed resource in the lake."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest

from citybrain.auth.actor import Actor
from citybrain.auth.rules import Role
from citybrain.lake.store import Lake
from citybrain.opendata import service
from citybrain.opendata.schemas import DatasetPrepare

#: raw values that must never leave the platform: masked or excluded
SECRET_IDS = ["320402198001011234", "32040219900202234X", "320402197503035678"]
SECRET_NAMES = ["张三丰", "欧阳修远", "李四光"]
SECRET_MOBILES = ["13800001111", "13900002222", "13700003333"]
SECRET_NOTES = ["内部备注甲", "内部备注乙", "内部备注丙"]


def stops_table(n: int = 3, extra: int = 0) -> pa.Table:
    rows = n + extra
    return pa.table(
        {
            "stop_id": [f"S{i:04d}" for i in range(rows)],
            "name": [f"站点{i}号" if i >= 3 else ["文化宫", "火车站", "恐龙园"][i] for i in range(rows)],
            "district": [["天宁区", "钟楼区", "新北区"][i % 3] for i in range(rows)],
            "opened": [dt.date(2015 + i % 8, 1 + i % 12, 1) for i in range(rows)],
            "passengers": [1000 * (i + 1) for i in range(rows)],
            "manager_name": [SECRET_NAMES[i % 3] for i in range(rows)],
            "manager_mobile": [SECRET_MOBILES[i % 3] for i in range(rows)],
            "manager_id": [SECRET_IDS[i % 3] for i in range(rows)],
            "note": [SECRET_NOTES[i % 3] for i in range(rows)],
        }
    )


STOP_FIELDS: list[dict[str, Any]] = [
    {"name": "stop_id", "title": "站点编号", "required": True},
    {"name": "name", "title": "站点名称"},
    {"name": "district", "title": "所属区"},
    {"name": "opened", "title": "启用日期", "data_type": "date"},
    {"name": "passengers", "title": "日均客流", "data_type": "integer"},
    {"name": "manager_name", "title": "站长姓名", "standard": "person_name", "sensitivity": 3},
    {"name": "manager_mobile", "title": "站长手机", "standard": "mobile", "sensitivity": 3},
    {"name": "manager_id", "title": "站长身份证号", "standard": "citizen_id", "sensitivity": 4},
    {"name": "note", "title": "内部备注", "sensitivity": 2},
]


@dataclass
class World:
    dept: Any
    other_dept: Any
    steward: Actor
    other_steward: Actor
    cdo: Actor
    public_user: Any
    public: Actor
    lake: Lake


@pytest.fixture
def world(factory: Any, run: Any, settings: Any) -> World:
    dept = factory.dept(code="jtj", name="常州市交通运输局")
    other = factory.dept(code="sjj", name="常州市数据局")
    _, steward = factory.user(Role.STEWARD, dept, username="jt_steward")
    _, other_steward = factory.user(Role.STEWARD, other, username="sj_steward")
    _, cdo = factory.user(Role.CDO, other, username="cdo")
    public_user, public = factory.user(Role.PUBLIC, username="citizen1")
    common = dict(topic="交通出行", update_frequency="每日", grade="一般", primary_key=["stop_id"])
    factory.resource(
        dept,
        key="bus_stops",
        name="公交站点客流",
        description="全市公交站点及日均客流",
        fields=STOP_FIELDS,
        tags=["公交", "客流"],
        **common,
    )
    factory.resource(
        dept,
        key="stop_permits",
        name="站点经营许可",
        open_type="有条件开放",
        open_basis="涉及经营信息",
        fields=STOP_FIELDS,
        tags=["许可"],
        **common,
    )
    factory.resource(
        dept,
        key="stop_staff",
        name="站务人员信息",
        open_type="不予开放",
        open_basis="含个人信息",
        fields=STOP_FIELDS,
        **common,
    )
    lake = Lake(settings.lake_dir)
    for key in ("bus_stops", "stop_permits", "stop_staff"):
        lake.write(key, stops_table(), mode="full")
    return World(dept, other, steward, other_steward, cdo, public_user, public, lake)


def publish(run: Any, world: World, resource: str, **kwargs: Any) -> Any:
    ds = run(service.open_dataset_prepare, DatasetPrepare(resource=resource, **kwargs), actor=world.steward)
    batch = run(service.open_batch_submit, f"{resource} 批次", [ds.name], actor=world.steward)
    run(service.open_batch_approve, batch.id, actor=world.cdo)
    return ds


@pytest.fixture
def published(run: Any, world: World) -> World:
    publish(run, world, "bus_stops", name="bus-stops")
    publish(run, world, "stop_permits", name="stop-permits")
    return world
