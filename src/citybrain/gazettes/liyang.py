"""溧阳 tables from 溧阳市人民政府公报 2023年第1期: noise limits and traffic arterials
(溧政发〔2023〕3号), the 2023 land-supply parcel pool (溧政发〔2023〕8号), the 十四五 smart-city key
indicators (溧政办发〔2023〕4号) and the ponding points (溧政办发〔2023〕16号)."""

from __future__ import annotations

import re

from citybrain.errors import Invalid
from citybrain.gazettes.documents import document_span
from citybrain.gazettes.extract import (
    between,
    cells,
    expect_count,
    expect_sequence,
    number,
    split_unit,
    tidy,
    tsv_lines,
)

GAZETTE = "liyang-gazette-2023-01"
NOISE_ZONING = "溧政发〔2023〕3号"
LAND_SUPPLY = "溧政发〔2023〕8号"
SMART_CITY_PLAN = "溧政办发〔2023〕4号"
PONDING_PLAN = "溧政办发〔2023〕16号"

#: 《声环境质量标准》(GB 3096-2008) 表1 环境噪声限值 dB(A): class → (昼间, 夜间)
GB_3096_LIMITS: dict[str, tuple[int, int]] = {
    "0类": (50, 40),
    "1类": (55, 45),
    "2类": (60, 50),
    "3类": (65, 55),
    "4a类": (70, 55),
    "4b类": (70, 60),
}
_NOISE_CLASS = re.compile(r"[0-3]类|4[ab]类")


def noise_limits() -> list[dict[str, object]]:
    """表1 环境噪声等效声级限值 per 声环境功能区 class (5 rows, dB(A)).

    The table nests 4a类/4b类 under a merged "4类" cell, and the conversion lost the 4a night
    value and pushed the 4b night value onto a line of its own. Values are therefore collected per
    class label in reading order (昼间 first). A value the text lacks is filled from GB 3096-2008,
    which the 区划 itself cites, and ``source_note`` says so; every value the text does give is
    checked against the standard.
    """
    body = document_span(GAZETTE, NOISE_ZONING).body
    _, block = between(body, "表1", "注：", what="声环境功能区噪声限值表")
    values: dict[str, list[int]] = {}
    current = None
    for c in tsv_lines(block):
        for cell in c:
            if _NOISE_CLASS.fullmatch(cell):
                current = cell
                values[current] = []
            elif re.fullmatch(r"\d+", cell) and current is not None:
                values[current].append(int(cell))
    rows: list[dict[str, object]] = []
    for zone, limits in values.items():
        standard = GB_3096_LIMITS[zone]
        if limits != list(standard[: len(limits)]) or not 1 <= len(limits) <= 2:
            raise Invalid(f"{zone}噪声限值与GB 3096-2008不符：{limits}", details={"field": "噪声限值", "zone": zone})
        note = f"{NOISE_ZONING} 表1"
        if len(limits) == 1:
            note += f"；夜间限值在公报文本中缺失，按《声环境质量标准》(GB 3096-2008) 表1 取{standard[1]}dB(A)"
        rows.append(
            {
                "zone_class": zone,
                "day_limit_db": standard[0],
                "night_limit_db": standard[1],
                "source_note": note,
            }
        )
    return expect_count(rows, 5, what="声环境功能区噪声限值表")


def traffic_arterials() -> list[dict[str, object]]:
    """附表1 溧阳市中心城区交通干线表 (166 roads, canals and railways bounding the 4a/4b zones).

    道路性质 is a merged cell: printed once per group, repeated at page breaks, empty elsewhere, so
    it is carried down. A two-line label prints as "城市 主干道" and is rejoined.
    """
    body = document_span(GAZETTE, NOISE_ZONING).body
    _, block = between(body, "溧阳市中心城区交通干线表", "附图", what="交通干线表")
    rows: list[dict[str, object]] = []
    road_class = ""
    for c in tsv_lines(block):
        if not c[0].isdigit():
            continue
        if len(c) != 5:
            raise Invalid("交通干线表行的单元格数不是5", details={"field": "交通干线表", "cells": c})
        road_class = c[1] or road_class
        rows.append({"seq": int(c[0]), "road_class": road_class, "road_name": c[2], "start": c[3], "end": c[4]})
    expect_sequence(rows, "seq", what="交通干线表")
    return expect_count(rows, 166, what="交通干线表")


