"""Batch routing: ``route_batch`` sends each fresh event where ``route`` would send it as a case."""

from __future__ import annotations

from typing import Any

import test_cases_support as support
from test_cases_support import GRID, STREET, City, centre_of

from citybrain.cases import routing, service
from citybrain.cases.models import Case
from citybrain.cases.schemas import ComponentCreate

city = support.city  # the shared fixture

OTHER_GRID = "320402001001002"  # same street as GRID, no grid worker assigned


def _one_by_one(run: Any, kinds: list[str], codes: list[str], lons: list[float], lats: list[float], comps: list[Any]):
    def go(ctx: Any) -> list[tuple[Any, ...]]:
        index = routing.space(ctx.session).index
        out = []
        for kind, code, lon, lat, comp in zip(kinds, codes, lons, lats, comps, strict=True):
            hit = index.locate(lon, lat)
            case = Case(
                kind=kind, code=code, component_id=comp, returned_by=[],
                grid_id=hit.grid_id if hit else None, street_code=hit.street_code if hit else None,
                district_code=hit.district_code if hit else None,
            )  # fmt: skip
            target = routing.route(ctx.session, case)
            out.append((target.level, target.division, target.dept_id, target.user_id) if target else (None,) * 4)
        return out

    return run(go)


def test_batch_routes_agree_with_route_for_every_principle(run: Any, city: City) -> None:
    lamp = run(
        service.component_create,
        ComponentCreate(code="01037", owner_dept=city.cgj.id, lon=city.lon, lat=city.lat),
        actor=city.supervisor,
    )
    other_lon, other_lat = centre_of(OTHER_GRID)
    # (kind, code, lon, lat, component)
    events = [
        ("事项", "06042", city.lon, city.lat, None),  # 先属地: the grid worker
        ("事项", "06042", other_lon, other_lat, None),  # 先属地, grid without a worker: its street
        ("部件", "01037", city.lon, city.lat, lamp.ident),  # 先属主: the registered owner (cgj, not the rule's szc)
        ("部件", "01037", city.lon, city.lat, None),  # 先属主, no registry entry: the rule's department
        ("事项", "06042", city.lon + 5, city.lat, None),  # outside every grid: no locality, the rule decides
        ("事项", "99999", city.lon + 5, city.lat, None),  # outside and no rule: nowhere
    ]
    kinds, codes, lons, lats, comps = (list(col) for col in zip(*events, strict=True))

    def batch(ctx: Any) -> routing.BatchRoutes:
        return routing.route_batch(ctx.session, kinds, codes, lons, lats, component_ids=comps)

    routes = run(batch)
    got = list(zip(routes.level, routes.division, routes.dept_id, routes.user_id, strict=True))
    assert got == [
        ("grid", GRID, None, city.worker.user_id),
        ("street", STREET, None, None),
        ("city", "320400", city.cgj.id, None),
        ("city", "320400", city.szc.id, None),
        ("city", "320400", city.cgj.id, None),
        (None, None, None, None),
    ]
    assert routes.grid_id[:4] == [GRID, OTHER_GRID, GRID, GRID] and routes.grid_id[4:] == [None, None]
    assert got == _one_by_one(run, kinds, codes, lons, lats, comps)
