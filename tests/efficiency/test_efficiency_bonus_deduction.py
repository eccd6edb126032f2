"""加分 and 扣分: every category, "就高" (highest item per category only), record ids, year filter."""

from __future__ import annotations

import pytest
from efficiency_helpers import City, row

from citybrain.efficiency import score_year
from citybrain.errors import Invalid


def _base_firm(city: City, uscc: str = "F", tax: float = 100.0) -> City:
    # 规下, 50 亩: v = tax/50; tax 100 → v = 2 → 16 分, far from every override threshold
    return city.firm(uscc, area=50.0, tax=tax)


TAX_TIERS = [
    (999.99, 0.0),
    (1000.0, 5.0),
    (2999.99, 5.0),
    (3000.0, 7.0),
    (4999.99, 7.0),
    (5000.0, 10.0),
    (8000.0, 10.0),
]


def test_tax_tier_bonus(params, city: City):
    # "1000 万元（含）~3000 万元、3000 万元（含）~5000 万元、5000 万元以上（含）… 分别加 5 分、7 分、10 分"
    for i, (tax, _) in enumerate(TAX_TIERS):
        city.firm(f"F{i}", area=1000.0, tax=tax)
    result = score_year(city.inputs(), params)
    assert [row(result, f"F{i}")["bonus"] for i in range(len(TAX_TIERS))] == [b for _, b in TAX_TIERS]
    assert result.breakdown("F1")["bonuses"] == [
        {"category": "tax_tier", "item": ">=1000", "points": 5.0, "record_id": "tax:F1", "uscc": None}
    ]


def test_highest_item_per_bonus_category(params, city: City):
    _base_firm(city)
    city.listings += [
        {"uscc": "F", "stage": "shareholding_reform", "record_id": "L1"},
        {"uscc": "F", "stage": "listed", "record_id": "L2"},
        {"uscc": "F", "stage": "neeq", "record_id": "L3"},
    ]
    city.hightech += [{"uscc": "F", "record_id": "GR202232000001"}]
    city.honours += [
        {"uscc": "F", "level": "municipal", "record_id": "H1", "awarded_on": "2022-04-01"},
        {"uscc": "F", "level": "provincial", "record_id": "H2", "awarded_on": "2022-05-01"},
        {"uscc": "F", "level": "provincial", "record_id": "H3", "awarded_on": "2022-06-01"},
    ]
    result = score_year(city.inputs(), params)
    r = row(result, "F")
    # listing 10 (not 5+7+10) + 高新 5 + 省级荣誉 3 (the same value is not counted twice)
    assert r["bonus"] == 18.0
    assert r["total_score"] == 16.0 + 18.0
    bonuses = {b["category"]: b for b in result.breakdown("F")["bonuses"]}
    assert bonuses["listing"]["record_id"] == "L2" and bonuses["listing"]["points"] == 10.0
    assert bonuses["hightech"]["record_id"] == "GR202232000001"
    assert bonuses["honour"]["record_id"] == "H2"  # tie on 3 分 → smallest record id
    assert bonuses["honour"]["item"] == "provincial"


def test_honour_outside_year_and_expired_hightech_ignored(params, city: City):
    _base_firm(city)
    city.honours += [{"uscc": "F", "level": "national", "record_id": "H0", "awarded_on": "2021-12-31"}]
    city.hightech += [{"uscc": "F", "record_id": "GR1", "valid_until": "2021-11-30"}]
    assert row(score_year(city.inputs(), params), "F")["bonus"] == 0.0


ENVIRONMENT = [
    (["fine"], 3.0),
    (["fine", "suspension"], 8.0),
    (["seizure"], 8.0),
    (["daily_penalty"], 8.0),
    (["detention"], 8.0),
    (["fine", "detention", "forced_execution"], 10.0),
]
SAFETY = [(0.5, 5.0), (5.0, 5.0), (5.01, 7.0), (20.0, 7.0), (20.01, 10.0), (50.0, 10.0), (80.0, 10.0)]


def test_environment_deduction(params, city: City):
    for i, (kinds, _) in enumerate(ENVIRONMENT):
        _base_firm(city, f"F{i}")
        city.penalties += [
            {
                "uscc": f"F{i}",
                "category": "environment",
                "kind": k,
                "record_id": f"E{i}-{j}",
                "decided_on": "2022-03-01",
            }
            for j, k in enumerate(kinds)
        ]
    result = score_year(city.inputs(), params)
    for i, (_, points) in enumerate(ENVIRONMENT):
        r = row(result, f"F{i}")
        assert (r["deduction"], r["total_score"]) == (points, 16.0 - points)


