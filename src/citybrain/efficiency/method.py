"""Scoring of the 工业企业效益综合评价 (溧政发〔2023〕6号), vectorized over all units at once.

综合评价得分 = 基础分 + 加分 − 扣分, then the class (A/B/C/D by score, T 暂缓定类) and the 调档 rules.
Each step works on whole columns (numpy/pandas); the per-firm JSON breakdown is assembled by DuckDB
in one query, so 100,000 firms score in well under a second or two.

Order of the class rules (documented in the parameter file):

1. class by score — A ≥ 80, B ≥ 60, C ≥ 40, D below (lower bounds 含);
2. ``adjust-1`` A with 用地面积 < 3 亩 or 年度税收 < 200 万元 → B;
3. ``adjust-3`` A of a 规下 firm with 应税销售收入 ≥ 2000 万元 → B;
4. ``adjust-2`` score < 60 with 年度税收 ≥ 1000 万元 or 应税销售收入 ≥ 10 亿元 → B;
5. ``T-1``/``T-2``/``T-3``/``T-other`` 暂缓定类;
6. ``adjust-5`` 较大以上 环保事件、安全事故、火灾事故 and ``deduct-5-severe`` 严重或恶劣影响 → D
   (after T unless ``overrides.d_overrides_t`` is false, then before it and T wins);
7. ``adjust-4`` discretionary 领导小组 adjustments of C/D units (:class:`Adjustment`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from citybrain.efficiency.params import CLASSES, INDICATOR_NAMES, INDICATORS, Params
from citybrain.efficiency.prepare import EvaluationInputs, Prepared, prepare
from citybrain.errors import Invalid

BONUS_CATEGORIES = ("tax_tier", "listing", "hightech", "honour")
DEDUCTION_CATEGORIES = ("environment", "safety", "fire", "tax", "complaint")


class Adjustment(NamedTuple):
    """A 领导小组 decision under 调档 4: "科技领军人才企业及市政府列为重点培育产业类企业评价为 C、D 类的，
    经领导小组研究，视实际情况可作相应调整。" Applies to the firm's whole related group."""

    uscc: str
    new_class: str
    reason: str


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of one 评价年度.

    ``firms``: one row per evaluated firm, sorted by uscc: uscc, name, town, unit_id, group_id,
    firm_type, area_mu, tax_paid, taxable_sales, base_score, bonus, deduction, total_score,
    score_class, class, override_rule, params_version, breakdown (a JSON text, keys sorted).
    Members of a related group share every scoring column and the breakdown.
    ``excluded``: firms outside the evaluation and why. ``baselines``: the 基准值 used.
    """

    year: int
    params_version: str
    params_fingerprint: str
    baselines: dict[str, float | None]
    firms: pd.DataFrame
    excluded: pd.DataFrame

    def breakdown(self, uscc: str) -> dict[str, Any]:
        """The parsed breakdown of one firm."""
        hit = self.firms.loc[self.firms["uscc"] == uscc, "breakdown"]
        if hit.empty:
            raise Invalid(f"企业未参加本年度评价：{uscc}", details={"field": "uscc"})
        return json.loads(hit.iloc[0])

    def class_counts(self) -> dict[str, int]:
        """Evaluated firms per class (A/B/C/D/T), every class present."""
        counts = self.firms["class"].value_counts()
        return {c: int(counts.get(c, 0)) for c in CLASSES}

    def to_json(self) -> str:
        """The whole result as one JSON document; identical inputs and parameters give identical bytes."""
        con = duckdb.connect()
        try:
            con.register("f", self.firms)
            con.register("x", self.excluded)
            firms = con.execute(
                """SELECT coalesce(string_agg(to_json(struct_pack(
                       breakdown := breakdown::JSON, "class" := "class", group_id := group_id, name := name,
                       override_rule := override_rule, total_score := total_score, town := town,
                       unit_id := unit_id, uscc := uscc)), ',' ORDER BY uscc), '')
                   FROM f"""
            ).fetchone()[0]
            excluded = con.execute(
                """SELECT coalesce(string_agg(to_json(struct_pack(name := name, reason := reason, town := town,
                       uscc := uscc)), ',' ORDER BY uscc), '') FROM x"""
            ).fetchone()[0]
        finally:
            con.close()
        head = json.dumps(
            {
                "baselines": self.baselines,
                "params_fingerprint": self.params_fingerprint,
                "params_version": self.params_version,
                "year": self.year,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return f'{head[:-1]},"excluded":[{excluded}],"firms":[{firms}]}}'


# ------------------------------------------------------------------------------------------------------
# 基础分


def tax_per_mu_score(v: np.ndarray, params: Params) -> np.ndarray:
    """亩均税收 百分制 score: the piecewise formulas of the document, then floor/cap."""
    v = np.asarray(v, dtype="float64")
    segs = params.tax_segments  # highest lower bound first
    conds = [v >= s.lower for s in segs]
    vals = [s.base + (v - s.offset) * s.slope for s in segs]
    score = np.select(conds, vals, default=0.0)
    return np.clip(score, params.tax_floor, params.tax_cap)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _baseline(
    values: np.ndarray, users: np.ndarray, num: np.ndarray, den: np.ndarray, indicator: str, params: Params
) -> float | None:
    cfg = params.section("baseline")
    if indicator in cfg["fixed"]:
        return float(cfg["fixed"][indicator])
    pop = users if cfg["population"] == "users" else np.ones_like(users)
    ok = pop & np.isfinite(values)
    if not ok.any():
        return None
    if cfg["statistic"] == "mean_of_values":
        mean = float(np.mean(values[ok]))
    else:
        total_den = float(np.sum(den[ok]))
        mean = float(np.sum(num[ok]) / total_den) if total_den > 0 else 0.0
    base = round(mean * float(cfg["multiplier"]), params.decimals)
    return base if base > 0 else None


# ------------------------------------------------------------------------------------------------------
# 加分 / 扣分


def _record_points(rec: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points of every record, and the records that force class D."""
    bonus = params.section("bonus")
    ded = params.section("deduction")
    src, cat, kind = rec["source"].to_numpy(), rec["category"].to_numpy(), rec["kind"].to_numpy()
    points = np.full(len(rec), np.nan)
    side = np.full(len(rec), "", dtype=object)
    category = cat.astype(object).copy()

    def put(mask: np.ndarray, value: np.ndarray | float, s: str) -> None:
        points[mask] = value if np.isscalar(value) else np.asarray(value)[mask]
        side[mask] = s

    put(src == "listing", rec["kind"].map(bonus["listing"]).to_numpy(dtype=float), "bonus")
    put(src == "hightech", float(bonus["hightech"]["points"]), "bonus")
    put(src == "honour", rec["kind"].map(bonus["honours"]).to_numpy(dtype=float), "bonus")
    for c in ("environment", "fire", "tax"):
        table = {k: float(v) for k, v in ded[c].items()}
        put((src == "penalty") & (cat == c), rec["kind"].map(table).to_numpy(dtype=float), "deduction")
    safety = (src == "penalty") & (cat == "safety")
    maxes = np.array([b.max for b in params.safety_bands])
    band_pts = np.array([b.points for b in params.safety_bands] + [float(ded["safety"]["above_top"])])
    amount = rec["amount"].to_numpy(dtype=float)
    idx = np.searchsorted(maxes, np.nan_to_num(amount), side="left")  # amount <= max (含)
    put(safety, band_pts[idx], "deduction")
    complaint = (src == "penalty") & (cat == "complaint")
    capped = np.minimum(np.nan_to_num(rec["points"].to_numpy(dtype=float)), float(ded["complaint"]["cap"]))
    put(complaint, capped, "deduction")
    # "发生火灾事故的扣 10 分" — a fire accident reported with the accidents counts as the fire deduction.
    fire_acc = (src == "accident") & (kind == "fire")
    put(fire_acc, float(ded["fire"]["fire_accident"]), "deduction")
    category[fire_acc] = "fire"

    kind_out = np.where(fire_acc, "fire_accident", kind)
    events = pd.DataFrame(
        {
            "unit_id": rec["unit_id"].to_numpy(),
            "uscc": rec["uscc"].to_numpy(),
            "side": side,
            "category": category,
            "item": kind_out,
            "points": points,
            "record_id": rec["record_id"].to_numpy(),
        }
    )
    events = events[events["side"] != ""]

    rank = rec["level"].map(params.accident_rank).to_numpy(dtype=float)
    d_from = params.accident_rank[params.section("overrides")["accident_d_from"]]
    major = (src == "accident") & (np.nan_to_num(rank, nan=-1) >= d_from)
    severe = complaint & rec["severity"].isin(ded["complaint"]["severe"]).to_numpy()
    triggers = pd.DataFrame(
        {
            "unit_id": rec["unit_id"].to_numpy(),
            "rule": np.where(major, "adjust-5", "deduct-5-severe"),
            "record_id": rec["record_id"].to_numpy(),
        }
    )[major | severe]
    return events, triggers


