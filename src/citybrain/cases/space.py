"""五级网格空间 (five-level grid space): 市 → 区县 → 街道/镇 → 社区/村 → 单元网格.

Codes nest by prefix, so every ancestor of a unit grid can be read from its ID:

- city (市): 6 digits, 行政区划代码 (GB/T 2260) ending ``00`` (320400 常州市);
- district (区县): 6 digits (GB/T 2260), e.g. 320402 天宁区;
- street (街道/镇): 9 digits = district + 3;
- community (社区/村): 12 digits = street + 3;
- grid (单元网格): 15 characters (GB/T 47678.3) = community code + 3-digit sequence.

Coordinates are CGCS2000 longitude/latitude in degrees (within a metre of WGS84 here).

A point on the line shared by two grids belongs to both; the grid with the smaller ID wins, so
``locate`` and ``locate_many`` always agree, and ``neighbours`` lists the grids across the line
for an operator to check a case reported near a boundary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from citybrain.errors import Invalid, NotFound

__all__ = [
    "Area",
    "GridHit",
    "GridIndex",
    "Level",
    "areas_from_geojson",
    "areas_to_geojson",
    "parent_code_of",
]

#: metres per degree of latitude (CGCS2000 ellipsoid, mid-latitudes); good to ~0.5 % for distances
_M_PER_DEG_LAT = 110_940.0
_M_PER_DEG_LON_EQUATOR = 111_320.0
#: two grids are neighbours when their boundaries run together for more than this (degrees, ≈ 0.1 m),
#: so grids meeting only at a corner are not listed
_SHARED_EDGE_MIN = 1e-6
_SNAP = 1e-7


class Level(StrEnum):
    CITY = "city"  # 市
    DISTRICT = "district"  # 区县
    STREET = "street"  # 街道/镇
    COMMUNITY = "community"  # 社区/村
    GRID = "grid"  # 单元网格

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]


_LEVEL_LABELS = {
    Level.CITY: "市",
    Level.DISTRICT: "区县",
    Level.STREET: "街道/镇",
    Level.COMMUNITY: "社区/村",
    Level.GRID: "单元网格",
}
_LEVEL_ALIASES: dict[str, Level] = {
    **{lv.value: lv for lv in Level},
    **{label: lv for lv, label in _LEVEL_LABELS.items()},
    "区": Level.DISTRICT,
    "县": Level.DISTRICT,
    "街道": Level.STREET,
    "镇": Level.STREET,
    "社区": Level.COMMUNITY,
    "村": Level.COMMUNITY,
    "网格": Level.GRID,
}
_CODE_LENGTH = {Level.CITY: 6, Level.DISTRICT: 6, Level.STREET: 9, Level.COMMUNITY: 12, Level.GRID: 15}


def parse_level(value: Any) -> Level:
    found = _LEVEL_ALIASES.get(str(value).strip())
    if found is None:
        raise Invalid(
            f"层级无效: {value!r}（可选 {', '.join(lv.value for lv in Level)}）",
            details={"field": "level", "value": value},
        )
    return found


def code_problem(code: str, level: Level) -> str | None:
    """Why ``code`` cannot be a code of ``level``, or ``None`` when it can."""
    if not isinstance(code, str) or not code.isdigit() or not code.isascii():
        return f"代码须为数字串: {code!r}"
    if len(code) != _CODE_LENGTH[level]:
        return f"{level.label}代码须为 {_CODE_LENGTH[level]} 位: {code}"
    if level is Level.CITY and (not code.endswith("00") or code.endswith("0000")):
        return f"市级代码须以 00 结尾（非省级）: {code}"
    if level is Level.DISTRICT and code.endswith("00"):
        return f"区县代码不能以 00 结尾: {code}"
    return None


def parent_code_of(code: str, level: Level) -> str | None:
    """Parent code read from the prefix (a district's parent is its city, 320402 → 320400)."""
    if level is Level.CITY:
        return None
    if level is Level.DISTRICT:
        return code[:4] + "00"
    return code[: _CODE_LENGTH[level] - 3]


@dataclass(frozen=True, slots=True)
class Area:
    """One boundary of the five-level space. ``area_class`` (A/B/C) drives time limits."""

    code: str
    name: str
    level: Level
    geometry: BaseGeometry
    parent_code: str | None = None
    area_class: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def feature(self) -> dict[str, Any]:
        props: dict[str, Any] = dict(self.extra)
        props.update(code=self.code, name=self.name, level=self.level.value, parent_code=self.parent_code)
        if self.area_class is not None:
            props["area_class"] = self.area_class
        return {"type": "Feature", "properties": props, "geometry": mapping(self.geometry)}


@dataclass(frozen=True, slots=True)
class GridHit:
    """The unit grid containing a point, with its ancestors (社区, 街道, 区县)."""

    grid_id: str
    grid_name: str
    community_code: str
    street_code: str
    district_code: str
    area_class: str | None
    #: distance from the point to the grid's boundary, in metres (small → check ``neighbours``)
    boundary_distance_m: float


# ---- GeoJSON ------------------------------------------------------------------------------------


def _load_json(source: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"GeoJSON 解析失败: {exc}", details={"error": str(exc)}) from exc
    if not isinstance(data, Mapping):
        raise Invalid("GeoJSON 顶层须为 FeatureCollection 对象", details={"field": "type"})
    return data


def _feature_to_area(feature: Any) -> tuple[Area | None, list[str]]:
    problems: list[str] = []
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        return None, ["不是 Feature 对象"]
    props = feature.get("properties") or {}
    if not isinstance(props, Mapping):
        return None, ["properties 须为对象"]
    for key in ("code", "name", "level"):
        if props.get(key) in (None, ""):
            problems.append(f"缺少属性 {key}")
    level: Level | None = None
    if props.get("level") not in (None, ""):
        try:
            level = parse_level(props["level"])
        except Invalid as exc:
            problems.append(exc.message)
    code = str(props.get("code", "")).strip()
    parent = props.get("parent_code")
    parent = None if parent in (None, "") else str(parent).strip()
    if level is not None and code:
        problem = code_problem(code, level)
        if problem:
            problems.append(problem)
        elif parent is not None and parent != parent_code_of(code, level):
            problems.append(f"parent_code {parent} 与代码前缀不符（应为 {parent_code_of(code, level)}）")
    area_class = props.get("area_class")
    if area_class not in (None, "A", "B", "C"):
        problems.append(f"area_class 须为 A/B/C: {area_class!r}")
    geom: BaseGeometry | None = None
    raw_geom = feature.get("geometry")
    if not isinstance(raw_geom, Mapping):
        problems.append("缺少几何 geometry")
    elif raw_geom.get("type") not in ("Polygon", "MultiPolygon"):
        problems.append(f"几何须为 Polygon 或 MultiPolygon: {raw_geom.get('type')!r}")
    else:
        try:
            geom = shape(raw_geom)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            problems.append(f"几何坐标无法解析: {exc}")
        else:
            if geom.is_empty:
                problems.append("几何为空")
            elif not geom.is_valid:
                problems.append(f"几何无效: {shapely.is_valid_reason(geom)}")
            else:
                minx, miny, maxx, maxy = geom.bounds
                if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
                    problems.append("坐标超出经纬度范围（经度、纬度是否写反？）")
    if problems or geom is None or level is None:
        return None, problems
    known = {"code", "name", "level", "parent_code", "area_class"}
    return (
        Area(
            code=code,
            name=str(props["name"]),
            level=level,
            geometry=geom,
            parent_code=parent if parent is not None else parent_code_of(code, level),
            area_class=area_class,
            extra={k: v for k, v in props.items() if k not in known},
        ),
        [],
    )


def areas_from_geojson(source: Mapping[str, Any] | str | Path) -> list[Area]:
    """Boundaries from a GeoJSON FeatureCollection (properties: code, name, level, parent_code).

    Every bad feature is reported, each named by its position, code and name.
    """
    data = _load_json(source)
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise Invalid("GeoJSON 须为含 features 数组的 FeatureCollection", details={"field": "type"})
    areas: list[Area] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, feature in enumerate(data["features"]):
        area, problems = _feature_to_area(feature)
        props = feature.get("properties") if isinstance(feature, Mapping) else None
        props = props if isinstance(props, Mapping) else {}
        if area is not None and area.code in seen:
            problems = [f"代码与第 {seen[area.code] + 1} 个要素重复"]
            area = None
        if area is None:
            errors.append({"feature": i, "code": props.get("code"), "name": props.get("name"), "problems": problems})
            continue
        seen[area.code] = i
        areas.append(area)
    if errors:
        first = errors[0]
        raise Invalid(
            f"边界数据有 {len(errors)} 个要素无效；第 {first['feature'] + 1} 个要素"
            f" (code={first['code']}, name={first['name']}): {'；'.join(first['problems'])}",
            details=errors,
        )
    return areas


def areas_to_geojson(areas: Iterable[Area]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [a.feature() for a in areas]}


# ---- index --------------------------------------------------------------------------------------


def _metres_projector(lon0: float, lat0: float):
    kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(((coords[:, 0] - lon0) * kx, (coords[:, 1] - lat0) * _M_PER_DEG_LAT))

    return project


class GridIndex:
    """Point-in-grid lookup over unit grids, with the other levels kept for names and ancestors."""

    def __init__(self, areas: Iterable[Area]) -> None:
        self._areas: dict[str, Area] = {}
        for area in areas:
            if area.code in self._areas:
                raise Invalid(f"区域代码重复: {area.code}", details={"field": "code", "value": area.code})
            problem = code_problem(area.code, area.level)
            if problem:
                raise Invalid(problem, details={"field": "code", "value": area.code})
            self._areas[area.code] = area
        grids = sorted((a for a in self._areas.values() if a.level is Level.GRID), key=lambda a: a.code)
        if not grids:
            raise Invalid("没有单元网格，无法建立索引", details={"field": "level"})
        self._grids = grids
        self._grid_ids = np.array([g.code for g in grids], dtype=object)
        self._position = {g.code: i for i, g in enumerate(grids)}
        geoms = np.array([g.geometry for g in grids], dtype=object)
        shapely.prepare(geoms)
        self._geoms = geoms
        # tree order = sorted grid ID, so "smallest tree index" is "smallest ID" on shared edges
        self._tree = STRtree(geoms)

    # -- construction --

    @classmethod
    def from_geojson(cls, source: Mapping[str, Any] | str | Path) -> GridIndex:
        return cls(areas_from_geojson(source))

    def to_geojson(self) -> dict[str, Any]:
        return areas_to_geojson(sorted(self._areas.values(), key=lambda a: (len(a.code), a.code)))

    # -- lookups --

    @property
    def grids(self) -> list[Area]:
        return list(self._grids)

    def area(self, code: str) -> Area | None:
        return self._areas.get(code)

    def _grid(self, grid_id: str) -> Area:
        position = self._position.get(grid_id)
        if position is None:
            raise NotFound(f"未知单元网格: {grid_id}", details={"field": "grid_id", "value": grid_id})
        return self._grids[position]

    def ancestors(self, grid_id: str) -> tuple[str, str, str]:
        """(社区 community, 街道 street, 区县 district) codes of a unit grid."""
        grid = self._grid(grid_id)
        return grid.code[:12], grid.code[:9], grid.code[:6]

    def locate(self, lon: float, lat: float) -> GridHit | None:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        point = shapely.Point(lon, lat)
        hits = self._tree.query(point, predicate="intersects")
        if len(hits) == 0:
            return None
        grid = self._grids[int(hits.min())]
        project = _metres_projector(lon, lat)
        boundary_m = shapely.transform(grid.geometry.boundary, project)
        community, street, district = grid.code[:12], grid.code[:9], grid.code[:6]
        return GridHit(
            grid_id=grid.code,
            grid_name=grid.name,
            community_code=community,
            street_code=street,
            district_code=district,
            area_class=grid.area_class,
            boundary_distance_m=float(boundary_m.distance(shapely.Point(0.0, 0.0))),
        )

    def locate_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid IDs for many points at once (object array; ``None`` where no grid contains the point)."""
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        if lons.shape != lats.shape or lons.ndim != 1:
            raise Invalid("经度、纬度须为等长一维数组", details={"field": "lons/lats"})
        out = np.full(lons.shape[0], None, dtype=object)
        valid = np.flatnonzero(np.isfinite(lons) & np.isfinite(lats))
        if valid.size == 0:
            return out
        points = shapely.points(lons[valid], lats[valid])
        point_idx, grid_idx = self._tree.query(points, predicate="intersects")
        if point_idx.size == 0:
            return out
        order = np.lexsort((grid_idx, point_idx))
        point_idx, grid_idx = point_idx[order], grid_idx[order]
        first_points, first = np.unique(point_idx, return_index=True)
        out[valid[first_points]] = self._grid_ids[grid_idx[first]]
        return out

    def neighbours(self, grid_id: str) -> list[str]:
        """Grids sharing a stretch of boundary with ``grid_id`` (a shared corner alone does not count)."""
        self._grid(grid_id)
        return list(self._neighbour_table.get(grid_id, ()))

    def near(self, lon: float, lat: float, within_m: float) -> list[tuple[str, float]]:
        """Grids within ``within_m`` metres of a point, nearest first, as (grid ID, metres)."""
        pad = within_m / (_M_PER_DEG_LON_EQUATOR * max(math.cos(math.radians(lat)), 0.01))
        box = shapely.box(lon - pad, lat - pad, lon + pad, lat + pad)
        project = _metres_projector(lon, lat)
        origin = shapely.Point(0.0, 0.0)
        found = []
        for i in self._tree.query(box, predicate="intersects"):
            grid = self._grids[int(i)]
            metres = float(shapely.transform(grid.geometry, project).distance(origin))
            if metres <= within_m:
                found.append((grid.code, metres))
        return sorted(found, key=lambda item: (item[1], item[0]))

    @cached_property
    def _neighbour_table(self) -> dict[str, tuple[str, ...]]:
        table: dict[str, list[str]] = {g.code: [] for g in self._grids}
        for i, grid in enumerate(self._grids):
            # a tiny snap distance absorbs floating-point slivers between boundaries drawn separately
            for j in self._tree.query(grid.geometry.buffer(_SNAP), predicate="intersects"):
                j = int(j)
                if j <= i:
                    continue
                other = self._grids[j]
                shared = grid.geometry.boundary.intersection(other.geometry.buffer(_SNAP)).length
                if shared > _SHARED_EDGE_MIN:
                    table[grid.code].append(other.code)
                    table[other.code].append(grid.code)
        return {code: tuple(sorted(ids)) for code, ids in table.items()}
