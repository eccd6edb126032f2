"""A realistic demo population of 溧阳 industrial firms and the department records about them.

Deterministic per seed: the population (codes, names, towns, plots, groups, leases, registration dates)
comes from the seed alone, the yearly figures (tax, sales, energy, penalties) from the seed and the year,
so two years of the same seed are the same firms with moved figures — which is what year-on-year
comparisons need. Everything is vectorised with numpy so the 100,000-firm benchmark builds in seconds.

Shape, after the published 溧阳 statistics in spirit (not in figures): most firms are small 规下 workshops
on a few 亩 or in leased 标准厂房; about a fifth are 规上; a long tail of large taxpayers pays most of the
tax. A few percent belong to related groups (同一实际控制人), share a plot (一地多厂), lease out part of their
plant or the whole plant, are new (T candidates), or have penalty and accident records.

Every department table but 工商登记 also carries planted defects — codes with a wrong check character and
valid codes of firms that are not registered — so the 数据核对 exception lists have something to report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from citybrain.demo.entities import usccs
from citybrain.efficiency.catalog import BY_KEY

#: 溧阳 towns and 街道 (区划代码, name, share of firms)
TOWNS: tuple[tuple[str, str, float], ...] = (
    ("320481001", "昆仑街道", 0.17),
    ("320481002", "溧城街道", 0.16),
    ("320481003", "古县街道", 0.08),
    ("320481101", "埭头镇", 0.09),
    ("320481102", "上黄镇", 0.07),
    ("320481103", "戴埠镇", 0.08),
    ("320481106", "天目湖镇", 0.07),
    ("320481107", "别桥镇", 0.10),
    ("320481109", "上兴镇", 0.09),
    ("320481111", "竹箦镇", 0.09),
)
_INDUSTRIES = ("C13", "C17", "C26", "C29", "C30", "C33", "C34", "C35", "C36", "C38", "C39", "C40")
_NAME_HEAD = "溧天金华新永宏泰丰盛恒源鑫达康利嘉瑞昌隆信通卓越锦辉"
_NAME_TAIL = ("机械", "电气", "新材料", "科技", "金属制品", "精密", "化工", "纺织", "电子", "动力", "环保设备", "食品")
_SUFFIX = ("有限公司", "有限公司", "有限公司", "股份有限公司")


@dataclass(frozen=True)
class DemoYear:
    """One 评价年度's department records, by catalog resource key, plus what was planted."""

    year: int
    tables: dict[str, pa.Table]
    planted: dict[str, dict[str, int]]


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    a = np.array(list(_NAME_HEAD))
    first = a[rng.integers(0, len(a), n)]
    second = a[rng.integers(0, len(a), n)]
    tail = np.array(_NAME_TAIL)[rng.integers(0, len(_NAME_TAIL), n)]
    suffix = np.array(_SUFFIX)[rng.integers(0, len(_SUFFIX), n)]
    serial = np.char.mod("%04d", np.arange(n))
    # a serial keeps names unique, as the registry requires
    return np.char.add(np.char.add(np.char.add(np.char.add("溧阳", first), second), tail), np.char.add(serial, suffix))


def _dates(days: np.ndarray) -> pd.Series:
    return pd.to_datetime(days, unit="D", origin="unix")


