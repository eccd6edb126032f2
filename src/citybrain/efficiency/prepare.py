"""Department records → per-unit indicators for the 工业企业效益综合评价.

The method (溧政发〔2023〕6号) collects data per firm from about twenty departments, then evaluates
"合并数据计算" per 实际控制人. :func:`prepare` does the data side of that, vectorized:

* scope: 工业企业 registered in 溧阳 that use land or factory space; 电力、热力、燃气及水 suppliers and the
  lessor of a whole plant (整厂出租 → the tenant is evaluated) are excluded, with the reason kept;
* 占地面积: own plots (有证 and 无证, without 带附征 land), a plot shared by several firms split by their
  建筑面积, minus space leased out, plus space leased in;
* 实缴税金 = 入库税款 + 免抵数 − 除出口退库以外的其他退税 − 不计入的税种 (车辆购置税、耕地占用税、委托代征、罚款);
* related firms (同一实际控制人) merged into one scoring unit whose result every member shares;
* 暂缓定类 (T) candidates and the 加分/扣分 records of the 评价年度, keyed to the unit.

Money is in 万元, area in 亩, energy in 吨标煤, emissions in 吨 throughout. Column layouts are in
:data:`schemas` so the platform catalog can register them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from citybrain.efficiency.params import Params
from citybrain.errors import Invalid

Frame = pd.DataFrame | pa.Table

POLLUTANTS: tuple[str, ...] = ("cod", "ammonia_n", "total_p", "particulates", "so2", "nox", "vocs")


def _col(type_: str, doc: str, *, required: bool = True, default: Any = None) -> dict[str, Any]:
    return {"type": type_, "required": required, "default": default, "doc": doc}


#: Input tables by name: provider, title, key and columns (type, required, default when absent, meaning).
schemas: dict[str, dict[str, Any]] = {
    "registration": {
        "provider": "市行政审批局 / 镇（区、街道）",
        "title": "工业企业工商登记",
        "key": ["uscc"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码 (GB 32100)"),
            "name": _col("string", "企业名称"),
            "town": _col("string", "所在镇（区、街道），结果按此通报", required=False, default=""),
            "registered_on": _col("date", "工商注册日期", required=False),
            "is_industrial": _col("bool", "是否工业企业", required=False, default=True),
            "industry": _col("string", "国民经济行业分类代码 (GB/T 4754)", required=False, default=""),
            "is_utility": _col("bool", "主营电力、热力、燃气及水的生产和供应", required=False, default=False),
        },
    },
    "land": {
        "provider": "市资规局 / 镇（区、街道）",
        "title": "企业宗地",
        "key": ["uscc", "plot_id"],
        "columns": {
            "uscc": _col("string", "使用企业统一社会信用代码"),
            "plot_id": _col("string", "宗地编号；多企业共用一宗地时各行相同"),
            "area_mu": _col("float", "宗地面积（亩），共用宗地各行填整宗面积"),
            "certified": _col("bool", "有证（国有、集体）土地；无证土地同样计入", required=False, default=True),
            "building_area": _col("float", "该企业所占建筑面积（㎡），共用宗地按此分摊", required=False),
            "land_supplied_on": _col("date", "供地日期；兼并重组取得的为取得日期", required=False),
            "acquired_by_merger": _col("bool", "通过兼并重组取得土地使用权", required=False, default=False),
            "attached": _col("bool", "带附征土地（不计入占地面积）", required=False, default=False),
        },
    },
    "leases": {
        "provider": "镇（区、街道）",
        "title": "厂房（土地）租赁",
        "key": ["lessor_uscc", "tenant_uscc"],
        "columns": {
            "lessor_uscc": _col("string", "出租方统一社会信用代码（可为非参评单位）"),
            "tenant_uscc": _col("string", "承租方统一社会信用代码"),
            "area_mu": _col("float", "租赁折合土地面积（亩）"),
            "whole_plant": _col("bool", "整厂出租（出租方不参评，承租方参评）", required=False, default=False),
        },
    },
    "tax": {
        "provider": "国家税务总局溧阳市税务局",
        "title": "实缴税金与应税销售收入（万元）",
        "key": ["uscc"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "tax_paid_in": _col("float", "入库税款"),
            "exempt_offset": _col("float", "免抵数", required=False, default=0.0),
            "other_refunds": _col("float", "除出口退库以外的其他退税", required=False, default=0.0),
            "excluded_taxes": _col(
                "float", "入库税款中含的车辆购置税、耕地占用税、委托代征税款和罚款", required=False, default=0.0
            ),
            "taxable_sales": _col("float", "应税销售收入", required=False, default=0.0),
        },
    },
    "stats": {
        "provider": "市统计局",
        "title": "规上工业企业与能耗",
        "key": ["uscc"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "above_scale": _col("bool", "规模以上工业企业"),
            "energy_tce": _col("float", "总能耗（吨标煤）", required=False),
        },
    },
    "emissions": {
        "provider": "常州市溧阳生态环境局",
        "title": "污染物排放量（吨）",
        "key": ["uscc"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            **{
                p: _col("float", name, required=False, default=0.0)
                for p, name in zip(
                    POLLUTANTS,
                    ("化学需氧量", "氨氮", "总磷", "颗粒物", "二氧化硫", "氮氧化物", "挥发性有机物"),
                    strict=True,
                )
            },
        },
    },
    "related": {
        "provider": "镇（区、街道）",
        "title": "同一实际控制人的关联企业",
        "key": ["group_id", "uscc"],
        "columns": {
            "group_id": _col("string", "关联企业组编号（实际控制人）"),
            "uscc": _col("string", "成员企业统一社会信用代码"),
        },
    },
    "listings": {
        "provider": "市地方金融监管局",
        "title": "股改上市",
        "key": ["record_id"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "stage": _col("string", "shareholding_reform 股改 / neeq 新三板挂牌或迁入 / listed 主流证券市场上市或迁入"),
            "record_id": _col("string", "记录编号"),
            "completed_on": _col("date", "完成股改、挂牌、上市或迁入的日期（须在评价年度内）", required=False),
        },
    },
    "hightech": {
        "provider": "市科技局",
        "title": "国家高新技术企业",
        "key": ["record_id"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "record_id": _col("string", "高新技术企业证书编号"),
            "valid_from": _col("date", "证书有效期起", required=False),
            "valid_until": _col("date", "证书有效期止", required=False),
        },
    },
    "honours": {
        "provider": "市科技局、市场监管局、发改委等",
        "title": "上级企业荣誉",
        "key": ["record_id"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "level": _col("string", "national 国家级 / provincial 省级 / municipal 市级"),
            "record_id": _col("string", "荣誉记录编号"),
            "awarded_on": _col("date", "获得日期（须在评价年度内）", required=False),
        },
    },
    "penalties": {
        "provider": "生态环境局、应急管理局、消防救援大队、税务局、工信局",
        "title": "违法行为与举报曝光",
        "key": ["record_id"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "category": _col(
                "string", "environment 环保 / safety 安全生产 / fire 消防 / tax 纳税 / complaint 举报曝光"
            ),
            "kind": _col("string", "处理种类，取值见参数 [deduction.<category>]"),
            "amount": _col("float", "处罚金额（万元），安全生产按此分档", required=False),
            "severity": _col("string", "举报曝光的影响程度；severe = 严重或恶劣影响（直接降为 D 类）", required=False),
            "record_id": _col("string", "处罚决定书文号或记录编号"),
            "decided_on": _col("date", "决定日期（须在评价年度内）", required=False),
            "points": _col("float", "举报曝光：相关部门会同工信局协商确定的扣分", required=False),
        },
    },
    "accidents": {
        "provider": "生态环境局、应急管理局、消防救援大队",
        "title": "环保事件、安全事故、火灾事故",
        "key": ["record_id"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "level": _col("string", "事故等级：一般 / 较大 / 重大 / 特别重大"),
            "record_id": _col("string", "事故记录编号"),
            "kind": _col("string", "environment / safety / fire；火灾事故另按消防扣分", required=False, default=""),
            "occurred_on": _col("date", "发生日期（须在评价年度内）", required=False),
        },
    },
    "catalogue": {
        "provider": "市工信局",
        "title": "市工业企业重点培育名录库、产业项目全流程服务管理库",
        "key": ["uscc", "catalogue"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "catalogue": _col("string", "名录库名称"),
        },
    },
    "deferrals": {
        "provider": "镇（区、街道）提出，领导小组认定",
        "title": "其他需要暂缓定类的企业",
        "key": ["uscc"],
        "columns": {
            "uscc": _col("string", "统一社会信用代码"),
            "reason": _col("string", "暂缓定类理由", required=False, default=""),
        },
    },
}


@dataclass(frozen=True)
class EvaluationInputs:
    """One 评价年度's department records. Tables may be pandas DataFrames or pyarrow Tables; only
    ``registration`` is required, an absent table means "no records"."""

    year: int
    registration: Frame
    land: Frame | None = None
    leases: Frame | None = None
    tax: Frame | None = None
    stats: Frame | None = None
    emissions: Frame | None = None
    related: Frame | None = None
    listings: Frame | None = None
    hightech: Frame | None = None
    honours: Frame | None = None
    penalties: Frame | None = None
    accidents: Frame | None = None
    catalogue: Frame | None = None
    deferrals: Frame | None = None


@dataclass(frozen=True)
class Prepared:
    """Per-unit indicators ready for :func:`citybrain.efficiency.method.score_prepared`.

    ``firms``: one row per evaluated firm (uscc, name, town, unit_id, group_id).
    ``units``: one row per scoring unit (a firm, or a related group "group:<id>") with the merged data.
    ``records``: 加分/扣分/调档 records of the year (unit_id, uscc, source, category, kind, amount, points,
    severity, level, record_id).
    ``excluded``: firms outside the evaluation (uscc, name, town, reason).
    """

    year: int
    firms: pd.DataFrame
    units: pd.DataFrame
    records: pd.DataFrame
    excluded: pd.DataFrame


# ------------------------------------------------------------------------------------------------------
# Normalisation


def _table(inputs: EvaluationInputs, name: str, problems: list[dict[str, Any]]) -> pd.DataFrame:
    """The named input as a DataFrame with every schema column, in a canonical row order.

    Sorting on every column makes sums and tie-breaks independent of the order rows arrived in, which
    keeps results byte-identical for the same records.
    """
    spec = schemas[name]["columns"]
    obj = getattr(inputs, name)
    if obj is None:
        df = pd.DataFrame({c: pd.Series([], dtype=_dtype(s["type"])) for c, s in spec.items()})
        return df
    presorted = False
    if isinstance(obj, pa.Table):
        present = [c for c in spec if c in obj.column_names]
        if obj.num_rows and present:
            # Arrow's sort is multi-threaded C++ and several times faster than pandas' on string columns.
            # Sorting the raw values gives the same canonical order for the same records: rows that only
            # differ before coercion are equal after it, so their relative order cannot change a result.
            obj = obj.select(present).sort_by([(c, "ascending", "at_end") for c in present])
            presorted = True
        df = obj.to_pandas()
    else:
        df = pd.DataFrame(obj)
    missing = [c for c, s in spec.items() if s["required"] and c not in df.columns]
    if missing:
        problems.append({"table": name, "field": missing, "message": f"{name} 缺少必填列：{', '.join(missing)}"})
        return df
    out = {}
    for c, s in spec.items():
        col = df[c] if c in df.columns else pd.Series([s["default"]] * len(df), index=df.index)
        out[c] = _coerce(col, s, name, c, problems)
    frame = pd.DataFrame(out)
    if len(frame) and not presorted:
        frame = frame.sort_values(list(spec), kind="mergesort", na_position="last").reset_index(drop=True)
    return frame


def _dtype(type_: str) -> Any:
    return {"string": object, "float": "float64", "bool": "bool", "date": "datetime64[ns]"}[type_]


def _coerce(
    col: pd.Series, spec: Mapping[str, Any], table: str, column: str, problems: list[dict[str, Any]]
) -> pd.Series:
    kind = spec["type"]
    if kind == "string":
        # pandas' Arrow-backed str dtype keeps strip/sort/group in C; missing stays missing
        out = (col if isinstance(col.dtype, pd.StringDtype) else col.astype("str")).str.strip()
        if spec["required"]:
            bad = out.isna() | (out == "")
            if bad.any():
                problems.append(
                    {"table": table, "field": column, "rows": _rows(bad), "message": f"{table}.{column} 不能为空"}
                )
        return out.fillna("") if spec["default"] == "" else out
    if kind == "float":
        out = pd.to_numeric(col, errors="coerce").astype("float64")
        bad = out.isna() & col.notna()
        if spec["required"]:
            bad |= out.isna()
        if bad.any():
            problems.append(
                {"table": table, "field": column, "rows": _rows(bad), "message": f"{table}.{column} 须为数值"}
            )
        if spec["default"] is not None:
            out = out.fillna(float(spec["default"]))
        return out
    if kind == "bool":
        if col.dtype == bool:
            return col
        mapped = col.map(_to_bool)
        bad = mapped.isna()
        if bad.any() and spec["required"]:
            problems.append(
                {"table": table, "field": column, "rows": _rows(bad), "message": f"{table}.{column} 须为是/否"}
            )
        default = bool(spec["default"]) if spec["default"] is not None else False
        return mapped.fillna(default).astype(bool)
    # date
    out = pd.to_datetime(col, errors="coerce")
    bad = out.isna() & col.notna()
    if bad.any():
        problems.append({"table": table, "field": column, "rows": _rows(bad), "message": f"{table}.{column} 须为日期"})
    return out.astype("datetime64[ns]")


_TRUE = {True, "1", "true", "True", "TRUE", "是", "y", "Y", "yes"}
_FALSE = {False, "0", "false", "False", "FALSE", "否", "n", "N", "no"}


def _to_bool(x: Any) -> bool | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    if x in _TRUE:
        return True
    if x in _FALSE:
        return False
    return None


def _isin(series: pd.Series, values: Any) -> pd.Series:
    """Membership test that stays fast for large value sets of strings."""
    return pd.Series(
        pd.Index(pd.unique(np.asarray(values, dtype=object))).get_indexer(series.astype(object)) >= 0,
        index=series.index,
    )


def _rows(mask: pd.Series, limit: int = 20) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask.to_numpy())[:limit]]


# ------------------------------------------------------------------------------------------------------
# Land


def _own_land(land: pd.DataFrame, params: Params, ref: pd.Timestamp, problems: list[dict[str, Any]]) -> pd.DataFrame:
    """Own 占地面积 per firm (shared plots split by 建筑面积) and whether all its plots are recent."""
    cfg = params.section("land")
    t_cfg = params.section("t_class")
    if cfg["exclude_attached"]:
        land = land[~land["attached"]]
    if not cfg["include_uncertified"]:
        land = land[land["certified"]]
    dup = land.duplicated(["uscc", "plot_id"], keep=False)
    if dup.any():
        problems.append(
            {
                "table": "land",
                "field": ["uscc", "plot_id"],
                "plots": sorted(set(land.loc[dup, "plot_id"]))[:20],
                "message": "land 中同一企业同一宗地重复出现",
            }
        )
        land = land[~land.duplicated(["uscc", "plot_id"])]
    by_plot = land.groupby("plot_id", sort=False)
    users = by_plot["uscc"].transform("size")
    spread = by_plot["area_mu"].transform("max") - by_plot["area_mu"].transform("min")
    if (spread > 1e-9).any():
        problems.append(
            {
                "table": "land",
                "field": "area_mu",
                "plots": sorted(set(land.loc[spread > 1e-9, "plot_id"]))[:20],
                "message": "共用宗地各行的 area_mu 须为同一整宗面积",
            }
        )
    building = land["building_area"].where(land["building_area"] > 0)
    shared = users > 1
    lacking = shared & building.isna()
    lacking_plots = set(land.loc[lacking, "plot_id"])
    if lacking_plots and cfg["shared_plot_without_building_area"] == "error":
        problems.append(
            {
                "table": "land",
                "field": "building_area",
                "plots": sorted(lacking_plots)[:20],
                "message": "多企业共用宗地须提供各企业所占建筑面积（按建筑面积分摊土地面积）",
            }
        )
    equal = land["plot_id"].isin(lacking_plots)
    bsum = building.groupby(land["plot_id"]).transform("sum")
    share = np.where(~shared, 1.0, np.where(equal, 1.0 / users, building / bsum))
    land = land.assign(alloc=land["area_mu"].to_numpy() * share)

    supplied = land["land_supplied_on"]
    merger = land["acquired_by_merger"]
    recent_supply = supplied > ref - pd.DateOffset(years=int(t_cfg["supply_new_years"]))
    recent_merger = supplied > ref - pd.DateOffset(years=int(t_cfg["merger_new_years"]))
    recent = np.where(merger, recent_merger, recent_supply) & supplied.notna()
    land = land.assign(recent=recent, merger=merger)
    agg = land.groupby("uscc", sort=True).agg(
        own_area_mu=("alloc", "sum"),
        plots=("plot_id", "size"),
        plots_recent=("recent", "sum"),
        plots_merger=("merger", "sum"),
    )
    return agg


# ------------------------------------------------------------------------------------------------------
# Main entry


def prepare(inputs: EvaluationInputs, params: Params) -> Prepared:
    """Validate the records and build the scoring units. Raises :class:`Invalid` listing every problem."""
    problems: list[dict[str, Any]] = []
    year = int(inputs.year)
    if not 1990 <= year <= 2100:
        raise Invalid(f"评价年度不合法：{inputs.year}", details={"field": "year"})
    t = {name: _table(inputs, name, problems) for name in schemas}
    if problems:
        raise Invalid("评价数据不合法", details=problems)
    ref = pd.Timestamp(dt.date(year, 12, 31))
    year_start, year_end = pd.Timestamp(dt.date(year, 1, 1)), ref

    reg = t["registration"]
    dup = reg["uscc"].duplicated(keep=False)
    if dup.any():
        problems.append(
            {
                "table": "registration",
                "field": "uscc",
                "uscc": sorted(set(reg.loc[dup, "uscc"]))[:20],
                "message": "registration 中统一社会信用代码重复",
            }
        )
    related = t["related"]
    multi = related.drop_duplicates(["group_id", "uscc"])["uscc"].duplicated(keep=False)
    if multi.any():
        problems.append(
            {
                "table": "related",
                "field": "uscc",
                "uscc": sorted(set(related.drop_duplicates(["group_id", "uscc"]).loc[multi, "uscc"]))[:20],
                "message": "同一企业不能属于多个关联企业组",
            }
        )

    firms = reg.set_index("uscc")[["name", "town", "registered_on", "is_industrial", "is_utility"]]
    firms = firms[~firms.index.duplicated()]

    # -- land and leases --------------------------------------------------------------------------------
    own = _own_land(t["land"], params, ref, problems).reindex(firms.index)
    leases = t["leases"]
    leased_out = leases.groupby("lessor_uscc")["area_mu"].sum().reindex(firms.index, fill_value=0.0)
    leased_in = leases.groupby("tenant_uscc")["area_mu"].sum().reindex(firms.index, fill_value=0.0)
    whole = set(leases.loc[leases["whole_plant"], "lessor_uscc"])
    own_area = own["own_area_mu"].fillna(0.0)
    scope = params.section("scope")
    whole_lessor = firms.index.isin(whole) & bool(scope["exclude_whole_plant_lessors"])
    over = (leased_out > own_area + 1e-9) & ~whole_lessor
    if over.any() and params.section("land")["lease_exceeding_holding"] == "error":
        problems.append(
            {
                "table": "leases",
                "field": "area_mu",
                "uscc": sorted(over[over].index)[:20],
                "message": "部分出租面积超过企业自有占地面积",
            }
        )
    if problems:
        raise Invalid("评价数据不合法", details=problems)
    net_own = (own_area - leased_out).clip(lower=0.0)

    # -- scope --------------------------------------------------------------------------------------------
    reason = pd.Series(None, index=firms.index, dtype=object)
    if scope["exclude_non_industrial"]:
        reason = reason.mask(reason.isna() & ~firms["is_industrial"], "非工业企业")
    if scope["exclude_utilities"]:
        reason = reason.mask(reason.isna() & firms["is_utility"], "主营电力、热力、燃气及水的生产和供应")
    reason = reason.mask(reason.isna() & whole_lessor, "整厂出租，对租赁企业实施综合评价")

    # -- tax, stats, emissions ------------------------------------------------------------------------------
    tax = t["tax"].groupby("uscc").sum(numeric_only=True).reindex(firms.index)
    paid = tax["tax_paid_in"] + tax["exempt_offset"] - tax["other_refunds"] - tax["excluded_taxes"]
    sg = t["stats"].groupby("uscc")
    stats = pd.DataFrame({"above_scale": sg["above_scale"].max(), "energy_tce": sg["energy_tce"].sum(min_count=1)})
    stats = stats.reindex(firms.index)
    em = t["emissions"]
    em_total = em[list(POLLUTANTS)].sum(axis=1).groupby(em["uscc"]).sum().reindex(firms.index)

    per_firm = pd.DataFrame(
        {
            "own_area_mu": net_own,
            "leased_in_mu": leased_in,
            "leased_out_mu": leased_out,
            "tax_in_treasury": tax["tax_paid_in"].fillna(0.0),
            "tax_paid": paid.fillna(0.0),
            "taxable_sales": tax["taxable_sales"].fillna(0.0),
            "energy_tce": stats["energy_tce"],
            "emissions_t": em_total.fillna(0.0),
            "above_scale": stats["above_scale"].fillna(False).astype(bool),
        }
    )

    # -- 暂缓定类 candidates per firm --------------------------------------------------------------------------
    t_cfg = params.section("t_class")
    plots = own["plots"].fillna(0)
    all_recent = (plots > 0) & (own["plots_recent"].fillna(0) == plots)
    lease_new = (
        (plots == 0)
        & (leased_in > 0)
        & (firms["registered_on"] > ref - pd.DateOffset(years=int(t_cfg["lease_new_years"])))
    )
    t_rule = pd.Series(None, index=firms.index, dtype=object)
    if t_cfg["auto"]:
        t_rule = t_rule.mask(lease_new, "T-1")
        t_rule = t_rule.mask(t_rule.isna() & all_recent & (own["plots_merger"].fillna(0) < plots), "T-2")
        t_rule = t_rule.mask(t_rule.isna() & all_recent, "T-3")
        if t_cfg["requires_catalogue"]:
            listed = firms.index.isin(set(t["catalogue"]["uscc"]))
            t_rule = t_rule.where(listed, None)
    per_firm["t_auto"] = t_rule

    # -- units (关联企业合并) ----------------------------------------------------------------------------------
    grp = related.drop_duplicates("uscc").set_index("uscc")["group_id"].reindex(firms.index)
    in_scope = reason.isna()
    unit_id = ("group:" + grp).where(grp.notna(), firms.index.to_series())
    scoped = per_firm[in_scope].assign(unit_id=unit_id[in_scope], t_flag=per_firm["t_auto"].notna()[in_scope])
    rel_cfg = params.section("related")
    g = scoped.groupby("unit_id", sort=True)
    units = g.agg(
        own_area_mu=("own_area_mu", "sum"),
        leased_in_mu=("leased_in_mu", "sum"),
        leased_out_mu=("leased_out_mu", "sum"),
        tax_in_treasury=("tax_in_treasury", "sum"),
        tax_paid=("tax_paid", "sum"),
        taxable_sales=("taxable_sales", "sum"),
        emissions_t=("emissions_t", "sum"),
        members=("tax_paid", "size"),
    )
    units["energy_tce"] = g["energy_tce"].sum(min_count=1)
    units["above_scale"] = g["above_scale"].max() if rel_cfg["above_scale"] == "any" else g["above_scale"].min()
    t_hit = g["t_flag"].max() if rel_cfg["t_class"] == "any" else g["t_flag"].min()
    units["t_rule"] = g["t_auto"].first().where(t_hit.astype(bool), None)
    deferrals = t["deferrals"].drop_duplicates("uscc")
    deferrals = deferrals.assign(unit_id=deferrals["uscc"].map(unit_id))
    deferrals = deferrals[_isin(deferrals["unit_id"], units.index)]
    deferred = deferrals.groupby("unit_id")["reason"].first()
    units["t_rule"] = units["t_rule"].mask(units.index.isin(deferred.index), "T-other")
    units["t_reason"] = deferred.reindex(units.index)
    units["area_mu"] = units["own_area_mu"] + units["leased_in_mu"]

    no_land = units["area_mu"] <= 0 if scope["require_land"] else pd.Series(False, index=units.index)
    dropped_units = set(units.index[no_land])
    units = units[~no_land]
    firm_unit = unit_id.where(in_scope)
    reason = reason.mask(firm_unit.isin(dropped_units), "未实际使用土地或厂房资源")
    in_scope = reason.isna()

    out_firms = (
        pd.DataFrame(
            {
                "uscc": firms.index[in_scope],
                "name": firms["name"][in_scope].to_numpy(),
                "town": firms["town"][in_scope].to_numpy(),
                "unit_id": unit_id[in_scope].to_numpy(),
                "group_id": grp[in_scope].astype(object).where(grp[in_scope].notna(), None).to_numpy(),
            }
        )
        .sort_values("uscc", kind="mergesort")
        .reset_index(drop=True)
    )
    excluded = (
        pd.DataFrame(
            {
                "uscc": firms.index[~in_scope],
                "name": firms["name"][~in_scope].to_numpy(),
                "town": firms["town"][~in_scope].to_numpy(),
                "reason": reason[~in_scope].to_numpy(),
            }
        )
        .sort_values("uscc", kind="mergesort")
        .reset_index(drop=True)
    )

    records = _records(t, params, unit_id.where(in_scope).dropna(), year_start, year_end, problems)
    if problems:
        raise Invalid("评价数据不合法", details=problems)
    units = units.reset_index().rename(columns={"index": "unit_id"})
    return Prepared(year=year, firms=out_firms, units=units, records=records, excluded=excluded)


def _in_year(dates: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Records of the 评价年度; a record without a date is taken as belonging to it."""
    return dates.isna() | ((dates >= start) & (dates <= end))


