"""Deadlines on the working calendar, the 督办 sweep and the 考核 KPIs (with 同比 / 环比)."""

from __future__ import annotations

from typing import Any

import pytest
import test_cases_support as support
from test_cases_support import COMMUNITY, City, at

from citybrain.cases import service
from citybrain.cases.intake import case_report
from citybrain.cases.kpi import cases_kpi
from citybrain.cases.schemas import DisposeIn, EvaluateIn, VerifyIn
from citybrain.cases.supervision import cases_supervise

city = support.city  # the shared fixture


def _dispatched(run: Any, city: City, code: str, reported: Any, dispatched: Any, **extra: Any) -> Any:
    data = city.report("现场发现问题需要处置", code=code, kind="事项", reported_at=reported, **extra)
    result = run(case_report, data, actor=city.operator, now=reported)
    for step in (service.case_accept, service.case_register, service.case_dispatch):
        run(step, result.case_id, actor=city.operator, now=dispatched)
    return result.case_id


def _finish(run: Any, city: City, ref: str, disposed: Any, *, close: bool = True) -> Any:
    run(service.case_sign, ref, actor=city.worker, now=disposed)
    run(service.case_dispose, ref, DisposeIn(note="已处置完毕"), actor=city.worker, now=disposed)
    run(service.case_feedback, ref, actor=city.worker, now=disposed)
    run(service.case_verify, ref, VerifyIn(passed=True), actor=city.operator, now=disposed)
    if close:
        return run(service.case_close, ref, actor=city.operator, now=disposed)
    return None


def test_disposal_deadline_skips_the_national_day_holiday(run: Any, city: City) -> None:
    # 暴露垃圾: 1 working day. Dispatched Wednesday 09-30 10:00; 10-01..10-07 is 国庆, so Thursday 10-08 10:00
    exposed = _dispatched(run, city, "06010", at(2026, 9, 30, 9, 50), at(2026, 9, 30, 10, 0))
    case = run(service.case_show, exposed)
    assert case.due_at == at(2026, 10, 8, 10, 0) and case.stage == "dispose"
    # 积存垃圾渣土: 4 working days — 10-08, 10-09, Saturday 10-10 (调休 working day), Monday 10-12
    piled = _dispatched(run, city, "06011", at(2026, 9, 30, 9, 50), at(2026, 9, 30, 10, 0), lon=city.lon + 0.001)
    assert run(service.case_show, piled).due_at == at(2026, 10, 12, 10, 0)
    # 立案+派遣 within 30 calendar minutes of the report
    late = _finish(run, city, exposed, at(2026, 10, 8, 10, 30))
    assert late.registered_on_time is True and late.disposed_on_time is False and late.closed_on_time is False


def test_supervision_warns_then_escalates_an_overdue_case_one_level_up(run: Any, city: City) -> None:
    ref = _dispatched(run, city, "06010", at(2026, 9, 30, 9, 50), at(2026, 9, 30, 10, 0))
    # 1 h 15 min of a 7.5 h working day left: 即将超期
    swept = run(cases_supervise, at(2026, 10, 8, 8, 45), actor=city.supervisor)
    case = run(service.case_show, ref)
    assert swept["warned"] == [case.request_id] and swept["escalated"] == []
    assert case.timer_state == "due_soon" and case.supervision_level == 0
    assert run(cases_supervise, at(2026, 10, 8, 8, 50))["warned"] == []  # one warning per deadline

    swept = run(cases_supervise, at(2026, 10, 8, 10, 30), actor=city.supervisor)
    case = run(service.case_show, ref)
    assert swept["escalated"] == [case.request_id]
    assert case.supervision_level == 1 and case.overdue and case.timer_state == "overdue"
    assert case.state == "dispatched"  # 督办 never moves the case itself
    assert [e.action for e in case.events][-1] == "supervise"
    # the grid worker is told, and so is the level above (社区)
    worker_notes = run(service.notification_list, actor=city.worker)
    assert any(n.kind == "supervise" for n in worker_notes)
    board_notes = run(service.notification_list, actor=city.supervisor)
    assert any(n.kind == "supervise" and "社区" in n.message for n in board_notes)
    assert run(cases_supervise, at(2026, 10, 8, 11, 0))["escalated"] == []  # escalated once


