"""Opening 数据核对 reuses the governance checks each load already ran, and re-runs them only when their
verdict could differ: here when 工商登记 changed after the 税务 data was checked against it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from small_city import F3, OWNER, tables
from sqlalchemy import func, select

from citybrain.efficiency import service as svc
from citybrain.efficiency.api_schemas import CycleCreate, TransitionIn
from citybrain.efficiency.service import today as beijing_today

YEAR = 2022


def _runs(run: Any, key: str) -> int:
    from citybrain.quality.models import QualityRun

    return run(lambda ctx: ctx.session.scalar(select(func.count()).where(QualityRun.resource_key == key)))


def _open_tickets(run: Any, key: str) -> list[tuple[str, str | None]]:
    from citybrain.quality.models import QualityTicket, QualityTicketItem

    def read(ctx: Any) -> list[tuple[str, str | None]]:
        q = (
            select(QualityTicket.rule_id, QualityTicketItem.key)
            .join(QualityTicketItem, QualityTicketItem.ticket_id == QualityTicket.id)
            .where(
                QualityTicket.resource_key == key, QualityTicket.status == "open", QualityTicketItem.status == "open"
            )
        )
        return sorted((rule_id, item_key) for rule_id, item_key in ctx.session.execute(q))

    return run(read)


def test_checking_reuses_checks_that_still_stand(run: Any, liyang: dict[str, Any]) -> None:
    pytest.importorskip("citybrain.quality.service")
    stewards, office = liyang["stewards"], liyang["office"]
    data = tables(YEAR)
    for key, table in data.items():
        run(svc.efficiency_data_load, key, table, actor=stewards[OWNER[key]])
    # each load was checked once, right after it landed
    assert (_runs(run, "ly_eff_land"), _runs(run, "ly_eff_tax")) == (1, 1)
    assert _open_tickets(run, "ly_eff_tax") == []
    run(svc.efficiency_cycle_create, CycleCreate(year=YEAR), actor=office)
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking", check_deadline=beijing_today()), actor=office)
    # nothing changed since: 数据核对 reuses both checks
    assert (_runs(run, "ly_eff_land"), _runs(run, "ly_eff_tax")) == (1, 1)

    # 行政审批局 corrects its return: F3 was 注销 before the year end. The 税务 and 资规 records of F3 now
    # join nothing, which the stored checks (made against the old 工商登记) cannot know
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="collecting", note="工商登记重报"), actor=office)
    registration = data["ly_eff_registration"].filter(
        [u != F3 for u in data["ly_eff_registration"]["uscc"].to_pylist()]
    )
    run(svc.efficiency_data_load, "ly_eff_registration", registration, actor=stewards["lyspj"])
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking", check_deadline=beijing_today()), actor=office)
    assert (_runs(run, "ly_eff_land"), _runs(run, "ly_eff_tax")) == (2, 2)
    assert _open_tickets(run, "ly_eff_tax") == [("eff_uscc_registered", F3)]
    unmatched = {
        (e.resource_key, e.value) for e in run(svc.efficiency_exception_list, YEAR) if e.problem == "unmatched"
    }
    assert unmatched == {("ly_eff_land", F3), ("ly_eff_tax", F3)}
    # and opening again without a change reuses the fresh checks
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="collecting", note="再核"), actor=office)
    run(svc.efficiency_cycle_advance, YEAR, TransitionIn(to="checking", check_deadline=beijing_today()), actor=office)
    assert (_runs(run, "ly_eff_land"), _runs(run, "ly_eff_tax")) == (2, 2)


def test_a_stored_check_stops_standing_once_its_timeliness_verdict_would_change(
    run: Any, liyang: dict[str, Any]
) -> None:
    pytest.importorskip("citybrain.quality.service")
    from citybrain.catalog.service import get_resource
    from citybrain.quality.service import standing_run

    for key, table in tables(YEAR).items():
        run(svc.efficiency_data_load, key, table, actor=liyang["stewards"][OWNER[key]])

    def standing(ctx: Any, days: int) -> bool:
        resource = get_resource(ctx.session, "ly_eff_tax")
        version = svc.lake_for(ctx).current("ly_eff_tax").version
        now = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        return standing_run(ctx, resource, version, now=now) is not None

    # the resource is updated 每年 (366 days, no grace): fresh today and in 300 days, overdue in 400,
    # when a new run would fail the timeliness rule the stored run passed
    assert run(standing, 0) and run(standing, 300)
    assert not run(standing, 400)
