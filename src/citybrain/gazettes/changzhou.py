"""常州 tables: smart-city key indicators and key projects (常政办发〔2021〕104号) and the 2021
legislative and normative-document plan (常政发〔2021〕6号)."""

from __future__ import annotations

import re

from citybrain.errors import Invalid
from citybrain.gazettes.documents import document_span
from citybrain.gazettes.extract import (
    between,
    expect_count,
    expect_sequence,
    number,
    read_text,
    split_unit,
    tidy,
    tsv_lines,
)

SMART_CITY_PLAN = "changzhou-smart-city-plan-14th"
GAZETTE = "changzhou-gazette-2021-01"


def smart_city_indicators() -> list[dict[str, object]]:
    """《常州市“十四五”智慧城市建设规划》关键指标 (36 rows: 2023 and 2025 targets).

    领域 and 责任单位 are merged cells (rowspan): printed on the first row of their group and empty
    below, so both are carried down. The header repeats after the page break and is skipped.
    """
    _, block = between(read_text(SMART_CITY_PLAN), "领域\t关键指标", "第三章 总体架构", what="常州智慧城市关键指标表")
    rows: list[dict[str, object]] = []
    domain = unit_in_charge = ""
    for c in tsv_lines(block):
        if c[0] == "领域" or len(c) < 6:
            continue
        domain = c[0] or domain
        unit_in_charge = c[4] or unit_in_charge
        name, unit, note = split_unit(c[1])
        rows.append(
            {
                "seq": len(rows) + 1,
                "domain": domain,
                "indicator": name,
                "unit": unit,
                "note": note,
                "target_2023": number(c[2], field="2023年"),
                "target_2025": number(c[3], field="2025年"),
                "responsible_unit": unit_in_charge,
                "attribute": c[5],
            }
        )
    return expect_count(rows, 36, what="常州智慧城市关键指标表")


def _years(period: str) -> tuple[int | None, int | None]:
    m = re.fullmatch(r"(\d{4})-(\d{4})年", period)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def key_projects() -> list[dict[str, object]]:
    """附件《常州智慧城市重点工程列表》 (31 projects in six task groups).

    Group captions ("一、云网为先，…", some wrapped in ``<b>``) sit on their own rows and give each
    following project its 任务领域. A project marked both 续建 and 新建 prints "续建 新建"; it is kept
    as "续建、新建". 建设时间 is either a year range (also split into start/end years) or a phrase
    such as "持续开展".
    """
    _, block = between(
        read_text(SMART_CITY_PLAN), "常州智慧城市重点工程列表\n", "抄送", what="常州智慧城市重点工程列表"
    )
    rows: list[dict[str, object]] = []
    group = ""
    for line in block.splitlines():
        raw = line.split("\t")
        c = [tidy(re.sub(r"</?b>", "", part)) for part in raw]
        if re.match(r"[一二三四五六七八九十]+、", c[0]):
            group = c[0]
            continue
        if not c[0].isdigit():
            continue
        if len(c) != 6:
            raise Invalid("重点工程行的单元格数不是6", details={"field": "重点工程", "line": line})
        start, end = _years(c[3])
        rows.append(
            {
                "seq": int(c[0]),
                "task_group": group,
                "project_name": c[1],
                # split before tidying: tidy() would fuse "续建 新建" into one word
                "construction_type": "、".join(raw[2].split()),
                "period": c[3],
                "start_year": start,
                "end_year": end,
                "content": c[4],
                "responsible_units": c[5],
            }
        )
    expect_sequence(rows, "seq", what="常州智慧城市重点工程列表")
    return expect_count(rows, 31, what="常州智慧城市重点工程列表")


_PLAN = re.compile(r"^#+\s*(常州市人民政府2021年度(?:立法计划|行政规范性文件计划))\s*$")
_PART = re.compile(r"^#+\s*(第[一二三四五六七八九十]+部分)\s*(\S+)\s*$")
_CATEGORY = re.compile(r"^#+\s*[一二三四五六七八九十]+、\s*(\S+项目)\s*$")
_ITEM = re.compile(r"^(?:-\s*)?(\d+)\.\s*(.+?)\s*$")
_FIELD = re.compile(r"^(牵头单位|报送时间)\s*[:：]\s*(.+?)\s*$")
_REFERENCED = re.compile(r"[（(]((?:市政府令第\d+号)|(?:常政\S*〔\d{4}〕\d+号))[）)]\s*$")


def legislative_plan() -> list[dict[str, object]]:
    """附件1《常州市人民政府2021年度立法计划》 and 附件2《…2021年度行政规范性文件计划》 (31 items).

    The text mixes markdown levels for the same kind of heading (the 地方性法规 调研项目 caption is a
    level-2 heading, its siblings level 3) and switches from paragraphs to list items halfway, so
    headings are recognised by their wording, not their level. 报送时间 is kept as printed
    ("8月底前", "已报送") and also read as a month (``due_month``) where it names one. A
    后评估 item names the rules it reviews; their 文号 is split out as ``reviewed_document``.
    """
    body = document_span(GAZETTE, "常政发〔2021〕6号").body
    start = body.find("# 常州市人民政府2021年度立法计划")
    if start < 0:
        raise Invalid("找不到2021年度立法计划附件", details={"field": "立法计划"})
    rows: list[dict[str, object]] = []
    plan = part = category = None
    for raw in body[start:].splitlines():
        line = raw.strip()
        if m := _PLAN.match(line):
            plan, part, category = m.group(1), None, None
        elif m := _PART.match(line):
            part, category = f"{m.group(1)} {m.group(2)}", None
        elif m := _CATEGORY.match(line):
            category = m.group(1)
        elif (m := _ITEM.match(line)) and category:
            name = tidy(m.group(2))
            ref = _REFERENCED.search(name)
            rows.append(
                {
                    "seq": len(rows) + 1,
                    "plan": plan,
                    "part": part,
                    "category": category,
                    "item_no": int(m.group(1)),
                    "name": name,
                    "reviewed_document": ref.group(1) if ref else None,
                    "lead_units": None,
                    "submission": None,
                    "due_month": None,
                }
            )
        elif (m := _FIELD.match(line)) and rows:
            if m.group(1) == "牵头单位":
                rows[-1]["lead_units"] = tidy(m.group(2))
            else:
                due = tidy(m.group(2))
                month = re.fullmatch(r"(\d{1,2})月(?:底前|前|底)?", due)
                rows[-1]["submission"] = due
                rows[-1]["due_month"] = int(month.group(1)) if month else None
    missing = [r["name"] for r in rows if r["lead_units"] is None or r["submission"] is None]
    if missing:
        raise Invalid("立法计划条目缺少牵头单位或报送时间", details={"field": "立法计划", "items": missing})
    return expect_count(rows, 31, what="2021年度立法和行政规范性文件计划")