def _best_per_category(events: pd.DataFrame) -> pd.DataFrame:
    """ "就高加分/就高扣分，同一分值事项不重复" — one record per unit, side and category: the highest points,
    ties broken by the smallest record id so the choice is reproducible."""
    ordered = events.sort_values(
        ["unit_id", "side", "category", "points", "record_id", "uscc"],
        ascending=[True, True, True, False, True, True],
        kind="mergesort",
    )
    best = ordered.drop_duplicates(["unit_id", "side", "category"], keep="first")
    return best[best["points"] > 0].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------------
# Entry points


def score_year(
    inputs: EvaluationInputs,
    params: Params,
    *,
    adjustments: Iterable[Adjustment | Sequence[str]] = (),
) -> EvaluationResult:
    """Prepare the records and score the year; deterministic for the same inputs and parameters."""
    return score_prepared(prepare(inputs, params), params, adjustments=adjustments)


def score_prepared(
    prep: Prepared,
    params: Params,
    *,
    adjustments: Iterable[Adjustment | Sequence[str]] = (),
) -> EvaluationResult:
    """Score units built by :func:`citybrain.efficiency.prepare.prepare`."""
    d = params.decimals
    u = prep.units.copy()
    n = len(u)
    area = u["area_mu"].to_numpy(dtype=float)
    basis = params.section("tax")["annual_tax_basis"]
    annual_tax = u["tax_paid" if basis == "paid" else "tax_in_treasury"].to_numpy(dtype=float)
    paid = u["tax_paid"].to_numpy(dtype=float)
    sales = u["taxable_sales"].to_numpy(dtype=float)
    energy = u["energy_tce"].to_numpy(dtype=float)
    emis = u["emissions_t"].to_numpy(dtype=float)
    above = u["above_scale"].to_numpy(dtype=bool)
    emitting = emis > float(params.section("firm_type")["emitting_threshold_t"])
    firm_type = np.where(~above, "below_scale", np.where(emitting, "above_scale_emitting", "above_scale_clean"))
    u["firm_type"] = firm_type

    # -- 基础分 --------------------------------------------------------------------------------------------
    nums = {"tax_per_mu": paid, "sales_per_mu": sales, "tax_per_energy": paid, "tax_per_emission": paid}
    dens = {"tax_per_mu": area, "sales_per_mu": area, "tax_per_energy": energy, "tax_per_emission": emis}
    baselines: dict[str, float | None] = {"tax_per_mu": None}
    base_score = np.zeros(n)
    zero_den = params.section("baseline")["zero_denominator"]
    for ind in INDICATORS:
        # scores use the exact ratio; only what is shown is rounded, so rounding never shifts a band
        value = _div(nums[ind], dens[ind])
        weight = np.select(
            [firm_type == ft for ft in params.weights], [params.weights[ft][ind] for ft in params.weights]
        )
        if ind == "tax_per_mu":
            score100 = tax_per_mu_score(np.nan_to_num(value), params)
        else:
            users = weight > 0
            baseline = _baseline(value, users, nums[ind], dens[ind], ind, params)
            baselines[ind] = baseline
            with np.errstate(invalid="ignore"):
                ratio = np.clip(value / baseline, 0.0, 1.0) if baseline else np.zeros(n)
            missing_score = 100.0 if zero_den == "full" else 0.0
            score100 = np.where(np.isnan(value), missing_score, ratio * 100.0)
            u[f"{ind}_baseline"] = baseline
        score100 = np.where(weight > 0, np.round(score100, d), np.nan)
        weighted = np.round(np.nan_to_num(score100) * weight / 100.0, d)
        base_score += weighted
        u[f"{ind}_value"] = np.round(value, d)
        u[f"{ind}_score"] = score100
        u[f"{ind}_weight"] = weight
        u[f"{ind}_weighted"] = weighted
    u["tax_per_mu_baseline"] = np.nan
    base_score = np.round(base_score, d)

    # -- 加分 / 扣分 ---------------------------------------------------------------------------------------
    events, triggers = _record_points(prep.records, params)
    tiers = params.tax_tiers
    tier_idx = np.searchsorted(np.array([t.min for t in tiers]), annual_tax, side="right") - 1  # min (含)
    has_tier = tier_idx >= 0
    tier_events = pd.DataFrame(
        {
            "unit_id": u["unit_id"].to_numpy()[has_tier],
            "uscc": "",
            "side": "bonus",
            "category": "tax_tier",
            "item": [f">={tiers[i].min:g}" for i in tier_idx[has_tier]],
            "points": np.array([t.points for t in tiers])[tier_idx[has_tier]],
            "record_id": "tax:" + u["unit_id"][has_tier].astype(str),
        }
    )
    best = _best_per_category(pd.concat([events, tier_events], ignore_index=True))
    sums = best.pivot_table(index="unit_id", columns="side", values="points", aggfunc="sum")
    bonus = np.round(sums.get("bonus", pd.Series(dtype=float)).reindex(u["unit_id"]).fillna(0.0).to_numpy(), d)
    deduction = np.round(sums.get("deduction", pd.Series(dtype=float)).reindex(u["unit_id"]).fillna(0.0).to_numpy(), d)
    total = np.round(base_score + bonus - deduction, d)

    # -- 分类与调档 -----------------------------------------------------------------------------------------
    c = params.section("classes")
    score_class = np.select(
        [total >= float(c["A"]), total >= float(c["B"]), total >= float(c["C"])], ["A", "B", "C"], default="D"
    ).astype(object)
    cls = score_class.copy()
    ov = params.section("overrides")
    log: list[pd.DataFrame] = []
    unit_ids = u["unit_id"].to_numpy()

    def apply(mask: np.ndarray, rule: str, to: str | np.ndarray, record_id: Any = None, reason: Any = None) -> None:
        if not mask.any():
            return
        target = np.broadcast_to(np.asarray(to, dtype=object), cls.shape)
        log.append(
            pd.DataFrame(
                {
                    "unit_id": unit_ids[mask],
                    "rule": rule,
                    "from_class": cls[mask],
                    "to_class": target[mask],
                    "record_id": None if record_id is None else np.asarray(record_id, dtype=object)[mask],
                    "reason": None if reason is None else np.asarray(reason, dtype=object)[mask],
                }
            )
        )
        cls[mask] = target[mask]

    apply((cls == "A") & ((area < float(ov["small_land_mu"])) | (annual_tax < float(ov["small_tax"]))), "adjust-1", "B")
    apply((cls == "A") & ~above & (sales >= float(ov["below_scale_sales_no_a"])), "adjust-3", "B")
    apply(
        (total < float(c["B"])) & ((annual_tax >= float(ov["large_tax"])) | (sales >= float(ov["large_sales"]))),
        "adjust-2",
        "B",
    )
    t_rule = u["t_rule"].to_numpy(dtype=object)
    t_reason = u["t_reason"].to_numpy(dtype=object)
    t_mask = pd.notna(t_rule)
    trig = triggers.sort_values(["unit_id", "rule", "record_id"], kind="mergesort")
    trig = trig.drop_duplicates("unit_id", keep="first").set_index("unit_id").reindex(u["unit_id"])
    d_mask = trig["rule"].notna().to_numpy()

    def apply_t() -> None:
        for rule in ("T-1", "T-2", "T-3", "T-other"):
            apply(t_mask & (t_rule == rule), rule, "T", reason=t_reason)

    def apply_d() -> None:
        rules = trig["rule"].to_numpy(dtype=object)
        for rule in ("adjust-5", "deduct-5-severe"):
            apply(d_mask & (rules == rule), rule, "D", record_id=trig["record_id"].to_numpy(dtype=object))

    if ov["d_overrides_t"]:
        apply_t()
        apply_d()
    else:
        apply_d()
        apply_t()

    # -- 调档 4: discretionary adjustments ----------------------------------------------------------------
    adj = _adjustments(adjustments, prep, params, dict(zip(unit_ids, cls, strict=True)))
    if not adj.empty:
        mask = np.isin(unit_ids, adj.index)
        a = adj.reindex(unit_ids)
        apply(mask, "adjust-4", a["new_class"].to_numpy(dtype=object), reason=a["reason"].to_numpy(dtype=object))

    u["base_score"] = base_score
    u["bonus"] = bonus
    u["deduction"] = deduction
    u["total_score"] = total
    u["score_class"] = score_class
    u["class"] = cls
    for col in (
        "area_mu",
        "own_area_mu",
        "leased_in_mu",
        "leased_out_mu",
        "tax_paid",
        "tax_in_treasury",
        "taxable_sales",
        "energy_tce",
        "emissions_t",
    ):
        u[col] = np.round(u[col].to_numpy(dtype=float), d)
    overrides = (
        pd.concat(log, ignore_index=True).reset_index(names="seq")
        if log
        else pd.DataFrame(columns=["seq", "unit_id", "rule", "from_class", "to_class", "record_id", "reason"])
    )
    last_rule = overrides.drop_duplicates("unit_id", keep="last").set_index("unit_id")["rule"]
    u["override_rule"] = last_rule.reindex(u["unit_id"]).to_numpy(dtype=object)

    breakdown = _breakdown(u, best, overrides, prep.firms, params, prep.year)
    firms = prep.firms.merge(
        u[
            [
                "unit_id",
                "firm_type",
                "area_mu",
                "tax_paid",
                "taxable_sales",
                "base_score",
                "bonus",
                "deduction",
                "total_score",
                "score_class",
                "class",
                "override_rule",
            ]
        ],
        on="unit_id",
        how="left",
    ).merge(breakdown, on="unit_id", how="left")
    firms["params_version"] = params.version
    firms = firms.sort_values("uscc", kind="mergesort").reset_index(drop=True)
    return EvaluationResult(
        year=prep.year,
        params_version=params.version,
        params_fingerprint=params.fingerprint,
        baselines=baselines,
        firms=firms,
        excluded=prep.excluded,
    )


