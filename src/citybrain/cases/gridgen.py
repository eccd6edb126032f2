"""演示网格 (demo grid) over 常州's six districts, for development, tests and demos.

Each district is approximated by a rectangle around its real centroid (rough lon/lat,
CGCS2000 ≈ WGS84 here) laid out so that neighbouring districts touch without overlapping. A
district is split into its 街道/镇, each street into its 社区/村, and each community into unit
grids (单元网格, ID = community code + 3-digit sequence). The split is pure arithmetic, so the same
divisions and settings always give the same grid, and shared edges are exactly shared.

The street and community codes and names come from ``citybrain.standards.divisions`` unless a list
of divisions is passed in. Area classes are a demo rule: 村 → C (rural); 社区 in 天宁/钟楼 → A;
other 社区 → B.

The gazetteer rows (roads as lines, and the centre of every district, street and community) are
generated with the grid; the road names are real 常州 roads, placed schematically.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import LineString, Polygon, box

from citybrain.cases.gazetteer import Gazetteer, Place, PlaceKind
from citybrain.cases.space import Area, GridIndex, Level, areas_to_geojson, code_problem
from citybrain.errors import Invalid

__all__ = ["DISTRICT_BOXES", "DemoCity", "build_demo_city"]

CITY_CODE = "320400"
CITY_NAME = "常州市"

#: (west, south, east, north) in degrees; centroids near the real ones
DISTRICT_BOXES: dict[str, tuple[float, float, float, float]] = {
    "320402": (119.955, 31.74, 120.10, 31.83),  # 天宁区
    "320404": (119.75, 31.74, 119.955, 31.83),  # 钟楼区
    "320411": (119.75, 31.83, 120.00, 32.05),  # 新北区
    "320412": (119.75, 31.45, 120.15, 31.74),  # 武进区
    "320413": (119.35, 31.60, 119.75, 31.90),  # 金坛区
    "320481": (119.15, 31.15, 119.65, 31.60),  # 溧阳市
}
_DISTRICT_NAMES = {
    "320402": "天宁区",
    "320404": "钟楼区",
    "320411": "新北区",
    "320412": "武进区",
    "320413": "金坛区",
    "320481": "溧阳市",
}
_URBAN_CORE = {"320402", "320404"}

#: (name, direction, position as a fraction across the district box): "EW" runs west–east at that
#: fraction of the height, "NS" runs south–north at that fraction of the width
_ROADS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "320402": (("延陵东路", "EW", 0.45), ("关河东路", "EW", 0.7), ("劳动东路", "EW", 0.25),
               ("和平北路", "NS", 0.2), ("青洋北路", "NS", 0.55)),
    "320404": (("延陵西路", "EW", 0.45), ("劳动中路", "EW", 0.25), ("勤业路", "EW", 0.75),
               ("晋陵北路", "NS", 0.97), ("南大街", "NS", 0.8), ("怀德南路", "NS", 0.6)),
    "320411": (("太湖东路", "EW", 0.3), ("河海西路", "EW", 0.5), ("通江大道", "NS", 0.7),
               ("汉江路", "NS", 0.45), ("长江北路", "NS", 0.85)),
    "320412": (("延政中路", "EW", 0.6), ("人民中路", "EW", 0.75), ("常武中路", "NS", 0.55),
               ("武宜北路", "NS", 0.4)),
    "320413": (("华城中路", "EW", 0.55), ("东门大街", "EW", 0.4), ("人民路", "EW", 0.7),
               ("金坛大道", "NS", 0.55), ("愚池路", "NS", 0.7)),
    "320481": (("燕山中路", "EW", 0.6), ("平陵西路", "EW", 0.75), ("人民路", "EW", 0.45),
               ("昆仑北路", "NS", 0.5), ("天目湖大道", "NS", 0.4)),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Div:
    code: str
    name: str
    level: Level


@dataclass(frozen=True)
class DemoCity:
    """The generated boundaries (all five levels) and gazetteer rows."""

    areas: tuple[Area, ...]
    places: tuple[Place, ...]

    def index(self) -> GridIndex:
        return GridIndex(self.areas)

    def gazetteer(self) -> Gazetteer:
        return Gazetteer(self.places)

    def geojson(self) -> dict[str, Any]:
        return areas_to_geojson(self.areas)

    def grid_count(self) -> int:
        return sum(1 for a in self.areas if a.level is Level.GRID)


def _level_from_code(code: str) -> Level | None:
    if len(code) == 6:
        return Level.CITY if code.endswith("00") else Level.DISTRICT
    return {9: Level.STREET, 12: Level.COMMUNITY}.get(len(code))


def _normalise(divisions: Iterable[Any]) -> list[_Div]:
    """Accept ``Division`` objects or (code, name, level, parent_code) tuples; the level is read from
    the code's shape, so either spelling of the level works."""
    out: list[_Div] = []
    for item in divisions:
        if isinstance(item, Sequence) and not isinstance(item, str):
            code, name = str(item[0]), str(item[1])
        else:
            code, name = str(item.code), str(item.name)
        level = _level_from_code(code)
        if level is None or code_problem(code, level):
            raise Invalid(f"行政区划代码无效: {code!r}", details={"field": "code", "value": code})
        out.append(_Div(code, name, level))
    return out


