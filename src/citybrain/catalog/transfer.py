"""Catalog import and export in the 目录编制 Excel template (资源 sheet + 字段 sheet) and in JSON.

Import is all or nothing: every row of both sheets is validated first, every problem is
reported with its sheet, row and column, and only a clean file is written — in one transaction.
"""

from __future__ import annotations

import io
import json
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from citybrain.actions import Context, action
from citybrain.catalog.models import Resource, ResourceField
from citybrain.catalog.permissions import visible_filter
from citybrain.catalog.schemas import ResourceCreate
from citybrain.catalog.service import _resource_create, get_resource, to_public
from citybrain.errors import CityBrainError, Invalid
from citybrain.org.models import Department
from citybrain.org.service import get_department

RESOURCE_SHEET = "资源"
FIELD_SHEET = "字段"

#: (column title, model attribute, help) — the order is the template's column order
RESOURCE_COLUMNS: list[tuple[str, str]] = [
    ("资源代码", "key"),
    ("资源名称", "name"),
    ("英文名称", "name_en"),
    ("资源摘要", "description"),
    ("来源部门", "dept"),
    ("资源分类", "category"),
    ("所属基础库", "base_library"),
    ("主题", "topic"),
    ("更新频率", "update_frequency"),
    ("共享属性", "share_type"),
    ("共享依据", "share_basis"),
    ("开放属性", "open_type"),
    ("不予开放依据", "open_basis"),
    ("数据分级", "grade"),
    ("标签", "tags"),
    ("主键", "primary_key"),
    ("文号", "document_number"),
]
FIELD_COLUMNS: list[tuple[str, str]] = [
    ("资源代码", "resource"),
    ("字段名", "name"),
    ("中文名称", "title"),
    ("数据元标准", "standard"),
    ("数据类型", "data_type"),
    ("必填", "required"),
    ("敏感级别", "sensitivity"),
    ("数据元", "element"),
    ("来源角色", "role"),
    ("说明", "description"),
]
_LIST_ATTRS = {"tags", "primary_key"}
_TRUE = {"是", "y", "yes", "true", "1", "必填"}


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _split(value: str | None) -> list[str]:
    if not value:
        return []
    for sep in ("；", ";", "，", "、"):
        value = value.replace(sep, ",")
    return [v.strip() for v in value.split(",") if v.strip()]


