"""Benchmark: 工业企业效益综合评价 of a synthetic city of 100,000 firms.

Generates department records with numpy (shared plots, leases, related groups, penalties …), then times
``prepare`` + ``score_prepared`` (the two halves of ``score_year``) and writes
``bench/results/efficiency.json``.

    .venv/bin/python bench/bench_efficiency.py [--firms 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from citybrain.efficiency import EvaluationInputs, load_params, prepare, score_prepared

RESULTS = Path(__file__).resolve().parent / "results" / "efficiency.json"


def synthetic_inputs(n: int, *, year: int = 2022, seed: int = 7) -> EvaluationInputs:
    """A plausible county: 30% 规上, 20% emitting, 5% shared plots, 5% tenants, 3% in related groups."""
    rng = np.random.default_rng(seed)
    uscc = np.char.add("91320481MA", np.char.zfill(np.arange(n).astype(str), 8))
    towns = np.array(
        [
            "溧城街道",
            "昆仑街道",
            "古县街道",
            "埭头镇",
            "上黄镇",
            "戴埠镇",
            "天目湖镇",
            "别桥镇",
            "上兴镇",
            "竹箦镇",
            "南渡镇",
            "社渚镇",
        ]
    )
    registered = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 8400, n), unit="D")
    registration = pd.DataFrame(
        {
            "uscc": uscc,
            "name": np.char.add("溧阳测试企业", np.arange(n).astype(str)),
            "town": towns[rng.integers(0, len(towns), n)],
            "registered_on": registered,
            "is_industrial": rng.random(n) > 0.01,
            "industry": "C" + pd.Series(rng.integers(13, 43, n)).astype(str),
            "is_utility": rng.random(n) < 0.005,
        }
    )
    # land: tenants (5%) hold no plot; 5% of holders share a plot with the next holder
    tenant = rng.random(n) < 0.05
    holders = np.flatnonzero(~tenant)
    plot = np.char.add("P", holders.astype(str)).astype(object)
    share = rng.random(len(holders)) < 0.05
    plot[1:][share[1:]] = plot[:-1][share[1:]]
    area = np.round(rng.lognormal(2.5, 0.9, len(holders)), 2)
    plot_area = pd.Series(area).groupby(plot).transform("first").to_numpy()
    land = pd.DataFrame(
        {
            "uscc": uscc[holders],
            "plot_id": plot,
            "area_mu": plot_area,
            "certified": rng.random(len(holders)) > 0.1,
            "building_area": np.round(rng.uniform(500, 20000, len(holders)), 1),
            "land_supplied_on": pd.Timestamp("1995-01-01")
            + pd.to_timedelta(rng.integers(0, 10000, len(holders)), unit="D"),
            "acquired_by_merger": rng.random(len(holders)) < 0.02,
        }
    )
    lessor = holders[rng.integers(0, len(holders), tenant.sum())]
    leases = pd.DataFrame(
        {
            "lessor_uscc": uscc[lessor],
            "tenant_uscc": uscc[tenant],
            "area_mu": 0.0,
            "whole_plant": rng.random(tenant.sum()) < 0.1,
        }
    )
    # leased area: a small slice of the lessor's smallest plot, so partial leases never exceed a holding
    own = land.groupby("uscc")["area_mu"].min()
    leases["area_mu"] = np.round(own.reindex(leases["lessor_uscc"]).to_numpy() * 0.005, 4)
    paid = np.round(rng.lognormal(4.5, 1.4, n), 2)
    tax = pd.DataFrame(
        {
            "uscc": uscc,
            "tax_paid_in": paid,
            "exempt_offset": np.round(paid * rng.uniform(0, 0.1, n), 2),
            "other_refunds": np.round(paid * rng.uniform(0, 0.05, n), 2),
            "excluded_taxes": np.round(paid * rng.uniform(0, 0.02, n), 2),
            "taxable_sales": np.round(paid * rng.uniform(8, 40, n), 2),
        }
    )
    above = rng.random(n) < 0.3
    stats = pd.DataFrame(
        {
            "uscc": uscc,
            "above_scale": above,
            "energy_tce": np.where(above, np.round(rng.lognormal(6, 1, n), 1), np.nan),
        }
    )
    emit = np.flatnonzero(rng.random(n) < 0.2)
    emissions = pd.DataFrame({"uscc": uscc[emit]})
    for p in ("cod", "ammonia_n", "total_p", "particulates", "so2", "nox", "vocs"):
        emissions[p] = np.round(rng.exponential(0.5, len(emit)), 3)
    grouped = np.flatnonzero(rng.random(n) < 0.03)
    related = pd.DataFrame({"group_id": np.char.add("G", (grouped // 7).astype(str)), "uscc": uscc[grouped]})

    def pick(frac: float) -> np.ndarray:
        return np.flatnonzero(rng.random(n) < frac)

    li = pick(0.01)
    listings = pd.DataFrame(
        {
            "uscc": uscc[li],
            "stage": rng.choice(["shareholding_reform", "neeq", "listed"], len(li)),
            "record_id": np.char.add("L", li.astype(str)),
        }
    )
    ht = pick(0.08)
    hightech = pd.DataFrame({"uscc": uscc[ht], "record_id": np.char.add("GR", ht.astype(str))})
    ho = pick(0.05)
    honours = pd.DataFrame(
        {
            "uscc": uscc[ho],
            "level": rng.choice(["national", "provincial", "municipal"], len(ho)),
            "record_id": np.char.add("H", ho.astype(str)),
            "awarded_on": pd.Timestamp(f"{year}-06-01"),
        }
    )
    pe = pick(0.06)
    cat = rng.choice(["environment", "safety", "fire", "tax"], len(pe))
    kinds = {
        "environment": ["fine", "suspension", "forced_execution"],
        "safety": ["penalised"],
        "fire": ["ordered_to_correct", "penalised"],
        "tax": ["penalised", "referred_to_police"],
    }
    kind = [kinds[c][i % len(kinds[c])] for i, c in enumerate(cat)]
    penalties = pd.DataFrame(
        {
            "uscc": uscc[pe],
            "category": cat,
            "kind": kind,
            "amount": np.round(rng.uniform(0.5, 60, len(pe)), 1),
            "severity": "",
            "record_id": np.char.add("X", pe.astype(str)),
            "decided_on": pd.Timestamp(f"{year}-03-15"),
        }
    )
    ac = pick(0.002)
    accidents = pd.DataFrame(
        {
            "uscc": uscc[ac],
            "level": rng.choice(["一般", "较大"], len(ac)),
            "record_id": np.char.add("AC", ac.astype(str)),
            "kind": rng.choice(["environment", "safety", "fire"], len(ac)),
        }
    )
    return EvaluationInputs(
        year=year,
        registration=registration,
        land=land,
        leases=leases,
        tax=tax,
        stats=stats,
        emissions=emissions,
        related=related,
        listings=listings,
        hightech=hightech,
        honours=honours,
        penalties=penalties,
        accidents=accidents,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    params = load_params("2023")
    inputs = synthetic_inputs(args.firms)
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        prep = prepare(inputs, params)
        t1 = time.perf_counter()
        result = score_prepared(prep, params)
        t2 = time.perf_counter()
        runs.append({"prepare_s": round(t1 - t0, 4), "score_s": round(t2 - t1, 4), "total_s": round(t2 - t0, 4)})
    best = min(runs, key=lambda r: r["total_s"])
    report = {
        "benchmark": "efficiency.prepare+score_year",
        "firms": args.firms,
        "evaluated_firms": len(result.firms),
        "excluded_firms": len(result.excluded),
        "classes": result.class_counts(),
        "best": best,
        "runs": runs,
        "rows_per_s": round(args.firms / best["total_s"]),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"{args.firms} firms: prepare {best['prepare_s']:.3f}s + score {best['score_s']:.3f}s "
        f"= {best['total_s']:.3f}s → {report['rows_per_s']:,} rows/s  classes {report['classes']}"
    )


if __name__ == "__main__":
    main()
