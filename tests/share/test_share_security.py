"""The security matrix: nothing ungranted leaves, through any endpoint, for anyone."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from citybrain.audit.models import AuditEvent
from citybrain.db import utcnow
from citybrain.share import service
from citybrain.share.models import ShareGrant, ShareUsageMinute
from citybrain.share.schemas import ApprovalIn, ShareRequestCreate
from tests.factories import login

SCOPE = [{"field": "division_code", "op": "prefix", "values": ["320402"]}]
IN_SCOPE = "320402199001010003"  # division 320402005
OUT_OF_SCOPE = "320402199001010002"  # division 320411003


def _grant(run, world, rate_limit: int | None = None, modes=None):  # type: ignore[no-untyped-def]
    req = run(
        service.share_request_create,
        ShareRequestCreate(
            resource="population",
            fields=["citizen_id", "name", "division_code"],
            purpose="最低生活保障资格核查",
            legal_basis="《社会救助暂行办法》",
            row_filter=SCOPE,
            modes=modes or ["lookup", "query", "export", "verify"],
        ),
        actor=world.consumer[1],
    )
    run(service.share_request_approve, req.id, ApprovalIn(rate_limit=rate_limit), actor=world.steward[1])
    req = run(service.share_request_approve, req.id, actor=world.cdo[1])
    return req.grant_id


def _token(run, world, gid):  # type: ignore[no-untyped-def]
    return run(service.grant_token_issue, gid, actor=world.consumer[1]).token


def _data_calls(gid: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", f"/api/v1/share/grants/{gid}/records/{IN_SCOPE}", None),
        ("post", f"/api/v1/share/grants/{gid}/lookup", {"key": IN_SCOPE}),
        ("post", f"/api/v1/share/grants/{gid}/query", {"limit": 5}),
        ("get", f"/api/v1/share/grants/{gid}/rows?limit=5", None),
        ("post", f"/api/v1/share/grants/{gid}/verify", {"record": {"citizen_id": IN_SCOPE, "name": "王五3"}}),
        ("post", f"/api/v1/share/grants/{gid}/exports", {"format": "csv"}),
    ]


def _call(client, method, url, body, headers=None):  # type: ignore[no-untyped-def]
    if method == "get":
        return client.get(url, headers=headers or {})
    return client.post(url, json=body, headers=headers or {})


def test_grant_token_reads_only_granted_fields_and_rows(client, run, world) -> None:
    gid = _grant(run, world)
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    ok = client.get(f"/api/v1/share/grants/-/records/{IN_SCOPE}", headers=h)
    assert ok.status_code == 200, ok.text
    assert set(ok.json()["record"]) == {"citizen_id", "name", "division_code"}
    assert "*" in ok.json()["record"]["citizen_id"]
    posted = client.post(f"/api/v1/share/grants/{gid}/lookup", json={"key": IN_SCOPE}, headers=h)
    assert posted.json()["record"] == ok.json()["record"]
    # a key outside the rows reads exactly like a missing one
    assert client.get(f"/api/v1/share/grants/{gid}/records/{OUT_OF_SCOPE}", headers=h).status_code == 404
    rows = client.post(f"/api/v1/share/grants/{gid}/query", json={"limit": 1000}, headers=h).json()
    assert rows["total"] == 20 and all(r["division_code"].startswith("320402") for r in rows["rows"])
    assert client.get(f"/api/v1/share/grants/{gid}/rows?division_code=320411003", headers=h).json()["total"] == 0
    # ungranted fields: not selectable, not filterable, not verifiable
    for body in ({"fields": ["mobile"]}, {"filters": {"income": "1000"}}):
        r = client.post(f"/api/v1/share/grants/{gid}/query", json=body, headers=h)
        assert r.status_code == 403, r.text
    r = client.post(f"/api/v1/share/grants/{gid}/verify", json={"record": {"mobile": "13800000001"}}, headers=h)
    assert r.status_code == 403
    assert client.get(f"/api/v1/share/grants/{gid}/rows?mobile=13800000001", headers=h).status_code == 403
    # verification answers yes/no, nothing else
    v = client.post(f"/api/v1/share/grants/{gid}/verify", json={"record": {"citizen_id": OUT_OF_SCOPE}}, headers=h)
    assert v.json()["match"] is False and "rows" not in v.json() and "record" not in v.json()


def test_other_department_cannot_use_the_grant_through_any_endpoint(client, run, world) -> None:
    gid = _grant(run, world)
    login(client, world.other[0].username)
    for method, url, body in _data_calls(gid):
        r = _call(client, method, url, body)
        assert r.status_code == 403, (url, r.text)
    assert client.get(f"/api/v1/share/grants/{gid}").status_code == 403
    # nor with a token of its own carrying the access scope
    secret = run_token(run, world.other[1])
    for method, url, body in _data_calls(gid):
        r = _call(client, method, url, body, {"authorization": f"Bearer {secret}"})
        assert r.status_code == 403, (url, r.text)


def run_token(run, actor):  # type: ignore[no-untyped-def]
    from citybrain.auth.schemas import TokenCreate
    from citybrain.auth.service import token_create

    return run(token_create, TokenCreate(name="general", scopes=["share:access"]), actor=actor)[1]


def test_general_token_and_foreign_grant_token_are_refused(client, run, world) -> None:
    gid = _grant(run, world)
    companies = run(
        service.share_request_create,
        ShareRequestCreate(resource="companies", fields=["uscc", "name"], purpose="企业资格核验"),
        actor=world.consumer[1],
    ).grant_id
    general = run_token(run, world.consumer[1])
    r = client.post(f"/api/v1/share/grants/{gid}/query", json={}, headers={"authorization": f"Bearer {general}"})
    assert r.status_code == 403 and "授权绑定的令牌" in r.json()["error"]["message"]
    # the companies grant's token cannot open the population grant
    other = _token(run, world, companies)
    r = client.post(f"/api/v1/share/grants/{gid}/query", json={}, headers={"authorization": f"Bearer {other}"})
    assert r.status_code == 403
    # and a grant token reaches nothing but data access
    h = {"authorization": f"Bearer {other}"}
    assert client.get("/api/v1/catalog/resources", headers=h).status_code == 403
    assert client.get("/api/v1/share/requests", headers=h).status_code == 403


def test_revoked_suspended_and_expired_grants_fail_on_the_next_call(client, run, world, db) -> None:
    gid = _grant(run, world)
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    url = f"/api/v1/share/grants/{gid}/query"
    assert client.post(url, json={}, headers=h).status_code == 200
    run(service.grant_suspend, gid, "核查异常调用", actor=world.steward[1])
    r = client.post(url, json={}, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_suspended"
    run(service.grant_resume, gid, actor=world.steward[1])
    assert client.post(url, json={}, headers=h).status_code == 200
    with db.session() as s:
        s.get(ShareGrant, gid).expires_at = utcnow() - timedelta(seconds=1)
    r = client.post(url, json={}, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_expired"
    with db.session() as s:
        s.get(ShareGrant, gid).expires_at = utcnow() + timedelta(days=1)
    run(service.grant_revoke, gid, "业务已结束", actor=world.steward[1])
    assert client.post(url, json={}, headers=h).status_code == 401  # its token is revoked with it
    login(client, world.consumer[0].username)
    r = client.post(url, json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "grant_revoked"


def test_rate_limit_holds(client, run, world) -> None:
    gid = _grant(run, world, rate_limit=3)
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    codes = [client.post(f"/api/v1/share/grants/{gid}/query", json={}, headers=h).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_modes_limit_what_a_grant_does(client, run, world) -> None:
    gid = _grant(run, world, modes=["verify"])
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    for method, url, body in _data_calls(gid):
        r = _call(client, method, url, body, h)
        assert r.status_code == (200 if url.endswith("/verify") else 403), (url, r.text)


def test_export_runs_in_background_with_progress_and_masking(client, run, world) -> None:
    gid = _grant(run, world)
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    job = client.post(f"/api/v1/share/grants/{gid}/exports", json={"format": "csv"}, headers=h)
    assert job.status_code == 202, job.text
    status = client.get(f"/api/v1/share/exports/{job.json()['id']}", headers=h).json()
    assert status["status"] == "succeeded" and status["progress"] == 1.0 and status["rows_done"] == 20
    got = client.get(f"/api/v1/share/exports/{job.json()['id']}/download", headers=h)
    assert got.status_code == 200
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert len(rows) == 20 and set(rows[0]) == {"citizen_id", "name", "division_code"}
    assert all("*" in r["citizen_id"] and r["division_code"].startswith("320402") for r in rows)
    # another department cannot fetch it; after revocation nobody can
    login(client, world.other[0].username)
    assert client.get(f"/api/v1/share/exports/{job.json()['id']}/download").status_code == 403
    run(service.grant_revoke, gid, "业务已结束", actor=world.steward[1])
    login(client, world.consumer[0].username)
    assert client.get(f"/api/v1/share/exports/{job.json()['id']}/download").status_code == 403


def test_parquet_export(client, run, world) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    gid = _grant(run, world)
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    job = client.post(f"/api/v1/share/grants/{gid}/exports", json={"format": "parquet"}, headers=h).json()
    got = client.get(f"/api/v1/share/exports/{job['id']}/download", headers=h)
    table = pq.read_table(pa.BufferReader(got.content))
    assert table.num_rows == 20 and table.column_names == ["citizen_id", "name", "division_code"]


def test_every_call_is_audited_and_tokens_never_appear(client, run, world, db, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    gid = _grant(run, world)
    secret = _token(run, world, gid)
    h = {"authorization": f"Bearer {secret}"}
    client.post(f"/api/v1/share/grants/{gid}/query", json={"limit": 3}, headers=h)
    client.post(f"/api/v1/share/grants/{gid}/query", json={"fields": ["mobile"]}, headers=h)
    client.get(f"/api/v1/share/grants/{gid}/records/{OUT_OF_SCOPE}", headers=h)
    with db.session() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        dump = json.dumps([{c.key: getattr(e, c.key) for c in AuditEvent.__table__.columns} for e in events],
                          default=str, ensure_ascii=False)  # fmt: skip
        calls = [e for e in events if e.action in ("share_query", "share_lookup")]
        ok, denied, miss = calls[0], calls[1], calls[2]
        assert ok.result == "ok" and ok.row_count == 3 and ok.fields == ["citizen_id", "name", "division_code"]
        assert ok.dept_id == world.consumer_dept.id and ok.token_id and ok.purpose == "最低生活保障资格核查"
        assert ok.resource_id == "population" and ok.details["grant"] == gid
        assert denied.result == "denied" and "mobile" in denied.details["reason"]
        assert miss.action == "share_lookup" and miss.row_count == 0
    assert secret not in dump
    assert secret[4:] not in caplog.text and secret not in caplog.text


@pytest.mark.parametrize("who", ["consumer", "other"])
def test_requests_and_grants_are_visible_only_to_the_parties(run, world, who) -> None:
    from citybrain.errors import NotAuthorized

    gid = _grant(run, world)
    actor = getattr(world, who)[1]
    if who == "consumer":
        assert run(service.grant_show, gid, actor=actor).id == gid
        assert [g.id for g in run(service.grant_list, box="all", actor=actor)] == [gid]
    else:
        with pytest.raises(NotAuthorized):
            run(service.grant_show, gid, actor=actor)
        assert run(service.grant_list, box="all", actor=actor) == []
        assert run(service.share_request_list, box="all", actor=actor) == []


def test_rate_limit_slides_over_the_minute_boundary(run, world, db) -> None:
    """The limit counts the last 60 seconds, not the clock minute: a burst just before a new minute
    still counts just after it, and is forgotten a minute later."""
    from datetime import UTC, datetime, timedelta

    from citybrain.share import usage

    gid = _grant(run, world, rate_limit=10)
    start = datetime(2026, 12, 1, 10, 0, 50, tzinfo=UTC)
    with db.session() as s:
        for _ in range(10):
            usage.count_call(s, gid, start, 1, keep_days=2)
    with db.session() as s:
        assert usage.recent_calls(s, gid, start) == 10
        # 10:01:05: 55 of the previous minute's 60 seconds are still within the window
        assert usage.recent_calls(s, gid, start + timedelta(seconds=15)) == pytest.approx(10 * 55 / 60)
        assert usage.recent_calls(s, gid, start + timedelta(seconds=75)) == 0
        usage.count_call(s, gid, start + timedelta(seconds=130), 1, keep_days=2)  # 10:03

    def minutes() -> int:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(ShareUsageMinute).where(ShareUsageMinute.grant_id == gid))

    # the minutes stay for the volume check's days, and a new minute's first call clears older ones
    assert minutes() == 2
    with db.session() as s:
        usage.count_call(s, gid, start + timedelta(days=2), 1, keep_days=2)
    assert minutes() == 2
    with db.session() as s:
        usage.count_call(s, gid, start + timedelta(days=2, minutes=3), 1, keep_days=2)
        assert usage.rows_between(s, gid, 0, usage.minute_of(start + timedelta(days=3))) == 2
    assert minutes() == 2


def test_concurrent_lookups_share_a_bounded_set_of_threads(client, run, world, settings, db) -> None:
    """Lookups arriving at once all get their answer and their own audit entry, with the request id
    the caller sent, when fewer threads than callers serve them."""
    import asyncio

    import httpx

    from citybrain.settings import Settings

    sqlite = f"sqlite:///{settings.home / 'm.db'}"
    assert Settings(home=settings.home, database_url=sqlite).resolved_share_access_threads == 1
    assert Settings(home=settings.home, database_url="postgresql+psycopg://h/db").resolved_share_access_threads == 8
    assert Settings(home=settings.home, share_access_threads=3).resolved_share_access_threads == 3

    gid = _grant(run, world, modes=["lookup"])
    token = _token(run, world, gid)
    keys = [f"32040219900101{n:04d}" for n in range(1, 13)]

    async def calls() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(
                *(
                    c.get(
                        f"/api/v1/share/grants/-/records/{key}",
                        headers={"authorization": f"Bearer {token}", "x-request-id": f"req-{key}"},
                    )
                    for key in keys
                )
            )

    answers = asyncio.run(calls())
    # in scope, found; out of scope, not found — exactly as one at a time
    one_by_one = [client.get(f"/api/v1/share/grants/-/records/{key}", headers={"authorization": f"Bearer {token}"})
                  for key in keys]  # fmt: skip
    assert [r.status_code for r in answers] == [r.status_code for r in one_by_one]
    assert [r.json() for r in answers] == [r.json() for r in one_by_one] and 200 in {r.status_code for r in answers}
    with db.session() as s:
        audited = s.scalars(select(AuditEvent.request_id).where(AuditEvent.action == "share_lookup")).all()
    assert sorted(r for r in audited if r.startswith("req-")) == sorted(f"req-{key}" for key in keys)


def test_a_lookup_still_notes_the_tokens_use(client, run, world, db) -> None:
    """Its first transaction only reads, so the token's ``last_used_at`` is written with the call's
    usage row and audit entry instead."""
    from citybrain.auth.models import ApiToken

    gid = _grant(run, world)
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    with db.session() as session:
        assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.grant_id == gid)) is None
    assert client.get(f"/api/v1/share/grants/-/records/{IN_SCOPE}", headers=h).status_code == 200
    with db.session() as session:
        used = session.scalar(select(ApiToken.last_used_at).where(ApiToken.grant_id == gid))
    assert used is not None and utcnow() - used < timedelta(minutes=1)
