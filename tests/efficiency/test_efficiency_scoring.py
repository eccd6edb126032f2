"""Hand-computed scores of 溧政发〔2023〕6号: 亩均税收 bands, firm types, 基准值, classes."""

from __future__ import annotations

import numpy as np
import pytest
from efficiency_helpers import City, row

from citybrain.efficiency import score_year, tax_per_mu_score


@pytest.mark.parametrize(
    ("v", "expected"),
    [
        (0.0, 0.0),  # v < 5 → 8v
        (2.5, 20.0),
        (4.9999, 39.9992),
        (5.0, 40.0),  # 5（含）→ 40 + (v−5)×4
        (7.5, 50.0),
        (9.9999, 59.9996),
        (10.0, 60.0),  # 10（含）→ 60 + (v−10)×2
        (15.0, 70.0),
        (19.9999, 79.9998),
        (20.0, 80.0),  # 20（含）→ 4v
        (22.0, 88.0),
        (25.0, 100.0),
        (30.0, 100.0),  # capped at 100
        (-3.0, 0.0),  # refunds above payments never score below 0
    ],
)
def test_tax_per_mu_bands(params, v, expected):
    assert tax_per_mu_score(np.array([v]), params)[0] == pytest.approx(expected, abs=1e-9)


def test_tax_per_mu_continuous_at_band_edges(params):
    for edge in (5.0, 10.0, 20.0):
        below, at = tax_per_mu_score(np.array([edge - 1e-9, edge]), params)
        assert at - below == pytest.approx(0.0, abs=1e-6)


def test_below_scale_scored_on_tax_per_mu_only(params, city: City):
    # 规下: 亩均税收 100 分. 30 万元 / 4 亩 = 7.5 → 40 + 2.5×4 = 50
    city.firm("W", area=4.0, tax=30.0, sales=900.0)
    r = row(score_year(city.inputs(), params), "W")
    assert r["firm_type"] == "below_scale"
    assert r["base_score"] == 50.0
    assert r["class"] == "C"
    b = score_year(city.inputs(), params).breakdown("W")
    assert [i["code"] for i in b["indicators"]] == ["tax_per_mu"]
    assert b["indicators"][0] == {
        "baseline": None,
        "code": "tax_per_mu",
        "name": "亩均税收",
        "score": 50.0,
        "value": 7.5,
        "weight": 100.0,
        "weighted": 50.0,
    }


def _three_above_scale(city: City) -> City:
    # X: v=20 → 80×0.8 = 64; Y: v=10 → 60×0.8 = 48; Z (emitting): v=30 → 100×0.7 = 70
    city.firm("X", area=10.0, tax=200.0, sales=5000.0, above=True, energy=100.0)
    city.firm("Y", area=10.0, tax=100.0, sales=1000.0, above=True, energy=100.0)
    city.firm("Z", area=10.0, tax=300.0, sales=3000.0, above=True, energy=100.0, emissions=10.0)
    city.firm("W", area=4.0, tax=30.0, sales=9000.0)  # 规下: not in the 基准值 averages
    return city


def test_above_scale_with_and_without_emissions(params, city: City):
    result = score_year(_three_above_scale(city).inputs(), params)
    # 基准值 = 2 × mean over the 规上 units that use the indicator
    # 亩均应税销售收入 (500, 100, 300) → 600; 单位能耗税收 (2, 1, 3) → 4; 单位污染物排放税收 (Z only, 30) → 60
    assert result.baselines == {
        "tax_per_mu": None,
        "sales_per_mu": 600.0,
        "tax_per_energy": 4.0,
        "tax_per_emission": 60.0,
    }
    x, y, z = (row(result, u) for u in "XYZ")
    assert x["firm_type"] == "above_scale_clean" and z["firm_type"] == "above_scale_emitting"
    # X: 64 + 500/600×10 (8.3333) + 2/4×10 (5) = 77.3333
    assert x["total_score"] == 77.3333 and x["class"] == "B"
    # Y: 48 + 100/600×10 (1.6667) + 1/4×10 (2.5) = 52.1667
    assert y["total_score"] == 52.1667 and y["class"] == "C"
    # Z: 70 + 300/600×10 (5) + 3/4×10 (7.5) + 30/60×10 (5) = 87.5
    assert z["total_score"] == 87.5 and z["class"] == "A"
    ind = {i["code"]: i for i in result.breakdown("Z")["indicators"]}
    assert ind["tax_per_emission"] == {
        "baseline": 60.0,
        "code": "tax_per_emission",
        "name": "单位污染物排放税收",
        "score": 50.0,
        "value": 30.0,
        "weight": 10.0,
        "weighted": 5.0,
    }
    assert ind["tax_per_mu"]["weight"] == 70.0
    assert "tax_per_emission" not in {i["code"] for i in result.breakdown("X")["indicators"]}