def land_parcels() -> tuple[list[dict[str, object]], float]:
    """附件2 保障性住房和经营性开发地块供应计划备选项目库 (70 parcels) and the printed 总计.

    The rows add up to 4,576 亩 while the 总计 line says 4,575; both are kept — the rows as the
    data, the printed total as table metadata — so the discrepancy stays visible.
    """
    body = document_span(GAZETTE, LAND_SUPPLY).body
    _, block = between(body, "备选项目库", "总计", what="供应地块备选项目库")
    total_line = re.search(r"^[ \t]*总计\t.*$", body, re.M)
    stated_total = None
    if total_line is not None:
        stated_total = next((number(c, field="总计") for c in cells(total_line.group(0)) if c[:1].isdigit()), None)
    if stated_total is None:
        raise Invalid("供应地块表缺少总计", details={"field": "总计"})
    rows: list[dict[str, object]] = []
    for c in tsv_lines(block):
        if not c[0].isdigit():
            continue
        if len(c) < 6:
            raise Invalid("供应地块表行的单元格数不足", details={"field": "供应地块", "cells": c})
        rows.append(
            {
                "seq": int(c[0]),
                "subdistrict": c[1],
                "parcel_name": c[2],
                "location": c[3],
                "planned_use": c[4],
                "area_mu": number(c[5], field="出让面积"),
                "remark": (c[6] if len(c) > 6 else "") or None,
            }
        )
    expect_sequence(rows, "seq", what="供应地块备选项目库")
    return expect_count(rows, 70, what="供应地块备选项目库"), stated_total


def smart_city_indicators() -> list[dict[str, object]]:
    """《溧阳市“十四五”智慧城市发展规划》关键指标 (33 rows: 2020 baseline, 2025 target).

    领域 is a merged cell carried down. Printed as is, 公共安全视频监控资源共享率 falls under
    产业发展 (the 常州 plan files it under 城市治理); the row is kept where the 溧阳 text puts it.
    A baseline printed "—" is None.
    """
    body = document_span(GAZETTE, SMART_CITY_PLAN).body
    _, block = between(body, "关键指标\n", "第三章", what="溧阳智慧城市关键指标表")
    rows: list[dict[str, object]] = []
    domain = ""
    for c in tsv_lines(block):
        if c[0] == "领域" or len(c) < 5:
            continue
        domain = c[0] or domain
        name, unit, note = split_unit(c[1])
        rows.append(
            {
                "seq": len(rows) + 1,
                "domain": domain,
                "indicator": name,
                "unit": unit,
                "note": note,
                "value_2020": number(c[2], field="2020年"),
                "target_2025": number(c[3], field="2025年"),
                "attribute": c[4],
            }
        )
    return expect_count(rows, 33, what="溧阳智慧城市关键指标表")


def _depth_range(cell: str) -> tuple[float | None, float | None]:
    """ "0.3" → (0.3, 0.3); a printed range "0.3-0.6" → (0.3, 0.6)."""
    parts = [number(p, field="积淹水深度") for p in re.split(r"[-~～—]", cell)] if cell else [None]
    return parts[0], parts[-1]


def ponding_points() -> list[dict[str, object]]:
    """10.5 易淹易涝片区分布: 积淹水点 in five 排涝分区 (24 rows), one table per area.

    序号 restarts in each area's table and 排涝分区 is a merged cell carried down; a vertically set
    label prints as "湾 溪 河 西 区" and is rejoined. One cell lists two roads separated only by a
    space ("锦绣路（文化公园东侧） 锦绣路（台港路交汇处）"); the space is kept as "；". 面积 is empty in
    every row of the source (the plan says areas were not yet surveyed), so it is None.
    """
    body = document_span(GAZETTE, PONDING_PLAN).body
    start = body.find("易淹易涝片区分布")
    if start < 0:
        raise Invalid("找不到易淹易涝片区分布", details={"field": "积淹水点"})
    rows: list[dict[str, object]] = []
    zone = ""
    for line in body[start:].splitlines():
        parts = line.split("\t")
        if len(parts) < 6 or not parts[1].strip().isdigit():
            continue
        parts = [re.sub(r"）\s+(?=\S)", "）；", p) for p in parts]
        c = [tidy(p) for p in parts] + [""] * (7 - len(parts))
        zone = c[0] or zone
        low, high = _depth_range(c[5])
        rows.append(
            {
                "drainage_zone": zone,
                "seq": int(c[1]),
                "road": c[2] or None,
                "community": c[3] or None,
                "subdistrict": c[4] or None,
                "depth_min_m": low,
                "depth_max_m": high,
                "area_hm2": number(c[6], field="积淹水面积"),
            }
        )
    for z in dict.fromkeys(r["drainage_zone"] for r in rows):
        expect_sequence([r for r in rows if r["drainage_zone"] == z], "seq", what=f"{z}积淹水情况一览表")
    return expect_count(rows, 24, what="积淹水点")
