"""Five-level grid space, the demo grid generator and the gazetteer."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from shapely.geometry import Point, box

from citybrain.cases.gazetteer import Gazetteer, Place, PlaceKind
from citybrain.cases.gridgen import DISTRICT_BOXES, build_demo_city
from citybrain.cases.space import Area, GridIndex, Level, areas_from_geojson
from citybrain.errors import Invalid, NotFound

COMMUNITY = "320402001001"
A, B, C = COMMUNITY + "001", COMMUNITY + "002", COMMUNITY + "003"


@pytest.fixture(scope="module")
def small() -> GridIndex:
    # A and B share the edge lon = 120.0; C touches B only at its corner (120.01, 31.51)
    return GridIndex(
        [
            Area(COMMUNITY, "朝阳花园社区", Level.COMMUNITY, box(119.99, 31.49, 120.02, 31.52)),
            Area(A, "1号网格", Level.GRID, box(119.99, 31.50, 120.00, 31.51), area_class="A"),
            Area(B, "2号网格", Level.GRID, box(120.00, 31.50, 120.01, 31.51), area_class="A"),
            Area(C, "3号网格", Level.GRID, box(120.01, 31.51, 120.02, 31.52), area_class="A"),
        ]
    )


@pytest.fixture(scope="module")
def demo():
    return build_demo_city(grids_total=400)


def test_point_near_a_shared_boundary_goes_to_the_grid_containing_it(small: GridIndex) -> None:
    west = small.locate(119.99995, 31.505)
    east = small.locate(120.00005, 31.505)
    assert west is not None and west.grid_id == A
    assert east is not None and east.grid_id == B
    # 0.00005° of longitude at 31.505° N ≈ 4.75 m from the shared edge
    assert west.boundary_distance_m == pytest.approx(4.75, abs=0.05)
    assert (west.community_code, west.street_code, west.district_code) == (COMMUNITY, "320402001", "320402")
    # exactly on the edge: both contain it; the smaller ID wins in scalar and batch lookups
    assert small.locate(120.0, 31.505).grid_id == A
    assert list(small.locate_many(np.array([120.0]), np.array([31.505]))) == [A]
    assert small.locate(121.0, 31.505) is None


def test_neighbours_share_an_edge_not_just_a_corner(small: GridIndex) -> None:
    assert small.neighbours(A) == [B]
    assert small.neighbours(B) == [A]
    assert small.neighbours(C) == []
    assert [g for g, _ in small.near(119.99995, 31.505, within_m=10)] == [A, B]
    with pytest.raises(NotFound):
        small.neighbours("320402001001999")


def test_ancestors(small: GridIndex) -> None:
    assert small.ancestors(B) == (COMMUNITY, "320402001", "320402")


def test_batch_agrees_with_scalar_on_random_points(demo) -> None:
    index = demo.index()
    rng = np.random.default_rng(20240210)
    lons = rng.uniform(119.1, 120.2, 10_000)
    lats = rng.uniform(31.1, 32.1, 10_000)
    batch = index.locate_many(lons, lats)
    scalar = [hit.grid_id if (hit := index.locate(x, y)) else None for x, y in zip(lons, lats, strict=True)]
    assert list(batch) == scalar
    # points drawn inside the district boxes always land in a grid of that district
    assert 0.3 < np.mean([g is not None for g in batch]) < 0.7
    for x, y, grid in zip(lons[:500], lats[:500], batch[:500], strict=True):
        inside = [code for code, b in DISTRICT_BOXES.items() if box(*b).contains(Point(x, y))]
        if inside:
            assert grid is not None and grid[:6] == inside[0]


def test_locate_many_is_fast_and_skips_missing_coordinates(demo) -> None:
    index = demo.index()
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(119.1, 120.2, 100_000), rng.uniform(31.1, 32.1, 100_000)
    lons[0] = np.nan
    started = time.perf_counter()
    found = index.locate_many(lons, lats)
    assert time.perf_counter() - started < 5
    assert found[0] is None and len(found) == 100_000


def test_demo_grid_tiles_each_district(demo) -> None:
    index = demo.index()
    grids = index.grids
    assert len(grids) == demo.grid_count() >= 400
    assert all(len(g.code) == 15 and g.code[:12] == g.parent_code for g in grids)
    for code, bounds in DISTRICT_BOXES.items():
        in_district = sum(g.geometry.area for g in grids if g.code.startswith(code))
        assert in_district == pytest.approx(box(*bounds).area, rel=1e-9)
    # 天宁 and 钟楼 meet along lon 119.955: a grid on that line has a neighbour across it
    hit = index.locate(119.9551, 31.80)
    assert hit is not None and hit.district_code == "320402"
    assert any(n.startswith("320404") for n in index.neighbours(hit.grid_id))
    # same input, same grid
    again = build_demo_city(grids_total=400)
    assert [(a.code, a.geometry.wkt) for a in again.areas] == [(a.code, a.geometry.wkt) for a in demo.areas]


def test_generator_takes_its_own_division_list() -> None:
    divisions = [
        ("320481", "溧阳市", "district", "320400"),
        ("320481001", "昆仑街道", "street", "320481"),
        ("320481001001", "甲社区", "community", "320481001"),
        ("320481001200", "乙村", "community", "320481001"),
    ]
    city = build_demo_city(divisions, grids_total=5)
    grids = city.index().grids
    assert [g.code for g in grids] == [
        "320481001001001",
        "320481001001002",
        "320481001001003",
        "320481001200001",
        "320481001200002",
    ]
    assert {g.area_class for g in grids if g.code.startswith("320481001200")} == {"C"}
    with pytest.raises(Invalid):
        build_demo_city([("3204810", "坏代码", "street", "320481")])


def test_geojson_round_trip(demo) -> None:
    index = demo.index()
    text = json.dumps(index.to_geojson(), ensure_ascii=False)
    back = GridIndex.from_geojson(text)
    before = {a.code: a for a in demo.areas}
    for grid in back.grids:
        original = before[grid.code]
        assert (grid.name, grid.level, grid.parent_code, grid.area_class) == (
            original.name,
            original.level,
            original.parent_code,
            original.area_class,
        )
        assert grid.geometry.equals_exact(original.geometry, 0)
    assert back.area("320402").name == "天宁区"
    assert back.locate(119.9551, 31.80).grid_id == index.locate(119.9551, 31.80).grid_id


def test_bad_features_are_named() -> None:
    good = Area(A, "1号网格", Level.GRID, box(119.99, 31.50, 120.00, 31.51)).feature()
    short_code = json.loads(json.dumps(good))
    short_code["properties"].update(code="32040200100101", name="短代码网格")
    bowtie = json.loads(json.dumps(good))
    bowtie["properties"].update(code=B, name="自交网格")
    bowtie["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[120.0, 31.5], [120.01, 31.51], [120.01, 31.5], [120.0, 31.51], [120.0, 31.5]]],
    }
    collection = {"type": "FeatureCollection", "features": [good, short_code, bowtie, good]}
    with pytest.raises(Invalid) as caught:
        areas_from_geojson(collection)
    assert "第 2 个要素" in caught.value.message and "短代码网格" in caught.value.message
    problems = {d["feature"]: d for d in caught.value.details}
    assert set(problems) == {1, 2, 3}
    assert "15 位" in problems[1]["problems"][0]
    assert "几何无效" in problems[2]["problems"][0]
    assert "重复" in problems[3]["problems"][0]
    with pytest.raises(Invalid, match="FeatureCollection"):
        areas_from_geojson({"type": "Feature"})


def test_gazetteer_hits_and_misses(demo) -> None:
    gazetteer = demo.gazetteer()
    index = demo.index()
    crossing = gazetteer.lookup("延陵西路与晋陵北路交叉口东北角有暴露垃圾")
    assert crossing is not None
    assert crossing.matched_name == "延陵西路与晋陵北路交叉口" and crossing.confidence == 0.9
    assert index.locate(crossing.lon, crossing.lat).district_code == "320404"
    # the longer name (a community) wins over the street named before it
    community = gazetteer.lookup("天宁区雕庄街道朝阳花园社区门口")
    assert community is not None and community.matched_name == "朝阳花园社区"
    assert index.locate(community.lon, community.lat).community_code == "320402001001"
    # 人民路 exists in 金坛 and 溧阳: ambiguous alone, settled by the district named
    alone = gazetteer.lookup("人民路上井盖丢失")
    liyang = gazetteer.lookup("溧阳市人民路上井盖丢失")
    assert alone is not None and liyang is not None
    assert liyang.confidence > alone.confidence
    assert index.locate(liyang.lon, liyang.lat).district_code == "320481"
    assert gazetteer.lookup("火星大道 1 号") is None
    assert gazetteer.lookup("") is None


def test_gazetteer_prefers_the_longest_name() -> None:
    gazetteer = Gazetteer(
        [
            Place("人民路", PlaceKind.ROAD, 119.5, 31.7, "320413"),
            Place("人民路小学", PlaceKind.LANDMARK, 119.51, 31.71, "320413"),
        ]
    )
    hit = gazetteer.lookup("人民路小学对面")
    assert hit is not None and hit.matched_name == "人民路小学" and (hit.lon, hit.lat) == (119.51, 31.71)
