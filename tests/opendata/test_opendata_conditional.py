"""有条件开放: register, apply with purpose and accepted terms, the source department decides with a reason,
the applicant collects a personal key with limits; every step audited."""

from __future__ import annotations

from typing import Any

import ckanapi
import pytest

from citybrain.audit.service import audit_list
from citybrain.auth.actor import ANONYMOUS
from citybrain.errors import Conflict, Invalid, NotAuthenticated, NotAuthorized, RateLimited
from citybrain.opendata import service
from citybrain.opendata.schemas import ApplicationCreate, ApplicationDecision
from tests.factories import login
from tests.opendata.conftest import World
from tests.opendata.test_opendata_ckan import live  # noqa: F401  (fixture)


def _apply(run: Any, world: World, **overrides: Any) -> Any:
    data = dict(
        dataset="stop-permits",
        purpose="开发公交站点经营分析工具",
        intended_use="为站点商户提供客流分析",
        accept_terms=True,
    )
    data.update(overrides)
    return run(service.open_application_create, ApplicationCreate(**data), actor=world.public)


def test_application_needs_terms_and_a_conditional_dataset(run: Any, published: World) -> None:
    with pytest.raises(Invalid, match="使用条款"):
        _apply(run, published, accept_terms=False)
    with pytest.raises(Invalid, match="无需申请"):
        _apply(run, published, dataset="bus-stops")
    with pytest.raises(Invalid, match="统一社会信用代码"):
        _apply(run, published, applicant_kind="company", organization="某某科技有限公司", uscc="123")
    with pytest.raises(NotAuthenticated):
        run(
            service.open_application_create,
            ApplicationCreate(dataset="stop-permits", purpose="xxxx", intended_use="yyyy", accept_terms=True),
            actor=ANONYMOUS,
        )


def test_source_department_decides(run: Any, published: World) -> None:
    app = _apply(run, published)
    with pytest.raises(Conflict):
        _apply(run, published)
    # another department's steward cannot decide
    with pytest.raises(NotAuthorized):
        run(service.open_application_decide, app.id, ApplicationDecision(approve=True), actor=published.other_steward)
    with pytest.raises(Invalid, match="理由"):
        run(service.open_application_decide, app.id, ApplicationDecision(approve=False), actor=published.steward)
    refused = run(
        service.open_application_decide,
        app.id,
        ApplicationDecision(approve=False, reason="用途不明确"),
        actor=published.steward,
    )
    assert refused.status == "refused" and refused.reason == "用途不明确"
    mine = run(service.open_application_list, actor=published.public)
    assert [a.reason for a in mine] == ["用途不明确"]
    # refused: may apply again
    again = _apply(run, published, purpose="开发站点经营分析工具（补充说明）")
    assert again.status == "pending"


def test_approved_applicant_gets_a_limited_personal_key(run: Any, published: World, live: str) -> None:  # noqa: F811
    app = _apply(run, published)
    run(
        service.open_application_decide,
        app.id,
        ApplicationDecision(approve=True, daily_calls=3, max_rows=2),
        actor=published.steward,
    )
    with pytest.raises(NotAuthorized):
        run(service.open_application_key, app.id, actor=published.steward)
    _app, key = run(service.open_application_key, app.id, actor=published.public)
    anonymous = ckanapi.RemoteCKAN(live)
    with pytest.raises(ckanapi.NotAuthorized):
        anonymous.action.datastore_search(resource_id="stop-permits")
    keyed = ckanapi.RemoteCKAN(live, apikey=key)
    page = keyed.action.datastore_search(resource_id="stop-permits", limit=2)
    assert page["total"] == 3 and len(page["records"]) == 2
    assert all(r["manager_name"].endswith("**") for r in page["records"])
    with pytest.raises(ckanapi.ValidationError):
        keyed.action.datastore_search(resource_id="stop-permits", limit=3)
    keyed.action.datastore_search(resource_id="stop-permits", limit=1, offset=2)
    keyed.action.datastore_search(resource_id="stop-permits", limit=1)
    with pytest.raises(ckanapi.CKANAPIError, match="429"):
        keyed.action.datastore_search(resource_id="stop-permits", limit=1)
    # the key reaches only open data: not the catalog, not the console's APIs
    import httpx

    catalog = httpx.get(f"{live}/api/v1/catalog/resources", headers={"Authorization": f"Bearer {key}"})
    assert catalog.status_code == 403
    # revoking the grant stops the key
    run(service.open_application_revoke, app.id, "违反使用条款", actor=published.steward)
    with pytest.raises(ckanapi.CKANAPIError):
        keyed.action.datastore_search(resource_id="stop-permits", limit=1)
    actions = {e.action for e in run(audit_list, limit=500)}
    assert {
        "open_application_create",
        "open_application_approve",
        "open_application_key",
        "token_create",
        "open_dataset_rows",
        "open_application_revoke",
    } <= actions


def test_rate_limit_and_downloads_in_the_service(run: Any, published: World) -> None:
    app = _apply(run, published)
    run(
        service.open_application_decide,
        app.id,
        ApplicationDecision(approve=True, daily_calls=1),
        actor=published.steward,
    )
    approved, _key = run(service.open_application_key, app.id, actor=published.public)
    from dataclasses import replace

    keyed = replace(published.public, kind="token", token_id=approved.token_id, scopes=frozenset({"open:read"}))
    run(service.open_dataset_download, "stop-permits", "csv", actor=keyed)
    with pytest.raises(RateLimited):
        run(service.open_dataset_rows, "stop-permits", actor=keyed)
    # logged in on the portal (no key), the approved applicant can preview and download too
    assert run(service.open_dataset_rows, "stop-permits", actor=published.public).total == 3


def test_portal_flow(client: Any, published: World, run: Any) -> None:
    login(client, "citizen1")
    form = client.get("/portal/datasets/stop-permits/apply")
    assert form.status_code == 200 and "开放数据使用条款" in form.text
    missing_terms = client.post(
        "/portal/datasets/stop-permits/apply", data={"purpose": "研究公交客流", "intended_use": "发表研究报告"}
    )
    assert missing_terms.status_code == 422 and "使用条款" in missing_terms.text
    done = client.post(
        "/portal/datasets/stop-permits/apply",
        data={"purpose": "研究公交客流", "intended_use": "发表研究报告", "accept_terms": "yes"},
        follow_redirects=True,
    )
    assert "等待数据提供部门审核" in done.text and "待审核" in done.text
    client.post("/logout")
    login(client, "jt_steward")
    review = client.get("/portal/review").text
    assert "研究公交客流" in review
    app_id = run(service.open_application_list, review=True, actor=published.steward)[0].id
    client.post(
        f"/portal/applications/{app_id}/decide", data={"decision": "approve", "daily_calls": "50", "max_rows": "100"}
    )
    client.post("/logout")
    login(client, "citizen1")
    account = client.get("/portal/account").text
    assert "已批准" in account and "每日 50 次" in account
    shown = client.post(f"/portal/applications/{app_id}/key")
    assert "cbt_" in shown.text and shown.headers["cache-control"] == "no-store"
    page = client.get("/portal/datasets/stop-permits").text
    assert "数据预览" in page