def _read_sheet(
    wb: Any, title: str, columns: list[tuple[str, str]], problems: list[dict[str, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    if title not in wb.sheetnames:
        problems.append({"sheet": title, "row": None, "column": None, "message": f"缺少工作表“{title}”"})
        return []
    rows = list(wb[title].iter_rows(values_only=True))
    # tolerate a title row above the header (departments often add one)
    header_at = next((i for i, r in enumerate(rows[:5]) if r and columns[0][0] in [_cell(c) for c in r]), None)
    if header_at is None:
        problems.append(
            {"sheet": title, "row": 1, "column": None, "message": f"找不到表头（应包含“{columns[0][0]}”等列）"}
        )
        return []
    header = [_cell(c) for c in rows[header_at]]
    missing = [t for t, _ in columns if t not in header]
    if missing:
        problems.append(
            {"sheet": title, "row": header_at + 1, "column": None, "message": f"缺少列：{'、'.join(missing)}"}
        )
        return []
    index = {t: header.index(t) for t, _ in columns}
    out = []
    for n, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not row or all(_cell(c) is None for c in row):
            continue
        values = {attr: _cell(row[index[t]]) if index[t] < len(row) else None for t, attr in columns}
        out.append((n, values))
    return out


def parse_workbook(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (resource dicts ready for ResourceCreate, problems)."""
    problems: list[dict[str, Any]] = []
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise Invalid(
            f"无法读取 Excel 文件：{type(exc).__name__}",
            details=[{"sheet": None, "row": None, "column": None, "message": "文件不是有效的 .xlsx 工作簿"}],
        ) from None
    res_rows = _read_sheet(wb, RESOURCE_SHEET, RESOURCE_COLUMNS, problems)
    field_rows = _read_sheet(wb, FIELD_SHEET, FIELD_COLUMNS, problems)
    resources: dict[str, dict[str, Any]] = {}
    rows_of: dict[str, int] = {}
    for n, values in res_rows:
        key = values.get("key")
        if not key:
            problems.append({"sheet": RESOURCE_SHEET, "row": n, "column": "资源代码", "message": "资源代码不能为空"})
            continue
        if key in resources:
            problems.append(
                {"sheet": RESOURCE_SHEET, "row": n, "column": "资源代码", "message": f"资源代码 {key} 重复"}
            )
            continue
        item = {k: (_split(v) if k in _LIST_ATTRS else v) for k, v in values.items()}
        item = {k: v for k, v in item.items() if v is not None}
        item["fields"] = []
        resources[key] = item
        rows_of[key] = n
    field_row_of: dict[tuple[str, int], int] = {}
    for n, values in field_rows:
        key = values.pop("resource")
        if key not in resources:
            problems.append(
                {
                    "sheet": FIELD_SHEET,
                    "row": n,
                    "column": "资源代码",
                    "message": f"资源代码 {key} 不在“{RESOURCE_SHEET}”表中",
                }
            )
            continue
        values["required"] = (values.get("required") or "").lower() in _TRUE
        spec = {k: v for k, v in values.items() if v is not None and v != ""}
        field_row_of[(key, len(resources[key]["fields"]))] = n
        resources[key]["fields"].append(spec)
    out = []
    for key, item in resources.items():
        try:
            ResourceCreate.model_validate(item)
            out.append(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                if loc and loc[0] == "fields" and len(loc) > 1 and isinstance(loc[1], int):
                    col = _title_of(FIELD_COLUMNS, str(loc[2])) if len(loc) > 2 else None
                    problems.append(
                        {
                            "sheet": FIELD_SHEET,
                            "row": field_row_of.get((key, loc[1])),
                            "column": col,
                            "message": _msg(err),
                        }
                    )
                else:
                    col = _title_of(RESOURCE_COLUMNS, str(loc[0])) if loc else None
                    problems.append({"sheet": RESOURCE_SHEET, "row": rows_of[key], "column": col, "message": _msg(err)})
    return out, problems


def _title_of(columns: list[tuple[str, str]], attr: str) -> str:
    return next((t for t, a in columns if a == attr), attr)


def _msg(err: Any) -> str:
    return str(err.get("msg", "")).removeprefix("Value error, ")


def _parse_json(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(f"JSON 无法解析：{exc}") from None
    items = doc.get("resources") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise Invalid("JSON 应为资源数组，或含 resources 数组的对象")
    problems = []
    for i, item in enumerate(items):
        try:
            ResourceCreate.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(
                    {"sheet": "resources", "row": i + 1, "column": ".".join(map(str, err["loc"])), "message": _msg(err)}
                )
    return items, problems


@action("catalog_import")
def catalog_import(ctx: Context, data: bytes, *, filename: str = "") -> list[Resource]:
    ctx.authorize("catalog_import")
    items, problems = _parse_json(data) if filename.lower().endswith(".json") else parse_workbook(data)
    # a steward may import only their own department's entries; check every row before writing any
    created: list[Resource] = []
    if not problems:
        for i, item in enumerate(items):
            try:
                dept = get_department(ctx, item["dept"])
                ctx.authorize("resource_create", {"dept_id": dept.id})
            except CityBrainError as exc:
                problems.append({"sheet": RESOURCE_SHEET, "row": i + 1, "column": "来源部门", "message": exc.message})
    if problems:
        raise Invalid(f"导入失败：共 {len(problems)} 处错误，未导入任何内容", details=problems)
    # the caller's unit of work rolls everything back if any entry fails (一数一源 conflicts, duplicates)
    for i, item in enumerate(items):
        try:
            created.append(
                _resource_create(
                    ctx, ResourceCreate.model_validate(item), get_department(ctx, item["dept"]), change="import"
                )
            )
        except CityBrainError as exc:
            problems.append(
                {"sheet": RESOURCE_SHEET, "row": i + 1, "column": None, "message": exc.message, "details": exc.details}
            )
    if problems:
        raise Invalid(f"导入失败：共 {len(problems)} 处错误，未导入任何内容", details=problems)
    return created


@action("catalog_export")
def catalog_export(ctx: Context, *, format: str = "xlsx", dept: str | None = None) -> tuple[bytes, str, str]:
    ctx.authorize("catalog_export")
    q = (
        select(Resource)
        .options(selectinload(Resource.fields).selectinload(ResourceField.standard))
        .where(visible_filter(ctx.actor), Resource.status == "active")
        .order_by(Resource.key)
    )
    if dept:
        q = q.where(Resource.dept_id == get_department(ctx, dept).id)
    resources = list(ctx.session.scalars(q))
    depts = {d.id: d for d in ctx.session.scalars(select(Department))}
    if format == "json":
        doc = {"resources": [_as_create(r, depts) for r in resources]}
        return (json.dumps(doc, ensure_ascii=False, indent=2).encode(), "application/json", "catalog.json")
    if format != "xlsx":
        raise Invalid(f"不支持的导出格式 {format}（可选 xlsx、json）")
    return (
        _workbook([_as_create(r, depts) for r in resources]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "catalog.xlsx",
    )


def _as_create(resource: Resource, depts: dict[str, Department]) -> dict[str, Any]:
    pub = to_public(resource).model_dump(mode="json")
    item = {attr: pub.get(attr) for _, attr in RESOURCE_COLUMNS if attr != "dept"}
    item["dept"] = depts[resource.dept_id].code
    item["fields"] = [{a: f.get(a) for _, a in FIELD_COLUMNS if a != "resource"} for f in pub["fields"]]
    return item


def _workbook(items: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = RESOURCE_SHEET
    head = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    ws.append([t for t, _ in RESOURCE_COLUMNS])
    for item in items:
        ws.append(["、".join(item[a]) if a in _LIST_ATTRS else item.get(a) for _, a in RESOURCE_COLUMNS])
    fs = wb.create_sheet(FIELD_SHEET)
    fs.append([t for t, _ in FIELD_COLUMNS])
    for item in items:
        for f in item["fields"]:
            fs.append(
                [
                    item["key"]
                    if a == "resource"
                    else ("是" if f.get(a) is True else "否" if f.get(a) is False else f.get(a))
                    for _, a in FIELD_COLUMNS
                ]
            )
    for sheet in (ws, fs):
        for cell in sheet[1]:
            cell.font, cell.fill = head, fill
        sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_workbook() -> bytes:
    """An empty template with the header rows, for departments to fill in."""
    return _workbook([])


__all__ = ["catalog_export", "catalog_import", "get_resource", "parse_workbook", "template_workbook"]
