from __future__ import annotations

import pytest

from citybrain.errors import Conflict, Invalid, NotAuthorized
from citybrain.share import access, service
from citybrain.share.schemas import ApprovalIn, QueryIn, RowCondition, ShareRequestCreate, VerifyIn


def _ask(run, world, **kw):  # type: ignore[no-untyped-def]
    data = dict(
        resource="population",
        fields=["citizen_id", "name", "division_code", "mobile"],
        purpose="最低生活保障资格核查",
        legal_basis="《社会救助暂行办法》第十一条",
        modes=["lookup", "query", "export", "verify"],
    )
    data.update(kw)
    return run(service.share_request_create, ShareRequestCreate.model_validate(data), actor=world.consumer[1])


def test_unconditional_is_granted_at_once_with_default_masking(run, world) -> None:
    req = _ask(run, world, resource="companies", fields=["uscc", "name"], legal_basis="")
    assert req.status == "granted" and req.grant_id
    out = run(access.share_query, req.grant_id, QueryIn(limit=5), actor=world.consumer[1])
    assert out["total"] == 10 and len(out["rows"]) == 5
    assert set(out["rows"][0]) == {"uscc", "name"}


def test_unshared_resource_is_refused_at_request_time(run, world) -> None:
    req = _ask(run, world, resource="secret_cases", fields=["uscc"])
    assert req.status == "refused"
    assert "涉及国家秘密" in (req.reason or "")
    assert req.grant_id is None


def test_conditional_important_needs_steward_then_cdo(run, world) -> None:
    req = _ask(
        run, world, unmask=["name"], row_filter=[{"field": "division_code", "op": "prefix", "values": ["320402"]}]
    )
    assert req.status == "pending_steward"
    # the consumer cannot approve, nor the CDO before the steward
    with pytest.raises(NotAuthorized):
        run(service.share_request_approve, req.id, actor=world.consumer[1])
    with pytest.raises(NotAuthorized):
        run(service.share_request_approve, req.id, actor=world.cdo[1])
    # the steward narrows: no mobile, a shorter period, name unmasked
    req = run(
        service.share_request_approve,
        req.id,
        ApprovalIn(fields=["citizen_id", "name", "division_code"], days=30, unmask=["name"]),
        actor=world.steward[1],
    )
    assert req.status == "pending_cdo"
    req = run(service.share_request_approve, req.id, actor=world.cdo[1])
    assert req.status == "granted"
    grant = run(service.grant_show, req.grant_id, actor=world.consumer[1])
    assert grant.fields == ["citizen_id", "name", "division_code"]
    assert "name" not in grant.masking and "citizen_id" in grant.masking
    out = run(access.share_query, grant.id, QueryIn(limit=100), actor=world.consumer[1])
    assert out["total"] == 20  # only 320402… rows
    assert all(r["division_code"].startswith("320402") for r in out["rows"])
    assert all(set(r) == {"citizen_id", "name", "division_code"} for r in out["rows"])
    assert out["rows"][0]["citizen_id"].startswith("320402") and "*" in out["rows"][0]["citizen_id"]
    assert "*" not in out["rows"][0]["name"]


def test_approval_cannot_widen(run, world) -> None:
    req = _ask(run, world, row_filter=[{"field": "division_code", "op": "prefix", "values": ["320402"]}])
    with pytest.raises(Invalid):
        run(service.share_request_approve, req.id, ApprovalIn(fields=["income"]), actor=world.steward[1])
    with pytest.raises(Invalid):
        run(
            service.share_request_approve,
            req.id,
            ApprovalIn(row_filter=[RowCondition(field="division_code", op="prefix", values=["3204"])]),
            actor=world.steward[1],
        )
    with pytest.raises(Invalid):
        run(service.share_request_approve, req.id, ApprovalIn(unmask=["mobile"]), actor=world.steward[1])
    with pytest.raises(Invalid):
        run(service.share_request_approve, req.id, ApprovalIn(days=400), actor=world.steward[1])


def test_refuse_needs_reason_and_ends_the_request(run, world) -> None:
    req = _ask(run, world)
    with pytest.raises(Invalid):
        run(service.share_request_refuse, req.id, " ", actor=world.steward[1])
    req = run(service.share_request_refuse, req.id, "用途与数据不相称", actor=world.steward[1])
    assert req.status == "refused" and req.reason == "用途与数据不相称"
    with pytest.raises(Conflict):
        run(service.share_request_approve, req.id, actor=world.steward[1])


def test_lookup_and_verify(run, world) -> None:
    req = _ask(run, world)
    run(service.share_request_approve, req.id, actor=world.steward[1])
    req = run(service.share_request_approve, req.id, actor=world.cdo[1])
    gid = req.grant_id
    row = run(access.share_lookup, gid, "320402199001010001", actor=world.consumer[1])["record"]
    assert row["name"].startswith("李") and "*" in row["name"]
    assert row["mobile"] == "138****0001"
    yes = run(access.share_verify, gid, VerifyIn(record={"citizen_id": "320402199001010001", "name": "李四1"}),
              actor=world.consumer[1])  # fmt: skip
    no = run(access.share_verify, gid, VerifyIn(record={"citizen_id": "320402199001010001", "name": "张三1"}),
             actor=world.consumer[1])  # fmt: skip
    assert yes == {**yes, "match": True} and no["match"] is False
    assert set(yes) == {"grant", "resource", "version", "match"}


def test_approver_may_choose_another_masking_but_not_lift_it(run, world) -> None:
    req = _ask(run, world)
    bad = ApprovalIn(mask={"citizen_id": {"method": "no_such_method"}})
    with pytest.raises(Invalid):
        run(service.share_request_approve, req.id, bad, actor=world.steward[1])
    with pytest.raises(Invalid):
        run(
            service.share_request_approve,
            req.id,
            ApprovalIn(mask={"income": {"method": "mask"}}),
            actor=world.steward[1],
        )
    pseudo = ApprovalIn(mask={"citizen_id": {"method": "pseudonym"}})
    run(service.share_request_approve, req.id, pseudo, actor=world.steward[1])
    req = run(service.share_request_approve, req.id, actor=world.cdo[1])
    grant = run(service.grant_show, req.grant_id, actor=world.consumer[1])
    assert grant.masking["citizen_id"]["method"] == "pseudonym"
    a = run(access.share_query, grant.id, QueryIn(limit=2), actor=world.consumer[1])["rows"]
    b = run(access.share_query, grant.id, QueryIn(limit=2), actor=world.consumer[1])["rows"]
    assert a == b and a[0]["citizen_id"].startswith("pn_")  # stable per consumer, so results join


def test_pinned_version(run, world) -> None:
    import pyarrow as pa

    req = _ask(run, world, resource="companies", fields=["uscc", "name"], legal_basis="")
    world.lake.write("companies", pa.table({"uscc": ["91320400MA0000001X"], "name": ["改名公司"]}), primary_key="uscc")
    latest = run(access.share_query, req.grant_id, QueryIn(), actor=world.consumer[1])
    first = run(access.share_query, req.grant_id, QueryIn(version=1), actor=world.consumer[1])
    assert latest["version"] == 2 and latest["total"] == 1 and first["total"] == 10
