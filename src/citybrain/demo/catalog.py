"""The demo city's catalog entries: the five base libraries, a department copy, and the gazette tables.

Each base library has exactly one authoritative source department (一数一源); the 民政局 copy of
人口 data references the authoritative elements instead of claiming them. The gazette tables are
registered under the department that maintains them, with the 文号 they were published under.
"""

from __future__ import annotations

from typing import Any

from citybrain.gazettes.tables import TABLES, GazetteTable

#: gazette table key → the demo department (short code) that maintains it in the catalog
GAZETTE_DEPARTMENTS: dict[str, str] = {
    "cz_smart_city_indicators": "zfb",
    "cz_key_projects": "zfb",
    "cz_legislative_plan_2021": "sfj",
    "ly_smart_city_indicators": "lysjj",
    "ly_land_supply_parcels_2023": "lyzrzyj",
    "ly_traffic_arterials": "lysthjj",
    "ly_noise_limits": "lysthjj",
    "ly_ponding_points": "lyslj",
    "policy_documents": "zfb",
}

_GAZETTE_TOPICS: dict[str, str] = {
    "cz_smart_city_indicators": "智慧城市",
    "cz_key_projects": "智慧城市",
    "cz_legislative_plan_2021": "政务公开",
    "ly_smart_city_indicators": "智慧城市",
    "ly_land_supply_parcels_2023": "自然资源",
    "ly_traffic_arterials": "生态环境",
    "ly_noise_limits": "生态环境",
    "ly_ponding_points": "城市运行",
    "policy_documents": "政务公开",
}

_TYPES = {"int": "integer", "float": "decimal", "str": "string", "date": "date", "bool": "boolean"}


def _field(
    name: str,
    title: str,
    standard: str | None = None,
    *,
    data_type: str | None = None,
    required: bool = False,
    sensitivity: int | None = None,
    element: str | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "title": title, "required": required}
    for key, value in (
        ("standard", standard),
        ("data_type", data_type),
        ("sensitivity", sensitivity),
        ("element", element),
        ("role", role),
    ):
        if value is not None:
            spec[key] = value
    return spec


#: (lake key, ResourceCreate fields) for the five base libraries, in load order
BASE_LIBRARIES: list[dict[str, Any]] = [
    {
        "key": "population",
        "name": "人口基础信息",
        "name_en": "Population base information",
        "description": "全市常住人口的身份、性别、出生日期、民族、户籍区划、联系方式与居住地址，人口基础库的权威来源。",
        "dept": "gaj",
        "category": "基础库",
        "base_library": "人口",
        "topic": "人口",
        "update_frequency": "每日",
        "share_type": "有条件共享",
        "share_basis": "《常州市公共数据管理办法》：涉及个人信息的数据经来源部门审核后按需共享",
        "open_type": "不予开放",
        "open_basis": "含个人信息，依《个人信息保护法》不向社会开放",
        "grade": "重要",
        "tags": ["人口", "户籍", "身份证"],
        "primary_key": ["citizen_id"],
        "fields": [
            _field("citizen_id", "公民身份号码", "citizen_id", required=True, sensitivity=4),
            _field("name", "姓名", "person_name", required=True, sensitivity=3),
            _field("sex", "性别", "sex", required=True),
            _field("birth_date", "出生日期", "date", required=True, sensitivity=3),
            _field("ethnicity", "民族", "ethnicity"),
            _field("division_code", "户籍行政区划", "division_code", required=True),
            _field("street_code", "居住街道", "division_code"),
            _field("mobile", "手机号码", "mobile", sensitivity=3),
            _field("address", "居住地址", "address", required=True, sensitivity=3),
            _field("updated_at", "更新时间", data_type="datetime"),
        ],
    },
    {
        "key": "legal_entities",
        "name": "法人基础信息",
        "name_en": "Legal entity base information",
        "description": (
            "全市企业和其他组织的登记信息：统一社会信用代码、名称、法定代表人、注册资本、成立日期、住所与经营范围。"
        ),
        "dept": "scjgj",
        "category": "基础库",
        "base_library": "法人",
        "topic": "市场主体",
        "update_frequency": "每日",
        "share_type": "无条件共享",
        "open_type": "有条件开放",
        "grade": "一般",
        "tags": ["法人", "企业", "营业执照", "信用代码"],
        "primary_key": ["uscc"],
        "fields": [
            _field("uscc", "统一社会信用代码", "uscc", required=True),
            _field("name", "名称", "org_name", required=True),
            _field("legal_rep_name", "法定代表人", "person_name", required=True, sensitivity=2),
            _field("legal_rep_citizen_id", "法定代表人身份号码", "citizen_id", sensitivity=4),
            _field("registered_capital", "注册资本（万元）", "amount"),
            _field("established_on", "成立日期", "date", required=True),
            _field("division_code", "登记区划", "division_code", required=True),
            _field("street_code", "所在街道", "division_code"),
            _field("address", "住所", "address", required=True),
            _field("business_scope", "经营范围"),
            _field("status", "登记状态", required=True),
            _field("industry_code", "国民经济行业代码"),
        ],
    },
    {
        "key": "credit_records",
        "name": "公共信用信息（行政许可与行政处罚）",
        "name_en": "Public credit records",
        "description": "各部门报送的行政许可、行政处罚、守信激励与失信惩戒记录，按统一社会信用代码归集。",
        "dept": "fgw",
        "category": "基础库",
        "base_library": "信用",
        "topic": "社会信用",
        "update_frequency": "每日",
        "share_type": "无条件共享",
        "open_type": "无条件开放",
        "grade": "一般",
        "tags": ["信用", "双公示", "行政处罚", "行政许可"],
        "primary_key": ["record_id"],
        "fields": [
            _field("record_id", "记录编号", required=True),
            _field("uscc", "统一社会信用代码", "uscc", required=True),
            _field("record_type", "记录类别", required=True),
            _field("decision_number", "决定文书号"),
            _field("decided_on", "决定日期", "date", required=True),
            _field("department", "决定机关", required=True),
            _field("content", "内容摘要"),
        ],
    },
    {
        "key": "licenses",
        "name": "电子证照目录信息",
        "name_en": "Electronic licence index",
        "description": "身份证、营业执照、食品经营许可证等电子证照的证照类型、编号、持证主体、签发机关与有效期。",
        "dept": "spj",
        "category": "基础库",
        "base_library": "电子证照",
        "topic": "政务服务",
        "update_frequency": "每日",
        "share_type": "有条件共享",
        "share_basis": "电子证照用于政务服务办件核验，按办件需要共享",
        "open_type": "不予开放",
        "open_basis": "证照信息关联个人和企业主体，仅用于政务服务",
        "grade": "重要",
        "tags": ["电子证照", "证照", "营业执照"],
        "primary_key": ["license_id"],
        "fields": [
            _field("license_id", "证照标识", required=True),
            _field("license_type", "证照类型", required=True),
            _field("license_number", "证照编号", required=True),
            _field("holder_id", "持证主体代码", required=True, sensitivity=3),
            _field("holder_type", "持证主体类别", required=True),
            _field("issuer", "签发机关", required=True),
            _field("issued_on", "签发日期", "date", required=True),
            _field("valid_until", "有效期至", "date"),
            _field("status", "证照状态", required=True),
        ],
    },
    {
        "key": "places",
        "name": "地名地址与兴趣点",
        "name_en": "Places and points of interest",
        "description": (
            "小区、学校、医院、公园与道路等地名地址，含 CGCS2000 经纬度与所属街道，空间地理基础库的权威来源。"
        ),
        "dept": "zrzyj",
        "category": "基础库",
        "base_library": "空间地理",
        "topic": "空间地理",
        "update_frequency": "每月",
        "share_type": "无条件共享",
        "open_type": "无条件开放",
        "grade": "一般",
        "tags": ["地名", "地址", "兴趣点", "经纬度"],
        "primary_key": ["place_id"],
        "fields": [
            _field("place_id", "地点标识", required=True),
            _field("name", "名称", required=True),
            _field("kind", "类别", required=True),
            _field("division_code", "所属区县", "division_code", required=True),
            _field("street_code", "所属街道", "division_code"),
            _field("longitude", "经度", "longitude", required=True),
            _field("latitude", "纬度", "latitude", required=True),
            _field("address", "地址", "address"),
        ],
    },
]

