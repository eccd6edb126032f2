"""The evaluation as a platform application: catalog, demo data, the cycle, runs, decisions, access."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from citybrain.auth.rules import Role
from citybrain.demo.departments import departments
from citybrain.efficiency import service as svc
from citybrain.efficiency.api_schemas import (
    CycleCreate,
    DecisionIn,
    FirmBind,
    ObjectionCreate,
    ObjectionReply,
    TransitionIn,
)
from citybrain.efficiency.service import today as beijing_today
from citybrain.errors import Conflict, Invalid, NotAuthorized, NotFound
from citybrain.org.schemas import DepartmentCreate
from citybrain.org.service import department_create

YEAR = 2023
N_FIRMS = 400


def _liyang(run: Any) -> dict[str, Any]:
    made = {}
    for d in departments():
        if d.division_code == "320481":
            made[d.code] = run(department_create, DepartmentCreate(**d.as_create()))
    return made


@pytest.fixture
def city(run: Any) -> dict[str, Any]:
    """溧阳 departments, the catalog resources and one demo year loaded; the cycle in 数据采集."""
    depts = _liyang(run)
    created = run(svc.efficiency_catalog_install)
    loaded = run(svc.efficiency_demo_load, YEAR, seed=11, n_firms=N_FIRMS)
    run(svc.efficiency_cycle_create, CycleCreate(year=YEAR, check_deadline=beijing_today() + dt.timedelta(days=10)))
    return {"depts": depts, "created": created, "loaded": loaded}


def _to_evaluating(run: Any) -> None:
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking"))
    run(
        svc.efficiency_cycle_advance,
        YEAR,
        TransitionIn(to="evaluating", check_deadline=beijing_today() - dt.timedelta(days=1)),
    )


def _registration(run: Any) -> list[dict[str, Any]]:
    def read(ctx: Any) -> list[dict[str, Any]]:
        return svc.lake_for(ctx).read("ly_eff_registration").to_pylist()

    return run(read)


def test_catalog_registers_each_input_under_its_department(run: Any, city: dict[str, Any]) -> None:
    from citybrain.catalog.service import get_resource

    def owners(ctx: Any) -> dict[str, str]:
        return {k: get_resource(ctx.session, k).dept_id for k in city["created"]}

    got = run(owners)
    d = city["depts"]
    assert got["ly_eff_registration"] == d["lyspj"].id
    assert got["ly_eff_land"] == d["lyzrzyj"].id
    assert got["ly_eff_tax"] == d["lyswj"].id
    assert got["ly_eff_penalties_tax"] == d["lyswj"].id
    assert got["ly_eff_stats"] == d["lytjj"].id
    assert got["ly_eff_emissions"] == d["lysthjj"].id
    assert got["ly_eff_penalties_safety"] == d["lyyjj"].id
    assert got["ly_eff_accidents_fire"] == d["lyxfdd"].id
    assert got["ly_eff_power"] == d["lygdj"].id
    assert got["ly_eff_results"] == d["lygxj"].id
    # installing again creates nothing
    assert run(svc.efficiency_catalog_install) == []


def test_demo_generator_is_deterministic_per_seed() -> None:
    from citybrain.efficiency.generate import generate

    a, b, c = generate(5, 2023, 300), generate(5, 2023, 300), generate(6, 2023, 300)
    assert all(a.tables[k].equals(b.tables[k]) for k in a.tables)
    assert not a.tables["ly_eff_registration"].equals(c.tables["ly_eff_registration"])
    # the next year is the same population with moved figures
    nxt = generate(5, 2024, 300)
    codes = set(a.tables["ly_eff_registration"]["uscc"].to_pylist())
    assert codes <= set(nxt.tables["ly_eff_registration"]["uscc"].to_pylist())


def test_illegal_transitions_are_refused_with_the_allowed_ones(run: Any, city: dict[str, Any]) -> None:
    with pytest.raises(Conflict) as exc:
        run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="published"))
    assert exc.value.details["allowed"] == ["checking"]
    assert "数据核对" in exc.value.message
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking"))
    # the deadline has not passed: 数据核对 cannot close yet
    with pytest.raises(Conflict, match="截止日期"):
        run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="evaluating"))
    # going back needs a reason
    with pytest.raises(Invalid):
        run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="collecting"))
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="collecting", note="税务数据需重报"))
    shown = run(svc.efficiency_cycle_show, YEAR)
    assert shown["state"] == "collecting"
    assert [t["to"] for t in shown["transitions"]] == ["checking", "collecting"]


def test_checking_reports_invalid_and_unmatched_codes_per_department(run: Any, city: dict[str, Any]) -> None:
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking"))
    rows = run(svc.efficiency_exception_list, YEAR)
    kinds = {(r.resource_key, r.problem) for r in rows}
    # ingest may quarantine rows with a bad check character before they reach the lake; unmatched codes
    # are valid and always arrive
    assert ("ly_eff_tax", "unmatched") in kinds
    tax_dept = city["depts"]["lyswj"].id
    assert all(r.dept_id == tax_dept for r in run(svc.efficiency_exception_list, YEAR, dept="lyswj"))
    try:
        from citybrain.quality.models import QualityTicket
    except ModuleNotFoundError:
        return
    from sqlalchemy import select

    def tickets(ctx: Any) -> list[Any]:
        return list(ctx.session.scalars(select(QualityTicket).where(QualityTicket.resource_key == "ly_eff_tax")))

    # with the quality service the unmatched codes are also 整改工单 of the 税务局
    found = run(tickets)
    assert found and all(t.dept_id == tax_dept for t in found)


def test_full_cycle_run_is_reproducible_and_stores_versions(run: Any, city: dict[str, Any]) -> None:
    _to_evaluating(run)
    first = run(svc.efficiency_run, YEAR)
    second = run(svc.efficiency_run, YEAR)
    assert first.checksum == second.checksum
    assert first.seq == 1 and second.seq == 2
    assert first.data_versions == second.data_versions
    assert set(first.data_versions) >= {"ly_eff_registration", "ly_eff_tax", "ly_eff_land"}
    assert sum(first.class_counts.values()) == first.firm_count > 0
    assert first.results_version is not None


def test_t_list_and_adjustments_need_leading_group_decisions(run: Any, factory: Any, city: dict[str, Any]) -> None:
    _to_evaluating(run)
    r = run(svc.efficiency_run, YEAR)
    t_rows = [x for x in run(svc.efficiency_result_list, YEAR, cls="T", limit=1000)["items"]]
    assert t_rows, "the demo population has T candidates"
    with pytest.raises(Conflict, match="暂缓定类"):
        run(svc.efficiency_confirm, YEAR)
    first, *rest = t_rows
    run(svc.efficiency_decide, YEAR, DecisionIn(kind="t_reject", uscc=first.uscc, reason="已投产满三年，按得分定类"))
    for x in rest:
        run(svc.efficiency_decide, YEAR, DecisionIn(kind="t_confirm", uscc=x.uscc, reason="镇提出，领导小组认定"))
    # a C/D firm may be adjusted with a recorded reason; an A/B firm may not
    items = run(svc.efficiency_result_list, YEAR, limit=1000)["items"]
    low = next(x for x in items if x.cls in ("C", "D") and x.override_rule is None)
    high = next(x for x in items if x.cls in ("A", "B") and x.override_rule is None)
    with pytest.raises(Invalid):
        run(
            svc.efficiency_decide,
            YEAR,
            DecisionIn(kind="adjust", uscc=high.uscc, new_class="A", basis="科技领军", reason="x" * 3),
        )
    run(
        svc.efficiency_decide,
        YEAR,
        DecisionIn(
            kind="adjust", uscc=low.uscc, new_class="B", basis="重点培育", reason="市政府列为重点培育产业类企业"
        ),
    )
    with pytest.raises(Conflict, match="重新计算"):
        run(svc.efficiency_confirm, YEAR)
    again = run(svc.efficiency_run, YEAR)
    assert again.checksum != r.checksum
    confirmed = run(svc.efficiency_confirm, YEAR)
    assert confirmed.id == again.id
    shown = run(svc.efficiency_result_show, YEAR, low.uscc)
    assert shown["class"] == "B"
    assert shown["breakdown"]["overrides"][-1]["rule"] == "adjust-4"
    assert "重点培育" in shown["breakdown"]["overrides"][-1]["reason"]
    assert shown["decisions"][0]["reason"] == "市政府列为重点培育产业类企业"
    rejected = run(svc.efficiency_result_show, YEAR, first.uscc)
    assert rejected["class"] != "T" or any(o["rule"] == "T-other" for o in rejected["breakdown"]["overrides"])
    # publish: the D list goes to the clear-out register
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="published"))
    d_count = again.class_counts["D"]
    register = run(svc.efficiency_clearout_list, year=YEAR)
    assert len(register) == d_count
    assert all(e.status == "待整治" and e.area_mu > 0 for e in register)
    report = run(svc.efficiency_report, YEAR)
    assert report["total"]["firms"] == again.firm_count
    assert sum(t["counts"]["D"] for t in report["towns"]) == d_count
    from citybrain.efficiency.reports import to_xlsx

    blob = to_xlsx(report)
    assert blob[:2] == b"PK"

    # once published, a town sees its own firms only, and a firm only itself
    items = run(svc.efficiency_result_list, YEAR, limit=1000)["items"]
    town = items[0].town_code
    _u, town_actor = factory.user(Role.CONSUMER, dept=city["depts"]["lygxj"], divisions=[town])
    seen = run(svc.efficiency_result_list, YEAR, limit=1000, actor=town_actor)
    assert seen["total"] == sum(1 for x in items if x.town_code == town) > 0
    assert {x.town_code for x in seen["items"]} == {town}
    other = next(x for x in items if x.town_code != town)
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_result_show, YEAR, other.uscc, actor=town_actor)
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_result_list, YEAR, town_code=other.town_code, actor=town_actor)
    town_report = run(svc.efficiency_report, YEAR, actor=town_actor)
    assert [t["town_code"] for t in town_report["towns"]] == [town]
    firm_user, firm_actor = factory.user(Role.PUBLIC)
    run(svc.efficiency_firm_bind, FirmBind(username=firm_user.username, uscc=items[0].uscc))
    mine = run(svc.efficiency_result_list, YEAR, actor=firm_actor)
    assert [x.uscc for x in mine["items"]] == [items[0].uscc]
    assert run(svc.efficiency_result_show, YEAR, items[0].uscc, actor=firm_actor)["uscc"] == items[0].uscc
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_result_show, YEAR, other.uscc, actor=firm_actor)
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_report, YEAR, actor=firm_actor)


def test_breakdown_names_every_record_and_version(run: Any, city: dict[str, Any]) -> None:
    _to_evaluating(run)
    r = run(svc.efficiency_run, YEAR)
    items = run(svc.efficiency_result_list, YEAR, limit=1000)["items"]
    for x in items:
        bd = json.loads(x.breakdown)
        if bd["deductions"] and not str(bd["deductions"][0]["record_id"]).startswith("tax:"):
            shown = run(svc.efficiency_result_show, YEAR, x.uscc)
            ded = shown["breakdown"]["deductions"][0]
            assert ded["record"]["resource_key"].startswith("ly_eff_")
            assert ded["record"]["row"]["record_id"] == ded["record_id"]
            assert shown["run"]["data_versions"] == r.data_versions
            assert all(i["weight"] > 0 for i in shown["breakdown"]["indicators"])
            break
    else:
        pytest.fail("no firm with a deduction in the demo population")


def test_town_user_sees_only_its_firms(run: Any, factory: Any, city: dict[str, Any]) -> None:
    reg = _registration(run)
    town = reg[0]["town_code"]
    mine = next(r for r in reg if r["town_code"] == town)
    other = next(r for r in reg if r["town_code"] != town)
    _user, actor = factory.user(Role.CONSUMER, dept=city["depts"]["lygxj"], divisions=[town])
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking"))
    data = run(svc.efficiency_firm_data, YEAR, mine["uscc"], actor=actor)
    assert data["tables"]["ly_eff_registration"]["rows"][0]["uscc"] == mine["uscc"]
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_firm_data, YEAR, other["uscc"], actor=actor)
    obj = run(
        svc.efficiency_objection_create,
        YEAR,
        ObjectionCreate(
            uscc=mine["uscc"], resource_key="ly_eff_land", field="area_mu", message="宗地面积有误，应为 12 亩"
        ),
        actor=actor,
    )
    with pytest.raises(NotAuthorized):
        run(
            svc.efficiency_objection_create,
            YEAR,
            ObjectionCreate(uscc=other["uscc"], message="不属于本镇"),
            actor=actor,
        )
    assert [o.id for o in run(svc.efficiency_objection_list, YEAR, actor=actor)] == [obj.id]
    # an open objection blocks 评价分类 even after the deadline
    with pytest.raises(Conflict, match="异议"):
        run(
            svc.efficiency_cycle_advance,
            YEAR,
            TransitionIn(to="evaluating", check_deadline=beijing_today() - dt.timedelta(days=1)),
        )
    run(svc.efficiency_objection_reply, obj.id, ObjectionReply(status="rejected", reply="经资规局核实，面积无误"))
    run(
        svc.efficiency_cycle_advance,
        YEAR,
        TransitionIn(to="evaluating", check_deadline=beijing_today() - dt.timedelta(days=1)),
    )
    # silence counts as acceptance once the deadline is over
    assert run(svc.efficiency_firm_data, YEAR, other["uscc"])["check_status"] == "逾期视为认可"
    assert run(svc.efficiency_firm_data, YEAR, mine["uscc"])["check_status"] == "异议已答复"
    run(svc.efficiency_run, YEAR)
    listed = run(svc.efficiency_result_list, YEAR, limit=1000, actor=actor)
    # not published yet: a town sees nothing
    assert listed["total"] == 0


def test_firm_user_sees_only_itself_and_only_once_published(run: Any, factory: Any, city: dict[str, Any]) -> None:
    reg = _registration(run)
    user, actor = factory.user(Role.PUBLIC)
    with pytest.raises(NotAuthorized, match="绑定"):
        run(svc.efficiency_firm_data, YEAR, reg[0]["uscc"], actor=actor)
    run(svc.efficiency_firm_bind, FirmBind(username=user.username, uscc=reg[0]["uscc"]))
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking"))
    assert run(svc.efficiency_firm_data, YEAR, reg[0]["uscc"], actor=actor)["uscc"] == reg[0]["uscc"]
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_firm_data, YEAR, reg[1]["uscc"], actor=actor)
    run(svc.efficiency_confirm_data, YEAR, reg[0]["uscc"], actor=actor)
    assert run(svc.efficiency_firm_data, YEAR, reg[0]["uscc"], actor=actor)["check_status"] == "已确认"
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_run, YEAR, actor=actor)


def test_office_steward_runs_the_cycle_and_others_cannot(run: Any, factory: Any, city: dict[str, Any]) -> None:
    _u, office_steward = factory.user(Role.STEWARD, dept=city["depts"]["lygxj"])
    _u, tax_steward = factory.user(Role.STEWARD, dept=city["depts"]["lyswj"])
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking"), actor=office_steward)
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="collecting", note="x"), actor=tax_steward)
    with pytest.raises(NotFound):
        run(svc.efficiency_cycle_show, 1999)