def _adjustments(
    items: Iterable[Adjustment | Sequence[str]], prep: Prepared, params: Params, class_of_unit: dict[str, str]
) -> pd.DataFrame:
    rows = [Adjustment(*item) for item in items]
    if not rows:
        return pd.DataFrame(columns=["new_class", "reason"])
    unit_of = dict(zip(prep.firms["uscc"], prep.firms["unit_id"], strict=True))
    allowed = set(params.section("overrides")["adjustable_from"])
    problems: list[dict[str, Any]] = []
    by_unit: dict[str, Adjustment] = {}
    for a in rows:
        unit = unit_of.get(a.uscc)
        if unit is None:
            problems.append({"field": "uscc", "uscc": a.uscc, "message": "调档企业未参加本年度评价"})
        elif a.new_class not in CLASSES:
            problems.append({"field": "new_class", "uscc": a.uscc, "message": "调整后的类别须为 A/B/C/D/T"})
        elif not str(a.reason).strip():
            problems.append({"field": "reason", "uscc": a.uscc, "message": "调档须写明领导小组研究意见"})
        elif class_of_unit[unit] not in allowed:
            problems.append(
                {
                    "field": "uscc",
                    "uscc": a.uscc,
                    "class": class_of_unit[unit],
                    "message": f"只有评价为 {'、'.join(sorted(allowed))} 类的企业可调档",
                }
            )
        elif unit in by_unit and by_unit[unit].new_class != a.new_class:
            problems.append({"field": "uscc", "uscc": a.uscc, "message": "同一关联企业组的调档结论相互矛盾"})
        else:
            by_unit[unit] = a
    if problems:
        raise Invalid("调档不合法", details=problems)
    return pd.DataFrame(
        {"new_class": [a.new_class for a in by_unit.values()], "reason": [a.reason for a in by_unit.values()]},
        index=list(by_unit),
    )


