"""调档 rules, 暂缓定类 (T) and discretionary 领导小组 adjustments."""

from __future__ import annotations

import pytest
from efficiency_helpers import City, row

from citybrain.efficiency import Adjustment, score_year
from citybrain.errors import Invalid


def _rules(result, uscc: str) -> list[tuple[str, str, str]]:
    return [(o["rule"], o["from"], o["to"]) for o in result.breakdown(uscc)["overrides"]]


def test_adjust_1_small_land_or_small_tax(params, city: City):
    # "综合评价得分 80 分（含）以上，但用地面积小于 3 亩或年度税收小于 200 万元的企业，降为 B 类。"
    city.firm("SMALL", area=2.9, tax=300.0)  # v > 25 → 100, but < 3 亩
    city.firm("EDGE", area=3.0, tax=300.0)  # exactly 3 亩 is not "小于"
    city.firm("LOWTAX", area=5.0, tax=199.0)  # v = 39.8 → 100, but < 200 万元
    city.firm("TAX200", area=5.0, tax=200.0)
    result = score_year(city.inputs(), params)
    assert row(result, "SMALL")["class"] == "B" and row(result, "SMALL")["score_class"] == "A"
    assert _rules(result, "SMALL") == [("adjust-1", "A", "B")]
    assert row(result, "SMALL")["override_rule"] == "adjust-1"
    assert row(result, "EDGE")["class"] == "A"
    assert row(result, "LOWTAX")["class"] == "B"
    assert row(result, "TAX200")["class"] == "A"


def test_adjust_2_large_tax_or_sales_lifts_to_b(params, city: City):
    # "年度税收 1000 万元以上（含）或年度应税销售收入 10 亿元以上（含）评价得分在 60 分以下的企业，直接列为 B 类。"
    city.firm("BIGTAX", area=500.0, tax=1000.0)  # v = 2 → 16 + 5 (tax tier) = 21
    city.firm("BIGSALES", area=500.0, tax=100.0, sales=100000.0)  # v = 0.2 → 1.6
    city.firm("ALMOST", area=500.0, tax=100.0, sales=99999.0)
    result = score_year(city.inputs(), params)
    assert row(result, "BIGTAX")["total_score"] == 21.0
    assert (row(result, "BIGTAX")["score_class"], row(result, "BIGTAX")["class"]) == ("D", "B")
    assert _rules(result, "BIGTAX") == [("adjust-2", "D", "B")]
    assert row(result, "BIGSALES")["class"] == "B"
    assert row(result, "ALMOST")["class"] == "D"


def test_adjust_3_below_scale_with_large_sales_not_a(params, city: City):
    # "年度应税销售收入 2000 万元以上（含）的规下工业企业，不得评为 A 类。"
    city.firm("S2000", area=10.0, tax=300.0, sales=2000.0)
    city.firm("S1999", area=10.0, tax=300.0, sales=1999.99)
    city.firm("ABOVE", area=10.0, tax=300.0, sales=2000.0, above=True, energy=10.0)
    result = score_year(city.inputs(), params)
    assert row(result, "S2000")["class"] == "B"
    assert _rules(result, "S2000") == [("adjust-3", "A", "B")]
    assert row(result, "S1999")["class"] == "A"
    assert row(result, "ABOVE")["score_class"] == "A" and row(result, "ABOVE")["class"] == "A"


@pytest.mark.parametrize(("level", "forced"), [("一般", False), ("较大", True), ("重大", True), ("特别重大", True)])
def test_adjust_5_major_accident_forces_d(params, city: City, level, forced):
    # "评价年度发生较大以上（含）环保事件、安全事故、火灾事故的企业，直接列为 D 类。"
    city.firm("F", area=10.0, tax=300.0)
    city.accidents += [{"uscc": "F", "level": level, "kind": "safety", "record_id": "AQ-1"}]
    result = score_year(city.inputs(), params)
    r = row(result, "F")
    assert r["total_score"] == 100.0
    assert r["class"] == ("D" if forced else "A")
    if forced:
        assert result.breakdown("F")["overrides"] == [
            {"from": "A", "reason": None, "record_id": "AQ-1", "rule": "adjust-5", "to": "D"}
        ]


def test_severe_exposure_forces_d(params, city: City):
    # "造成严重或恶劣影响的直接降为 D 类。"
    city.firm("F", area=10.0, tax=300.0)
    city.penalties += [
        {
            "uscc": "F",
            "category": "complaint",
            "kind": "media",
            "points": 6.0,
            "severity": "severe",
            "record_id": "MEDIA-7",
        }
    ]
    result = score_year(city.inputs(), params)
    assert row(result, "F")["total_score"] == 94.0
    assert row(result, "F")["class"] == "D"
    assert _rules(result, "F") == [("deduct-5-severe", "A", "D")]


