"""The HTTP API end to end: requests, approvals, demands, grants, tokens, monitoring."""

from __future__ import annotations

from citybrain.share import access, service
from citybrain.share.schemas import ExportIn, ShareRequestCreate
from tests.factories import login


def test_request_lifecycle_over_http(client, world) -> None:
    login(client, world.consumer[0].username)
    body = {
        "resource": "population",
        "fields": ["citizen_id", "name", "mobile"],
        "purpose": "最低生活保障资格核查",
        "legal_basis": "《社会救助暂行办法》",
        "row_filter": [{"field": "division_code", "op": "in", "values": ["320402001", "320402005"]}],
        "modes": ["query"],
        "days": 180,
    }
    r = client.post("/api/v1/share/requests", json=body)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    bad = client.post("/api/v1/share/requests", json={**body, "purpose": ""})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    assert client.post(f"/api/v1/share/requests/{rid}/approve", json={}).status_code == 403

    login(client, world.steward[0].username)
    inbox = client.get("/api/v1/share/requests?box=inbox").json()
    assert [x["id"] for x in inbox] == [rid]
    narrowed = {"fields": ["citizen_id", "name"], "row_filter": [{"field": "division_code", "values": ["320402001"]}]}
    r = client.post(f"/api/v1/share/requests/{rid}/approve", json=narrowed)
    assert r.status_code == 200 and r.json()["status"] == "pending_cdo", r.text

    login(client, world.cdo[0].username)
    r = client.post(f"/api/v1/share/requests/{rid}/approve")
    assert r.json()["status"] == "granted"
    gid = r.json()["grant_id"]
    assert client.get("/api/v1/share/metrics").json()["requests"]["fulfilled"] == 1

    login(client, world.consumer[0].username)
    g = client.get(f"/api/v1/share/grants/{gid}").json()
    assert g["fields"] == ["citizen_id", "name"] and g["usable"] and g["modes"] == ["query"]
    token = client.post(f"/api/v1/share/grants/{gid}/token")
    assert token.status_code == 201 and token.json()["token"].startswith("cbt_")
    h = {"authorization": f"Bearer {token.json()['token']}"}
    q = client.post("/api/v1/share/grants/-/query", json={}, headers=h).json()
    assert q["total"] == 10 and {r["citizen_id"][:6] for r in q["rows"]} == {"320402"}
    # rotating revokes the previous token
    again = client.post(f"/api/v1/share/grants/{gid}/token").json()["token"]
    assert client.post("/api/v1/share/grants/-/query", json={}, headers=h).status_code == 401
    assert client.post("/api/v1/share/grants/-/query", json={}, headers={"x-api-key": again}).status_code == 200
    usage = client.get("/api/v1/share/usage").json()
    assert usage["calls"] == 2

    login(client, world.steward[0].username)
    assert client.post(f"/api/v1/share/grants/{gid}/suspend", json={"reason": ""}).status_code == 422
    assert client.post(f"/api/v1/share/grants/{gid}/suspend", json={"reason": "核查"}).json()["status"] == "suspended"
    assert client.post(f"/api/v1/share/grants/{gid}/resume", json={}).json()["status"] == "active"
    assert client.post(f"/api/v1/share/grants/{gid}/revoke", json={"reason": "结束"}).json()["status"] == "revoked"
    assert client.post("/api/v1/share/grants/-/query", json={}, headers={"x-api-key": again}).status_code == 401


def test_refusal_and_demands_over_http(client, world) -> None:
    login(client, world.consumer[0].username)
    rid = client.post(
        "/api/v1/share/requests",
        json={"resource": "population", "fields": ["name"], "purpose": "低保资格核查", "legal_basis": "办法"},
    ).json()["id"]
    refused = client.post("/api/v1/share/requests", json={"resource": "secret_cases", "fields": ["uscc"],
                                                           "purpose": "案件协查"})  # fmt: skip
    assert refused.json()["status"] == "refused" and "涉及国家秘密" in refused.json()["reason"]
    d = client.post("/api/v1/share/demands", json={"title": "公安户籍迁移记录"}).json()
    assert d["dept_id"] == world.source.id

    login(client, world.steward[0].username)
    assert client.post(f"/api/v1/share/requests/{rid}/refuse", json={"reason": ""}).status_code == 422
    r = client.post(f"/api/v1/share/requests/{rid}/refuse", json={"reason": "用途不明确"})
    assert r.json()["status"] == "refused" and r.json()["approvals"][-1]["comment"] == "用途不明确"
    assert [x["id"] for x in client.get("/api/v1/share/demands?box=inbox").json()] == [d["id"]]
    a = client.post(f"/api/v1/share/demands/{d['id']}/answer", json={"outcome": "supplied", "resource": "population"})
    assert a.json()["status"] == "supplied"
    assert client.get("/api/v1/share/anomalies").status_code == 200

    login(client, world.other[0].username)
    assert client.get(f"/api/v1/share/requests/{rid}").status_code == 403
    assert client.get("/api/v1/share/anomalies").status_code == 403


def test_export_queued_before_revocation_produces_nothing(run, world, db, settings) -> None:
    gid = run(
        service.share_request_create,
        ShareRequestCreate(resource="companies", fields=["uscc"], purpose="企业资格核验", modes=["export"]),
        actor=world.consumer[1],
    ).grant_id
    job = run(access.share_export_start, gid, ExportIn(), actor=world.consumer[1])
    run(service.grant_revoke, gid, "业务结束", actor=world.steward[1])
    out = access.run_export(db, settings, job.id)
    assert out.status == "failed" and "撤销" in (out.error or "")
    assert not list((settings.home / "share" / "exports").glob("*.csv"))


def test_steward_sees_and_acknowledges_alerts_in_the_inbox(client, run, world, monkeypatch) -> None:
    from datetime import UTC, datetime

    from citybrain.share import anomalies

    gid = run(
        service.share_request_create,
        ShareRequestCreate(resource="companies", fields=["uscc"], purpose="企业资格核验", modes=["export"]),
        actor=world.consumer[1],
    ).grant_id
    monkeypatch.setattr(anomalies, "clock", lambda: datetime(2026, 12, 5, 14, 0, tzinfo=UTC))  # Saturday 22:00
    run(access.share_export_start, gid, ExportIn(), actor=world.consumer[1])
    login(client, world.steward[0].username)
    page = client.get("/share/inbox")
    assert "非工作时间导出" in page.text
    alert_id = run(anomalies.anomaly_list, actor=world.steward[1])[0].id
    r = client.post(f"/share/anomalies/{alert_id}/ack", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/share/inbox")
    assert run(anomalies.anomaly_list, status="open", actor=world.security[1]) == []