def _breakdown(
    u: pd.DataFrame, best: pd.DataFrame, overrides: pd.DataFrame, firms: pd.DataFrame, params: Params, year: int
) -> pd.DataFrame:
    """One JSON text per unit, keys in sorted order, built in a single DuckDB query."""
    units = u
    members = firms[["unit_id", "uscc"]]
    best = best.assign(points=best["points"].astype(float), uscc=best["uscc"].replace("", None))
    overrides = overrides.astype({"seq": "int64"})
    ind_struct = ",".join(
        f"""struct_pack(baseline := {ind}_baseline::DOUBLE, code := '{ind}', name := '{INDICATOR_NAMES[ind]}',
            score := {ind}_score::DOUBLE, value := {ind}_value::DOUBLE, weight := {ind}_weight::DOUBLE,
            weighted := {ind}_weighted::DOUBLE)"""
        for ind in INDICATORS
    )
    con = duckdb.connect()
    try:
        # as Arrow tables: DuckDB scans them natively, where pandas' string columns go value by value
        for name, frame in (("units", units), ("events", best), ("ov", overrides), ("members", members)):
            con.register(name, pa.Table.from_pandas(frame, preserve_index=False))
        sql = f"""
        WITH ev AS (
            SELECT unit_id,
                list(struct_pack(category := category, item := item, points := points, record_id := record_id,
                                 uscc := uscc) ORDER BY category) FILTER (WHERE side = 'bonus') AS bonuses,
                list(struct_pack(category := category, item := item, points := points, record_id := record_id,
                                 uscc := uscc) ORDER BY category) FILTER (WHERE side = 'deduction') AS deductions
            FROM events GROUP BY unit_id
        ), o AS (
            SELECT unit_id, list(struct_pack("from" := from_class, reason := reason::VARCHAR,
                                             record_id := record_id::VARCHAR, rule := rule, "to" := to_class)
                                 ORDER BY seq) AS overrides
            FROM ov GROUP BY unit_id
        ), m AS (
            SELECT unit_id, list(uscc ORDER BY uscc) AS members FROM members
            WHERE unit_id LIKE 'group:%' GROUP BY unit_id
        )
        SELECT units.unit_id, to_json(struct_pack(
            area := struct_pack(leased_in_mu := leased_in_mu, leased_out_mu := leased_out_mu,
                                own_mu := own_area_mu, total_mu := area_mu),
            base_score := base_score,
            bonus_total := bonus,
            bonuses := coalesce(ev.bonuses, []),
            "class" := "class",
            deduction_total := deduction,
            deductions := coalesce(ev.deductions, []),
            firm_type := firm_type,
            indicators := list_filter([{ind_struct}], lambda x: x.weight > 0),
            inputs := struct_pack(above_scale := above_scale, emissions_t := emissions_t,
                                  energy_tce := energy_tce, tax_in_treasury := tax_in_treasury,
                                  tax_paid := tax_paid, taxable_sales := taxable_sales),
            members := coalesce(m.members, [units.unit_id]),
            overrides := coalesce(o.overrides, []),
            params_version := $version,
            score_class := score_class,
            total_score := total_score,
            unit_id := units.unit_id,
            year := $year::INTEGER
        )) AS breakdown
        FROM units LEFT JOIN ev USING (unit_id) LEFT JOIN o USING (unit_id) LEFT JOIN m USING (unit_id)
        """
        rel = con.sql(sql, params={"version": params.version, "year": year})
        # through Arrow: .df() builds a Python str per JSON document, seconds at 100,000 units
        fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
        out = fetch().to_pandas()
    finally:
        con.close()
    return out
