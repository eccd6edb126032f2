"""自行处置: a grid worker reports a problem already handled on the spot; it skips 派遣, is verified and
closed like any case, and the 考核 counts it as 自行处置 without inflating the dispatch-based rates."""

from __future__ import annotations

from typing import Any

import pytest
import test_cases_support as support
from test_cases_support import GRID, City, at

from citybrain.cases import service
from citybrain.cases.enums import CaseAction, next_state
from citybrain.cases.intake import case_patrol_report, case_report
from citybrain.cases.kpi import cases_kpi
from citybrain.cases.schemas import DisposeIn, PatrolIn, VerifyIn
from citybrain.errors import Conflict, Invalid, parse

city = support.city  # the shared fixture


def _patrol(city: City, **extra: Any) -> PatrolIn:
    body = {"text": "绿化带旁暴露垃圾，已当场清理", "kind": "事项", "code": "06010", "lon": city.lon, "lat": city.lat}
    return parse(PatrolIn, {**body, **extra})


def test_self_disposed_patrol_report_skips_dispatch_and_is_verified_and_closed(run: Any, city: City) -> None:
    moment = at(2026, 10, 12, 9, 0)
    data = _patrol(city, self_disposed=True, disposal_note="已当场清扫装袋")
    result = run(case_patrol_report, data, actor=city.worker, now=moment)
    assert result.state == "feedback" and not result.merged and not result.needs_human

    case = run(service.case_show, result.case_id, actor=city.operator)
    assert case.self_disposed and case.grid_id == GRID
    assert case.dispatched_at is None and case.disposed_at == moment
    assert case.assignee_user_id == city.worker.user_id and case.level == "grid"
    assert case.stage == "verify" and case.due_at is not None  # the 核查 clock runs
    assert [e.action for e in case.events] == ["report", "self_dispose"]
    assert case.events[-1].reason == "已当场清扫装袋"
    assert set(case.allowed_actions) >= {"verify_pass", "verify_fail"}

    run(service.case_verify, result.case_id, VerifyIn(passed=True), actor=city.operator, now=moment)
    closed = run(service.case_close, result.case_id, actor=city.operator, now=moment)
    assert closed.state == "closed" and closed.closed_on_time is True


def test_kpis_count_self_disposal_apart_from_dispatched_disposal(run: Any, city: City) -> None:
    moment = at(2026, 10, 12, 9, 0)
    own = run(
        case_patrol_report, _patrol(city, self_disposed=True, disposal_note="已清理"), actor=city.worker, now=moment
    )
    run(service.case_verify, own.case_id, VerifyIn(passed=True), actor=city.operator, now=moment)
    run(service.case_close, own.case_id, actor=city.operator, now=moment)
    # an ordinary case elsewhere (a different problem, so it does not merge): dispatched and disposed
    other = run(
        case_report, city.report("垃圾桶满溢", kind="事项", code="06042", reported_at=moment), actor=city.operator
    )
    for step in (service.case_accept, service.case_register, service.case_dispatch):
        run(step, other.case_id, actor=city.operator, now=moment)
    run(service.case_sign, other.case_id, actor=city.worker, now=moment)
    run(service.case_dispose, other.case_id, DisposeIn(note="已清运"), actor=city.worker, now=moment)

    result = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "city", actor=city.operator)
    (row,) = result["rows"]
    counts, rates = row["counts"], row["rates"]
    assert counts["reported"] == 2 and counts["registered"] == 2 and counts["closed"] == 1
    assert counts["self_disposed"] == 1
    # 处置率 = 处置数 / 派遣数 over the dispatched case only: the self-disposed one is not a dispatch
    assert counts["dispatched"] == 1 and counts["disposed"] == 1 and rates["dispose_rate"] == 1.0
    assert rates["close_rate"] == 0.5
    assert result["labels"]["counts"]["self_disposed"] == "自行处置数"


def test_self_disposal_needs_a_category_and_is_never_offered_on_other_cases(run: Any, city: City) -> None:
    with pytest.raises(Invalid):
        _patrol(city, code=None, kind=None, self_disposed=True, disposal_note="已处理")
    with pytest.raises(Invalid):
        _patrol(city, self_disposed=True)  # no note of what was done
    ordinary = run(case_patrol_report, _patrol(city), actor=city.worker)
    shown = run(service.case_show, ordinary.case_id, actor=city.operator)
    assert not shown.self_disposed and "self_dispose" not in shown.allowed_actions
    # and the state machine refuses it there, naming why
    with pytest.raises(Conflict) as refused:
        run(lambda ctx: next_state(service.get_case(ctx.session, ordinary.case_id), CaseAction.SELF_DISPOSE))
    assert "当场处置" in refused.value.details["reason"]
