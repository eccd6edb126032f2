"""同比 across two real cycles: 2022 and 2023 loaded by the source departments' stewards through the ingest
connectors, each year taken through 数据采集 → 数据核对 → 评价分类 → 结果通报, then the 2023 report compared
with 2022's published result.

Five 规下 firms (亩均税收 weighted 100, no bonus, deduction or T rule), every figure computed by hand from
溧政发〔2023〕6号's 亩均税收 formulas (v = 实缴税金 / 占地面积, 万元/亩):

====  ======  ===========================  ==============================  ========
firm  town    2022                         2023                            move
====  ======  ===========================  ==============================  ========
F1    溧城    10 亩, 60 → v 6 → 44 C        10 亩, 130 → v 13 → 66 B         升档 +22
F2    溧城    10 亩, 250 → v 25 → 100 A     10 亩, 150 → v 15 → 70 B         降档 −30
F3    昆仑    10 亩, 30 → v 3 → 24 D        10 亩, 35 → v 3.5 → 28 D         持平 +4
F4    昆仑    5 亩, 60 → v 12 → 64 B        (注销, not registered)           退出
F5    昆仑    (registered 2023)            4 亩, 90 → v 22.5 → 90, tax < 200
                                           → 调档 1 → B                     新参评
====  ======  ===========================  ==============================  ========

Town 亩均税收: 溧城 2022 310/20 = 15.5, 2023 280/20 = 14.0 (同比 −9.68%); 昆仑 2022 90/15 = 6.0,
2023 125/14 = 8.9286 (同比 +48.81%). 实缴税金 同比: 溧城 −9.68%, 昆仑 +38.89%; all 400 → 405, +1.25%.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from small_city import F1, F2, F3, F4, F5, LC, OWNER, tables

from citybrain.auth.rules import Role
from citybrain.efficiency import service as svc
from citybrain.efficiency.api_schemas import CycleCreate, TransitionIn
from citybrain.efficiency.reports import to_xlsx
from citybrain.efficiency.service import today as beijing_today
from citybrain.errors import Invalid


def _cycle(run: Any, liyang: dict[str, Any], year: int) -> Any:
    """Load the year's data as the source departments, then take the year through the whole cycle."""
    for key, table in tables(year).items():
        run(svc.efficiency_data_load, key, table, actor=liyang["stewards"][OWNER[key]])
    office = liyang["office"]
    c = run(svc.efficiency_cycle_create, CycleCreate(year=year), actor=office)
    assert c.params_version == "2023"
    run(svc.efficiency_cycle_advance, year, TransitionIn(to="checking", check_deadline=beijing_today()), actor=office)
    past = beijing_today() - dt.timedelta(days=1)
    run(svc.efficiency_cycle_advance, year, TransitionIn(to="evaluating", check_deadline=past), actor=office)
    result = run(svc.efficiency_run, year, actor=office)
    run(svc.efficiency_confirm, year, actor=office)
    run(svc.efficiency_cycle_advance, year, TransitionIn(to="published"), actor=office)
    return result


def _firms(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["uscc"]: f for t in report["towns"] for f in t["items"]}


