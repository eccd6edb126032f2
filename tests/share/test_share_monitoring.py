"""Demands, anomalies and metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from citybrain.errors import Invalid, NotAuthorized, NotFound
from citybrain.share import access, anomalies, metrics, service, usage
from citybrain.share.models import ShareCall
from citybrain.share.schemas import DemandAnswer, DemandCreate, ExportIn, QueryIn, ShareRequestCreate, VerifyIn


def _companies_grant(run, world, **kw):  # type: ignore[no-untyped-def]
    data = dict(resource="companies", fields=["uscc", "name"], purpose="企业资格核验",
                modes=["lookup", "query", "export", "verify"])  # fmt: skip
    data.update(kw)
    return run(service.share_request_create, ShareRequestCreate.model_validate(data), actor=world.consumer[1]).grant_id


def _past_call(db, world, gid: str, at: datetime, rows: int) -> None:  # type: ignore[no-untyped-def]
    """A call made at ``at`` (or through another process): its usage row and its minute's count."""
    with db.session() as s:
        s.add(ShareCall(grant_id=gid, resource_key="companies", dept_id=world.source.id,
                        consumer_dept_id=world.consumer_dept.id, mode="query", rows=rows, at=at))  # fmt: skip
        usage.count_call(s, gid, at, rows, keep_days=8)


def test_demand_is_routed_by_keywords_and_answered(run, world) -> None:
    d = run(
        service.demand_create,
        DemandCreate(title="需要公安户籍人口的迁入迁出记录", description="用于低保复核"),
        actor=world.consumer[1],
    )
    assert d.dept_id == world.source.id and d.status == "open"
    assert d.routing["candidates"][0]["dept"] == "常州市公安局"
    # only the routed department's steward (or the CDO) answers
    with pytest.raises(NotAuthorized):
        run(service.demand_answer, d.id, DemandAnswer(outcome="refused", reason="无此数据"), actor=world.other[1])
    with pytest.raises(Exception):  # noqa: B017 - pydantic refuses a refusal without a reason
        DemandAnswer(outcome="refused", reason="")
    out = run(service.demand_answer, d.id, DemandAnswer(outcome="supplied", resource="population"),
              actor=world.steward[1])  # fmt: skip
    assert out.status == "supplied" and out.resource_key == "population"
    inbox = run(service.demand_list, box="mine", actor=world.consumer[1])
    assert [x.id for x in inbox] == [d.id]


def test_unroutable_demand_waits_for_the_cdo(run, world) -> None:
    d = run(service.demand_create, DemandCreate(title="气象卫星云图"), actor=world.consumer[1])
    assert d.dept_id is None
    with pytest.raises(NotAuthorized):
        run(service.demand_answer, d.id, DemandAnswer(outcome="refused", reason="本市无此数据"), actor=world.steward[1])
    out = run(service.demand_answer, d.id, DemandAnswer(outcome="refused", reason="本市无此数据"), actor=world.cdo[1])
    assert out.status == "refused"


def test_key_enumeration_raises_one_alert(run, world, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "share_enum_min_calls", 10)
    gid = _companies_grant(run, world)
    for n in range(15):
        with pytest.raises(NotFound):
            run(access.share_lookup, gid, f"91320400MA9{n:06d}X", actor=world.consumer[1])
    alerts = run(anomalies.anomaly_list, actor=world.security[1])
    assert [a.kind for a in alerts] == ["key_enumeration"]
    # the source steward sees it; another department's steward does not
    assert len(run(anomalies.anomaly_list, actor=world.steward[1])) == 1
    with pytest.raises(NotAuthorized):
        run(anomalies.anomaly_list, actor=world.consumer[1])


def test_verification_misses_count_towards_enumeration(run, world, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "share_enum_min_calls", 5)
    gid = _companies_grant(run, world)
    for n in range(6):
        assert not run(access.share_verify, gid, VerifyIn(record={"uscc": f"x{n}"}), actor=world.consumer[1])["match"]
    assert [a.kind for a in run(anomalies.anomaly_list, actor=world.security[1])] == ["key_enumeration"]