def _corrupt(
    rng: np.random.Generator, codes: np.ndarray, rate: float, foreign: np.ndarray, eligible: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """Plant defects: a share of codes gets a wrong check character, an equal share a foreign valid code."""
    out = codes.astype(object).copy()
    pool = np.flatnonzero(eligible)
    k = round(len(out) * rate)
    if len(pool) == 0 or k == 0:
        return out, 0, 0
    idx = rng.choice(pool, size=min(2 * k, len(pool)), replace=False)
    bad, alien = idx[:k], idx[k:]
    for i in bad:
        code = out[i]
        last = code[-1]
        out[i] = code[:-1] + ("1" if last != "1" else "2")
    out[alien] = foreign[: len(alien)]
    return out, len(bad), len(alien)


def generate(seed: int | str = 2024, year: int = 2023, n_firms: int = 3000, *, defects: float = 0.003) -> DemoYear:
    """Department records for 评价年度 ``year`` of a population of about ``n_firms`` firms."""
    base = np.random.default_rng(abs(hash_seed(seed)))
    yr = np.random.default_rng(abs(hash_seed(f"{seed}:{year}")))
    n = int(n_firms)
    ref_end = (dt.date(year, 12, 31) - dt.date(1970, 1, 1)).days

    # -- population (seed only) ------------------------------------------------------------------
    towns = np.array([t[0] for t in TOWNS])
    town_names = np.array([t[1] for t in TOWNS])
    tw = np.array([t[2] for t in TOWNS])
    town_idx = base.choice(len(TOWNS), n, p=tw / tw.sum())
    codes = usccs(base, np.full(n, "320481"))
    names = _names(base, n)
    # registration: most firms old, a tail of new firms up to 2025
    start = (dt.date(1995, 1, 1) - dt.date(1970, 1, 1)).days
    end = (dt.date(2025, 6, 30) - dt.date(1970, 1, 1)).days
    reg_day = (end - (base.beta(1.2, 3.0, n) * (end - start))).astype(int)
    industry = np.array(_INDUSTRIES)[base.integers(0, len(_INDUSTRIES), n)]
    utility = base.random(n) < 0.008
    industry = np.where(utility, "D44", industry)
    non_industrial = base.random(n) < 0.015
    size = base.pareto(1.6, n) + 1.0  # scale of the firm: most near 1, a long tail
    lease_only = (base.random(n) < 0.22) & (size < 4)
    new_lease = reg_day > ref_end - 700
    lease_only |= new_lease & (base.random(n) < 0.6)
    # plots: area grows with size
    n_plots = np.where(lease_only, 0, 1 + (base.random(n) < 0.15) + (base.random(n) < 0.04))
    plot_owner = np.repeat(np.arange(n), n_plots)
    m = len(plot_owner)
    plot_area = np.round(np.clip(base.lognormal(np.log(7.0), 0.7, m) * size[plot_owner] ** 0.6, 0.6, 900.0), 2)
    supply_day = np.maximum(reg_day[plot_owner] + base.integers(0, 900, m), reg_day[plot_owner])
    merger = base.random(m) < 0.03
    attached = base.random(m) < 0.01
    certified = base.random(m) > 0.08
    plot_ids = np.char.add("320481-", np.char.mod("%07d", np.arange(m)))
    building = np.round(plot_area * 666.7 * base.uniform(0.4, 0.9, m), 0)
    # 一地多厂: a share of plots also used by one or two other (lease-only-sized) firms
    shared_plot = base.random(m) < 0.04
    extra_users = np.flatnonzero(shared_plot)
    co_users = base.integers(0, n, len(extra_users))
    ok = (co_users != plot_owner[extra_users]) & (n_plots[co_users] > 0)
    extra_users, co_users = extra_users[ok], co_users[ok]

    land = pd.DataFrame(
        {
            "uscc": np.concatenate([codes[plot_owner], codes[co_users]]),
            "plot_id": np.concatenate([plot_ids, plot_ids[extra_users]]),
            "area_mu": np.concatenate([plot_area, plot_area[extra_users]]),
            "certified": np.concatenate([certified, certified[extra_users]]),
            "building_area": np.concatenate(
                [building, np.round(building[extra_users] * base.uniform(0.2, 0.6, len(extra_users)))]
            ),
            "land_supplied_on": _dates(np.concatenate([supply_day, supply_day[extra_users]])),
            "acquired_by_merger": np.concatenate([merger, merger[extra_users]]),
            "attached": np.concatenate([attached, attached[extra_users]]),
        }
    )
    land = land.drop_duplicates(["uscc", "plot_id"])
    land = land[land["land_supplied_on"] <= pd.Timestamp(dt.date(year, 12, 31))]

    # leases: lease-only firms rent from an owning firm (part of its plant) or a 标准厂房 platform
    own_area = np.bincount(plot_owner, weights=plot_area * ~attached * (supply_day <= ref_end), minlength=n)
    tenants = np.flatnonzero(lease_only)
    lease_area = np.round(np.clip(base.lognormal(np.log(2.5), 0.6, len(tenants)), 0.3, 30.0), 2)
    owners = np.flatnonzero((n_plots == 1) & (own_area > 8))
    from_firm = base.random(len(tenants)) < 0.4
    lessor = np.empty(len(tenants), dtype=object)
    pick = base.choice(owners, size=int(from_firm.sum()), replace=len(owners) < from_firm.sum()) if len(owners) else []
    lessor[from_firm] = codes[pick] if len(owners) else None
    platforms = usccs(base, np.full(40, "320481"), prefix="91")
    lessor[~from_firm] = platforms[base.integers(0, 40, int((~from_firm).sum()))]
    # 整厂出租: a few owning firms lease their whole plant to one firm
    whole_lessors = base.choice(owners, size=max(1, n // 400), replace=False) if len(owners) > n // 400 else owners[:0]
    whole_lessors = np.setdiff1d(whole_lessors, pick) if len(owners) else whole_lessors
    whole_tenants = base.choice(tenants, size=len(whole_lessors), replace=False) if len(tenants) else tenants[:0]
    leases = pd.DataFrame(
        {
            "lessor_uscc": np.concatenate([lessor, codes[whole_lessors]]).astype(str),
            "tenant_uscc": np.concatenate([codes[tenants], codes[whole_tenants]]),
            "area_mu": np.concatenate([lease_area, np.round(own_area[whole_lessors], 2)]),
            "whole_plant": np.concatenate([np.zeros(len(tenants), bool), np.ones(len(whole_lessors), bool)]),
        }
    )
    leases = leases[leases["lessor_uscc"] != leases["tenant_uscc"]]
    leases = leases.groupby(["lessor_uscc", "tenant_uscc"], as_index=False).agg(
        area_mu=("area_mu", "sum"), whole_plant=("whole_plant", "max")
    )
    # a firm never leases out more than a fifth of its plots (shared plots shrink its share, so keep a margin)
    holding = pd.Series(own_area, index=codes)
    partial = ~leases["whole_plant"]
    out_total = leases[partial].groupby("lessor_uscc")["area_mu"].transform("sum")
    cap = leases.loc[partial, "lessor_uscc"].map(holding).fillna(np.inf) * 0.2
    factor = np.minimum(1.0, cap / out_total)
    leases.loc[partial, "area_mu"] = np.maximum(np.floor(leases.loc[partial, "area_mu"] * factor * 100) / 100, 0.01)

    # related groups: 4% of firms, groups of 2-4
    members = base.choice(n, size=int(n * 0.04), replace=False)
    group_sizes = base.integers(2, 5, len(members))
    group_of = np.repeat(np.arange(len(members)), group_sizes)[: len(members)]
    related = pd.DataFrame({"group_id": np.char.add("LY-G", np.char.mod("%05d", group_of)), "uscc": codes[members]})
    related = related[related.groupby("group_id")["uscc"].transform("size") > 1]

    registered = reg_day <= ref_end
    registration = pd.DataFrame(
        {
            "uscc": codes,
            "name": names,
            "town": town_names[town_idx],
            "town_code": towns[town_idx],
            "registered_on": _dates(reg_day),
            "is_industrial": ~non_industrial,
            "industry": industry,
            "is_utility": utility,
        }
    )[registered]

    # -- the year's figures (seed and year) ----------------------------------------------------------
    area_total = own_area + np.bincount(tenants, weights=lease_area, minlength=n)
    area_total = np.maximum(area_total, 0.5)
    growth = yr.lognormal(0.03, 0.25, n)
    tax_per_mu = base.lognormal(np.log(8.0), 0.85, n) * size**0.5 * growth
    tax = np.round(area_total * tax_per_mu, 2)
    # a handful of very large taxpayers pay most of the tax
    tax = np.where(size > 12, tax * 4, tax)
    refunds = np.round(np.where(yr.random(n) < 0.1, tax * yr.uniform(0.0, 0.2, n), 0.0), 2)
    exempt = np.round(np.where(yr.random(n) < 0.08, tax * yr.uniform(0.0, 0.1, n), 0.0), 2)
    excluded = np.round(np.where(yr.random(n) < 0.05, tax * yr.uniform(0.0, 0.05, n), 0.0), 2)
    sales = np.round(tax / yr.uniform(0.025, 0.07, n), 2)
    has_tax = yr.random(n) > 0.02
    tax_df = pd.DataFrame(
        {
            "uscc": codes,
            "tax_paid_in": tax,
            "exempt_offset": exempt,
            "other_refunds": refunds,
            "excluded_taxes": excluded,
            "taxable_sales": sales,
        }
    )[registered & has_tax]

    above = (sales >= 2000) & (yr.random(n) > 0.05)
    energy = np.round(sales * yr.uniform(0.005, 0.12, n), 1)
    energy = np.where(yr.random(n) < 0.02, np.nan, energy)  # a few 规上 with no energy figure
    stats = pd.DataFrame({"uscc": codes, "above_scale": above, "energy_tce": energy})[registered & above]

    emitting = above & (yr.random(n) < 0.45) | (~above & (yr.random(n) < 0.05))
    em = {
        p: np.round(yr.gamma(1.2, s, n), 3)
        for p, s in zip(
            ("cod", "ammonia_n", "total_p", "particulates", "so2", "nox", "vocs"),
            (3.0, 0.3, 0.05, 2.0, 1.5, 2.5, 1.8),
            strict=True,
        )
    }
    emissions = pd.DataFrame({"uscc": codes, **em})[registered & emitting]

    # -- records of the year ---------------------------------------------------------------------------
    year_start = (dt.date(year, 1, 1) - dt.date(1970, 1, 1)).days

    def in_year(k: int) -> pd.Series:
        return _dates(year_start + yr.integers(0, 365, k))

    def pick_firms(p: float, weight: np.ndarray | None = None) -> np.ndarray:
        cand = np.flatnonzero(registered)
        k = round(len(cand) * p)
        if k == 0:
            return cand[:0]
        w = None if weight is None else weight[cand] / weight[cand].sum()
        return np.sort(yr.choice(cand, size=k, replace=False, p=w))

    def rec_ids(prefix: str, k: int) -> np.ndarray:
        return np.char.add(f"{prefix}{year}-", np.char.mod("%05d", np.arange(k)))

    li = pick_firms(0.012, size)
    listings = pd.DataFrame(
        {
            "uscc": codes[li],
            "stage": np.array(["shareholding_reform", "neeq", "listed"])[yr.choice(3, len(li), p=[0.6, 0.25, 0.15])],
            "record_id": rec_ids("JR", len(li)),
            "completed_on": in_year(len(li)),
        }
    )
    ht = pick_firms(0.09, size)
    valid_from = year_start - yr.integers(0, 3 * 365, len(ht))
    hightech = pd.DataFrame(
        {
            "uscc": codes[ht],
            "record_id": np.char.add(
                "GR", np.char.mod("%010d", yr.integers(0, 10**9, len(ht)) * 10 + np.arange(len(ht)) % 10)
            ),
            "valid_from": _dates(valid_from),
            "valid_until": _dates(valid_from + 3 * 365),
        }
    )
    hightech = hightech.drop_duplicates("record_id")
    ho = pick_firms(0.03, size)
    honours = pd.DataFrame(
        {
            "uscc": codes[ho],
            "level": np.array(["national", "provincial", "municipal"])[yr.choice(3, len(ho), p=[0.1, 0.3, 0.6])],
            "record_id": rec_ids("RY", len(ho)),
            "awarded_on": in_year(len(ho)),
        }
    )
    env = pick_firms(0.035, emitting.astype(float) * 5 + 1)
    env_kinds = np.array(["fine", "suspension", "seizure", "daily_penalty", "detention", "forced_execution"])
    pen_env = pd.DataFrame(
        {
            "uscc": codes[env],
            "kind": env_kinds[yr.choice(6, len(env), p=[0.7, 0.1, 0.08, 0.04, 0.03, 0.05])],
            "record_id": np.char.add(
                "溧环罚〔", np.char.add(str(year), np.char.add("〕", np.char.mod("%04d号", np.arange(len(env)))))
            ),
            "decided_on": in_year(len(env)),
        }
    )
    sa_ = pick_firms(0.025)
    pen_safety = pd.DataFrame(
        {
            "uscc": codes[sa_],
            "kind": "penalised",
            "amount": np.round(yr.choice([1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 50.0], len(sa_)), 1),
            "record_id": np.char.add(
                "溧应急罚〔", np.char.add(str(year), np.char.add("〕", np.char.mod("%04d号", np.arange(len(sa_)))))
            ),
            "decided_on": in_year(len(sa_)),
        }
    )
    fi = pick_firms(0.02)
    pen_fire = pd.DataFrame(
        {
            "uscc": codes[fi],
            "kind": np.array(["ordered_to_correct", "penalised"])[yr.choice(2, len(fi), p=[0.7, 0.3])],
            "record_id": np.char.add(
                "溧消行罚〔", np.char.add(str(year), np.char.add("〕", np.char.mod("%04d号", np.arange(len(fi)))))
            ),
            "decided_on": in_year(len(fi)),
        }
    )
    tx = pick_firms(0.006)
    pen_tax = pd.DataFrame(
        {
            "uscc": codes[tx],
            "kind": np.array(["penalised", "referred_to_police"])[yr.choice(2, len(tx), p=[0.85, 0.15])],
            "record_id": np.char.add(
                "溧税稽罚〔", np.char.add(str(year), np.char.add("〕", np.char.mod("%04d号", np.arange(len(tx)))))
            ),
            "decided_on": in_year(len(tx)),
        }
    )
    co = pick_firms(0.004)
    severe = yr.random(len(co)) < 0.15
    complaints = pd.DataFrame(
        {
            "uscc": codes[co],
            "kind": np.array(["complaint", "media", "petition"])[yr.integers(0, 3, len(co))],
            "points": np.where(severe, np.nan, yr.choice([2.0, 3.0, 5.0, 8.0, 10.0], len(co))),
            "severity": np.where(severe, "severe", ""),
            "record_id": rec_ids("JB", len(co)),
            "decided_on": in_year(len(co)),
        }
    )

    def accidents(p: float, prefix: str) -> pd.DataFrame:
        ids = pick_firms(p)
        return pd.DataFrame(
            {
                "uscc": codes[ids],
                "level": np.array(["一般", "较大", "重大"])[yr.choice(3, len(ids), p=[0.85, 0.13, 0.02])],
                "record_id": rec_ids(prefix, len(ids)),
                "occurred_on": in_year(len(ids)),
            }
        )

    acc_env, acc_safety, acc_fire = accidents(0.002, "HJSJ"), accidents(0.003, "AQSG"), accidents(0.003, "HZSG")

    # 重点培育名录库: most new firms and a share of established ones
    new_firm = (reg_day > ref_end - 3 * 365) & registered
    in_cat = (new_firm & (base.random(n) < 0.3)) | (registered & (base.random(n) < 0.05))
    catalogue = pd.DataFrame(
        {
            "uscc": codes[in_cat],
            "catalogue": np.where(
                base.random(int(in_cat.sum())) < 0.6, "市工业企业重点培育名录库", "产业项目全流程服务管理库"
            ),
        }
    )
    de = pick_firms(0.002)
    deferrals = pd.DataFrame(
        {
            "uscc": codes[de],
            "reason": np.array(["企业技改停产", "拆迁安置过渡期", "重大项目投产初期"])[yr.integers(0, 3, len(de))],
        }
    )
    power_firms = np.flatnonzero(registered & ~lease_only)
    power = pd.DataFrame(
        {
            "uscc": codes[power_firms],
            "account_no": np.char.add("32048", np.char.mod("%08d", power_firms)),
            # 规上 firms draw about 0.8 万kWh per tce; the rest scale with their floor space
            "kwh_10k": np.round(
                np.where(above[power_firms], energy[power_firms] * 0.8, area_total[power_firms] * 3.0), 1
            ),
        }
    )
    power["kwh_10k"] = power["kwh_10k"].fillna(pd.Series(np.round(area_total[power_firms] * 3.0, 1)))

    frames: dict[str, pd.DataFrame] = {
        "ly_eff_registration": registration,
        "ly_eff_land": land,
        "ly_eff_leases": leases,
        "ly_eff_related": related,
        "ly_eff_tax": tax_df,
        "ly_eff_stats": stats,
        "ly_eff_emissions": emissions,
        "ly_eff_listings": listings,
        "ly_eff_hightech": hightech,
        "ly_eff_honours": honours,
        "ly_eff_penalties_env": pen_env,
        "ly_eff_penalties_safety": pen_safety,
        "ly_eff_penalties_fire": pen_fire,
        "ly_eff_penalties_tax": pen_tax,
        "ly_eff_complaints": complaints,
        "ly_eff_accidents_env": acc_env,
        "ly_eff_accidents_safety": acc_safety,
        "ly_eff_accidents_fire": acc_fire,
        "ly_eff_catalogue": catalogue,
        "ly_eff_deferrals": deferrals,
        "ly_eff_power": power,
    }
    # -- planted defects: tables whose codes join nothing in 工商登记 -------------------------------------
    foreign = usccs(np.random.default_rng(abs(hash_seed(f"{seed}:{year}:foreign"))), np.full(max(8, n // 50), "320481"))
    planted: dict[str, dict[str, int]] = {}
    if defects > 0:
        for key in ("ly_eff_tax", "ly_eff_stats", "ly_eff_emissions", "ly_eff_land", "ly_eff_power"):
            df = frames[key].reset_index(drop=True)
            # a lessor's plots stay clean: losing them would make its lease-out exceed its holding, which
            # the engine refuses outright instead of reporting
            eligible = ~df["uscc"].isin(set(leases["lessor_uscc"])).to_numpy()
            col, bad, alien = _corrupt(yr, df["uscc"].to_numpy(), defects, foreign, eligible)
            frames[key] = df.assign(uscc=col)
            planted[key] = {"invalid": bad, "unmatched": alien}
    tables = {key: _arrow(df.reset_index(drop=True), key) for key, df in frames.items()}
    return DemoYear(year=year, tables=tables, planted=planted)


def _arrow(df: pd.DataFrame, key: str) -> pa.Table:
    res = BY_KEY[key]
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype(str)
    table = pa.Table.from_pandas(df, preserve_index=False)
    # dates as date32: the catalog types them as 日期, and Parquet keeps them compact
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.date32()))
    return table.replace_schema_metadata({"resource": res.key})


def hash_seed(seed: int | str) -> int:
    """A stable 63-bit integer for any seed (Python's ``hash`` of a str changes per process)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(str(seed).encode("utf-8")).digest()[:8], "big") >> 1
