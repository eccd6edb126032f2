"""The case workflow through the actions: intake, routing, dispatch, disposal, 核查, 结案, locking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import test_cases_support as support
from test_cases_support import GRID, STREET, City

from citybrain.audit.service import audit_list
from citybrain.cases import service
from citybrain.cases.intake import case_report
from citybrain.cases.models import Case
from citybrain.cases.schemas import (
    CaseQuery,
    ComponentCreate,
    DispatchIn,
    DisposeIn,
    ReasonIn,
    ReclassifyIn,
    VerifyIn,
)
from citybrain.errors import Conflict, Invalid, NotAuthorized, parse

city = support.city  # the shared fixture

BIN = "路边垃圾桶满了溢出来很臭，没人清理"


def _report(run: Any, city: City, text: str = BIN, **extra: Any) -> Any:
    return run(case_report, city.report(text, **extra), actor=city.operator)


def _to_dispatched(run: Any, city: City, ref: str, now: Any = None) -> Case:
    run(service.case_accept, ref, actor=city.operator, now=now)
    run(service.case_register, ref, actor=city.operator, now=now)
    return run(service.case_dispatch, ref, actor=city.operator, now=now)


def test_patrol_report_is_classified_routed_to_the_grid_worker_and_closed(run: Any, city: City) -> None:
    result = _report(run, city)
    assert not result.merged and result.state == "reported" and not result.needs_human
    shown = run(service.case_show, result.request_id, actor=city.operator)
    assert shown.code == "06042" and shown.kind == "事项" and shown.grid_id == GRID
    assert shown.street_code == STREET and shown.district_code == "320402"
    assert shown.allowed_actions == ["accept", "reject", "reclassify", "supervise"]

    case = _to_dispatched(run, city, result.case_id)
    # 事项: 先属地 — the grid worker of the grid the point falls in
    assert case.state == "dispatched" and case.assignee_user_id == city.worker.user_id and case.level == "grid"
    assert case.dispose_due_at is not None and case.stage == "dispose"
    notices = run(service.notification_list, actor=city.worker)
    assert any(n.kind == "dispatch" and result.request_id in n.message for n in notices)

    run(service.case_sign, case.id, actor=city.worker)
    run(service.case_dispose, case.id, DisposeIn(note="已清运满溢垃圾并冲洗地面"), actor=city.worker)
    run(service.case_feedback, case.id, actor=city.worker)
    run(service.case_verify, case.id, VerifyIn(passed=True), actor=city.operator)
    closed = run(service.case_close, case.id, actor=city.operator)
    assert closed.state == "closed" and closed.closed_on_time is True and closed.due_at is None

    detail = run(service.case_show, case.id, actor=city.operator)
    assert [e.action for e in detail.events] == [
        "report", "accept", "register", "dispatch", "sign", "dispose", "feedback", "verify_pass", "close",
    ]  # fmt: skip
    audited = run(audit_list, resource_id=case.id)
    assert {e.action for e in audited} >= {"case_report", "case_dispatch", "case_dispose", "case_close"}


def test_illegal_transition_is_refused_with_the_allowed_actions(run: Any, city: City) -> None:
    result = _report(run, city)
    with pytest.raises(Conflict) as refused:
        run(service.case_close, result.case_id, actor=city.operator)
    assert refused.value.details["state"] == "reported"
    assert refused.value.details["allowed"] == ["accept", "reject", "reclassify", "supervise"]
    assert "受理" in refused.value.message
    # and the grid worker may not dispose a case that is not theirs
    with pytest.raises(NotAuthorized):
        run(service.case_dispose, result.case_id, DisposeIn(note="处理完毕"), actor=city.cgj_staff)


def test_two_operators_acting_on_the_same_version_one_gets_a_conflict(run: Any, city: City) -> None:
    result = _report(run, city)
    seen = run(service.case_show, result.case_id, actor=city.operator).version
    run(service.case_accept, result.case_id, version=seen, actor=city.operator)
    with pytest.raises(Conflict) as lost:
        run(service.case_reject, result.case_id, ReasonIn(reason="重复上报"), version=seen, actor=city.supervisor)
    assert lost.value.details["expected"] == seen and lost.value.details["current"] > seen
    assert run(service.case_show, result.case_id).state == "accepted"


def test_duplicate_reports_merge_into_one_case_with_every_report_attached(run: Any, city: City) -> None:
    first = _report(run, city)
    second = _report(run, city, "垃圾箱已经满溢了，周围都是垃圾", lon=city.lon + 0.0001)  # ≈ 10 m east
    assert second.merged and second.case_id == first.case_id and second.token != first.token
    far = _report(run, city, BIN, lon=city.lon + 0.01)  # ≈ 950 m
    other = _report(run, city, "小区门口有人占道经营卖水果")
    assert not far.merged and not other.merged
    detail = run(service.case_show, first.case_id, actor=city.operator)
    assert detail.report_count == 2 and len(detail.reports) == 2
    assert [e.action for e in detail.events] == ["report", "merge"]
    # the same channel report (工单号) twice is taken once
    again = _report(run, city, "井盖松动", code="01023", kind="事项", external_id="XC-1")
    assert _report(run, city, "井盖松动", code="01023", kind="事项", external_id="XC-1").case_id == again.case_id


def test_unsure_classification_waits_for_a_person(run: Any, city: City) -> None:
    result = _report(run, city, "这边有点问题你们来看看")
    assert result.needs_human
    total, queue = run(service.case_list, CaseQuery(needs_human=True), actor=city.operator)
    assert result.case_id in {c.id for c in queue} and total >= 1
    fixed = run(
        service.case_reclassify,
        result.case_id,
        ReclassifyIn(kind="事项", code="06010", reason="现场核实为暴露垃圾"),
        actor=city.operator,
    )
    assert fixed.code == "06010" and not fixed.needs_human and fixed.code_name == "暴露垃圾"


def test_return_reroutes_to_the_competent_department_then_waits_at_the_centre(run: Any, city: City) -> None:
    case = _to_dispatched(run, city, _report(run, city).case_id)
    run(service.case_sign, case.id, actor=city.worker)
    rerouted = run(service.case_return, case.id, ReasonIn(reason="需专业清运车辆，网格无法处置"), actor=city.worker)
    # 事项: 先属地后属主 — after the locality returns it, the 城管局 (rule 06*) gets it
    assert rerouted.state == "dispatched" and rerouted.assignee_dept_id == city.cgj.id
    assert rerouted.returned_by == ["locality"] and rerouted.dispatch_accurate is False
    waiting = run(service.case_return, case.id, ReasonIn(reason="不属于本部门职责"), actor=city.cgj_staff)
    assert waiting.state == "registered" and waiting.assignee_dept_id is None
    with pytest.raises(Conflict):
        run(service.case_dispatch, case.id, actor=city.operator)
    manual = run(service.case_dispatch, case.id, DispatchIn(dept="szc", reason="协调后由市政处置"), actor=city.operator)
    assert manual.assignee_dept_id == city.szc.id and manual.return_count == 2
    events = run(service.case_show, case.id, actor=city.operator).events
    assert [e.action for e in events if e.action in ("return", "dispatch")] == [
        "dispatch", "return", "dispatch", "return", "dispatch",
    ]  # fmt: skip


def test_component_case_goes_to_its_owner_first(run: Any, city: City) -> None:
    lamp = run(
        service.component_create,
        ComponentCreate(code="01037", owner_dept=city.szc.id, lon=city.lon, lat=city.lat),
        actor=city.supervisor,
    )
    assert len(lamp.ident) == 17 and lamp.grid_id == GRID
    result = _report(run, city, "这盏路灯晚上不亮", component_id=lamp.ident)
    case = _to_dispatched(run, city, result.case_id)
    # 部件: 先属主 — the registered owner, not the grid worker
    assert case.kind == "部件" and case.code == "01037" and case.assignee_dept_id == city.szc.id


def test_dispatch_down_the_levels_and_never_back_up(run: Any, city: City) -> None:
    result = _report(run, city)
    run(service.case_accept, result.case_id, actor=city.operator)
    run(service.case_register, result.case_id, actor=city.operator)
    street = run(service.case_dispatch, result.case_id, DispatchIn(level="street"), actor=city.operator)
    assert street.level == "street" and street.assignee_division == STREET and street.assignee_user_id is None
    grid = run(service.case_dispatch, result.case_id, DispatchIn(level="grid"), actor=city.street_operator)
    assert grid.level == "grid" and grid.assignee_user_id == city.worker.user_id
    with pytest.raises(Invalid):
        run(service.case_dispatch, result.case_id, DispatchIn(level="district"), actor=city.operator)


def test_rework_after_a_failed_check(run: Any, city: City) -> None:
    case = _to_dispatched(run, city, _report(run, city).case_id)
    run(service.case_sign, case.id, actor=city.worker)
    run(service.case_dispose, case.id, DisposeIn(note="已处理"), actor=city.worker)
    run(service.case_feedback, case.id, actor=city.worker)
    with pytest.raises(Invalid):
        parse(VerifyIn, {"passed": False})
    back = run(service.case_verify, case.id, VerifyIn(passed=False, note="现场仍有垃圾"), actor=city.operator)
    assert back.state == "signed" and back.rework_count == 1 and back.disposed_at is None
    assert any(n.kind == "rework" for n in run(service.notification_list, actor=city.worker))


@pytest.mark.postgres
def test_two_transactions_racing_on_one_case_one_gets_a_conflict(run: Any, db: Any, city: City) -> None:
    """Both read version n, both write: the second UPDATE matches no row and is refused (PostgreSQL;
    SQLite takes the write lock at BEGIN, so there the transactions cannot interleave at all)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers at BEGIN IMMEDIATE; the race needs PostgreSQL")
    from citybrain.actions import Context

    ref = _report(run, city).case_id
    first, second = db.sessionmaker(), db.sessionmaker()
    try:
        a = Context(session=first, actor=city.operator, settings=run.settings)
        b = Context(session=second, actor=city.supervisor, settings=run.settings)
        # both have read version n (kept referenced: the identity map holds unchanged objects weakly)
        seen = service.get_case(first, ref), service.get_case(second, ref)
        service.case_accept(a, ref)
        first.commit()
        with pytest.raises(Conflict) as lost:
            service.case_reject(b, ref, ReasonIn(reason="重复上报"))
        assert lost.value.details["field"] == "version" and len(seen) == 2
    finally:
        first.close()
        second.close()
    assert run(service.case_show, ref).state == "accepted"