def test_t_class_rules(params, city: City):
    # T-1 租赁型新办企业 registered < 2 years (ref 2022-12-31); T-2 供地 < 3 years; T-3 兼并重组 < 2 years
    city.firm("L", area=20.0, tax=10.0)  # lessor of the new tenant
    city.firm("T1", area=None, tax=5.0, registered_on="2021-03-01")
    city.leases += [{"lessor_uscc": "L", "tenant_uscc": "T1", "area_mu": 5.0}]
    city.firm("T1OLD", area=None, tax=5.0, registered_on="2020-12-31")  # exactly 2 years: not "未满"
    city.leases += [{"lessor_uscc": "L", "tenant_uscc": "T1OLD", "area_mu": 5.0}]
    city.firm("T2", area=30.0, tax=5.0, supplied_on="2020-01-01")
    city.firm("T2OLD", area=30.0, tax=5.0, supplied_on="2019-12-31")
    city.firm("T3", area=30.0, tax=5.0, supplied_on="2021-06-01", merger=True)
    city.firm("T3OLD", area=30.0, tax=5.0, supplied_on="2020-06-01", merger=True)
    city.firm("NOCAT", area=30.0, tax=5.0, supplied_on="2022-01-01")  # new, but not in a 名录库
    city.catalogue += [
        {"uscc": u, "catalogue": "重点培育名录库"} for u in ("T1", "T1OLD", "T2", "T2OLD", "T3", "T3OLD")
    ]
    city.firm("OTHER", area=30.0, tax=5.0)
    city.deferrals += [{"uscc": "OTHER", "reason": "兼并重组过渡期"}]
    result = score_year(city.inputs(), params)
    classes = {u: row(result, u)["class"] for u in ("T1", "T1OLD", "T2", "T2OLD", "T3", "T3OLD", "NOCAT", "OTHER")}
    assert classes == {
        "T1": "T",
        "T1OLD": "D",
        "T2": "T",
        "T2OLD": "D",
        "T3": "T",
        "T3OLD": "D",
        "NOCAT": "D",
        "OTHER": "T",
    }
    assert [o["rule"] for o in result.breakdown("T1")["overrides"]] == ["T-1"]
    assert [o["rule"] for o in result.breakdown("T2")["overrides"]] == ["T-2"]
    assert [o["rule"] for o in result.breakdown("T3")["overrides"]] == ["T-3"]
    other = result.breakdown("OTHER")["overrides"]
    assert other == [{"from": "D", "reason": "兼并重组过渡期", "record_id": None, "rule": "T-other", "to": "T"}]
    # the score is still computed for a T firm
    assert row(result, "T2")["total_score"] == round(5 / 30 * 8, 4)

    loose = score_year(city.inputs(), params.replace({"t_class": {"requires_catalogue": False}}))
    assert row(loose, "NOCAT")["class"] == "T"


def test_accident_beats_t_unless_configured(params, city: City):
    city.firm("N", area=30.0, tax=5.0, supplied_on="2022-01-01")
    city.catalogue += [{"uscc": "N", "catalogue": "产业项目全流程服务管理库"}]
    city.accidents += [{"uscc": "N", "level": "较大", "kind": "fire", "record_id": "FIRE-1"}]
    result = score_year(city.inputs(), params)
    assert row(result, "N")["class"] == "D"
    assert [o["rule"] for o in result.breakdown("N")["overrides"]] == ["T-2", "adjust-5"]
    keep_t = score_year(city.inputs(), params.replace({"overrides": {"d_overrides_t": False}}))
    assert row(keep_t, "N")["class"] == "T"


def test_discretionary_adjustment_of_c_or_d(params, city: City):
    # "科技领军人才企业及市政府列为重点培育产业类企业评价为 C、D 类的，经领导小组研究，视实际情况可作相应调整。"
    city.firm("LEAD", area=10.0, tax=50.0)  # 40 → C
    city.firm("TOP", area=10.0, tax=300.0)  # A
    adj = [Adjustment("LEAD", "B", "科技领军人才企业，领导小组2023年第2次会议")]
    result = score_year(city.inputs(), params, adjustments=adj)
    assert row(result, "LEAD")["class"] == "B"
    assert result.breakdown("LEAD")["overrides"] == [
        {
            "from": "C",
            "reason": "科技领军人才企业，领导小组2023年第2次会议",
            "record_id": None,
            "rule": "adjust-4",
            "to": "B",
        }
    ]
    with pytest.raises(Invalid) as exc:
        score_year(city.inputs(), params, adjustments=[("TOP", "B", "理由")])
    assert exc.value.details[0]["class"] == "A"
    with pytest.raises(Invalid):
        score_year(city.inputs(), params, adjustments=[("LEAD", "B", "  ")])
    with pytest.raises(Invalid):
        score_year(city.inputs(), params, adjustments=[("NOBODY", "B", "理由")])
