"""Registry of the open datasets extracted from the gazettes (公报数据集目录).

Each :class:`GazetteTable` names its issuing organ (``source_department``, the organ whose 文号 the
table was published under), the department code assumed to maintain it in the platform catalog
(``department_code``), the document, the shipped source text, a typed schema and a row loader.
Rows are parsed from the text on first use and cached; every row is checked against the schema,
so a parsing fault surfaces as :class:`~citybrain.errors.Invalid` rather than as a wrong value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import pyarrow as pa

from citybrain.errors import Invalid, NotFound
from citybrain.gazettes import changzhou, documents, liyang
from citybrain.gazettes.extract import SOURCES

FieldType = Literal["int", "float", "str", "date", "bool"]

_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (float, int),
    "str": str,
    "date": date,
    "bool": bool,
}
_ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}


@dataclass(frozen=True)
class Field:
    """One column: ascii snake_case ``name``, Chinese ``title``, value ``type`` and optional ``unit``."""

    name: str
    title: str
    type: FieldType
    unit: str | None = None
    nullable: bool = True


@dataclass
class GazetteTable:
    """One dataset: metadata, schema and a cached row loader."""

    key: str
    title: str
    title_en: str
    source_department: str
    department_code: str
    document_number: str
    source_file: str
    fields: list[Field]
    primary_key: tuple[str, ...]
    loader: Callable[[], list[dict[str, Any]]] = field(repr=False)
    description: str = ""
    #: facts the document states about the table as a whole (e.g. a printed total), parsed on demand
    metadata_loader: Callable[[], dict[str, Any]] | None = field(default=None, repr=False)
    _cache: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)
    _metadata: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def metadata(self) -> dict[str, Any]:
        """Table-level facts stated in the source, such as 总计 (``stated_total_mu``)."""
        if self._metadata is None:
            self._metadata = self.metadata_loader() if self.metadata_loader else {}
        return dict(self._metadata)

    def rows(self) -> list[dict[str, Any]]:
        """The rows as typed dicts (copies: callers may change them without touching the cache)."""
        if self._cache is None:
            self._cache = self._checked(self.loader())
        return [dict(r) for r in self._cache]

    def field_named(self, name: str) -> Field:
        """The declared field ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise NotFound(f"数据表{self.key}没有字段：{name}", details={"field": name, "table": self.key})

    def _checked(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [f.name for f in self.fields]
        problems: list[dict[str, Any]] = []
        keys: set[tuple[Any, ...]] = set()
        for i, row in enumerate(rows):
            if list(row) != names:
                problems.append({"row": i, "problem": "字段不符", "fields": list(row)})
                continue
            for f in self.fields:
                value = row[f.name]
                if value is None:
                    if not f.nullable:
                        problems.append({"row": i, "field": f.name, "problem": "不能为空"})
                elif not isinstance(value, _PY_TYPES[f.type]) or (f.type == "int" and isinstance(value, bool)):
                    problems.append({"row": i, "field": f.name, "problem": f"应为{f.type}", "value": value})
            pk = tuple(row[k] for k in self.primary_key)
            if pk in keys:
                problems.append({"row": i, "problem": "主键重复", "key": pk})
            keys.add(pk)
        if problems:
            raise Invalid(f"数据表{self.key}的解析结果不符合字段定义", details=problems)
        return rows

    def arrow_schema(self) -> pa.Schema:
        """The schema with Chinese titles and units as field metadata, table facts as schema metadata."""
        arrow_fields = []
        for f in self.fields:
            meta = {"title": f.title} | ({"unit": f.unit} if f.unit else {})
            arrow_fields.append(pa.field(f.name, _ARROW_TYPES[f.type], nullable=f.nullable, metadata=meta))
        meta = {
            "key": self.key,
            "title": self.title,
            "title_en": self.title_en,
            "source_department": self.source_department,
            "department_code": self.department_code,
            "document_number": self.document_number,
            "source_file": self.source_file,
            "primary_key": ",".join(self.primary_key),
        } | {k: str(v) for k, v in self.metadata.items()}
        return pa.schema(arrow_fields, metadata=meta)


def _land_parcel_rows() -> list[dict[str, Any]]:
    rows, _ = liyang.land_parcels()
    return rows


def _land_parcel_metadata() -> dict[str, Any]:
    _, stated_total = liyang.land_parcels()
    return {"stated_total_mu": stated_total}


def _f(name: str, title: str, type_: FieldType, unit: str | None = None, *, required: bool = False) -> Field:
    return Field(name, title, type_, unit, nullable=not required)


_CZ_PLAN = SOURCES["changzhou-smart-city-plan-14th"]
_CZ_GAZETTE = SOURCES["changzhou-gazette-2021-01"]
_LY_GAZETTE = SOURCES["liyang-gazette-2023-01"]

_TABLE_LIST: list[GazetteTable] = [
    GazetteTable(
        key="cz_smart_city_indicators",
        title="常州市“十四五”智慧城市建设关键指标",
        title_en="Changzhou 14th Five-Year smart-city key indicators",
        source_department="常州市人民政府办公室",
        department_code="市政府办",
        document_number="常政办发〔2021〕104号",
        source_file=_CZ_PLAN,
        fields=[
            _f("seq", "序号", "int", required=True),
            _f("domain", "领域", "str", required=True),
            _f("indicator", "关键指标", "str", required=True),
            _f("unit", "单位", "str"),
            _f("note", "说明", "str"),
            _f("target_2023", "2023年目标值", "float"),
            _f("target_2025", "2025年目标值", "float"),
            _f("responsible_unit", "责任单位", "str", required=True),
            _f("attribute", "指标属性", "str", required=True),
        ],
        primary_key=("seq",),
        loader=changzhou.smart_city_indicators,
        description="领域、责任单位为合并单元格，按上行补齐；单位取自指标名称后的括号。",
    ),
    GazetteTable(
        key="cz_key_projects",
        title="常州智慧城市重点工程列表",
        title_en="Changzhou smart-city key projects",
        source_department="常州市人民政府办公室",
        department_code="市政府办",
        document_number="常政办发〔2021〕104号",
        source_file=_CZ_PLAN,
        fields=[
            _f("seq", "序号", "int", required=True),
            _f("task_group", "任务领域", "str", required=True),
            _f("project_name", "项目名称", "str", required=True),
            _f("construction_type", "建设性质", "str", required=True),
            _f("period", "建设时间", "str", required=True),
            _f("start_year", "起始年份", "int"),
            _f("end_year", "结束年份", "int"),
            _f("content", "建设内容", "str", required=True),
            _f("responsible_units", "责任单位", "str", required=True),
        ],
        primary_key=("seq",),
        loader=changzhou.key_projects,
    ),
    GazetteTable(
        key="cz_legislative_plan_2021",
        title="常州市人民政府2021年度立法计划和行政规范性文件计划",
        title_en="Changzhou 2021 legislative and normative-document plan",
        source_department="常州市人民政府",
        department_code="市司法局",
        document_number="常政发〔2021〕6号",
        source_file=_CZ_GAZETTE,
        fields=[
            _f("seq", "序号", "int", required=True),
            _f("plan", "计划", "str", required=True),
            _f("part", "部分", "str"),
            _f("category", "类别", "str", required=True),
            _f("item_no", "类内序号", "int", required=True),
            _f("name", "名称", "str", required=True),
            _f("reviewed_document", "后评估对象文号", "str"),
            _f("lead_units", "牵头单位", "str", required=True),
            _f("submission", "报送时间", "str", required=True),
            _f("due_month", "报送截止月份", "int"),
        ],
        primary_key=("seq",),
        loader=changzhou.legislative_plan,
        description="市司法局负责立法计划的组织实施（常政发〔2021〕6号）；行政规范性文件计划不分部分。",
    ),
    GazetteTable(
        key="ly_smart_city_indicators",
        title="溧阳市“十四五”智慧城市发展关键指标",
        title_en="Liyang 14th Five-Year smart-city key indicators",
        source_department="溧阳市人民政府办公室",
        department_code="市大数据管理局",
        document_number=liyang.SMART_CITY_PLAN,
        source_file=_LY_GAZETTE,
        fields=[
            _f("seq", "序号", "int", required=True),
            _f("domain", "领域", "str", required=True),
            _f("indicator", "关键指标", "str", required=True),
            _f("unit", "单位", "str"),
            _f("note", "说明", "str"),
            _f("value_2020", "2020年基期值", "float"),
            _f("target_2025", "2025年目标值", "float"),
            _f("attribute", "属性", "str", required=True),
        ],
        primary_key=("seq",),
        loader=liyang.smart_city_indicators,
        description="基期值印为“—”者为空；领域按原文归属（公共安全视频监控资源共享率列在产业发展下）。",
    ),
    GazetteTable(
        key="ly_land_supply_parcels_2023",
        title="溧阳市2023年度保障性住房和经营性开发地块供应计划备选项目库",
        title_en="Liyang 2023 land-supply parcel pool",
        source_department="溧阳市人民政府",
        department_code="市自然资源和规划局",
        document_number=liyang.LAND_SUPPLY,
        source_file=_LY_GAZETTE,
        fields=[
            _f("seq", "序号", "int", required=True),
            _f("subdistrict", "所属街道", "str", required=True),
            _f("parcel_name", "地块名称", "str", required=True),
            _f("location", "土地坐落", "str", required=True),
            _f("planned_use", "规划用途", "str", required=True),
            _f("area_mu", "出让面积", "float", "亩", required=True),
            _f("remark", "备注", "str"),
        ],
        primary_key=("seq",),
        loader=_land_parcel_rows,
        metadata_loader=_land_parcel_metadata,
        description="各行合计4576亩，原文总计行印为4575亩；两者均保留，总计见metadata['stated_total_mu']。",
    ),
    GazetteTable(
        key="ly_traffic_arterials",
        title="溧阳市中心城区交通干线表",
        title_en="Liyang central-city traffic arterials (noise zoning annex 1)",
        source_department="溧阳市人民政府",
        department_code="市生态环境局",
        document_number=liyang.NOISE_ZONING,
        source_file=_LY_GAZETTE,
        fields=[
            _f("seq", "序号", "int", required=True),
            _f("road_class", "道路性质", "str", required=True),
            _f("road_name", "道路名称", "str", required=True),
            _f("start", "起点", "str", required=True),
            _f("end", "终点", "str", required=True),
        ],
        primary_key=("seq",),
        loader=liyang.traffic_arterials,
    ),
    GazetteTable(
        key="ly_noise_limits",
        title="溧阳市中心城区声环境功能区环境噪声限值",
        title_en="Liyang environmental noise limits by acoustic zone class",
        source_department="溧阳市人民政府",
        department_code="市生态环境局",
        document_number=liyang.NOISE_ZONING,
        source_file=_LY_GAZETTE,
        fields=[
            _f("zone_class", "声环境功能区类别", "str", required=True),
            _f("day_limit_db", "昼间限值", "int", "dB(A)", required=True),
            _f("night_limit_db", "夜间限值", "int", "dB(A)", required=True),
            _f("source_note", "来源说明", "str", required=True),
        ],
        primary_key=("zone_class",),
        loader=liyang.noise_limits,
        description="昼间6:00-22:00，夜间22:00-次日6:00；4a类夜间限值原文缺失，按GB 3096-2008补齐。",
    ),
    GazetteTable(
        key="ly_ponding_points",
        title="溧阳市城区积淹水点一览表",
        title_en="Liyang urban ponding (waterlogging) points",
        source_department="溧阳市人民政府办公室",
        department_code="市水利局",
        document_number=liyang.PONDING_PLAN,
        source_file=_LY_GAZETTE,
        fields=[
            _f("drainage_zone", "排涝分区", "str", required=True),
            _f("seq", "序号", "int", required=True),
            _f("road", "道路", "str"),
            _f("community", "小区", "str"),
            _f("subdistrict", "街道", "str"),
            _f("depth_min_m", "积淹水深度下限", "float", "m"),
            _f("depth_max_m", "积淹水深度上限", "float", "m"),
            _f("area_hm2", "积淹水面积", "float", "hm²"),
        ],
        primary_key=("drainage_zone", "seq"),
        loader=liyang.ponding_points,
        description="深度印为区间（0.3-0.6）时分列上下限；面积原文均未填写。",
    ),
    GazetteTable(
        key="policy_documents",
        title="政府公报政策文件目录",
        title_en="Policy documents in the gazettes",
        source_department="常州市人民政府办公室",
        department_code="市政府办",
        document_number="常政办发〔2021〕6号",
        source_file=", ".join(SOURCES.values()),
        fields=[
            _f("doc_id", "文件标识", "str", required=True),
            _f("title", "标题", "str", required=True),
            _f("document_number", "文件编号", "str", required=True),
            _f("issuer", "发布机构", "str", required=True),
            _f("index_number", "索引号", "str"),
            _f("disclosure_category", "法定主动公开分类", "str"),
            _f("disclosure_mode", "公开方式", "str"),
            _f("created_date", "生成日期", "date"),
            _f("published_date", "公开日期", "date"),
            _f("effective_date", "施行日期", "date"),
            _f("repeal_date", "废止日期", "date"),
            _f("validity", "效力状态", "str"),
            _f("summary", "内容概述", "str"),
            _f("gazette", "刊载公报", "str"),
            _f("source_file", "来源文件", "str", required=True),
            _f("offset", "文号在文本中的位置", "int", required=True),
        ],
        primary_key=("doc_id",),
        loader=documents.policy_documents,
        description="字段按常政办发〔2021〕6号网页版的政府信息公开要素；文本未载明者为空，发布机构由文号前缀推定。",
    ),
]

TABLES: dict[str, GazetteTable] = {t.key: t for t in _TABLE_LIST}


def get_table(key: str) -> GazetteTable:
    """The registered table ``key``; an unknown key is :class:`~citybrain.errors.NotFound`."""
    if key not in TABLES:
        raise NotFound(f"未知的公报数据表：{key}", details={"field": "key", "known": sorted(TABLES)})
    return TABLES[key]


def as_arrow(key: str) -> pa.Table:
    """The table ``key`` as a :class:`pyarrow.Table` with its declared schema and metadata."""
    table = get_table(key)
    schema = table.arrow_schema()
    return pa.Table.from_pylist(table.rows(), schema=schema)