def test_address_only_report_is_geocoded_and_goes_to_the_street_without_a_worker(run: Any, city: City) -> None:
    data = city.report("路口的路灯坏了好几盏", lon=None, lat=None, address="钟楼区延陵西路与晋陵北路交叉口")
    result = run(case_report, data, actor=city.operator)
    case = run(service.case_show, result.case_id, actor=city.operator)
    assert case.district_code == "320404" and case.grid_id and case.address == "钟楼区延陵西路与晋陵北路交叉口"
    assert case.events[0].details["geocoded_from"] == "延陵西路与晋陵北路交叉口"
    dispatched = _to_dispatched(run, city, result.case_id)
    # 属地 with no grid worker assigned: the street's operators take it
    assert dispatched.level == "street" and dispatched.assignee_division == case.street_code


def test_reclassifying_a_dispatched_case_sends_it_to_the_right_body(run: Any, city: City) -> None:
    result = _report(run, city)
    run(service.case_accept, result.case_id, actor=city.operator)
    run(service.case_register, result.case_id, actor=city.operator)
    wrong = run(service.case_dispatch, result.case_id, DispatchIn(dept="cgj"), actor=city.operator)
    assert wrong.assignee_dept_id == city.cgj.id
    fixed = run(
        service.case_reclassify,
        result.case_id,
        ReclassifyIn(kind="事项", code="01037", reason="实为路灯不亮"),
        actor=city.operator,
    )
    # 事项 goes to the locality first: the grid worker, on the new category's clock
    assert fixed.code == "01037" and fixed.assignee_user_id == city.worker.user_id and fixed.assignee_dept_id is None
    actions = [e.action for e in run(service.case_show, result.case_id, actor=city.operator).events]
    assert actions[-2:] == ["reclassify", "dispatch"]


def test_merge_distance_and_window_are_configurable(run: Any, city: City, monkeypatch: pytest.MonkeyPatch) -> None:
    from citybrain.cases.config import reset_config

    monkeypatch.setenv("CITYBRAIN_CASES_MERGE_DISTANCE_M", "5")
    reset_config()
    try:
        first = _report(run, city)
        near = _report(run, city, lon=city.lon + 0.0001)  # ≈ 10 m: beyond 5 m now
        assert not near.merged and near.case_id != first.case_id
        monkeypatch.setenv("CITYBRAIN_CASES_MERGE_DISTANCE_M", "50")
        monkeypatch.setenv("CITYBRAIN_CASES_MERGE_WINDOW_HOURS", "1")
        reset_config()
        later = run(
            case_report,
            city.report(BIN, reported_at=first_reported(run, first.case_id) + timedelta(hours=2)),
            actor=city.operator,
        )
        assert not later.merged
    finally:
        monkeypatch.delenv("CITYBRAIN_CASES_MERGE_DISTANCE_M")
        monkeypatch.delenv("CITYBRAIN_CASES_MERGE_WINDOW_HOURS", raising=False)
        reset_config()


def first_reported(run: Any, ref: str) -> Any:
    return run(service.case_show, ref).reported_at