def test_safety_deduction_bands(params, city: City):
    # "5 万以下（含）扣 5 分；5 万以上、20 万以下（含）扣 7 分；20 万以上，50 万以下（含）扣 10 分"; above 50 keeps 10
    for i, (amount, _) in enumerate(SAFETY):
        _base_firm(city, f"F{i}")
        city.penalties += [
            {
                "uscc": f"F{i}",
                "category": "safety",
                "kind": "penalised",
                "amount": amount,
                "record_id": f"S{i}",
                "decided_on": "2022-07-01",
            }
        ]
    result = score_year(city.inputs(), params)
    assert [row(result, f"F{i}")["deduction"] for i in range(len(SAFETY))] == [p for _, p in SAFETY]


def test_safety_highest_of_several(params, city: City):
    _base_firm(city)
    city.penalties += [
        {"uscc": "F", "category": "safety", "kind": "penalised", "amount": a, "record_id": rid}
        for a, rid in [(3.0, "S1"), (15.0, "S2"), (4.0, "S3")]
    ]
    result = score_year(city.inputs(), params)
    assert row(result, "F")["deduction"] == 7.0
    assert result.breakdown("F")["deductions"] == [
        {"category": "safety", "item": "penalised", "points": 7.0, "record_id": "S2", "uscc": "F"}
    ]


def test_fire_tax_and_complaint_deductions_add_across_categories(params, city: City):
    _base_firm(city, tax=1500.0)  # v = 30 → 100 分, +5 tax tier
    city.penalties += [
        {"uscc": "F", "category": "fire", "kind": "ordered_to_correct", "record_id": "F1"},
        {"uscc": "F", "category": "fire", "kind": "penalised", "record_id": "F2"},
        {"uscc": "F", "category": "tax", "kind": "penalised", "record_id": "T1"},
        {"uscc": "F", "category": "tax", "kind": "referred_to_police", "record_id": "T2"},
        {"uscc": "F", "category": "complaint", "kind": "media", "points": 4.0, "record_id": "C1"},
        {"uscc": "F", "category": "complaint", "kind": "petition", "points": 12.0, "record_id": "C2"},
    ]
    result = score_year(city.inputs(), params)
    r = row(result, "F")
    # fire 7 + tax 10 + complaint min(12, 10) = 27
    assert r["deduction"] == 27.0
    assert r["total_score"] == 100.0 + 5.0 - 27.0
    got = {d["category"]: (d["points"], d["record_id"]) for d in result.breakdown("F")["deductions"]}
    assert got == {"fire": (7.0, "F2"), "tax": (10.0, "T2"), "complaint": (10.0, "C2")}


def test_fire_accident_counts_as_fire_deduction(params, city: City):
    _base_firm(city)
    city.penalties += [{"uscc": "F", "category": "fire", "kind": "penalised", "record_id": "F2"}]
    city.accidents += [{"uscc": "F", "level": "一般", "kind": "fire", "record_id": "AC1"}]
    result = score_year(city.inputs(), params)
    r = row(result, "F")
    assert r["deduction"] == 10.0
    assert r["class"] == "D"  # 一般 accident: no 调档, class by score (6 分)
    assert result.breakdown("F")["overrides"] == []
    assert result.breakdown("F")["deductions"][0]["record_id"] == "AC1"


def test_penalty_outside_year_ignored(params, city: City):
    _base_firm(city)
    city.penalties += [
        {"uscc": "F", "category": "tax", "kind": "penalised", "record_id": "T0", "decided_on": "2023-01-02"}
    ]
    assert row(score_year(city.inputs(), params), "F")["deduction"] == 0.0


def test_unknown_penalty_kind_refused(params, city: City):
    _base_firm(city)
    city.penalties += [{"uscc": "F", "category": "environment", "kind": "warning", "record_id": "E9"}]
    with pytest.raises(Invalid) as exc:
        score_year(city.inputs(), params)
    assert any(p.get("field") == "kind" for p in exc.value.details)


def test_complaint_without_points_refused(params, city: City):
    _base_firm(city)
    city.penalties += [{"uscc": "F", "category": "complaint", "kind": "media", "record_id": "C9"}]
    with pytest.raises(Invalid) as exc:
        score_year(city.inputs(), params)
    assert any(p.get("field") == "points" for p in exc.value.details)
