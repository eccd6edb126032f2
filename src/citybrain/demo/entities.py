"""法人库, 信用库 and 电子证照库 demo data, linked to the generated population.

- ``generate_legal_entities``: enterprises registered in 常州 (统一社会信用代码 GB 32100 valid and
  unique, 法定代表人 taken from clean population rows, 注册资本 in 万元, 国民经济行业分类 GB/T 4754 code);
- ``generate_credit_records``: 红名单/黑名单/行政处罚/行政许可 decisions about those entities;
- ``generate_licenses``: 营业执照, 食品经营许可证, 建筑工程施工许可证, 排污许可证 for entities and
  居民身份证 for persons.

Defects: ``round(rows × defect_rate)`` rows (default 2%) carry exactly one defect, split by kind:

法人库 ``legal_entities`` (key ``uscc``)
    check_digit 30% (uscc 校验码 wrong) · missing_required 20% (name, legal_rep_name or address null) ·
    invalid_division 15% (division_code not a 常州 district) · duplicate_uscc 15% (uscc copied from a
    clean row) · legal_rep_conflict 20% (legal_rep_name differs from the 人口库 name of the same
    legal_rep_citizen_id: a cross-source 比对 conflict; every field passes on its own).
信用库 ``credit_records`` (key ``record_id``)
    check_digit 40% (uscc 校验码 wrong) · missing_required 30% (decision_number or decided_on null) ·
    unknown_entity 30% (a valid uscc that is not in 法人库).
电子证照库 ``licenses`` (key ``license_id``)
    check_digit 40% (holder_id 校验码 wrong) · missing_required 30% (issuer or issued_on null) ·
    date_order 30% (valid_until before issued_on).

Rows not logged pass every check: valid and unique keys, holders and entities that exist, required
fields present, dates in order.
"""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.demo.people import (
    DEMO_TODAY,
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
    other_name,
    sample_places,
    streets_table,
)
from citybrain.standards import generate
from citybrain.standards.checks import USCC_CHARSET

ENTITY_DEFECTS = {
    "check_digit": 0.30,
    "missing_required": 0.20,
    "invalid_division": 0.15,
    "duplicate_uscc": 0.15,
    "legal_rep_conflict": 0.20,
}
CREDIT_DEFECTS = {"check_digit": 0.40, "missing_required": 0.30, "unknown_entity": 0.30}
LICENSE_DEFECTS = {"check_digit": 0.40, "missing_required": 0.30, "date_order": 0.30}

#: (行业名称 in the company name, GB/T 4754-2017 code, 经营范围)
INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    ("机械", "C34", "通用设备制造；机械零部件加工；金属制品销售"),
    ("智能装备", "C35", "专用设备制造；智能机器人研发；工业自动控制系统装置制造"),
    ("电子", "C39", "电子元器件制造；电子产品销售；技术服务"),
    ("电气", "C38", "电机制造；输配电及控制设备制造；电线电缆经营"),
    ("新材料", "C30", "新材料技术研发；非金属矿物制品制造；建筑材料销售"),
    ("化工", "C26", "化工产品生产（不含许可类化工产品）；化工产品销售"),
    ("纺织", "C17", "面料纺织加工；针纺织品及原料销售"),
    ("医药", "C27", "药品生产；医疗器械研发；第二类医疗器械销售"),
    ("食品", "C14", "食品生产；食品销售；农副产品销售"),
    ("科技", "I65", "软件开发；信息技术咨询服务；信息系统集成服务"),
    ("信息技术", "I65", "软件开发；数据处理和存储支持服务；网络技术服务"),
    ("建设工程", "E48", "建设工程施工；市政设施管理；土石方工程施工"),
    ("贸易", "F51", "五金产品批发；日用百货销售；货物进出口"),
    ("商贸", "F52", "食品销售；日用品销售；农副产品销售"),
    ("物流", "G59", "普通货物仓储服务；国内货物运输代理；装卸搬运"),
    ("环保科技", "N77", "环境保护专用设备制造；水污染治理；固体废物治理"),
    ("餐饮管理", "H62", "餐饮服务；食品销售；餐饮管理"),
    ("新能源", "C38", "电池制造；光伏设备及元器件制造；储能技术服务"),
)
_INDUSTRY_WEIGHTS = np.array([10, 6, 8, 7, 6, 3, 5, 2, 3, 8, 5, 7, 8, 6, 5, 3, 5, 3], dtype=float)
_FOOD_INDUSTRIES = {"食品", "商贸", "餐饮管理"}