#: 民政局's copy of part of the population: it references the 人口 elements and never claims them
CIVIL_AFFAIRS_COPY: dict[str, Any] = {
    "key": "civil_affairs_residents",
    "name": "民政服务对象人员信息",
    "name_en": "Civil affairs service recipients",
    "description": "民政局在救助、养老等业务中登记的人员信息，姓名与地址引用人口基础库的权威数据元，用于比对。",
    "dept": "mzj",
    "category": "部门库",
    "topic": "民生保障",
    "update_frequency": "每周",
    "share_type": "有条件共享",
    "share_basis": "含个人信息，按民政业务需要共享",
    "open_type": "不予开放",
    "open_basis": "含个人信息",
    "grade": "重要",
    "tags": ["民政", "救助", "人口"],
    "primary_key": ["citizen_id"],
    "fields": [
        _field("citizen_id", "公民身份号码", "citizen_id", required=True, sensitivity=4),
        _field("name", "姓名", "person_name", required=True, sensitivity=3, element="人口.name", role="copy"),
        _field("address", "居住地址", "address", sensitivity=3, element="人口.address", role="copy"),
        _field("updated_at", "更新时间", data_type="datetime"),
    ],
}


def gazette_resource(table: GazetteTable) -> dict[str, Any]:
    """A ResourceCreate body for one gazette table: open data, with its 文号 and issuing organ."""
    units = {f.name: f.unit for f in table.fields if f.unit}
    description = (
        f"{table.description or table.title}。来源：{table.source_department}"
        f"《{table.document_number}》，由平台从政府公报原文抽取为结构化数据。"
    )
    if units:
        description += " 计量单位：" + "，".join(f"{n} {u}" for n, u in units.items()) + "。"
    return {
        "key": table.key,
        "name": table.title,
        "name_en": table.title_en,
        "description": description,
        "dept": GAZETTE_DEPARTMENTS[table.key],
        "category": "主题库",
        "topic": _GAZETTE_TOPICS.get(table.key, "政务公开"),
        "update_frequency": "不定期",
        "share_type": "无条件共享",
        "open_type": "无条件开放",
        "grade": "一般",
        "document_number": table.document_number,
        "tags": ["政府公报", "开放数据", table.source_department],
        "primary_key": list(table.primary_key),
        "fields": [_field(f.name, f.title, data_type=_TYPES[f.type], required=not f.nullable) for f in table.fields],
    }


def gazette_resources() -> list[tuple[GazetteTable, dict[str, Any]]]:
    return [(table, gazette_resource(table)) for table in TABLES.values()]
