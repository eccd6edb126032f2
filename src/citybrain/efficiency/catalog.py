"""The evaluation's input resources in the catalog, each under the 溧阳 department that provides it.

溧政发〔2023〕6号 六（二） names the provider of every kind of data; this module maps the engine's input
tables (:data:`citybrain.efficiency.prepare.schemas`) onto catalog resources of those departments.
Where one engine table gathers records of several departments (违法行为 from 生态环境、应急、消防、税务;
事故 from 生态环境、应急、消防) each department gets its own resource and the loader concatenates them,
so every record keeps its real source.

The 镇（区、街道） are not departments of the platform: what they 核定 (租赁, 关联企业, 暂缓定类 proposals)
is registered under 市工信局, which "负责领导小组日常工作" and collects the towns' returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from citybrain.efficiency.prepare import schemas

#: the 领导小组 office (市工信局): runs the cycle, confirms the T list and adjustments
OFFICE_DEPT = "lygxj"

#: departments the method needs that the demo city does not ship; created on install when missing
EXTRA_DEPARTMENTS: dict[str, tuple[str, str]] = {
    "lykjj": ("溧阳市科学技术局", "Liyang Science and Technology Bureau"),
    "lyjrj": ("溧阳市地方金融监督管理局", "Liyang Local Financial Supervision Bureau"),
}

_TYPES = {"string": "string", "float": "decimal", "bool": "boolean", "date": "date"}
_BASIS = "溧政发〔2023〕6号：工业企业效益综合评价数据，仅供评价工作领导小组及各镇（区、街道）使用"
_CLOSED = "涉及企业纳税、处罚等非公开信息"


@dataclass(frozen=True)
class InputResource:
    """One catalog resource feeding the engine table ``table``; ``constant`` columns tell shared tables apart."""

    key: str
    table: str
    dept: str
    name: str
    description: str
    #: fixed column values the loader adds when concatenating department parts (e.g. category)
    constant: dict[str, str] = field(default_factory=dict)
    extra_columns: tuple[tuple[str, str, str], ...] = ()

    def columns(self) -> dict[str, dict[str, Any]]:
        spec = dict(schemas[self.table]["columns"])
        for c in self.constant:
            spec.pop(c, None)
        return spec


INPUTS: tuple[InputResource, ...] = (
    InputResource(
        "ly_eff_registration",
        "registration",
        "lyspj",
        "溧阳市工业企业工商登记信息",
        "上年度末全部工业企业的统一社会信用代码、名称、所在镇（区、街道）、注册时间、行业（分板块），市行政审批局报送。",
        extra_columns=(("town_code", "所在镇（区、街道）区划代码", "string"),),
    ),
    InputResource(
        "ly_eff_land",
        "land",
        "lyzrzyj",
        "溧阳市工业企业宗地信息",
        "上年度末企业宗地：宗地编号、面积（亩）、有证无证、共用宗地的建筑面积、供地日期，市资规局报送。",
    ),
    InputResource(
        "ly_eff_leases",
        "leases",
        OFFICE_DEPT,
        "溧阳市工业企业厂房（土地）租赁核定",
        "各镇（区、街道）核定的厂房与土地租赁（含整厂出租），市工信局汇总。",
    ),
    InputResource(
        "ly_eff_related",
        "related",
        OFFICE_DEPT,
        "溧阳市同一实际控制人关联企业核定",
        "各镇（区、街道）核定的同一实际控制人关联企业组，合并计算、共享结果，市工信局汇总。",
    ),
    InputResource(
        "ly_eff_tax",
        "tax",
        "lyswj",
        "溧阳市工业企业实缴税金与应税销售收入",
        "企业上年度入库税款、免抵数、其他退税、不计入税种与应税销售收入（万元），国家税务总局溧阳市税务局报送。",
    ),
    InputResource(
        "ly_eff_stats",
        "stats",
        "lytjj",
        "溧阳市规上工业企业与能耗",
        "规模以上工业企业名单与上年度总能耗（吨标煤），市统计局报送。",
    ),
    InputResource(
        "ly_eff_emissions",
        "emissions",
        "lysthjj",
        "溧阳市工业企业污染物排放量",
        "上年度化学需氧量、氨氮、总磷、颗粒物、二氧化硫、氮氧化物、挥发性有机物排放量（吨），常州市溧阳生态环境局报送。",
    ),
    InputResource(
        "ly_eff_listings",
        "listings",
        "lyjrj",
        "溧阳市企业股改上市信息",
        "股改、新三板挂牌、境内外主流证券市场上市及注册地迁入溧阳，市地方金融监管局报送。",
    ),
    InputResource(
        "ly_eff_hightech",
        "hightech",
        "lykjj",
        "溧阳市国家高新技术企业",
        "国家高新技术企业证书及有效期，市科技局报送。",
    ),
    InputResource(
        "ly_eff_honours",
        "honours",
        "lykjj",
        "溧阳市企业上级荣誉",
        "评价年度获得的科技创新、智能制造、品牌质量、安全环保等国家级、省级、市级企业荣誉，市科技局汇总报送。",
    ),
    InputResource(
        "ly_eff_penalties_env",
        "penalties",
        "lysthjj",
        "溧阳市企业环境保护违法行为",
        "行政罚款、停产整治、查扣查封、按日连续处罚、行政拘留、申请强制执行，常州市溧阳生态环境局报送。",
        constant={"category": "environment"},
    ),
    InputResource(
        "ly_eff_penalties_safety",
        "penalties",
        "lyyjj",
        "溧阳市企业安全生产违法行为",
        "安全生产行政处罚及处罚金额（万元），市应急管理局报送。",
        constant={"category": "safety"},
    ),
    InputResource(
        "ly_eff_penalties_fire",
        "penalties",
        "lyxfdd",
        "溧阳市企业消防违法行为",
        "占用、挪用、停用、堵塞消防设施被责令改正或行政处罚，市消防救援大队报送。",
        constant={"category": "fire"},
    ),
    InputResource(
        "ly_eff_penalties_tax",
        "penalties",
        "lyswj",
        "溧阳市企业纳税违法行为",
        "违反税收法律法规被行政处罚及移送公安机关，国家税务总局溧阳市税务局报送。",
        constant={"category": "tax"},
    ),
    InputResource(
        "ly_eff_complaints",
        "penalties",
        OFFICE_DEPT,
        "溧阳市企业被举报、媒体曝光与群体性上访",
        "多次举报、媒体曝光或群体性上访及相关部门会同工信局协商确定的扣分，市工信局汇总。",
        constant={"category": "complaint"},
    ),
    InputResource(
        "ly_eff_accidents_env",
        "accidents",
        "lysthjj",
        "溧阳市企业环保事件",
        "评价年度发生的突发环境事件及等级，常州市溧阳生态环境局报送。",
        constant={"kind": "environment"},
    ),
    InputResource(
        "ly_eff_accidents_safety",
        "accidents",
        "lyyjj",
        "溧阳市企业安全生产事故",
        "评价年度发生的生产安全事故及等级，市应急管理局报送。",
        constant={"kind": "safety"},
    ),
    InputResource(
        "ly_eff_accidents_fire",
        "accidents",
        "lyxfdd",
        "溧阳市企业火灾事故",
        "评价年度发生的火灾事故及等级（另按消防违法扣分），市消防救援大队报送。",
        constant={"kind": "fire"},
    ),
    InputResource(
        "ly_eff_catalogue",
        "catalogue",
        OFFICE_DEPT,
        "溧阳市工业企业重点培育名录库与产业项目全流程服务管理库",
        "列入重点培育名录库、产业项目全流程服务管理库的企业，市工信局维护。",
    ),
    InputResource(
        "ly_eff_deferrals",
        "deferrals",
        OFFICE_DEPT,
        "溧阳市其他需要暂缓定类的企业",
        "各镇（区、街道）提出、领导小组认定的其他暂缓定类企业及理由。",
    ),
)

#: 用电 data: listed by the method among the providers but not an indicator of the 2023 scoring;
#: kept for 数据核对 (a firm with large 用电 and no 规上 record is worth a look)
POWER = InputResource(
    "ly_eff_power",
    "power",
    "lygdj",
    "溧阳市工业企业用电量",
    "有电费总户号企业的年度用电量（万千瓦时），市供电公司报送；2023 版评价办法不计分，供数据核对比对。",
)
POWER_COLUMNS: dict[str, dict[str, Any]] = {
    "uscc": {"type": "string", "required": True, "doc": "统一社会信用代码"},
    "account_no": {"type": "string", "required": True, "doc": "电费总户号"},
    "kwh_10k": {"type": "float", "required": False, "doc": "年度用电量（万千瓦时）"},
}

RESULTS_KEY = "ly_eff_results"

BY_KEY: dict[str, InputResource] = {r.key: r for r in (*INPUTS, POWER)}


def resource_spec(res: InputResource) -> dict[str, Any]:
    """``ResourceCreate`` fields for one input resource."""
    cols = POWER_COLUMNS if res is POWER else res.columns()
    fields = []
    for name, spec in cols.items():
        f: dict[str, Any] = {"name": name, "title": spec["doc"][:100], "required": bool(spec["required"])}
        if name == "uscc" or name.endswith("_uscc"):
            f["standard"] = "uscc"
        else:
            f["data_type"] = _TYPES[spec["type"]]
        fields.append(f)
    for name, title, kind in res.extra_columns:
        fields.append({"name": name, "title": title, "data_type": _TYPES[kind]})
    key = schemas[res.table]["key"] if res.table in schemas else ["uscc", "account_no"]
    open_ = res.table in {"registration", "listings", "hightech", "honours"}
    return {
        "key": res.key,
        "name": res.name,
        "description": res.description,
        "dept": res.dept,
        "category": "部门库",
        "topic": "工业经济",
        "update_frequency": "每年",
        "share_type": "有条件共享",
        "share_basis": _BASIS,
        "open_type": "有条件开放" if open_ else "不予开放",
        "open_basis": None if open_ else _CLOSED,
        "grade": "一般" if open_ else "重要",
        "tags": ["亩均效益", "工业企业效益综合评价"],
        "document_number": "溧政发〔2023〕6号",
        "fields": fields,
        "primary_key": [k for k in key if k in {f["name"] for f in fields}],
    }


def results_spec() -> dict[str, Any]:
    cols = [
        ("year", "评价年度", "integer"),
        ("uscc", "统一社会信用代码", None),
        ("name", "企业名称", "string"),
        ("town", "所在镇（区、街道）", "string"),
        ("town_code", "区划代码", "string"),
        ("unit_id", "评价单元（关联企业组）", "string"),
        ("total_score", "综合评价得分", "decimal"),
        ("score_class", "按得分分类", "string"),
        ("class", "评价类别", "string"),
        ("override_rule", "调档规则", "string"),
        ("run_id", "评价批次", "string"),
    ]
    fields = [
        {"name": n, "title": t, **({"standard": "uscc"} if n == "uscc" else {"data_type": d})} for n, t, d in cols
    ]
    fields[1]["required"] = True
    return {
        "key": RESULTS_KEY,
        "name": "溧阳市工业企业效益综合评价结果",
        "description": (
            "按溧政发〔2023〕6号计算的企业综合评价得分与 A/B/C/D/T 分类；每次评价一个版本，记录所用数据版本与参数。"
        ),
        "dept": OFFICE_DEPT,
        "category": "部门库",
        "topic": "工业经济",
        "update_frequency": "每年",
        "share_type": "有条件共享",
        "share_basis": _BASIS,
        "open_type": "不予开放",
        "open_basis": "评价结果以镇（区、街道）为单位向企业通报，不向社会开放",
        "grade": "重要",
        "tags": ["亩均效益", "工业企业效益综合评价"],
        "document_number": "溧政发〔2023〕6号",
        "fields": fields,
        "primary_key": ["year", "uscc"],
    }


def assemble(year: int, tables: dict[str, Any]) -> Any:
    """Engine inputs from the department resources: parts of shared tables concatenated, constants added.

    Stays in Arrow: the engine sorts and converts each table once, and Arrow concatenates parts with
    different columns (a safety penalty has an amount, an environmental one has none) by filling nulls.
    """
    import pandas as pd
    import pyarrow as pa

    from citybrain.efficiency.prepare import EvaluationInputs

    parts: dict[str, list[pa.Table]] = {}
    for res in INPUTS:
        table = tables.get(res.key)
        if table is None:
            continue
        if not isinstance(table, pa.Table):
            table = pa.Table.from_pandas(pd.DataFrame(table), preserve_index=False)
        for col, value in res.constant.items():
            table = table.append_column(col, pa.array([value] * table.num_rows, pa.string()))
        parts.setdefault(res.table, []).append(table.replace_schema_metadata(None))
    merged = {
        name: frames[0] if len(frames) == 1 else pa.concat_tables(frames, promote_options="permissive")
        for name, frames in parts.items()
    }
    if "registration" not in merged:
        from citybrain.errors import Invalid

        raise Invalid("缺少工商登记数据（ly_eff_registration），无法评价", details={"resource": "ly_eff_registration"})
    return EvaluationInputs(year=year, **merged)
