"""空间地理库 demo data: 小区, 学校, 医院, 公园 and 道路 as points in CGCS2000.

Coordinates (decimal degrees, CGCS2000, which agrees with WGS 84 to well under a metre here) fall
inside a rough bounding box of the place's district; each 街道/镇 gets a fixed centre inside its
district's box and places scatter around it. Road names are real 常州 roads.

Defects: ``round(rows × defect_rate)`` rows (default 2%) carry exactly one defect, split by kind:
swapped_coordinates 30% (lon and lat exchanged, so the 纬度 fails ``check_latitude``) ·
missing_required 25% (name or address null) · invalid_division 20% (division_code not a 常州 district) ·
duplicate_id 25% (place_id copied from a clean row). Rows not logged pass every check.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa

from citybrain.demo.people import (
    ROADS,
    STALE_DIVISIONS,
    DefectLog,
    address_parts,
    ascii_matrix_to_strings,
    assign_defects,
    check_rate,
    check_size,
    digits_of,
    join,
    numpy_rng,
    sample_places,
    streets_table,
)

PLACE_DEFECTS = {"swapped_coordinates": 0.30, "missing_required": 0.25, "invalid_division": 0.20, "duplicate_id": 0.25}

#: Rough (west, south, east, north) boxes of each district, decimal degrees.
DISTRICT_BOXES: dict[str, tuple[float, float, float, float]] = {
    "320402": (119.94, 31.74, 120.12, 31.86),  # 天宁区
    "320404": (119.85, 31.72, 119.97, 31.82),  # 钟楼区
    "320411": (119.80, 31.82, 120.05, 32.05),  # 新北区
    "320412": (119.75, 31.45, 120.20, 31.74),  # 武进区
    "320413": (119.35, 31.55, 119.75, 31.90),  # 金坛区
    "320481": (119.15, 31.20, 119.60, 31.60),  # 溧阳市
}

KINDS: tuple[str, ...] = ("小区", "学校", "医院", "公园", "道路")
_KIND_WEIGHTS = np.array([0.55, 0.15, 0.08, 0.07, 0.15])
_ESTATE_STEMS = (
    "锦绣", "翠竹", "紫云", "丽景", "书香", "阳光", "世纪", "龙湖", "金色", "香樟",
    "怡康", "星河", "滨河", "清潭", "花园", "兰陵", "博爱", "永宁", "青枫", "御城",
)  # fmt: skip
_ESTATE_SUFFIXES = ("花园", "苑", "新村", "小区", "家园", "华庭", "公寓")
_SCHOOL_SUFFIXES = ("实验小学", "中心小学", "初级中学", "高级中学", "幼儿园")
_HOSPITAL_SUFFIXES = ("社区卫生服务中心", "卫生院", "人民医院分院", "中医诊所")
_PARK_SUFFIXES = ("公园", "湿地公园", "口袋公园", "滨河公园")

PLACE_SCHEMA = pa.schema(
    [
        pa.field("place_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("division_code", pa.string()),
        pa.field("street_code", pa.string()),
        pa.field("longitude", pa.float64()),
        pa.field("latitude", pa.float64()),
        pa.field("address", pa.string()),
    ]
)


def _street_centres(rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    codes, _, owner, districts = streets_table()
    lon, lat = np.empty(len(codes)), np.empty(len(codes))
    for i, district in enumerate(owner.tolist()):
        west, south, east, north = DISTRICT_BOXES[districts[district]]
        # Centres keep a margin so that the scatter around them stays inside the box.
        lon[i] = rng.uniform(west + 0.02, east - 0.02)
        lat[i] = rng.uniform(south + 0.02, north - 0.02)
    return lon, lat


def generate_places(n: int = 1_000, *, seed: int | str = 0, defect_rate: float = 0.02) -> tuple[pa.Table, DefectLog]:
    """空间地理库 (自然资源和规划 authoritative): ``n`` named places, with planted defects."""
    check_size(n)
    check_rate(defect_rate)
    rng = random.Random(f"citybrain.demo.places:{seed}")
    np_rng = numpy_rng(rng)
    street_codes, street_names, _, districts = streets_table()
    centre_lon, centre_lat = _street_centres(rng)

    district, street = sample_places(np_rng, n)
    kind = np_rng.choice(len(KINDS), size=n, p=_KIND_WEIGHTS)
    boxes = np.array([DISTRICT_BOXES[code] for code in districts])[district]
    lon = np.clip(centre_lon[street] + np_rng.normal(0, 0.008, n), boxes[:, 0], boxes[:, 2]).round(6)
    lat = np.clip(centre_lat[street] + np_rng.normal(0, 0.008, n), boxes[:, 1], boxes[:, 3]).round(6)

    # Short street names ("雕庄" of 雕庄街道) give the local flavour of real place names.
    short = np.array([name.removesuffix("街道").removesuffix("镇") for name in street_names])[street]
    pick = np_rng.random((n, 2))
    roads_by_district = [ROADS[code] for code in districts]
    names = np.empty(n, dtype=object)
    for row in range(n):
        match KINDS[kind[row]]:
            case "小区":
                stem = _ESTATE_STEMS[int(pick[row, 0] * len(_ESTATE_STEMS))]
                names[row] = f"{stem}{_ESTATE_SUFFIXES[int(pick[row, 1] * len(_ESTATE_SUFFIXES))]}"
            case "学校":
                names[row] = f"常州市{short[row]}{_SCHOOL_SUFFIXES[int(pick[row, 1] * len(_SCHOOL_SUFFIXES))]}"
            case "医院":
                names[row] = f"{short[row]}{_HOSPITAL_SUFFIXES[int(pick[row, 1] * len(_HOSPITAL_SUFFIXES))]}"
            case "公园":
                names[row] = f"{short[row]}{_PARK_SUFFIXES[int(pick[row, 1] * len(_PARK_SUFFIXES))]}"
            case _:
                roads = roads_by_district[district[row]]
                names[row] = roads[int(pick[row, 0] * len(roads))]
    prefix, numbers = address_parts(np_rng, district, street)
    addresses = join(prefix, pa.array(numbers).cast(pa.string()), "号").to_numpy(zero_copy_only=False).astype(object)
    ids = ascii_matrix_to_strings(
        np.concatenate(
            [
                np.tile(np.frombuffer(b"PL", np.uint8), (n, 1)),
                digits_of(street_codes[street].astype(np.int64), 9),
                digits_of(np.arange(1, n + 1), 6),
            ],
            axis=1,
        )
    ).astype(object)
    division_code = districts[district].astype(object)
    lon_values, lat_values = lon.astype(object), lat.astype(object)

    log = DefectLog("places", "place_id")
    plan = assign_defects(np_rng, n, defect_rate, PLACE_DEFECTS)
    defective = np.zeros(n, dtype=bool)
    for rows in plan.values():
        defective[rows] = True
    for row in plan["swapped_coordinates"].tolist():
        lon_values[row], lat_values[row] = lat_values[row], lon_values[row]
        log.add(row, ids[row], "latitude", "swapped_coordinates", "经纬度互换")
    for row in plan["missing_required"].tolist():
        column, values = ("name", names) if rng.random() < 0.5 else ("address", addresses)
        values[row] = None
        log.add(row, ids[row], column, "missing_required", f"必填项 {column} 为空")
    for row in plan["invalid_division"].tolist():
        division_code[row] = rng.choice(STALE_DIVISIONS)
        log.add(row, ids[row], "division_code", "invalid_division", f"{division_code[row]} 不是常州现行区县代码")
    clean = np.flatnonzero(~defective)
    for row in plan["duplicate_id"].tolist():
        source = int(clean[rng.randrange(len(clean))]) if len(clean) else row
        ids[row] = ids[source]
        log.add(row, ids[row], "place_id", "duplicate_id", f"与第 {source} 行地点编码重复")

    table = pa.table(
        {
            "place_id": pa.array(ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "kind": pa.array(np.array(KINDS)[kind]),
            "division_code": pa.array(division_code, pa.string()),
            "street_code": pa.array(street_codes[street]),
            "longitude": pa.array(lon_values, pa.float64()),
            "latitude": pa.array(lat_values, pa.float64()),
            "address": pa.array(addresses, pa.string()),
        },
        schema=PLACE_SCHEMA,
    )
    return table, log
