"""The demo's 亩均效益 evaluation: two 评价年度 taken through the whole cycle, so 结果通报 shows 同比.

Each year's department data are loaded through the ingest connectors, then the cycle runs as the people
who would run it: 市工信局's 数据管理员 (the 领导小组 office) opens 数据核对, closes it, computes, records
the 领导小组's T list and one 调档 with their reasons, confirms and publishes. In the last year two
objections show the governance loop: the demo firm (account ``company``) disputes its 实缴税金, which the
税务局 upholds and corrects with a new version, and 工信局 (collecting a town's return) disputes a plot's
area, which the 资规局 rejects with its reason.

数据核对 needs a deadline after the objections and before 评价分类 (a cycle cannot close its check early):
the demo opens it with today's date as the deadline and, once both objections are answered, moves the
deadline to yesterday with the move to 评价分类 — the office closing the check as soon as it was settled.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from citybrain.actions import Context
from citybrain.demo.sharing import demo_actor

#: the 评价年度 of the demo: 2022 published a year ago, 2023 just published (compared with 2022)
YEARS: tuple[int, ...] = (2022, 2023)
#: the town of the demo firm account, and the town whose return is disputed
FIRM_TOWN = "320481002"  # 溧城街道
OTHER_TOWN = "320481001"  # 昆仑街道
#: why the 领导小组 认定 a T candidate, by the rule that proposed it (溧政发〔2023〕6号 三（一）)
T_REASONS: dict[str, str] = {
    "T-1": "工商注册未满 2 年的租赁型新办企业，列入重点培育名录库，镇（区、街道）提出，领导小组认定暂缓定类",
    "T-2": "供地未满 3 年的新办企业，列入重点培育名录库，镇（区、街道）提出，领导小组认定暂缓定类",
    "T-3": "通过兼并重组取得土地使用权未满 2 年，镇（区、街道）提出，领导小组认定暂缓定类",
    "T-other": "镇（区、街道）提出的其他需要暂缓定类的企业，领导小组研究同意",
}


def _as(ctx: Context, username: str) -> Context:
    """The same unit of work, acting as a demo account."""
    return Context(session=ctx.session, actor=demo_actor(ctx.session, username), settings=ctx.settings)


def build_efficiency(ctx: Context, firms: int, seed: str) -> dict[str, Any]:
    """Install the inputs, then run every demo year to 结果通报; returns what the manifest records."""
    from citybrain.efficiency.service import efficiency_catalog_install

    installed = efficiency_catalog_install(ctx)
    years = {year: _year(ctx, year, firms, seed, last=year == YEARS[-1]) for year in YEARS}
    return {"resources": len(installed), "firms": firms, "years": years}


def _year(ctx: Context, year: int, firms: int, seed: str, *, last: bool) -> dict[str, Any]:
    from citybrain.efficiency import service as svc
    from citybrain.efficiency.api_schemas import CycleCreate, TransitionIn

    loaded = svc.efficiency_demo_load(ctx, year, seed=seed, n_firms=firms)
    office = _as(ctx, "steward.lygxj")
    today = svc.today()  # the deadline is judged by the date in Beijing, not the server's
    svc.efficiency_cycle_create(office, CycleCreate(year=year, check_deadline=today))
    svc.efficiency_cycle_advance(office, year, TransitionIn(to="checking"))
    objections = _objections(ctx, year) if last else []
    svc.efficiency_cycle_advance(
        office,
        year,
        TransitionIn(
            to="evaluating", check_deadline=today - dt.timedelta(days=1), note="异议均已答复，数据核对提前截止"
        ),
    )
    first = svc.efficiency_run(office, year)
    decided = _decide(office, year)
    final = svc.efficiency_run(office, year) if decided else first
    svc.efficiency_confirm(office, year)
    svc.efficiency_cycle_advance(office, year, TransitionIn(to="published"))
    return {
        "rows": loaded["rows"],
        "classes": final.class_counts,
        "runs": final.seq,
        "decisions": decided,
        "objections": objections,
    }


def _pick(ctx: Context, key: str, town: str, *, skip: set[str]) -> str:
    """The first (by code) registered industrial firm of ``town`` with a record in ``key`` and in no group."""
    from citybrain.efficiency.service import lake_for

    lake = lake_for(ctx)
    reg = lake.read(
        "ly_eff_registration",
        columns=["uscc"],
        filter_sql=f"town_code = '{town}' AND is_industrial AND NOT is_utility",
    )["uscc"].to_pylist()
    related = set(lake.read("ly_eff_related", columns=["uscc"])["uscc"].to_pylist())
    leased = set(lake.read("ly_eff_leases", columns=["lessor_uscc"])["lessor_uscc"].to_pylist())
    have = set(lake.read(key, columns=["uscc"])["uscc"].to_pylist())
    return min(u for u in reg if u in have and u not in related | leased | skip)


def _objections(ctx: Context, year: int) -> list[dict[str, Any]]:
    """One objection upheld (and corrected), one rejected, each answered by the department it went to."""
    from citybrain.efficiency import service as svc
    from citybrain.efficiency.api_schemas import FirmBind, ObjectionCreate, ObjectionReply
    from citybrain.quality.objections import objection_reject

    firm = _pick(ctx, "ly_eff_tax", FIRM_TOWN, skip=set())
    svc.efficiency_firm_bind(ctx, FirmBind(username="company", uscc=firm))
    tax = svc.efficiency_objection_create(
        _as(ctx, "company"),
        year,
        ObjectionCreate(
            uscc=firm,
            resource_key="ly_eff_tax",
            field="tax_paid_in",
            message="12 月入库的一笔增值税未计入入库税款，附完税证明",
        ),
    )
    tax_steward = _as(ctx, "steward.lyswj")
    svc.efficiency_objection_reply(
        tax_steward,
        tax.id,
        ObjectionReply(status="accepted", reply="经核实 12 月一笔增值税入库漏报，已更正并重新报送"),
    )
    # the correction arrives as a new version of the 税务局's resource (the governance loop marks it fixed)
    table = svc.lake_for(ctx).read("ly_eff_tax")
    paid = table["tax_paid_in"]
    raised = pc.round(pc.multiply(pc.cast(paid, pa.float64()), 1.2), 2).cast(paid.type)
    corrected = pc.if_else(pc.equal(table["uscc"], firm), raised, paid)
    column = table.schema.get_field_index("tax_paid_in")
    svc.efficiency_data_load(tax_steward, "ly_eff_tax", table.set_column(column, "tax_paid_in", corrected))

    plot_firm = _pick(ctx, "ly_eff_land", OTHER_TOWN, skip={firm})
    land = svc.efficiency_objection_create(
        _as(ctx, "consumer.lygxj"),
        year,
        ObjectionCreate(
            uscc=plot_firm,
            resource_key="ly_eff_land",
            field="area_mu",
            message="昆仑街道核定：企业实际用地小于登记面积，部分土地已交还",
        ),
    )
    # the 资规局 answers in the governance console; the cycle takes its decision from there
    objection_reject(
        _as(ctx, "steward.lyzrzyj"),
        land.quality_number or "",
        "不动产登记簿记载面积无变更，交还土地的收回手续尚未办结，以登记面积为准",
    )
    return [
        {"uscc": firm, "resource": "ly_eff_tax", "status": "accepted", "number": tax.quality_number},
        {"uscc": plot_firm, "resource": "ly_eff_land", "status": "rejected", "number": land.quality_number},
    ]


def _decide(office: Context, year: int) -> int:
    """The 领导小组: 认定 every T candidate but one (classified by its score), and one 调档 for a 重点培育 firm."""
    from citybrain.efficiency import service as svc
    from citybrain.efficiency.api_schemas import DecisionIn
    from citybrain.efficiency.models import Result

    run = svc.latest_run(office, svc.get_cycle(office, year))
    assert run is not None
    rows = office.session.execute(
        select(Result.uscc, Result.cls, Result.override_rule, Result.breakdown)
        .where(Result.run_id == run.id)
        .order_by(Result.uscc)
    ).all()
    n = 0
    candidates = [(u, svc._t_rule(json.loads(bd))) for u, cls, _o, bd in rows if cls == "T"]
    candidates = [(u, r) for u, r in candidates if r is not None]
    for i, (uscc, rule) in enumerate(candidates):
        if i == 0:
            svc.efficiency_decide(
                office,
                year,
                DecisionIn(
                    kind="t_reject", uscc=uscc, reason="已投产满一个完整评价年度，领导小组研究不予暂缓，按得分定类"
                ),
            )
        else:
            svc.efficiency_decide(office, year, DecisionIn(kind="t_confirm", uscc=uscc, reason=T_REASONS[rule]))
        n += 1
    catalogue = _catalogue(office)
    low = next((u for u, cls, o, _bd in rows if cls in ("C", "D") and o is None and u in catalogue), None)
    if low is not None:
        svc.efficiency_decide(
            office,
            year,
            DecisionIn(
                kind="adjust",
                uscc=low,
                new_class="B",
                basis="重点培育",
                reason="市政府列为重点培育产业类企业，技改项目投产在即，领导小组研究调为 B 类",
            ),
        )
        n += 1
    return n


def _catalogue(ctx: Context) -> set[str]:
    from citybrain.efficiency.service import lake_for

    lake = lake_for(ctx)
    if lake.current("ly_eff_catalogue") is None:
        return set()
    return set(lake.read("ly_eff_catalogue", columns=["uscc"])["uscc"].to_pylist())