def test_kpis_move_with_closed_cases_and_compare_with_earlier_periods(run: Any, city: City) -> None:
    # October 2026: one closed on time, one disposed late and not yet closed
    on_time = _dispatched(run, city, "06010", at(2026, 10, 12, 9, 0), at(2026, 10, 12, 9, 10))
    _finish(run, city, on_time, at(2026, 10, 12, 15, 0))
    run(service.case_evaluate, on_time, EvaluateIn(evaluation="满意"), actor=city.operator)
    late = _dispatched(run, city, "06042", at(2026, 10, 13, 9, 0), at(2026, 10, 13, 9, 10))
    _finish(run, city, late, at(2026, 10, 23, 9, 0), close=False)
    # September 2026 (环比) and October 2025 (同比): one case each, closed on time
    for day in (at(2026, 9, 14, 9, 0), at(2025, 10, 14, 9, 0)):
        ref = _dispatched(run, city, "06010", day, day.replace(minute=10), lon=city.lon + 0.002)
        _finish(run, city, ref, day.replace(hour=15))

    result = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "city", actor=city.operator)
    (row,) = result["rows"]
    assert row["counts"]["reported"] == 2 and row["counts"]["registered"] == 2 and row["counts"]["closed"] == 1
    assert row["counts"]["disposed"] == 2 and row["counts"]["disposed_on_time"] == 1
    assert row["rates"]["close_rate"] == 0.5 and row["rates"]["dispose_on_time_rate"] == 0.5
    assert row["rates"]["dispatch_accuracy_rate"] == 1.0 and row["rates"]["register_on_time_rate"] == 1.0
    assert row["rates"]["rework_rate"] == 0.0 and row["rates"]["satisfaction_rate"] == 1.0
    assert row["averages"]["avg_dispose_hours"] is not None and row["averages"]["avg_dispose_hours"] > 0
    assert result["mom_period"][0] == at(2026, 9, 1, 0, 0)
    assert row["mom"]["rates"]["close_rate"] == 1.0 and row["mom"]["delta_pp"]["close_rate"] == -50.0
    assert row["yoy"]["rates"]["close_on_time_rate"] == 1.0

    by_street = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "community", actor=city.operator)
    assert [r["key"] for r in by_street["rows"]] == [COMMUNITY]
    assert by_street["rows"][0]["name"] == "朝阳花园社区"
    by_category = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "category")
    assert {r["key"]: r["name"] for r in by_category["rows"]} == {"06010": "暴露垃圾", "06042": "垃圾站（箱）满溢"}
    by_source = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "source")
    assert [r["key"] for r in by_source["rows"]] == ["patrol"]
    by_district = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "district")
    assert [(r["key"], r["name"]) for r in by_district["rows"]] == [("320402", "天宁区")]
    by_grid = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "grid")
    assert [r["key"] for r in by_grid["rows"]] == [support.GRID]
    by_dept = run(cases_kpi, at(2026, 10, 1, 0, 0), at(2026, 11, 1, 0, 0), "department")
    # both went to the grid worker (属地), none to a department
    assert [(r["key"], r["counts"]["reported"]) for r in by_dept["rows"]] == [(None, 2)]


def test_extension_and_hanging_move_or_stop_the_disposal_clock(run: Any, city: City) -> None:
    from citybrain.cases.schemas import ExtendDecideIn, ExtendRequestIn, ReasonIn
    from citybrain.errors import Conflict

    ref = _dispatched(run, city, "06011", at(2026, 9, 30, 9, 50), at(2026, 9, 30, 10, 0))
    run(service.case_sign, ref, actor=city.worker, now=at(2026, 9, 30, 11, 0))
    run(service.case_extend_request, ref, ExtendRequestIn(days=2, reason="需调运大型机械"), actor=city.worker)
    with pytest.raises(Conflict):
        run(service.case_extend_request, ref, ExtendRequestIn(days=1, reason="再延一天"), actor=city.worker)
    approved = run(service.case_extend_decide, ref, ExtendDecideIn(approve=True), actor=city.operator)
    # 4 working days to Monday 10-12 10:00, plus 2 more: Tuesday 10-13, Wednesday 10-14
    assert approved.dispose_due_at == at(2026, 10, 14, 10, 0) and approved.extension_count == 1
    assert any(n.kind == "extension" for n in run(service.notification_list, actor=city.worker))
    hung = run(service.case_hang, ref, ReasonIn(reason="需列入年度维修计划"), actor=city.worker)
    assert hung.state == "hung" and hung.due_at is None and hung.stage is None
    back = run(service.case_unhang, ref, actor=city.operator, now=at(2026, 10, 9, 9, 0))
    assert back.state == "signed" and back.due_at == at(2026, 10, 14, 10, 0)