def test_off_hours_export_alerts(run, world, settings, monkeypatch) -> None:
    gid = _companies_grant(run, world)
    # 03:00 Beijing time on a Tuesday
    monkeypatch.setattr(anomalies, "clock", lambda: datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    run(access.share_export_start, gid, ExportIn(), actor=world.consumer[1])
    alerts = run(anomalies.anomaly_list, actor=world.security[1])
    assert [a.kind for a in alerts] == ["off_hours_export"]
    monkeypatch.setattr(anomalies, "clock", lambda: datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00
    assert not anomalies.is_off_hours(anomalies.clock(), settings)


def test_volume_jump_over_baseline(run, world, db, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "share_volume_min_rows", 5)
    gid = _companies_grant(run, world, expected_volume=1)
    run(access.share_query, gid, QueryIn(limit=4), actor=world.consumer[1])
    assert run(anomalies.anomaly_list, actor=world.security[1]) == []
    run(access.share_query, gid, QueryIn(limit=10), actor=world.consumer[1])
    [alert] = run(anomalies.anomaly_list, actor=world.security[1])
    assert alert.kind == "volume_jump" and alert.details["basis"] == "申请时声明的日均量"
    # with a week of history the baseline is the consumer's own daily average
    for day in range(2, 9):
        _past_call(db, world, gid, datetime.now(UTC) - timedelta(days=day), 100)
    run(anomalies.anomaly_acknowledge, alert.id, "已核实", actor=world.security[1])
    run(access.share_query, gid, QueryIn(limit=10), actor=world.consumer[1])
    # 24 rows today against a baseline of 100 a day: no longer a jump
    assert run(anomalies.anomaly_list, status="open", actor=world.security[1]) == []


def _kinds(run, world) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(a.kind for a in run(anomalies.anomaly_list, actor=world.security[1]))


def test_changed_thresholds_change_what_is_flagged(run, world, settings, monkeypatch) -> None:
    """The same usage is flagged or not according to the CITYBRAIN_SHARE_* thresholds."""
    # key enumeration: 12 misses are below the default minimum of 30 calls …
    gid = _companies_grant(run, world)
    for n in range(12):
        with pytest.raises(NotFound):
            run(access.share_lookup, gid, f"91320400MA8{n:06d}X", actor=world.consumer[1])
    assert _kinds(run, world) == []
    # … and above a minimum of 12: the next miss raises the alert
    monkeypatch.setattr(settings, "share_enum_min_calls", 12)
    with pytest.raises(NotFound):
        run(access.share_lookup, gid, "91320400MA8999999X", actor=world.consumer[1])
    assert _kinds(run, world) == ["key_enumeration"]
    # …but not when most calls must miss and only half of them do
    other = _companies_grant(run, world, fields=["uscc"])
    monkeypatch.setattr(settings, "share_enum_miss_ratio", 0.9)
    for n in range(14):
        uscc = f"91320400MA{n % 2:07d}X" if n % 2 else "nope"
        run(access.share_verify, other, VerifyIn(record={"uscc": uscc}), actor=world.consumer[1])
    assert _kinds(run, world) == ["key_enumeration"]

    # off-hours export: 19:30 Beijing time on a Tuesday is within the default working hours (8–20) …
    monkeypatch.setattr(anomalies, "clock", lambda: datetime(2026, 12, 1, 11, 30, tzinfo=UTC))
    run(access.share_export_start, gid, ExportIn(), actor=world.consumer[1])
    assert _kinds(run, world) == ["key_enumeration"]
    # … and after working hours that end at 18:00
    monkeypatch.setattr(settings, "share_work_end_hour", 18)
    run(access.share_export_start, gid, ExportIn(), actor=world.consumer[1])
    assert _kinds(run, world) == ["key_enumeration", "off_hours_export"]


def test_changed_volume_factor_changes_what_is_flagged(run, world, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "share_volume_min_rows", 5)
    monkeypatch.setattr(settings, "share_volume_factor", 6.0)
    gid = _companies_grant(run, world, expected_volume=2)
    # 10 rows in 24 hours against a declared 2 a day: within 6 ×
    run(access.share_query, gid, QueryIn(limit=10), actor=world.consumer[1])
    assert _kinds(run, world) == []
    # 11 rows: over 3 ×
    monkeypatch.setattr(settings, "share_volume_factor", 3.0)
    run(access.share_query, gid, QueryIn(limit=1), actor=world.consumer[1])
    [alert] = run(anomalies.anomaly_list, actor=world.security[1])
    assert alert.kind == "volume_jump" and alert.details["factor"] == 3.0 and alert.details["rows_24h"] == 11


def test_rows_from_elsewhere_count_at_the_next_full_check(run, world, db, settings, monkeypatch) -> None:
    """Between full checks the volume check adds up its own calls' rows; rows written by another
    process are counted at the latest VOLUME_RECHECK later."""
    monkeypatch.setattr(settings, "share_volume_min_rows", 5)
    gid = _companies_grant(run, world, expected_volume=2)
    run(access.share_query, gid, QueryIn(limit=3), actor=world.consumer[1])
    _past_call(db, world, gid, datetime.now(UTC), 100)
    # this process's own rows always count: 3 + 3 crosses the bar of 5 at once
    run(access.share_query, gid, QueryIn(limit=3), actor=world.consumer[1])
    assert _kinds(run, world) == ["volume_jump"]
    [alert] = run(anomalies.anomaly_list, actor=world.security[1])
    assert alert.details["rows_24h"] == 106

    other = _companies_grant(run, world, expected_volume=2)
    run(access.share_query, other, QueryIn(limit=1), actor=world.consumer[1])
    _past_call(db, world, other, datetime.now(UTC), 100)
    later = datetime.now(UTC) + anomalies.VOLUME_RECHECK + timedelta(seconds=1)
    monkeypatch.setattr(anomalies, "clock", lambda: later)
    run(access.share_query, other, QueryIn(limit=1), actor=world.consumer[1])
    assert sorted(a.details["rows_24h"] for a in run(anomalies.anomaly_list, actor=world.security[1])) == [102, 106]


def test_thresholds_come_from_the_environment(monkeypatch) -> None:
    from citybrain.settings import Settings

    monkeypatch.setenv("CITYBRAIN_SHARE_ENUM_MIN_CALLS", "7")
    monkeypatch.setenv("CITYBRAIN_SHARE_VOLUME_FACTOR", "4.5")
    s = Settings()
    assert s.share_enum_min_calls == 7 and s.share_volume_factor == 4.5
    assert s.share_work_start_hour == 8 and s.share_work_end_hour == 20
    monkeypatch.setenv("CITYBRAIN_SHARE_WORK_START_HOUR", "21")
    with pytest.raises(ValueError, match="share_work_start_hour"):
        Settings()


def test_metrics(run, world) -> None:
    _companies_grant(run, world)
    req = run(
        service.share_request_create,
        ShareRequestCreate(resource="population", fields=["name"], purpose="低保资格核查", legal_basis="办法"),
        actor=world.consumer[1],
    )
    run(service.share_request_refuse, req.id, "范围过宽", actor=world.steward[1])
    gid = _companies_grant(run, world, fields=["uscc"])
    run(access.share_verify, gid, VerifyIn(record={"uscc": "91320400MA0000001X"}), actor=world.consumer[1])
    run(access.share_verify, gid, VerifyIn(record={"uscc": "nope"}), actor=world.consumer[1])
    m = run(metrics.share_metrics, actor=world.cdo[1])
    assert m["resources"]["total"] == 3 and m["resources"]["share_rate"] == round(2 / 3, 4)
    assert m["requests"]["fulfilled"] == 2 and m["requests"]["by_status"]["refused"] == 1
    assert m["verifications"] == {"total": 2, "matched": 1, "not_matched": 1}
    assert m["calls"]["per_department"][0]["dept"] == "常州市民政局"
    usage = run(metrics.share_usage, actor=world.consumer[1])
    assert usage["calls"] == 2
    assert run(metrics.share_usage, actor=world.other[1])["calls"] == 0
    with pytest.raises(NotAuthorized):
        run(metrics.share_metrics, actor=world.consumer[1])


def test_request_validation(run, world) -> None:
    def ask(**kw):  # type: ignore[no-untyped-def]
        data = dict(resource="population", fields=["name"], purpose="低保资格核查", legal_basis="办法")
        data.update(kw)
        return run(service.share_request_create, ShareRequestCreate.model_validate(data), actor=world.consumer[1])

    with pytest.raises(Invalid):
        ask(fields=["no_such_field"])
    with pytest.raises(Invalid):
        ask(legal_basis="")
    with pytest.raises(Invalid):
        ask(row_filter=[{"field": "nowhere", "values": ["1"]}])
    with pytest.raises(Invalid):
        run(service.share_request_create, ShareRequestCreate(resource="population", fields=["name"],
            purpose="自查本部门", legal_basis="办法"), actor=world.steward[1])  # fmt: skip
    # asking to lift masking on unconditional data waits for the steward
    req = run(service.share_request_create, ShareRequestCreate(resource="companies", fields=["uscc", "name"],
              purpose="企业资格核验", unmask=["uscc"]), actor=world.consumer[1])  # fmt: skip
    assert req.status == "pending_steward"
