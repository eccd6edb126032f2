"""The consoles: a request made, approved and used through the pages, in Chinese by default."""

from __future__ import annotations

import re

from citybrain.share import service
from citybrain.share.schemas import ShareRequestCreate
from tests.factories import login


def test_request_approve_and_credential_through_the_console(client, run, world) -> None:
    login(client, world.consumer[0].username)
    page = client.get("/catalog/population")
    assert page.status_code == 200 and "/share/request?resource=population" in page.text
    form = client.get("/share/request?resource=population")
    assert form.status_code == 200 and "申请共享" in form.text and "公民身份号码" in form.text
    r = client.post(
        "/share/request",
        data={
            "resource": "population",
            "fields": ["citizen_id", "name"],
            "unmask": ["name"],
            "purpose": "最低生活保障资格核查",
            "legal_basis": "《社会救助暂行办法》",
            "row_field": "division_code",
            "row_op": "prefix",
            "row_values": "320402",
            "modes": ["query", "verify"],
            "days": "90",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    assert "待来源部门审核" in client.get(url).text
    # an invalid form comes back with the reason, not a 500
    bad = client.post("/share/request", data={"resource": "population", "purpose": "x"}, follow_redirects=True)
    assert bad.status_code == 200 and 'id="form-error"' in bad.text

    login(client, world.steward[0].username)
    inbox = client.get("/share/inbox")
    assert inbox.status_code == 200 and "人口基本信息" in inbox.text
    detail = client.get(url)
    assert 'id="approve-form"' in detail.text
    r = client.post(url + "/approve", data={"fields": ["citizen_id", "name"], "unmask": ["name"], "days": "60"})
    assert "待首席数据官审批" in r.text

    login(client, world.cdo[0].username)
    r = client.post(url + "/approve", data={"unmask": ["name"]})
    assert "已授权" in r.text
    oversight = client.get("/share/oversight")
    assert oversight.status_code == 200 and "数据资源共享率" in oversight.text

    login(client, world.consumer[0].username)
    home = client.get("/share")
    assert home.status_code == 200 and "本部门持有的授权" in home.text
    gid = re.search(r'href="/share/grants/(\w+)"', home.text).group(1)  # type: ignore[union-attr]
    issued = client.post(f"/share/grants/{gid}/token")
    secret = re.search(r'id="token-secret">([^<]+)<', issued.text).group(1)  # type: ignore[union-attr]
    assert issued.headers["cache-control"] == "no-store"
    q = client.post(f"/api/v1/share/grants/{gid}/query", json={}, headers={"authorization": f"Bearer {secret}"})
    assert q.status_code == 200 and q.json()["total"] == 20
    assert "*" not in q.json()["rows"][0]["name"] and "*" in q.json()["rows"][0]["citizen_id"]
    # the secret is not shown again
    assert secret not in client.get(f"/share/grants/{gid}").text


def test_steward_suspends_and_security_sees_alerts_page(client, run, world) -> None:
    req = run(
        service.share_request_create,
        ShareRequestCreate(resource="companies", fields=["uscc"], purpose="企业资格核验"),
        actor=world.consumer[1],
    )
    login(client, world.steward[0].username)
    r = client.post(f"/share/grants/{req.grant_id}/suspend", data={"reason": "核查调用"})
    assert r.status_code == 200 and "已暂停" in r.text
    login(client, world.other[0].username)
    assert client.get(f"/share/grants/{req.grant_id}").status_code == 403
    assert client.get("/share/oversight").status_code == 403
    login(client, world.security[0].username)
    assert client.get("/share/oversight").status_code == 200
