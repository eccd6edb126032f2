"""数据核对 objections go to the department that supplied the disputed data, as 数据异议 of the governance loop.

Same five-firm 溧阳 as the 同比 test; F1's 2022 实缴税金 is 60 万 on 10 亩 (v 6 → 44, C). The firm disputes it,
the 税务局 upholds and reloads 80 万, so the run scores v 8 → 40 + (8 − 5) × 4 = 52 (still C, 8 points up).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from small_city import F1, F3, KL, OWNER, tables

from citybrain.auth.rules import Role
from citybrain.efficiency import service as svc
from citybrain.efficiency.api_schemas import CycleCreate, FirmBind, ObjectionCreate, ObjectionReply, TransitionIn
from citybrain.efficiency.service import today as beijing_today
from citybrain.errors import Conflict, NotAuthorized

YEAR = 2022


def _quality(run: Any, objection_id: str) -> Any:
    from citybrain.quality.models import QualityObjection

    def get(ctx: Any) -> Any:
        q = ctx.session.get(QualityObjection, objection_id)
        ctx.session.expunge(q)
        return q

    return run(get)


def test_objections_are_answered_by_the_source_department(run: Any, factory: Any, liyang: dict[str, Any]) -> None:
    pytest.importorskip("citybrain.quality.objections")
    depts, stewards, office = liyang["depts"], liyang["stewards"], liyang["office"]
    for key, table in tables(YEAR).items():
        run(svc.efficiency_data_load, key, table, actor=stewards[OWNER[key]])
    run(svc.efficiency_cycle_create, CycleCreate(year=YEAR), actor=office)
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking", check_deadline=beijing_today()), actor=office)

    # the firm itself, through its portal account
    firm_user, firm = factory.user(Role.PUBLIC)
    run(svc.efficiency_firm_bind, FirmBind(username=firm_user.username, uscc=F1))
    tax_obj = run(
        svc.efficiency_objection_create,
        YEAR,
        ObjectionCreate(uscc=F1, resource_key="ly_eff_tax", field="tax_paid_in", message="入库税款应为 80 万元"),
        actor=firm,
    )
    # and a town, for one of its firms' plots
    _u, town = factory.user(Role.CONSUMER, dept=depts["lygxj"], divisions=[KL[1]])
    land_obj = run(
        svc.efficiency_objection_create,
        YEAR,
        ObjectionCreate(uscc=F3, resource_key="ly_eff_land", field="area_mu", message="宗地面积应为 8 亩"),
        actor=town,
    )
    assert tax_obj.dept_id == depts["lyswj"].id
    assert land_obj.dept_id == depts["lyzrzyj"].id

    tax_q = _quality(run, tax_obj.quality_objection_id)
    assert (tax_q.dept_id, tax_q.resource_key, tax_q.keys, tax_q.field) == (
        depts["lyswj"].id,
        "ly_eff_tax",
        [F1],
        "tax_paid_in",
    )
    # raised on the firm's behalf, and recorded as the firm's
    assert tax_q.raised_by_id == firm_user.id and tax_q.number == tax_obj.quality_number
    land_q = _quality(run, land_obj.quality_objection_id)
    # a composite key as the quality engine writes it: uscc|plot_id
    assert (land_q.dept_id, land_q.keys) == (depts["lyzrzyj"].id, [f"{F3}|320481-{F3[-6:]}"])

    # the office no longer answers for the 税务局; the 税务局's steward does
    with pytest.raises(NotAuthorized):
        run(svc.efficiency_objection_reply, tax_obj.id, ObjectionReply(status="accepted", reply="x" * 3), actor=office)
    run(
        svc.efficiency_objection_reply,
        tax_obj.id,
        ObjectionReply(status="accepted", reply="经核实漏计一笔入库税款，已更正"),
        actor=stewards["lyswj"],
    )
    assert _quality(run, tax_obj.quality_objection_id).status == "upheld"
    # the 资规局 rejects in the governance console; the cycle sees the decision
    from citybrain.quality.objections import objection_reject

    run(objection_reject, land_q.number, "不动产登记簿记载 10 亩", actor=stewards["lyzrzyj"])
    answered = {o.id: (o.status, o.reply) for o in run(svc.efficiency_objection_list, YEAR)}
    assert answered == {
        tax_obj.id: ("accepted", "经核实漏计一笔入库税款，已更正"),
        land_obj.id: ("rejected", "不动产登记簿记载 10 亩"),
    }
    assert run(svc.efficiency_firm_data, YEAR, F1, actor=firm)["check_status"] == "异议已答复"
    with pytest.raises(Conflict, match="已答复"):
        run(svc.efficiency_objection_reply, land_obj.id, ObjectionReply(status="accepted", reply="改判"))

    # the 税务局 delivers the correction; the governance loop marks the upheld 数据异议 fixed by it
    tax = tables(YEAR)["ly_eff_tax"].to_pylist()
    for r in tax:
        if r["uscc"] == F1:
            r["tax_paid_in"] = 80.0
    version = run(svc.efficiency_data_load, "ly_eff_tax", pa.Table.from_pylist(tax), actor=stewards["lyswj"])
    fixed = _quality(run, tax_obj.quality_objection_id)
    assert (fixed.status, fixed.fixed_version) == ("fixed", version)

    past = beijing_today() - dt.timedelta(days=1)
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="evaluating", check_deadline=past), actor=office)
    r = run(svc.efficiency_run, YEAR, actor=office)
    assert r.data_versions["ly_eff_tax"] == version
    shown = run(svc.efficiency_result_show, YEAR, F1)
    assert (shown["total_score"], shown["class"]) == (52.0, "C")


def test_an_objection_naming_no_data_is_the_offices(run: Any, liyang: dict[str, Any]) -> None:
    for key, table in tables(YEAR).items():
        run(svc.efficiency_data_load, key, table, actor=liyang["stewards"][OWNER[key]])
    office = liyang["office"]
    run(svc.efficiency_cycle_create, CycleCreate(year=YEAR), actor=office)
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking", check_deadline=beijing_today()), actor=office)
    obj = run(svc.efficiency_objection_create, YEAR, ObjectionCreate(uscc=F1, message="企业已更名"))
    assert (obj.dept_id, obj.quality_objection_id) == (None, None)
    with pytest.raises(NotAuthorized):
        run(
            svc.efficiency_objection_reply,
            obj.id,
            ObjectionReply(status="rejected", reply="x" * 3),
            actor=liyang["stewards"]["lyswj"],
        )
    done = run(
        svc.efficiency_objection_reply, obj.id, ObjectionReply(status="rejected", reply="以工商登记为准"), actor=office
    )
    assert done.status == "rejected"
