"""Logins, sessions and API tokens through the real app."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from tests.factories import PASSWORD, login

from citybrain.audit.models import AuditEvent
from citybrain.auth.models import ApiToken, User
from citybrain.db import utcnow


def test_login_logout_and_failed_attempt_audited(client, factory, db) -> None:
    dept = factory.dept()
    factory.user("steward", dept, username="wang")
    bad = client.post("/login", data={"username": "wang", "password": "wrong-password"}, follow_redirects=False)
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    login(client, "wang")
    assert client.get("/api/v1/me").json()["username"] == "wang"
    client.post("/logout", follow_redirects=False)
    assert client.get("/api/v1/me").status_code == 401
    with db.session() as s:
        results = [(e.action, e.result) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert ("session_login", "denied") in results and ("session_login", "ok") in results
    assert ("session_logout", "ok") in results


def test_passwords_are_argon2_hashes(factory, db) -> None:
    factory.user("consumer", username="li.lei")
    with db.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "li.lei"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_token_is_scoped_stored_as_hash_expires_and_revokes(client, factory, db) -> None:
    dept = factory.dept()
    _user, steward = factory.user("steward", dept, username="zhao")
    secret = factory.token(steward, ["catalog:read"])
    with db.session() as s:
        row = s.scalar(select(ApiToken))
        assert secret not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
        token_id = row.id
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/catalog/resources", headers=auth).status_code == 200
    # the scope does not cover writing, whatever the role could do
    r = client.post(
        "/api/v1/catalog/resources",
        headers=auth,
        json={
            "key": "x_res",
            "name": "某资源",
            "dept": dept.id,
            "category": "部门库",
            "share_type": "无条件共享",
            "open_type": "无条件开放",
            "fields": [{"name": "a", "title": "甲"}],
        },
    )
    assert r.status_code == 403 and "catalog:write" in r.json()["error"]["message"]
    # expiry is enforced on the next call
    with db.session() as s:
        s.get(ApiToken, token_id).expires_at = utcnow() - timedelta(seconds=1)
    r = client.get("/api/v1/catalog/resources", headers=auth)
    assert r.status_code == 401 and r.json()["error"]["message"] == "令牌已过期"
    with db.session() as s:
        s.get(ApiToken, token_id).expires_at = utcnow() + timedelta(days=1)
    login(client, "zhao")
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 200
    client.cookies.clear()
    assert client.get("/api/v1/catalog/resources", headers=auth).json()["error"]["message"] == "令牌已吊销"


def test_token_cannot_be_wider_than_its_owner(client, factory) -> None:
    factory.user("consumer", username="sun")
    login(client, "sun")
    r = client.post("/api/v1/tokens", json={"name": "etl", "scopes": ["catalog:write"]})
    assert r.status_code == 422 and "catalog:write" in r.json()["error"]["details"]["not_allowed"]
    r = client.post("/api/v1/tokens", json={"name": "etl", "scopes": ["catalog:read"]})
    assert r.status_code == 201 and r.json()["secret"].startswith("cbt_")


def test_tokens_never_reach_the_log(client, factory, caplog) -> None:
    _u, actor = factory.user("consumer", username="zhou")
    secret = factory.token(actor, ["catalog:read"])
    with caplog.at_level("DEBUG"):
        client.get("/api/v1/catalog/resources", headers={"Authorization": f"Bearer {secret}"})
        client.get("/api/v1/catalog/resources", headers={"Authorization": "Bearer cbt_not-a-real-token"})
    assert secret not in caplog.text and "cbt_not-a-real-token" not in caplog.text