def test_indicator_score_capped_at_its_weight(params, city: City):
    city.firm("X", area=10.0, tax=200.0, sales=9000.0, above=True, energy=100.0)
    city.firm("Y", area=10.0, tax=200.0, sales=1000.0, above=True, energy=100.0)
    result = score_year(city.inputs(), params.replace({"baseline": {"fixed": {"sales_per_mu": 300.0}}}))
    ind = {i["code"]: i for i in result.breakdown("X")["indicators"]}
    assert ind["sales_per_mu"]["baseline"] == 300.0
    assert ind["sales_per_mu"]["score"] == 100.0 and ind["sales_per_mu"]["weighted"] == 10.0
    assert result.baselines["sales_per_mu"] == 300.0


def test_baseline_population_all(params, city: City):
    # "all": the 规下 W (sales 9000/4 = 2250 万元/亩) joins the average: (500+100+300+2250)/4 × 2 = 1575
    p = params.replace({"baseline": {"population": "all"}})
    result = score_year(_three_above_scale(city).inputs(), p)
    assert result.baselines["sales_per_mu"] == 1575.0


def test_missing_energy_scores_zero_and_stays_out_of_baseline(params, city: City):
    city.firm("X", area=10.0, tax=200.0, sales=5000.0, above=True, energy=100.0)
    city.firm("N", area=10.0, tax=200.0, sales=5000.0, above=True, energy=None)
    result = score_year(city.inputs(), params)
    assert result.baselines["tax_per_energy"] == 4.0  # X alone: 2 × 2
    ind = {i["code"]: i for i in result.breakdown("N")["indicators"]}
    assert ind["tax_per_energy"]["value"] is None
    assert ind["tax_per_energy"]["score"] == 0.0
    full = score_year(city.inputs(), params.replace({"baseline": {"zero_denominator": "full"}}))
    assert {i["code"]: i for i in full.breakdown("N")["indicators"]}["tax_per_energy"]["weighted"] == 10.0


CLASS_EDGES = [
    (200.0, 80.0, "A"),  # 80（含）以上 → A
    (199.999, 79.9998, "B"),  # v = 19.9999 → 60 + 9.9999×2
    (100.0, 60.0, "B"),  # 60（含）～80 → B
    (99.999, 59.9996, "C"),  # v = 9.9999 → 40 + 4.9999×4
    (50.0, 40.0, "C"),  # 40（含）～60 → C
    (49.999, 39.9992, "D"),  # 40 以下 → D
    (0.0, 0.0, "D"),
]


def test_class_bands_inclusive_lower_bounds(params, city: City):
    for i, (tax, _, _) in enumerate(CLASS_EDGES):
        city.firm(f"F{i}", area=10.0, tax=tax)
    result = score_year(city.inputs(), params)
    got = [(row(result, f"F{i}")["total_score"], row(result, f"F{i}")["class"]) for i in range(len(CLASS_EDGES))]
    assert got == [(total, cls) for _, total, cls in CLASS_EDGES]


def test_actual_tax_formula(params, city: City):
    # 实缴税金 = 入库税款 100 + 免抵数 20 − 其他退税 5 − 不计入税种 15 = 100 → v = 10 → 60
    city.firm("F", area=10.0, tax=0.0)
    city.tax[-1].update(tax_paid_in=100.0, exempt_offset=20.0, other_refunds=5.0, excluded_taxes=15.0)
    r = row(score_year(city.inputs(), params), "F")
    assert r["tax_paid"] == 100.0
    assert r["total_score"] == 60.0
