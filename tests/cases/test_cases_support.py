"""Shared set-up for the case tests: the demo grid over 常州, departments, people and routing rules.

Other ``test_cases_*`` modules import the ``city`` fixture from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from citybrain.auth.actor import Actor
from citybrain.cases.gridgen import build_demo_city
from citybrain.cases.routing import routing_rule_create
from citybrain.cases.schemas import ReportIn, RoutingRuleIn
from citybrain.cases.service import grid_assign_worker, grid_import

TZ = ZoneInfo("Asia/Shanghai")
GRID = "320402001001001"  # 朝阳花园社区1号网格, 天宁区
STREET = GRID[:9]
COMMUNITY = GRID[:12]


def at(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TZ)


def centre_of(code: str) -> tuple[float, float]:
    area = next(a for a in build_demo_city().areas if a.code == code)
    point = area.geometry.centroid
    return round(point.x, 6), round(point.y, 6)


@dataclass
class City:
    operator: Actor  # 城运中心坐席 (no division limit)
    worker: Actor  # the grid worker of GRID
    street_operator: Actor  # an operator of GRID's street
    cgj: Any  # 城市管理局: the competent department for 06 市容环境
    szc: Any  # 市政设施管理处: owner of the 01 市政公用设施 部件
    cgj_staff: Actor
    szc_staff: Actor
    supervisor: Actor
    lon: float
    lat: float

    def report(self, text: str, **extra: Any) -> ReportIn:
        data = {"channel": "patrol", "text": text, "lon": self.lon, "lat": self.lat, **extra}
        return ReportIn.model_validate(data)


@pytest.fixture
def city(run: Any, factory: Any) -> City:
    run(grid_import, demo=True)
    centre = factory.dept("cyzx", "常州市城市运行管理中心")
    street_office = factory.dept("qlb", "天宁区青龙街道办事处", level="区", division_code="320402")
    cgj = factory.dept("cgj", "常州市城市管理局")
    szc = factory.dept("szc", "常州市市政设施管理处")
    _, operator = factory.user("grid_operator", centre, "zuoxi")
    _, worker = factory.user("grid_operator", street_office, "wanggeyuan", divisions=[GRID])
    _, street_operator = factory.user("grid_operator", street_office, "jiedao", divisions=[STREET])
    _, cgj_staff = factory.user("steward", cgj, "cgj_staff")
    _, szc_staff = factory.user("steward", szc, "szc_staff")
    _, supervisor = factory.user("cdo", centre, "ducha")
    run(grid_assign_worker, GRID, "wanggeyuan")
    run(routing_rule_create, RoutingRuleIn(kind="事项", code="06*", dept=cgj.id))
    run(routing_rule_create, RoutingRuleIn(kind="部件", code="01*", dept=szc.id))
    run(routing_rule_create, RoutingRuleIn(kind="事项", code="01*", dept=szc.id))
    lon, lat = centre_of(GRID)
    return City(operator, worker, street_operator, cgj, szc, cgj_staff, szc_staff, supervisor, lon, lat)


def test_demo_grid_is_loaded_and_its_worker_assigned(run: Any, city: City) -> None:
    from citybrain.cases.service import grid_list

    grids = run(grid_list, level="grid", parent=COMMUNITY)
    assert GRID in {g.code for g in grids}
    assert next(g for g in grids if g.code == GRID).worker_user_id == city.worker.user_id