def _split(rect: tuple[float, float, float, float], n: int) -> list[tuple[float, float, float, float]]:
    """Split a rectangle into ``n`` cells in near-square rows (the last row's cells are wider).

    Cuts are computed once and reused by both sides, so neighbouring cells share edges exactly.
    """
    west, south, east, north = rect
    mid_lat = math.radians((south + north) / 2)
    aspect = (east - west) * math.cos(mid_lat) / (north - south)
    cols = max(1, min(n, round(math.sqrt(n * aspect))))
    rows = math.ceil(n / cols)
    ys = [north - (north - south) * r / rows for r in range(rows + 1)]
    ys[-1] = south
    cells = []
    for r in range(rows):
        in_row = cols if r < rows - 1 else n - cols * (rows - 1)
        xs = [west + (east - west) * c / in_row for c in range(in_row + 1)]
        xs[-1] = east
        cells.extend((xs[c], ys[r + 1], xs[c + 1], ys[r]) for c in range(in_row))
    return cells


def _area_class(district: str, community: _Div) -> str:
    if community.name.endswith("村"):
        return "C"
    return "A" if district in _URBAN_CORE else "B"


def _grid_counts(communities: list[_Div], grids_total: int) -> list[int]:
    # every community gets at least one grid; the rest go round in code order
    n = len(communities)
    base, extra = divmod(max(grids_total, n), n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def build_demo_city(divisions: Iterable[Any] | None = None, *, grids_total: int = 400) -> DemoCity:
    """Generate the demo city.

    ``divisions``: ``citybrain.standards.divisions.Division`` objects or (code, name, level,
    parent_code) tuples; defaults to ``all_divisions()``. Districts outside the six laid out here
    are ignored, as are districts with no community listed. ``grids_total`` is a target: every
    community gets at least one grid, so the count is at least the number of communities.
    """
    if grids_total < 1:
        raise Invalid("网格数须为正整数", details={"field": "grids_total"})
    if divisions is None:
        from citybrain.standards.divisions import all_divisions

        divisions = all_divisions()
    divs = _normalise(divisions)
    names = {d.code: d.name for d in divs}
    streets = sorted(
        (d for d in divs if d.level is Level.STREET and d.code[:6] in DISTRICT_BOXES), key=lambda d: d.code
    )
    communities = sorted(
        (d for d in divs if d.level is Level.COMMUNITY and d.code[:9] in {s.code for s in streets}),
        key=lambda d: d.code,
    )
    if not communities:
        raise Invalid("区划列表中没有可用的社区/村（需含 6 个区县之一下的街道和社区）", details={"field": "divisions"})
    counts = dict(zip((c.code for c in communities), _grid_counts(communities, grids_total), strict=True))
    streets = [s for s in streets if any(c.code.startswith(s.code) for c in communities)]

    areas: list[Area] = []
    places: list[Place] = []
    district_codes = sorted({s.code[:6] for s in streets})
    for district in district_codes:
        d_rect = DISTRICT_BOXES[district]
        d_name = names.get(district, _DISTRICT_NAMES[district])
        areas.append(Area(district, d_name, Level.DISTRICT, box(*d_rect), parent_code=CITY_CODE))
        places.append(_centre_place(d_name, PlaceKind.DISTRICT, district, box(*d_rect)))
        if d_name[-1] in "区市" and len(d_name) > 2:
            # callers say 天宁 / 溧阳 as often as 天宁区 / 溧阳市
            places.append(_centre_place(d_name[:-1], PlaceKind.DISTRICT, district, box(*d_rect)))
        d_streets = [s for s in streets if s.code.startswith(district)]
        for street, s_rect in zip(d_streets, _split(d_rect, len(d_streets)), strict=True):
            areas.append(Area(street.code, street.name, Level.STREET, box(*s_rect), parent_code=district))
            places.append(_centre_place(street.name, PlaceKind.STREET, street.code, box(*s_rect)))
            s_comms = [c for c in communities if c.code.startswith(street.code)]
            for community, c_rect in zip(s_comms, _split(s_rect, len(s_comms)), strict=True):
                area_class = _area_class(district, community)
                c_box = box(*c_rect)
                areas.append(
                    Area(
                        community.code,
                        community.name,
                        Level.COMMUNITY,
                        c_box,
                        parent_code=street.code,
                        area_class=area_class,
                    )
                )
                places.append(_centre_place(community.name, PlaceKind.COMMUNITY, community.code, c_box))
                for seq, g_rect in enumerate(_split(c_rect, counts[community.code]), start=1):
                    areas.append(
                        Area(
                            code=f"{community.code}{seq:03d}",
                            name=f"{community.name}{seq}号网格",
                            level=Level.GRID,
                            geometry=box(*g_rect),
                            parent_code=community.code,
                            area_class=area_class,
                        )
                    )
        places.extend(_roads(district, d_rect))
    city_geom = shapely.union_all([box(*DISTRICT_BOXES[d]) for d in district_codes])
    areas.insert(0, Area(CITY_CODE, names.get(CITY_CODE, CITY_NAME), Level.CITY, city_geom))
    return DemoCity(areas=tuple(areas), places=tuple(places))


def _centre_place(name: str, kind: PlaceKind, code: str, geom: Polygon) -> Place:
    point = geom.representative_point()
    return Place(name=name, kind=kind, lon=round(point.x, 6), lat=round(point.y, 6), code=code)


def _roads(district: str, rect: tuple[float, float, float, float]) -> list[Place]:
    west, south, east, north = rect
    out = []
    for name, direction, at in _ROADS.get(district, ()):
        if direction == "EW":
            lat = south + (north - south) * at
            line = LineString([(west, lat), (east, lat)])
        else:
            lon = west + (east - west) * at
            line = LineString([(lon, south), (lon, north)])
        mid = line.interpolate(0.5, normalized=True)
        out.append(
            Place(
                name=name,
                kind=PlaceKind.ROAD,
                lon=round(mid.x, 6),
                lat=round(mid.y, 6),
                code=district,
                line=tuple((round(x, 6), round(y, 6)) for x, y in line.coords),
            )
        )
    return out