def test_two_published_years_give_year_on_year_moves(run: Any, factory: Any, liyang: dict[str, Any]) -> None:
    first = _cycle(run, liyang, 2022)
    assert first.class_counts == {"A": 1, "B": 1, "C": 1, "D": 1, "T": 0}
    # the first year has nothing to compare with
    assert run(svc.efficiency_report, 2022)["previous_year"] is None
    second = _cycle(run, liyang, 2023)
    # each run read its own year's lake versions: the 2023 loads are new versions of the same resources
    assert {k: second.data_versions[k] - first.data_versions[k] for k in first.data_versions} == {
        "ly_eff_registration": 1,
        "ly_eff_land": 1,
        "ly_eff_tax": 1,
    }

    report = run(svc.efficiency_report, 2023)
    assert report["previous_year"] == 2022
    assert (report["params_version"], report["previous_params_version"]) == ("2023", "2023")
    firms = _firms(report)
    got = {u: (f["prev_class"], f["class"], f["prev_score"], f["total_score"], f["move"]) for u, f in firms.items()}
    assert got == {
        F1: ("C", "B", 44.0, 66.0, "升档"),
        F2: ("A", "B", 100.0, 70.0, "降档"),
        F3: ("D", "D", 24.0, 28.0, "持平"),
        F5: (None, "B", None, 90.0, "新参评"),
    }
    assert firms[F5]["override_rule"] == "adjust-1"
    assert {u: f["score_change"] for u, f in firms.items()} == {F1: 22.0, F2: -30.0, F3: 4.0, F5: None}

    towns = {t["town"]: t for t in report["towns"]}
    lc, kl = towns["溧城街道"], towns["昆仑街道"]
    assert lc["moves"] == {"升档": 1, "降档": 1, "持平": 0, "调整": 0, "新参评": 0, "退出": 0}
    assert kl["moves"] == {"升档": 0, "降档": 0, "持平": 1, "调整": 0, "新参评": 1, "退出": 1}
    assert [(x["uscc"], x["prev_class"], x["prev_score"]) for x in kl["exits"]] == [(F4, "B", 64.0)]
    assert lc["previous"]["counts"] == {"A": 1, "B": 0, "C": 1, "D": 0, "T": 0}
    assert lc["change"]["counts"] == {"A": -1, "B": 2, "C": -1, "D": 0, "T": 0}
    assert kl["change"]["counts"] == {"A": 0, "B": 0, "C": 0, "D": 0, "T": 0}
    assert (lc["previous"]["tax_per_mu"], lc["tax_per_mu"], lc["change"]["tax_per_mu_pct"]) == (15.5, 14.0, -9.68)
    assert (kl["previous"]["tax_per_mu"], kl["tax_per_mu"], kl["change"]["tax_per_mu_pct"]) == (6.0, 8.9286, 48.81)
    assert (kl["change"]["tax_paid_pct"], kl["change"]["firms"], kl["change"]["area_mu"]) == (38.89, 0, -1.0)
    total = report["total"]
    assert (total["previous"]["tax_paid"], total["tax_paid"], total["change"]["tax_paid_pct"]) == (400.0, 405.0, 1.25)
    assert total["moves"]["退出"] == 1

    # the firm page carries its own 同比; a firm new this year has none
    shown = run(svc.efficiency_result_show, 2023, F2)
    assert shown["previous"] == {
        "year": 2022,
        "class": "A",
        "total_score": 100.0,
        "score_change": -30.0,
        "town": "溧城街道",
    }
    assert run(svc.efficiency_result_show, 2023, F5)["previous"] is None

    # a town's report compares only its own firms; the exit stays with the town it left
    _u, lc_actor = factory.user(Role.CONSUMER, dept=liyang["depts"]["lygxj"], divisions=[LC[1]])
    mine = run(svc.efficiency_report, 2023, actor=lc_actor)
    assert [t["town"] for t in mine["towns"]] == ["溧城街道"]
    assert mine["total"]["moves"]["退出"] == 0

    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    moves = {(r[1], r[6]) for r in wb["升降档"].iter_rows(min_row=2, values_only=True)}
    assert moves == {(F1, "升档"), (F2, "降档"), (F4, "退出")}
    head = [c.value for c in wb["汇总"][2]]
    rows = {r[0]: dict(zip(head, r, strict=True)) for r in wb["汇总"].iter_rows(min_row=3, values_only=True)}
    assert rows["昆仑街道"]["亩均税收同比（%）"] == 48.81
    assert rows["合计"]["退出"] == 1 and rows["合计"]["上年参评企业"] == 4


def test_report_ignores_a_previous_year_that_was_not_published(run: Any, liyang: dict[str, Any]) -> None:
    office = liyang["office"]
    for key, table in tables(2022).items():
        run(svc.efficiency_data_load, key, table, actor=liyang["stewards"][OWNER[key]])
    run(svc.efficiency_cycle_create, CycleCreate(year=2022), actor=office)
    run(svc.efficiency_cycle_advance, 2022, TransitionIn(to="checking", check_deadline=beijing_today()), actor=office)
    past = beijing_today() - dt.timedelta(days=1)
    run(svc.efficiency_cycle_advance, 2022, TransitionIn(to="evaluating", check_deadline=past), actor=office)
    run(svc.efficiency_run, 2022, actor=office)
    # confirmed, but never told to towns and firms: no 同比 against it
    run(svc.efficiency_confirm, 2022, actor=office)
    _cycle(run, liyang, 2023)
    report = run(svc.efficiency_report, 2023)
    assert report["previous_year"] is None
    assert {f["move"] for f in _firms(report).values()} == {"新参评"}


def test_a_year_before_the_method_was_issued_is_refused(run: Any, liyang: dict[str, Any]) -> None:
    # 溧政发〔2023〕6号 (2023-03-09) evaluates 2022 in 2023's first quarter; 2021 fell under the 2022 method
    with pytest.raises(Invalid, match="没有适用的评价参数"):
        run(svc.efficiency_cycle_create, CycleCreate(year=2021), actor=liyang["office"])