#: 字号 characters: common auspicious characters of Chinese trade names.
_TRADE_CHARS = tuple(
    "恒华瑞泰鑫盛宏达金源天龙博远凯创嘉诚隆兴中科新润安信鼎东方正通宇晨昊亚锦汇德福明光远景力邦丰裕"
    "联合智海星辰越晟卓腾晶阳春江常武进溧金坛"
)
_CAPITALS = np.array([10, 30, 50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 10000, 20000])
_CAPITAL_WEIGHTS = np.array([6, 5, 10, 18, 12, 8, 12, 4, 10, 5, 3, 4, 2, 1], dtype=float)

_USCC_VALUE = np.full(128, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_CHARSET):
    _USCC_VALUE[ord(_c)] = _i
_ORG_VALUE = np.full(128, -1, dtype=np.int64)
for _c in USCC_CHARSET:
    _ORG_VALUE[ord(_c)] = int(_c) if _c.isdigit() else ord(_c) - ord("A") + 10
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_CHARSET_BYTES = np.frombuffer(USCC_CHARSET.encode(), dtype=np.uint8)
#: indexed by 11 - total % 11 (1..11): 10 → X, 11 → 0
_ORG_CHECK = np.frombuffer(b"0123456789X0", dtype=np.uint8)


def _epoch_days(day: date) -> int:
    return day.toordinal() - date(1970, 1, 1).toordinal()


def usccs(rng: np.random.Generator, divisions: np.ndarray, *, prefix: str = "91") -> np.ndarray:
    """Valid, unique 统一社会信用代码 (GB 32100) for 登记管理机关 ``divisions``; default 工商-registered 企业."""
    n = len(divisions)
    head = np.empty((n, 17), dtype=np.uint8)
    head[:, 0], head[:, 1] = ord(prefix[0]), ord(prefix[1])
    head[:, 2:8] = np.array([d.encode() for d in divisions], dtype="S6").view(np.uint8).reshape(n, 6)
    todo = np.arange(n)
    while len(todo):
        k = len(todo)
        # Codes issued since the 2015 reform have bodies "MA…"; older ones are 8 digits.
        new = rng.random(k) < 0.7
        body = np.where(
            new[:, None],
            np.concatenate(
                [np.tile(np.frombuffer(b"MA", np.uint8), (k, 1)), _CHARSET_BYTES[rng.integers(0, 31, (k, 6))]], 1
            ),
            (rng.integers(0, 10, (k, 8)) + ord("0")).astype(np.uint8),
        )
        total = (_ORG_VALUE[body] * _ORG_WEIGHTS).sum(axis=1)
        head[todo, 8:16] = body
        head[todo, 16] = _ORG_CHECK[11 - total % 11]
        _, first = np.unique(np.ascontiguousarray(head).view("S17").ravel(), return_index=True)
        clash = np.ones(n, dtype=bool)
        clash[first] = False
        todo = np.flatnonzero(clash)
    check = _CHARSET_BYTES[(31 - (_USCC_VALUE[head] * _USCC_WEIGHTS).sum(axis=1) % 31) % 31]
    return ascii_matrix_to_strings(np.concatenate([head, check[:, None]], axis=1))


def _days_to_dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())


# ---------------------------------------------------------------- 法人库

