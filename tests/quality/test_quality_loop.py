"""The governance loop as its users see it: rules bound from the catalog, a run on a lake version,
rectification tickets to the source department, their automatic closure, objections and metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from citybrain.auth.rules import Role
from citybrain.errors import Conflict, Invalid, NotAuthorized, parse
from citybrain.lake.store import Lake
from citybrain.quality import service as q
from citybrain.quality.objections import objection_create, objection_list, objection_reject, objection_uphold
from citybrain.quality.schemas import ObjectionCreate, RuleIn
from citybrain.quality.service import after_load, quality_run, quality_show, rule_create, rule_delete, rule_list
from citybrain.quality.tickets import ticket_list, ticket_recheck, ticket_reject, ticket_show, tickets_escalate
from citybrain.standards.checks import citizen_id_check_char


def cid(birth: str, seq: str, division: str = "320402") -> str:
    body = division + birth + seq
    return body + citizen_id_check_char(body)


def bad_check(ident: str) -> str:
    last = "0" if ident[-1] != "0" else "1"
    return ident[:-1] + last


# odd 17th digit → 男 ("1"), even → 女 ("2")
P1 = cid("19800101", "011")
P2 = cid("19900215", "022")
P3 = cid("19751230", "031")
P4 = cid("20000505", "042")

PERSON_FIELDS = [
    {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id", "required": True, "sensitivity": 4},
    {"name": "name", "title": "姓名", "standard": "person_name", "required": True},
    {"name": "sex", "title": "性别", "standard": "sex"},
    {"name": "birth_date", "title": "出生日期", "standard": "date"},
    {"name": "mobile", "title": "手机号码", "standard": "mobile"},
]


def people(rows: list[tuple[str, str | None, str, str, str]]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "citizen_id": pa.array(cols[0], pa.string()),
            "name": pa.array(cols[1], pa.string()),
            "sex": pa.array(cols[2], pa.string()),
            "birth_date": pa.array(cols[3], pa.string()),
            "mobile": pa.array(cols[4], pa.string()),
        }
    )


GOOD = [
    (P1, "张三", "1", "1980-01-01", "13812345678"),
    (P2, "李四", "2", "1990-02-15", "13912345678"),
    (P3, "王五", "1", "1975-12-30", "13712345678"),
    (P4, "赵六", "2", "2000-05-05", "13612345678"),
]
DEFECTIVE = [
    (bad_check(P1), "张三", "1", "1980-01-01", "13812345678"),  # 校验码错误
    (P2, "  ", "2", "1990-02-15", "13912345678"),  # 姓名为空白
    (P3, "王五", "2", "1975-12-30", "13712345678"),  # 性别与身份证不符
    (P4, "赵六", "2", "2000-05-05", "12345"),  # 手机号码错误
]


@pytest.fixture
def city(factory: Any, settings: Any) -> dict[str, Any]:
    gaj = factory.dept(code="gaj", name="市公安局")
    mzj = factory.dept(code="mzj", name="市民政局")
    _, steward = factory.user("steward", gaj)
    _, other_steward = factory.user("steward", mzj)
    _, consumer = factory.user("consumer", mzj)
    _, cdo = factory.user("cdo", factory.dept(code="dsj", name="市大数据局"))
    res = factory.resource(
        gaj,
        key="persons",
        name="人口基础信息",
        category="基础库",
        base_library="人口",
        update_frequency="每日",
        share_type="无条件共享",
        fields=PERSON_FIELDS,
        primary_key=["citizen_id"],
    )
    return {
        "gaj": gaj,
        "mzj": mzj,
        "steward": steward,
        "other_steward": other_steward,
        "consumer": consumer,
        "cdo": cdo,
        "res": res,
        "lake": Lake(settings.lake_dir),
    }


def load(city: dict[str, Any], rows: list[Any], key: str = "persons") -> int:
    return city["lake"].write(key, people(rows) if isinstance(rows, list) else rows, mode="full").version


def test_rules_are_bound_from_the_catalog(run: Any, city: dict[str, Any]) -> None:
    ids = {r.id: r for r in run(rule_list, "persons", actor=city["consumer"])}
    assert {"citizen_id.check_digit", "citizen_id.required", "name.required", "pk.unique", "timeliness"} <= set(ids)
    assert ids["citizen_id.check_digit"].dimension_label == "准确性"
    assert ids["citizen_id.id_birth_sex"].kind == "cross_field"
    assert ids["mobile.phone"].kind == "phone"
    assert ids["sex.code_list"].kind == "code_list"
    assert ids["pk.unique"].dimension == "uniqueness"
    assert all(r.origin == "catalog" for r in ids.values())


def test_steward_adds_and_deletes_rules(run: Any, city: dict[str, Any]) -> None:
    spec = {"kind": "length", "id": "name_len", "column": "name", "max_length": 2, "severity": "low"}
    created = run(rule_create, "persons", RuleIn(spec=spec), actor=city["steward"])
    assert created.origin == "steward"
    assert "name_len" in {r.id for r in run(rule_list, "persons", actor=city["steward"])}
    with pytest.raises(Conflict):
        run(rule_create, "persons", RuleIn(spec=spec), actor=city["steward"])
    with pytest.raises(Invalid, match="没有字段"):
        run(rule_create, "persons", RuleIn(spec={**spec, "id": "x", "column": "nope"}), actor=city["steward"])
    with pytest.raises(NotAuthorized):
        run(rule_create, "persons", RuleIn(spec={**spec, "id": "y"}), actor=city["other_steward"])
    load(city, GOOD)
    report = run(quality_run, "persons", actor=city["steward"])
    assert report.results and {r.rule_id for r in report.results} >= {"name_len"}
    run(rule_delete, "persons", "name_len", actor=city["steward"])
    assert "name_len" not in {r.id for r in run(rule_list, "persons", actor=city["steward"])}


def test_scores_per_dimension_on_a_clean_and_a_defective_version(run: Any, city: dict[str, Any]) -> None:
    load(city, GOOD)
    clean = run(quality_run, "persons", actor=city["steward"])
    assert clean.overall == 100.0
    assert set(clean.dimensions) >= {"completeness", "accuracy", "consistency", "uniqueness", "timeliness"}
    assert clean.tickets_opened == 0
    load(city, DEFECTIVE)
    bad = run(quality_run, "persons", actor=city["steward"])
    assert bad.version == 2
    assert bad.dimensions["accuracy"] < 100 and bad.dimensions["completeness"] < 100
    assert bad.dimensions["consistency"] < 100
    assert bad.dimensions["uniqueness"] == 100.0
    failed = {r.rule_id: r.failed for r in bad.results}
    assert failed["citizen_id.check_digit"] == 1
    assert failed["name.required"] == 1
    assert failed["citizen_id.id_birth_sex"] == 1
    assert failed["mobile.phone"] == 1

    shown = run(quality_show, "persons", actor=city["steward"])
    assert [p.version for p in shown.trend] == [1, 2]
    assert shown.trend[0].overall == 100.0 and shown.trend[1].overall < 100
    sample = next(r for r in shown.run.results if r.rule_id == "name.required").samples[0]
    assert sample.key == P2 and sample.field == "name"


def test_a_defective_version_opens_tickets_to_the_source_department(run: Any, city: dict[str, Any]) -> None:
    load(city, DEFECTIVE)
    report = run(quality_run, "persons", actor=city["steward"])
    assert report.tickets_opened == 4
    inbox = run(ticket_list, actor=city["steward"])
    assert {t.rule_id for t in inbox} == {
        "citizen_id.check_digit",
        "name.required",
        "citizen_id.id_birth_sex",
        "mobile.phone",
    }
    assert all(t.dept_id == city["gaj"].id and t.dept_name == "市公安局" for t in inbox)
    by_rule = {t.rule_id: t for t in inbox}
    # deadlines by severity: high 3 days, low 15 days
    high, low = by_rule["citizen_id.check_digit"], by_rule["mobile.phone"]
    assert (high.due_at - high.opened_at) == timedelta(days=3)
    assert (low.due_at - low.opened_at) == timedelta(days=15)
    detail = run(ticket_show, high.number, actor=city["steward"])
    assert [(i.key, i.field, i.status) for i in detail.items] == [(bad_check(P1), "citizen_id", "open")]
    # another department's steward neither sees nor handles them
    assert run(ticket_list, actor=city["other_steward"]) == []
    with pytest.raises(NotAuthorized):
        run(ticket_show, high.number, actor=city["other_steward"])
    with pytest.raises(NotAuthorized):
        run(ticket_reject, high.number, "不是我们的问题", actor=city["other_steward"])
    with pytest.raises(NotAuthorized):
        run(quality_run, "persons", actor=city["other_steward"])
    with pytest.raises(NotAuthorized):
        run(ticket_recheck, high.number, actor=city["other_steward"])
    # a re-run of the same version does not open duplicates
    again = run(quality_run, "persons", actor=city["steward"])
    assert again.tickets_opened == 0 and again.tickets_closed == 0
    assert len(run(ticket_list, actor=city["steward"])) == 4
    # the chief data officer sees every department's tickets
    assert len(run(ticket_list, actor=city["cdo"])) == 4


def test_a_corrected_version_closes_tickets_only_when_their_records_pass(run: Any, city: dict[str, Any]) -> None:
    load(city, DEFECTIVE)
    run(quality_run, "persons", actor=city["steward"])
    # partly corrected: the name is filled in, the check digit is still wrong, the bad phone row is deleted
    partly = [GOOD[1], DEFECTIVE[0], GOOD[2]]
    load(city, partly)
    report = run(quality_run, "persons", actor=city["steward"])
    assert report.tickets_closed == 3
    tickets = {t.rule_id: t for t in run(ticket_list, actor=city["steward"])}
    assert tickets["name.required"].status == "closed" and tickets["name.required"].closed_version == 2
    assert tickets["citizen_id.id_birth_sex"].status == "closed"
    assert tickets["citizen_id.check_digit"].status == "open"
    phone = run(ticket_show, tickets["mobile.phone"].number, actor=city["steward"])
    assert phone.status == "closed" and phone.items[0].status == "removed"
    name = run(ticket_show, tickets["name.required"].number, actor=city["steward"])
    assert name.items[0].status == "fixed" and name.items[0].fixed_version == 2
    # fully corrected, and the steward asks for a recheck instead of waiting for the next load
    load(city, GOOD)
    done = run(ticket_recheck, tickets["citizen_id.check_digit"].number, actor=city["steward"])
    assert done.status == "closed" and done.closed_version == 3
    assert run(ticket_list, status="open", actor=city["steward"]) == []


def test_rejecting_a_ticket_needs_a_reason(run: Any, city: dict[str, Any]) -> None:
    load(city, DEFECTIVE)
    run(quality_run, "persons", actor=city["steward"])
    ticket = next(t for t in run(ticket_list, actor=city["steward"]) if t.rule_id == "mobile.phone")
    with pytest.raises(Invalid, match="理由"):
        run(ticket_reject, ticket.number, "  ", actor=city["steward"])
    rejected = run(ticket_reject, ticket.number, "该号码为内部短号，属正常业务数据", actor=city["steward"])
    assert rejected.status == "rejected" and rejected.reject_reason == "该号码为内部短号，属正常业务数据"
    with pytest.raises(Conflict):
        run(ticket_reject, ticket.number, "再次驳回", actor=city["steward"])
    # the disputed record is not ticketed again by the same rule
    report = run(quality_run, "persons", actor=city["steward"])
    assert report.tickets_opened == 0


def test_overdue_tickets_escalate_to_the_chief_data_officer(run: Any, city: dict[str, Any]) -> None:
    load(city, DEFECTIVE)
    run(quality_run, "persons", actor=city["steward"])
    with pytest.raises(NotAuthorized):
        run(tickets_escalate, actor=city["steward"])
    later = datetime.now(UTC) + timedelta(days=4)
    escalated = run(tickets_escalate, later, actor=city["cdo"])
    # high-severity tickets (3 days) are overdue, medium (7) and low (15) not yet
    assert {t.rule_id for t in escalated} == {"citizen_id.check_digit", "citizen_id.id_birth_sex"}
    assert run(tickets_escalate, later, actor=city["cdo"]) == []  # once per ticket
    cdo_view = run(ticket_list, escalated=True, actor=city["cdo"])
    assert {t.rule_id for t in cdo_view} == {"citizen_id.check_digit", "citizen_id.id_birth_sex"}


def test_uniqueness_failures_on_a_version_without_key_enforcement(run: Any, city: dict[str, Any]) -> None:
    city["lake"].write("persons", people([GOOD[0], GOOD[0], GOOD[1]]), mode="full")
    report = run(quality_run, "persons", actor=city["steward"])
    unique = next(r for r in report.results if r.rule_id == "pk.unique")
    assert unique.failed == 2
    assert report.dimensions["uniqueness"] < 100


def copy_resource(factory: Any, dept: Any) -> Any:
    return factory.resource(
        dept,
        key="residents_copy",
        name="民政低保对象（人口信息副本）",
        share_type="无条件共享",
        fields=[
            {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id", "required": True},
            {"name": "name", "title": "姓名", "standard": "person_name", "element": "人口.name", "role": "copy"},
            {"name": "allowance", "title": "低保金额", "standard": "amount"},
        ],
        primary_key=["citizen_id"],
    )


def test_compare_conflicts_name_both_sources_and_the_authoritative_one(
    run: Any, factory: Any, city: dict[str, Any]
) -> None:
    load(city, GOOD)
    copy_resource(factory, city["mzj"])
    _, mzj_steward = city["other_steward"], city["other_steward"]
    table = pa.table(
        {
            "citizen_id": [P1, P2, cid("19660101", "051")],
            "name": ["张叁", "李四", "孙七"],
            "allowance": [800.0, -5.0, 700.0],
        }
    )
    city["lake"].write("residents_copy", table, mode="full")
    ids = {r.id for r in run(rule_list, "residents_copy", actor=mzj_steward)}
    assert {"compare.persons", "citizen_id.in.persons", "allowance.amount"} <= ids
    report = run(quality_run, "residents_copy", actor=mzj_steward)
    compare = next(r for r in report.results if r.rule_id == "compare.persons")
    assert compare.failed == 1
    assert compare.this_source.key == "residents_copy" and compare.this_source.dept_name == "市民政局"
    assert compare.other_source.key == "persons" and compare.authoritative.dept_name == "市公安局"
    sample = compare.samples[0]
    assert (sample.key, sample.field, sample.value) == (P1, "name", "张叁")
    assert sample.related == [["persons.name", "张三"]]
    missing = next(r for r in report.results if r.rule_id == "citizen_id.in.persons")
    assert missing.failed == 1  # 孙七 is not in the 人口 base library
    # the copy's department rectifies its copy
    tickets = run(ticket_list, actor=mzj_steward)
    assert {t.rule_id for t in tickets} == {"compare.persons", "citizen_id.in.persons", "allowance.amount"}
    assert all(t.dept_id == city["mzj"].id for t in tickets)


def test_failing_values_are_masked_outside_the_source_department(run: Any, city: dict[str, Any]) -> None:
    load(city, DEFECTIVE)
    run(quality_run, "persons", actor=city["steward"])
    own = run(quality_show, "persons", actor=city["steward"])
    other = run(quality_show, "persons", actor=city["consumer"])
    own_s = next(r for r in own.run.results if r.rule_id == "citizen_id.check_digit").samples[0]
    other_s = next(r for r in other.run.results if r.rule_id == "citizen_id.check_digit").samples[0]
    assert own_s.value == bad_check(P1)
    assert other_s.value != own_s.value and "*" in (other_s.value or "")


def test_an_objection_reaches_the_authoritative_source(run: Any, factory: Any, city: dict[str, Any]) -> None:
    load(city, GOOD)
    copy_resource(factory, city["mzj"])
    consumer = city["consumer"]
    data = ObjectionCreate(
        keys=[P1], field="name", description="姓名应为“张叁”", evidence="户籍证明 常公户字〔2026〕12号"
    )
    obj = run(objection_create, "residents_copy", data, actor=consumer)
    # the name in 民政's copy is an element of 人口: the objection goes to 公安
    assert obj.target_resource_key == "persons" and obj.dept_id == city["gaj"].id and obj.target_field == "name"
    assert obj.status == "open"
    assert [o.number for o in run(objection_list, direction="received", actor=city["steward"])] == [obj.number]
    assert [o.number for o in run(objection_list, actor=consumer)] == [obj.number]
    # the copy holder cannot decide it; the authoritative department does
    with pytest.raises(NotAuthorized):
        run(objection_uphold, obj.number, actor=city["other_steward"])
    upheld = run(objection_uphold, obj.number, "核实无误，将于下一版本更正", actor=city["steward"])
    assert upheld.status == "upheld"
    with pytest.raises(Conflict):
        run(objection_reject, obj.number, "晚了", actor=city["steward"])
    # the fix arrives as a new version, through the load service's hook
    version = load(city, [(P1, "张叁", "1", "1980-01-01", "13812345678"), *GOOD[1:]])
    hooked = run(lambda ctx: after_load(ctx, "persons", version), actor=city["steward"])
    assert hooked is not None and hooked.version == version
    assert hooked.created_by.startswith(city["steward"].username)
    from citybrain.quality.objections import objection_show

    fixed = run(objection_show, obj.number, actor=consumer)
    assert fixed.status == "fixed" and fixed.fixed_version == version


def test_an_objection_can_be_rejected_only_with_a_reason(run: Any, city: dict[str, Any]) -> None:
    load(city, GOOD)
    data = ObjectionCreate(keys=[P2], field="mobile", description="号码已停用", evidence="本人来电")
    obj = run(objection_create, "persons", data, actor=city["consumer"])
    assert obj.dept_id == city["gaj"].id and obj.target_resource_key == "persons"
    with pytest.raises(Invalid):
        run(objection_reject, obj.number, "", actor=city["steward"])
    with pytest.raises(Invalid, match="没有这些记录"):
        unknown = ObjectionCreate(keys=["320402199901010000"], description="查无此人", evidence="无")
        run(objection_create, "persons", unknown, actor=city["consumer"])
    rejected = run(objection_reject, obj.number, "号码经核实仍在使用", actor=city["steward"])
    assert rejected.status == "rejected" and rejected.decision_reason == "号码经核实仍在使用"
    with pytest.raises(Invalid):
        parse(ObjectionCreate, {"keys": [P2], "description": "x", "evidence": "  "})


def test_department_metrics_and_league(run: Any, factory: Any, city: dict[str, Any]) -> None:
    from citybrain.quality.metrics import quality_league, quality_metrics

    load(city, DEFECTIVE)
    run(quality_run, "persons", actor=city["steward"])
    load(city, [GOOD[0], GOOD[1], GOOD[2], DEFECTIVE[3]])
    run(quality_run, "persons", actor=city["steward"])
    data = ObjectionCreate(keys=[P2], description="性别有误", evidence="出生证明")
    obj = run(objection_create, "persons", data, actor=city["consumer"])
    run(objection_reject, obj.number, "经核实无误", actor=city["steward"])
    m = run(quality_metrics, "gaj", actor=city["steward"])
    assert m.tickets == 4 and m.tickets_closed == 3 and m.tickets_open == 1
    assert m.problem_records == 4 and m.rectified_records == 3 and m.rectification_rate == 0.75
    assert m.avg_rectify_hours is not None and m.avg_rectify_hours >= 0
    assert m.objections == 1 and m.objections_rejected == 1 and m.objections_upheld == 0
    with pytest.raises(NotAuthorized):
        run(quality_metrics, "gaj", actor=city["other_steward"])
    with pytest.raises(NotAuthorized):
        run(quality_league, actor=city["steward"])
    league = run(quality_league, actor=city["cdo"])
    assert league[0].dept_code == "gaj" and league[0].score is not None


def test_after_load_never_fails_the_load(run: Any, city: dict[str, Any]) -> None:
    # no version in the lake: the hook reports nothing and raises nothing
    assert run(lambda ctx: after_load(ctx, "persons", 7), actor=city["steward"]) is None


def test_after_load_runs_even_for_a_loader_who_may_not_run_quality(run: Any, city: dict[str, Any]) -> None:
    from citybrain.auth.actor import Actor

    version = load(city, DEFECTIVE)
    loader = Actor(kind="token", user_id="u1", username="loader", dept_id=city["gaj"].id,
                   roles=frozenset({Role.STEWARD}), scopes=frozenset({"ingest:write"}))  # fmt: skip
    report = run(lambda ctx: after_load(ctx, "persons", version), actor=loader)
    assert report is not None and report.tickets_opened == 4 and report.created_by.startswith("loader")


def test_run_of_a_resource_never_loaded_is_not_found(run: Any, city: dict[str, Any]) -> None:
    from citybrain.errors import NotFound

    with pytest.raises(NotFound, match="数据湖"):
        run(quality_run, "persons", actor=city["steward"])
    assert q.FAILURE_CAP >= 20


def test_a_stale_resource_gets_a_timeliness_ticket_closed_by_the_next_load(
    run: Any, city: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    load(city, GOOD)
    real = datetime

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return real.now(tz) + timedelta(days=3)

    monkeypatch.setattr(q, "datetime", Later)
    stale = run(quality_run, "persons", actor=city["steward"])
    monkeypatch.undo()
    timely = next(r for r in stale.results if r.rule_id == "timeliness")
    assert timely.failed == 1 and "逾期" in timely.note
    assert stale.dimensions["timeliness"] == 0.0
    ticket = next(t for t in run(ticket_list, actor=city["steward"]) if t.rule_id == "timeliness")
    assert ticket.dimension == "timeliness" and ticket.items_total == 0
    load(city, GOOD)
    fresh = run(quality_run, "persons", actor=city["steward"])
    assert fresh.tickets_closed == 1
    assert run(ticket_show, ticket.number, actor=city["steward"]).status == "closed"


def test_a_steward_field_order_rule_finds_validity_before_issue(run: Any, factory: Any, city: dict[str, Any]) -> None:
    factory.resource(
        city["gaj"],
        key="licences",
        name="电子证照目录",
        fields=[
            {"name": "license_id", "title": "证照标识", "required": True},
            {"name": "issued_on", "title": "签发日期", "standard": "date"},
            {"name": "valid_until", "title": "有效期至", "standard": "date"},
        ],
        primary_key=["license_id"],
    )
    spec = {"kind": "field_order", "id": "valid_after_issue", "first": "issued_on", "second": "valid_until"}
    run(rule_create, "licences", RuleIn(spec=spec), actor=city["steward"])
    table = pa.table(
        {
            "license_id": ["L1", "L2", "L3"],
            "issued_on": ["2024-01-01", "2024-06-01", None],
            "valid_until": ["2029-01-01", "2023-06-01", "2030-01-01"],
        }
    )
    city["lake"].write("licences", table)
    report = run(quality_run, "licences", actor=city["steward"])
    order = next(r for r in report.results if r.rule_id == "valid_after_issue")
    assert (order.checked, order.failed, order.dimension) == (2, 1, "consistency")
    assert [(s.key, s.field, s.value, s.related) for s in order.samples] == [
        ("L2", "valid_until", "2023-06-01", [["issued_on", "2024-06-01"]])
    ]
    ticket = next(t for t in run(ticket_list, actor=city["steward"]) if t.rule_id == "valid_after_issue")
    assert ticket.resource_key == "licences" and ticket.failed == 1


def test_failing_rows_of_old_runs_are_pruned_but_scores_stay(run: Any, city: dict[str, Any]) -> None:
    from sqlalchemy import func, select

    from citybrain.quality.models import QualityFailure, QualityRun

    load(city, DEFECTIVE)
    for _ in range(q.KEEP_FAILURE_RUNS + 2):
        run(quality_run, "persons", actor=city["steward"])

    def counts(ctx: Any) -> tuple[int, int]:
        runs = ctx.session.scalar(select(func.count()).select_from(QualityRun))
        with_rows = ctx.session.scalar(select(func.count(func.distinct(QualityFailure.run_id))))
        return runs, with_rows

    assert run(counts) == (q.KEEP_FAILURE_RUNS + 2, q.KEEP_FAILURE_RUNS)


def test_tickets_past_the_sample_cap_settle_their_own_records(
    run: Any, city: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from citybrain.quality import tickets as tk

    monkeypatch.setattr(q, "FAILURE_CAP", 2)
    monkeypatch.setattr(tk, "ITEMS_CAP", 2)
    ids = sorted(cid("19800101", f"{n:02d}1") for n in range(5))

    def version(blank: set[str]) -> pa.Table:
        return pa.table({"citizen_id": ids, "name": [" " if i in blank else "某人" for i in ids]})

    city["lake"].write("persons", version(set(ids)))
    run(quality_run, "persons", actor=city["steward"])
    ticket = next(t for t in run(ticket_list, actor=city["steward"]) if t.rule_id == "name.required")
    assert ticket.failed == 5 and ticket.items_total == 2
    # the first record is fixed, the second is not; two new failing records sort before both, so the
    # kept samples say nothing about the ticket's records and the run re-checks just those two
    early = sorted(cid("19700101", f"{n:02d}1") for n in range(2))
    newer = version(set(ids[1:]))
    newer = pa.concat_tables([pa.table({"citizen_id": early, "name": [" ", " "]}), newer])
    city["lake"].write("persons", newer)
    run(quality_run, "persons", actor=city["steward"])
    detail = run(ticket_show, ticket.number, actor=city["steward"])
    assert [(i.key, i.status) for i in detail.items] == [(ids[0], "fixed"), (ids[1], "open")]
    assert detail.status == "open" and detail.failed == 6
    city["lake"].write("persons", version(set()))
    run(quality_run, "persons", actor=city["steward"])
    assert run(ticket_show, ticket.number, actor=city["steward"]).status == "closed"


def test_steward_rules_may_use_standard_code_lists_and_visible_references(
    run: Any, factory: Any, city: dict[str, Any]
) -> None:
    load(city, GOOD)
    spec = {"kind": "code_list", "id": "sex_std", "column": "sex", "code_list": "sex"}
    run(rule_create, "persons", RuleIn(spec=spec), actor=city["steward"])
    with pytest.raises(Invalid, match="代码表"):
        run(rule_create, "persons", RuleIn(spec={**spec, "id": "nope", "code_list": "no_such"}), actor=city["steward"])
    secret = factory.resource(
        city["mzj"],
        key="secret_list",
        name="不予共享名单",
        share_type="不予共享",
        share_basis="涉密",
        open_type="不予开放",
        open_basis="涉密",
    )
    ref = {"kind": "referential", "id": "probe", "column": "citizen_id", "ref_table": secret.key, "ref_column": "uscc"}
    with pytest.raises(NotAuthorized):
        run(rule_create, "persons", RuleIn(spec=ref), actor=city["steward"])
    report = run(quality_run, "persons", actor=city["steward"])
    assert next(r for r in report.results if r.rule_id == "sex_std").failed == 0


def test_concurrent_runs_do_not_duplicate_tickets(run: Any, city: dict[str, Any]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    load(city, DEFECTIVE)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(run, quality_run, "persons", actor=city["steward"]) for _ in range(2)]
        reports = [f.result() for f in futures]
    assert sorted(r.tickets_opened for r in reports) == [0, 4]
    assert len(run(ticket_list, status="open", actor=city["steward"])) == 4
