"""Properties of the scoring engine over generated firms (hypothesis)."""

from __future__ import annotations

import itertools
import json

import numpy as np
from efficiency_helpers import City, row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citybrain.efficiency import load_params, score_year, tax_per_mu_score
from citybrain.efficiency.method import INDICATORS

PARAMS = load_params("2023")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: scoring a population is a full engine call (DuckDB breakdown included): fewer, richer examples
ENGINE = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

money = st.floats(min_value=0.0, max_value=20000.0, allow_nan=False, allow_infinity=False)
area = st.floats(min_value=0.5, max_value=400.0, allow_nan=False, allow_infinity=False)


@SETTINGS
@given(st.lists(st.floats(min_value=-50, max_value=500, allow_nan=False), min_size=2, max_size=50))
def test_tax_per_mu_score_is_monotonic_and_bounded(values: list[float]) -> None:
    v = np.sort(np.array(values))
    s = tax_per_mu_score(v, PARAMS)
    assert np.all(np.diff(s) >= -1e-12)
    assert s.min() >= 0.0 and s.max() <= 100.0


@st.composite
def firm_spec(draw: st.DrawFn) -> dict[str, object]:
    above = draw(st.booleans())
    return {
        "area": draw(area),
        "sales": draw(money) * 20,
        "above": above,
        "energy": draw(st.floats(min_value=1.0, max_value=5000.0)) if above else None,
        "emissions": draw(st.sampled_from([0.0, 0.5, 3.0, 40.0])),
    }


def _city(firms: list[dict[str, object]], taxes: list[float]) -> City:
    city = City()
    for i, (f, tax) in enumerate(zip(firms, taxes, strict=True)):
        city.firm(f"F{i:04d}", tax=tax, **f)  # type: ignore[arg-type]
    return city


@ENGINE
@given(
    st.lists(firm_spec(), min_size=1, max_size=6),
    st.lists(money, min_size=6, max_size=6),
    money,
    st.integers(min_value=0, max_value=5),
)
def test_total_score_never_falls_when_tax_rises(
    firms: list[dict[str, object]], taxes: list[float], extra: float, which: int
) -> None:
    which %= len(firms)
    base = taxes[: len(firms)]
    more = list(base)
    more[which] += extra
    low = row(score_year(_city(firms, base).inputs(), PARAMS), f"F{which:04d}")
    high = row(score_year(_city(firms, more).inputs(), PARAMS), f"F{which:04d}")
    # Published scores are rounded per indicator (score and weighted score) and the 基准值 is rounded
    # before it is used, so that anyone can recompute a firm's score from the published figures.
    # A higher tax can therefore show a score lower by rounding alone — at most one unit in the last
    # place per rounding step — never by more.
    slack = 3 * len(INDICATORS) * 10.0**-PARAMS.decimals
    assert high["total_score"] >= low["total_score"] - slack
    assert high["base_score"] >= low["base_score"] - slack


@st.composite
def population(draw: st.DrawFn) -> City:
    n = draw(st.integers(min_value=1, max_value=12))
    city = City()
    for i in range(n):
        f = draw(firm_spec())
        code = f"P{i:04d}"
        city.firm(code, tax=draw(money), **f)  # type: ignore[arg-type]
        if draw(st.integers(0, 5)) == 0:
            city.penalties.append(
                {
                    "uscc": code,
                    "category": "environment",
                    "kind": draw(st.sampled_from(["fine", "forced_execution"])),
                    "record_id": f"E{i}",
                }
            )
        if draw(st.integers(0, 7)) == 0:
            city.accidents.append(
                {"uscc": code, "level": draw(st.sampled_from(["一般", "较大"])), "record_id": f"A{i}", "kind": "safety"}
            )
        if draw(st.integers(0, 5)) == 0:
            city.hightech.append({"uscc": code, "record_id": f"H{i}"})
    return city


def _score_class(total: float) -> str:
    c = PARAMS.section("classes")
    return "A" if total >= c["A"] else "B" if total >= c["B"] else "C" if total >= c["C"] else "D"


@ENGINE
@given(population())
def test_class_is_consistent_with_score_and_overrides(city: City) -> None:
    result = score_year(city.inputs(), PARAMS)
    ov = PARAMS.section("overrides")
    for r in result.firms.to_dict("records"):
        bd = json.loads(r["breakdown"])
        assert r["score_class"] == _score_class(r["total_score"])
        assert abs(bd["base_score"] + bd["bonus_total"] - bd["deduction_total"] - r["total_score"]) < 1e-3
        chain = bd["overrides"]
        if not chain:
            assert r["class"] == r["score_class"]
            assert r["override_rule"] is None or r["override_rule"] != r["override_rule"]  # None or NaN
            continue
        # each step starts where the previous one ended, the first from the score class, the last is the class
        assert chain[0]["from"] == r["score_class"]
        for a, b in itertools.pairwise(chain):
            assert b["from"] == a["to"]
        assert chain[-1]["to"] == r["class"] and chain[-1]["rule"] == r["override_rule"]
        for step in chain:
            if step["rule"] == "adjust-1":
                assert step["from"] == "A" and step["to"] == "B"
                assert r["area_mu"] < ov["small_land_mu"] or bd["inputs"]["tax_paid"] < ov["small_tax"]
            if step["rule"] == "adjust-2":
                assert step["to"] == "B" and r["total_score"] < PARAMS.section("classes")["B"]
            if step["rule"] == "adjust-5":
                assert step["to"] == "D" and step["record_id"]
    # a firm with a 较大 accident is D whatever its score
    major = {a["uscc"] for a in city.accidents if a["level"] == "较大"}
    for code in major:
        assert row(result, code)["class"] == "D"