LEGAL_ENTITY_SCHEMA = pa.schema(
    [
        pa.field("uscc", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("legal_rep_name", pa.string()),
        pa.field("legal_rep_citizen_id", pa.string()),
        pa.field("registered_capital", pa.decimal128(16, 2)),
        pa.field("established_on", pa.date32()),
        pa.field("division_code", pa.string()),
        pa.field("street_code", pa.string()),
        pa.field("address", pa.string()),
        pa.field("business_scope", pa.string()),
        pa.field("status", pa.string()),
        pa.field("industry_code", pa.string()),
    ]
)


def generate_legal_entities(
    population: pa.Table,
    population_log: DefectLog,
    n: int | None = None,
    *,
    seed: int | str = 0,
    defect_rate: float = 0.02,
) -> tuple[pa.Table, DefectLog]:
    """法人库 (市场监管 authoritative): ``n`` enterprises (default population / 5), with planted defects."""
    rows_total = population.num_rows // 5 if n is None else n
    check_size(rows_total)
    check_rate(defect_rate)
    rng = random.Random(f"citybrain.demo.legal_entities:{seed}")
    np_rng = numpy_rng(rng)
    street_codes, _, _, districts = streets_table()

    district, street = sample_places(np_rng, rows_total)
    codes = usccs(np_rng, districts[district]).astype(object)
    industry = np_rng.choice(len(INDUSTRIES), size=rows_total, p=_INDUSTRY_WEIGHTS / _INDUSTRY_WEIGHTS.sum())
    trade_chars = np.array(_TRADE_CHARS)
    trade = join(
        pa.array(trade_chars[np_rng.integers(0, len(trade_chars), rows_total)]),
        pa.array(trade_chars[np_rng.integers(0, len(trade_chars), rows_total)]),
    )
    place = np.where(
        districts[district] == "320481", "溧阳", np.where(districts[district] == "320413", "常州金坛", "常州")
    )
    place = np.where(np_rng.random(rows_total) < 0.1, "江苏", place)
    industry_names = np.array([item[0] for item in INDUSTRIES])
    kind = np.where(np_rng.random(rows_total) < 0.08, "股份有限公司", "有限公司")
    names = join(pa.array(place), trade, pa.array(industry_names[industry]), pa.array(kind))
    names = names.to_numpy(zero_copy_only=False).astype(object)

    # 法定代表人: persons from clean population rows (adults), so the 比对 defects are the only conflicts.
    clean = np.setdiff1d(np.arange(population.num_rows), np.fromiter(population_log.rows(), dtype=np.int64))
    born = population.column("birth_date").cast(pa.int32()).to_numpy()
    adults = clean[born[clean] <= _epoch_days(date(2004, 12, 31))]
    if len(adults) == 0 and rows_total:
        from citybrain.errors import Invalid

        raise Invalid("人口库中没有可作为法定代表人的成年人", details={"field": "population"})
    reps = adults[np_rng.integers(0, max(len(adults), 1), rows_total)] if rows_total else adults[:0]
    rep_ids = population.column("citizen_id").take(reps).to_numpy(zero_copy_only=False).astype(object)
    rep_names = population.column("name").take(reps).to_numpy(zero_copy_only=False).astype(object)

    capital = _CAPITALS[np_rng.choice(len(_CAPITALS), size=rows_total, p=_CAPITAL_WEIGHTS / _CAPITAL_WEIGHTS.sum())]
    established = np_rng.integers(_epoch_days(date(1992, 1, 1)), _epoch_days(DEMO_TODAY), rows_total)
    prefix, numbers = address_parts(np_rng, district, street)
    addresses = join(prefix, pa.array(numbers).cast(pa.string()), "号").to_numpy(zero_copy_only=False).astype(object)
    scopes = np.array([item[2] for item in INDUSTRIES])[industry]
    industry_codes = np.array([item[1] for item in INDUSTRIES])[industry]
    status = np.where(np_rng.random(rows_total) < 0.07, "注销", "存续")
    division_code = districts[district].astype(object)

    log = DefectLog("legal_entities", "uscc")
    plan = assign_defects(np_rng, rows_total, defect_rate, ENTITY_DEFECTS)
    defective = np.zeros(rows_total, dtype=bool)
    for rows in plan.values():
        defective[rows] = True
    for row in plan["check_digit"].tolist():
        codes[row] = generate.corrupt_uscc(rng, codes[row], "check_char")
        log.add(row, codes[row], "uscc", "check_digit", "校验码错误")
    for row in plan["missing_required"].tolist():
        column, values = rng.choice([("name", names), ("legal_rep_name", rep_names), ("address", addresses)])
        values[row] = None
        log.add(row, codes[row], column, "missing_required", f"必填项 {column} 为空")
    for row in plan["invalid_division"].tolist():
        division_code[row] = rng.choice(STALE_DIVISIONS)
        log.add(row, codes[row], "division_code", "invalid_division", f"{division_code[row]} 不是常州现行区县代码")
    for row in plan["legal_rep_conflict"].tolist():
        recorded = rep_names[row]
        rep_names[row] = other_name(rng, recorded)
        log.add(row, codes[row], "legal_rep_name", "legal_rep_conflict", f"人口库记载姓名为 {recorded}")
    clean_rows = np.flatnonzero(~defective)
    for row in plan["duplicate_uscc"].tolist():
        source = int(clean_rows[rng.randrange(len(clean_rows))]) if len(clean_rows) else row
        codes[row] = codes[source]
        log.add(row, codes[row], "uscc", "duplicate_uscc", f"与第 {source} 行统一社会信用代码重复")

    table = pa.table(
        {
            "uscc": pa.array(codes, pa.string()),
            "name": pa.array(names, pa.string()),
            "legal_rep_name": pa.array(rep_names, pa.string()),
            "legal_rep_citizen_id": pa.array(rep_ids, pa.string()),
            "registered_capital": pa.array(capital.astype(np.int64))
            .cast(pa.decimal128(21, 2))
            .cast(pa.decimal128(16, 2)),
            "established_on": _days_to_dates(established),
            "division_code": pa.array(division_code, pa.string()),
            "street_code": pa.array(street_codes[street]),
            "address": pa.array(addresses, pa.string()),
            "business_scope": pa.array(scopes),
            "status": pa.array(status),
            "industry_code": pa.array(industry_codes),
        },
        schema=LEGAL_ENTITY_SCHEMA,
    )
    return table, log


def _clean_values(table: pa.Table, column: str, log: DefectLog) -> np.ndarray:
    rows = np.setdiff1d(np.arange(table.num_rows), np.fromiter(log.rows(), dtype=np.int64))
    return table.column(column).take(rows).to_numpy(zero_copy_only=False)


# ---------------------------------------------------------------- 信用库

#: record type → (share, departments that decide it, 文号 abbreviation, content templates)
_CREDIT_TYPES: dict[str, tuple[float, tuple[str, ...], str, tuple[str, ...]]] = {
    "行政许可": (0.55, ("spj", "scjgj", "zjj", "sthjj", "jtj"), "许", (
        "准予行政许可：食品经营许可", "准予行政许可：建筑工程施工许可", "准予行政许可：排污许可",
        "准予行政许可：道路货物运输经营许可", "准予行政许可：公共场所卫生许可",
    )),
    "行政处罚": (0.25, ("scjgj", "sthjj", "yjj", "xfzd", "cgj", "swj"), "罚", (
        "未按规定公示年度报告，警告并罚款", "超标排放大气污染物，罚款", "未按规定开展安全生产教育培训，罚款",
        "消防设施未保持完好有效，责令改正并罚款", "擅自占用城市道路堆放物料，罚款", "未按期申报纳税，罚款",
    )),
    "红名单": (0.12, ("swj", "fgw", "rsj"), "红", (
        "纳税信用A级纳税人", "守合同重信用企业", "劳动保障守法诚信企业",
    )),
    "黑名单": (0.08, ("swj", "rsj", "scjgj"), "黑", (
        "重大税收违法失信主体", "拖欠农民工工资失信联合惩戒对象", "严重违法失信企业名单",
    )),
}  # fmt: skip

CREDIT_SCHEMA = pa.schema(
    [
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("uscc", pa.string()),
        pa.field("record_type", pa.string()),
        pa.field("decision_number", pa.string()),
        pa.field("decided_on", pa.date32()),
        pa.field("department", pa.string()),
        pa.field("content", pa.string()),
    ]
)

_DEPT_ABBREVIATIONS = {
    "spj": "常政务", "scjgj": "常市监", "zjj": "常住建", "sthjj": "常环", "jtj": "常交",
    "yjj": "常应急", "xfzd": "常消", "cgj": "常城管", "swj": "常税", "fgw": "常发改", "rsj": "常人社",
}  # fmt: skip


def generate_credit_records(
    entities: pa.Table,
    entity_log: DefectLog,
    n: int | None = None,
    *,
    seed: int | str = 0,
    defect_rate: float = 0.02,
) -> tuple[pa.Table, DefectLog]:
    """信用库: ``n`` records (default 0.6 per entity) about clean 法人库 entities, with planted defects."""
    rows_total = round(entities.num_rows * 0.6) if n is None else n
    check_size(rows_total)
    check_rate(defect_rate)
    rng = random.Random(f"citybrain.demo.credit_records:{seed}")
    np_rng = numpy_rng(rng)
    known = _clean_values(entities, "uscc", entity_log)
    if len(known) == 0 and rows_total:
        from citybrain.errors import Invalid

        raise Invalid("法人库为空，无法生成信用记录", details={"field": "entities"})
    codes = (
        known[np_rng.integers(0, max(len(known), 1), rows_total)].astype(object)
        if rows_total
        else known[:0].astype(object)
    )
    types = list(_CREDIT_TYPES)
    shares = np.array([_CREDIT_TYPES[t][0] for t in types])
    type_index = np_rng.choice(len(types), size=rows_total, p=shares / shares.sum())
    decided = np_rng.integers(_epoch_days(date(2019, 1, 1)), _epoch_days(DEMO_TODAY), rows_total)
    serial = np_rng.integers(1, 2000, rows_total)
    years = pa.array(decided.astype(np.int32)).cast(pa.date32())
    year_values = pc.year(years).to_numpy()
    departments = np.empty(rows_total, dtype=object)
    numbers = np.empty(rows_total, dtype=object)
    contents = np.empty(rows_total, dtype=object)
    picks = np_rng.random((rows_total, 2))
    for row in range(rows_total):
        _, depts, mark, templates = _CREDIT_TYPES[types[type_index[row]]]
        dept = depts[int(picks[row, 0] * len(depts))]
        departments[row] = dept
        numbers[row] = f"{_DEPT_ABBREVIATIONS[dept]}{mark}〔{year_values[row]}〕{serial[row]}号"
        contents[row] = templates[int(picks[row, 1] * len(templates))]
    ids = ascii_matrix_to_strings(
        np.concatenate(
            [np.tile(np.frombuffer(b"XY", np.uint8), (rows_total, 1)), digits_of(np.arange(1, rows_total + 1), 10)], 1
        )
    )
    decided_values = decided.astype(object)

    log = DefectLog("credit_records", "record_id")
    plan = assign_defects(np_rng, rows_total, defect_rate, CREDIT_DEFECTS)
    for row in plan["check_digit"].tolist():
        codes[row] = generate.corrupt_uscc(rng, codes[row], "check_char")
        log.add(row, ids[row], "uscc", "check_digit", "校验码错误")
    for row in plan["missing_required"].tolist():
        column, values = rng.choice([("decision_number", numbers), ("decided_on", decided_values)])
        values[row] = None
        log.add(row, ids[row], column, "missing_required", f"必填项 {column} 为空")
    existing = set(entities.column("uscc").to_pylist())
    for row in plan["unknown_entity"].tolist():
        code = generate.uscc(rng, division=rng.choice(["320402", "320412", "320481"]))
        while code in existing:
            code = generate.uscc(rng)
        codes[row] = code
        log.add(row, ids[row], "uscc", "unknown_entity", "法人库中无此统一社会信用代码")

    table = pa.table(
        {
            "record_id": pa.array(ids),
            "uscc": pa.array(codes, pa.string()),
            "record_type": pa.array(np.array(types)[type_index]),
            "decision_number": pa.array(numbers, pa.string()),
            "decided_on": pa.array(decided_values, pa.int32()).cast(pa.date32()),
            "department": pa.array(departments, pa.string()),
            "content": pa.array(contents, pa.string()),
        },
        schema=CREDIT_SCHEMA,
    )
    return table, log


# ---------------------------------------------------------------- 电子证照库

LICENSE_SCHEMA = pa.schema(
    [
        pa.field("license_id", pa.string(), nullable=False),
        pa.field("license_type", pa.string()),
        pa.field("license_number", pa.string()),
        pa.field("holder_id", pa.string()),
        pa.field("holder_type", pa.string()),
        pa.field("issuer", pa.string()),
        pa.field("issued_on", pa.date32()),
        pa.field("valid_until", pa.date32()),
        pa.field("status", pa.string()),
    ]
)


def generate_licenses(
    population: pa.Table,
    population_log: DefectLog,
    entities: pa.Table,
    entity_log: DefectLog,
    *,
    seed: int | str = 0,
    defect_rate: float = 0.02,
    id_card_share: float = 0.1,
) -> tuple[pa.Table, DefectLog]:
    """电子证照库: a 营业执照 per clean entity, sector permits, and 居民身份证 for ``id_card_share`` of persons.

    ``valid_until`` null means 长期有效; ``status`` is 有效 / 已过期 (against ``DEMO_TODAY``) / 注销.
    """
    check_rate(defect_rate)
    rng = random.Random(f"citybrain.demo.licenses:{seed}")
    np_rng = numpy_rng(rng)
    clean_entities = np.setdiff1d(np.arange(entities.num_rows), np.fromiter(entity_log.rows(), dtype=np.int64))
    ent = entities.take(clean_entities)
    ent_codes = ent.column("uscc").to_numpy(zero_copy_only=False)
    ent_division = ent.column("division_code").to_numpy(zero_copy_only=False)
    ent_established = ent.column("established_on").cast(pa.int32()).to_numpy()
    ent_status = ent.column("status").to_numpy(zero_copy_only=False)
    industry = ent.column("industry_code").to_numpy(zero_copy_only=False)
    ent_names = ent.column("name").to_numpy(zero_copy_only=False)
    today = _epoch_days(DEMO_TODAY)

    types: list[str] = []
    numbers: list[str] = []
    holders: list[str] = []
    holder_types: list[str] = []
    issuers: list[str] = []
    issued: list[int] = []
    until: list[int | None] = []
    status: list[str] = []
    serials = iter(np_rng.integers(0, 10_000_000, size=3 * len(ent_codes) + 10).tolist())

    def add(kind: str, number: str, holder: str, holder_type: str, issuer: str, start: int, end: int | None,
            cancelled: bool = False) -> None:  # fmt: skip
        types.append(kind)
        numbers.append(number)
        holders.append(holder)
        holder_types.append(holder_type)
        issuers.append(issuer)
        issued.append(start)
        until.append(end)
        status.append("注销" if cancelled else ("已过期" if end is not None and end < today else "有效"))

    for i, code in enumerate(ent_codes.tolist()):
        cancelled = ent_status[i] == "注销"
        start = int(ent_established[i])
        add("营业执照", code, code, "法人", "scjgj", start, None, cancelled)
        if "食品" in ent_names[i] or industry[i] in ("H62", "F52", "C14"):
            issued_on = start + int(np_rng.integers(0, 365))
            add("食品经营许可证", f"JY1{ent_division[i]}{next(serials):07d}", code, "法人", "scjgj",
                issued_on, issued_on + 5 * 365, cancelled)  # fmt: skip
        elif industry[i] == "E48":
            issued_on = today - int(np_rng.integers(30, 2000))
            day = date.fromordinal(issued_on + date(1970, 1, 1).toordinal())
            add("建筑工程施工许可证", f"{ent_division[i]}{day:%Y%m%d}{next(serials) % 10000:04d}", code, "法人",
                "zjj", issued_on, issued_on + 3 * 365, cancelled)  # fmt: skip
        elif industry[i] in ("C26", "C27", "C17", "C30"):
            issued_on = today - int(np_rng.integers(30, 1800))
            add("排污许可证", f"{code}001P", code, "法人", "sthjj", issued_on, issued_on + 5 * 365, cancelled)

    clean_people = np.setdiff1d(np.arange(population.num_rows), np.fromiter(population_log.rows(), dtype=np.int64))
    count = round(len(clean_people) * id_card_share)
    chosen = np.sort(np_rng.choice(clean_people, size=count, replace=False)) if count else clean_people[:0]
    person_ids = population.column("citizen_id").take(chosen).to_pylist()
    births = population.column("birth_date").cast(pa.int32()).take(chosen).to_numpy()
    for citizen_id, born in zip(person_ids, births.tolist(), strict=True):
        age_days = today - born
        # GB 11643 居民身份证 validity: 5 years under 16, 10 under 26, 20 under 46, then 长期.
        years = 5 if age_days < 16 * 365 else 10 if age_days < 26 * 365 else 20 if age_days < 46 * 365 else None
        issued_on = today - int(np_rng.integers(0, 5 * 365 if years == 5 else 3650))
        end = issued_on + years * 365 if years else None
        add("居民身份证", citizen_id, citizen_id, "自然人", "gaj", issued_on, end)

    total = len(types)
    ids = ascii_matrix_to_strings(
        np.concatenate([np.tile(np.frombuffer(b"ZZ", np.uint8), (total, 1)), digits_of(np.arange(1, total + 1), 12)], 1)
    )
    holders_arr = np.array(holders, dtype=object)
    issuers_arr = np.array(issuers, dtype=object)
    issued_arr = np.array(issued, dtype=object)
    until_arr = np.array(until, dtype=object)
    log = DefectLog("licenses", "license_id")
    plan = assign_defects(np_rng, total, defect_rate, LICENSE_DEFECTS)
    for row in plan["check_digit"].tolist():
        if holder_types[row] == "自然人":
            holders_arr[row] = generate.corrupt_citizen_id(rng, holders_arr[row], "check_char")
        else:
            holders_arr[row] = generate.corrupt_uscc(rng, holders_arr[row], "check_char")
        log.add(row, ids[row], "holder_id", "check_digit", "持证主体代码校验码错误")
    for row in plan["missing_required"].tolist():
        column, values = rng.choice([("issuer", issuers_arr), ("issued_on", issued_arr)])
        values[row] = None
        log.add(row, ids[row], column, "missing_required", f"必填项 {column} 为空")
    for row in plan["date_order"].tolist():
        until_arr[row] = issued_arr[row] - rng.randint(1, 365)
        log.add(row, ids[row], "valid_until", "date_order", "有效期截止早于发证日期")

    table = pa.table(
        {
            "license_id": pa.array(ids),
            "license_type": pa.array(types, pa.string()),
            "license_number": pa.array(numbers, pa.string()),
            "holder_id": pa.array(holders_arr, pa.string()),
            "holder_type": pa.array(holder_types, pa.string()),
            "issuer": pa.array(issuers_arr, pa.string()),
            "issued_on": pa.array(issued_arr, pa.int32()).cast(pa.date32()),
            "valid_until": pa.array(until_arr, pa.int32()).cast(pa.date32()),
            "status": pa.array(status, pa.string()),
        },
        schema=LICENSE_SCHEMA,
    )
    return table, log