def _records(
    t: Mapping[str, pd.DataFrame],
    params: Params,
    unit_of: pd.Series,
    start: pd.Timestamp,
    end: pd.Timestamp,
    problems: list[dict[str, Any]],
) -> pd.DataFrame:
    """The year's 加分/扣分/调档 records as one long table keyed to scoring units."""
    bonus = params.section("bonus")
    ded = params.section("deduction")
    parts: list[pd.DataFrame] = []

    def add(df: pd.DataFrame, source: str, **cols: Any) -> None:
        frame = pd.DataFrame(
            {
                "uscc": df["uscc"].to_numpy(),
                "source": source,
                "category": cols.get("category", source),
                "kind": cols.get("kind", ""),
                "amount": cols.get("amount", np.nan),
                "points": cols.get("points", np.nan),
                "severity": cols.get("severity", ""),
                "level": cols.get("level", ""),
                "record_id": df["record_id"].to_numpy(),
            }
        )
        parts.append(frame)

    def vocab(df: pd.DataFrame, table: str, column: str, allowed: set[str]) -> None:
        bad = ~df[column].isin(allowed)
        if bad.any():
            problems.append(
                {
                    "table": table,
                    "field": column,
                    "values": sorted(set(df.loc[bad, column]))[:20],
                    "message": f"{table}.{column} 取值须为：{'、'.join(sorted(allowed))}",
                }
            )

    lst = t["listings"]
    vocab(lst, "listings", "stage", set(bonus["listing"]))
    # "年度内…发生…加分事项": a listing earns its points in the year it happened, not every year after
    lst = lst[_in_year(lst["completed_on"], start, end)]
    add(lst, "listing", kind=lst["stage"].to_numpy())

    ht = t["hightech"]
    ht = ht[
        (ht["valid_until"].isna() | (ht["valid_until"] >= start))
        & (ht["valid_from"].isna() | (ht["valid_from"] <= end))
    ]
    add(ht, "hightech", kind="国家高新技术企业")

    hon = t["honours"]
    vocab(hon, "honours", "level", set(bonus["honours"]))
    hon = hon[_in_year(hon["awarded_on"], start, end)]
    add(hon, "honour", kind=hon["level"].to_numpy())

    pen = t["penalties"]
    pen = pen[_in_year(pen["decided_on"], start, end)]
    categories = {"environment", "safety", "fire", "tax", "complaint"}
    vocab(pen, "penalties", "category", categories)
    for cat in sorted(categories):
        sub = pen[pen["category"] == cat]
        if cat == "complaint":
            vocab(sub, "penalties", "kind", set(ded["complaint"]["kinds"]))
            miss = sub["points"].isna() & ~sub["severity"].isin(ded["complaint"]["severe"])
            if miss.any():
                problems.append(
                    {
                        "table": "penalties",
                        "field": "points",
                        "records": list(sub.loc[miss, "record_id"])[:20],
                        "message": "举报曝光须给出协商确定的扣分 points",
                    }
                )
        elif cat == "safety":
            miss = sub["amount"].isna()
            if miss.any():
                problems.append(
                    {
                        "table": "penalties",
                        "field": "amount",
                        "records": list(sub.loc[miss, "record_id"])[:20],
                        "message": "安全生产行政处罚须给出处罚金额 amount（万元）",
                    }
                )
        else:
            vocab(sub, "penalties", "kind", {k for k in ded[cat] if k not in {"kinds", "severe"}})
        add(
            sub,
            "penalty",
            category=cat,
            kind=sub["kind"].to_numpy(),
            amount=sub["amount"].to_numpy(),
            points=sub["points"].to_numpy(),
            severity=sub["severity"].fillna("").to_numpy(),
        )

    acc = t["accidents"]
    acc = acc[_in_year(acc["occurred_on"], start, end)]
    vocab(acc, "accidents", "level", set(params.accident_rank))
    vocab(acc, "accidents", "kind", {"", "environment", "safety", "fire"})
    add(acc, "accident", category=acc["kind"].to_numpy(), kind=acc["kind"].to_numpy(), level=acc["level"].to_numpy())

    rec = pd.concat(parts, ignore_index=True)
    rec["unit_id"] = rec["uscc"].map(unit_of)
    rec = rec[rec["unit_id"].notna()]
    return rec.sort_values(["unit_id", "source", "category", "record_id", "uscc"], kind="mergesort").reset_index(
        drop=True
    )
