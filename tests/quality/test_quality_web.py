"""Governance over HTTP, in the console and on the command line."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from tests.factories import login
from typer.testing import CliRunner

from citybrain.lake.store import Lake
from citybrain.standards.checks import citizen_id_check_char


def cid(birth: str, seq: str) -> str:
    body = "320402" + birth + seq
    return body + citizen_id_check_char(body)


P1, P2 = cid("19800101", "011"), cid("19900215", "022")
BAD_P1 = P1[:-1] + ("0" if P1[-1] != "0" else "1")


def table(rows: list[tuple[str, str, str]]) -> pa.Table:
    ids, names, sexes = zip(*rows, strict=True)
    return pa.table({"citizen_id": list(ids), "name": list(names), "sex": list(sexes)})


@pytest.fixture
def world(factory: Any, settings: Any) -> dict[str, Any]:
    gaj = factory.dept(code="gaj", name="市公安局")
    mzj = factory.dept(code="mzj", name="市民政局")
    factory.user("steward", gaj, username="steward_gaj")
    factory.user("steward", mzj, username="steward_mzj")
    factory.user("consumer", mzj, username="consumer_mzj")
    factory.user("cdo", gaj, username="cdo1")
    factory.resource(
        gaj,
        key="persons",
        name="人口基础信息",
        update_frequency="每日",
        fields=[
            {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id", "required": True},
            {"name": "name", "title": "姓名", "standard": "person_name", "required": True},
            {"name": "sex", "title": "性别", "standard": "sex"},
        ],
        primary_key=["citizen_id"],
    )
    lake = Lake(settings.lake_dir)
    lake.write("persons", table([(BAD_P1, "张三", "1"), (P2, "", "2")]))
    return {"lake": lake}


def test_api_run_show_tickets_and_objections(client: Any, world: dict[str, Any]) -> None:
    login(client, "steward_gaj")
    r = client.post("/api/v1/quality/resources/persons/runs", json={})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["version"] == 1 and run["tickets_opened"] == 2
    assert run["dimensions"]["accuracy"] < 100
    rules = client.get("/api/v1/quality/resources/persons/rules").json()
    assert {"citizen_id.check_digit", "name.required"} <= {x["id"] for x in rules}
    created = client.post(
        "/api/v1/quality/resources/persons/rules",
        json={"spec": {"kind": "pattern", "id": "name_han", "column": "name", "pattern": "^[\\u4e00-\\u9fa5]+$"}},
    )
    assert created.status_code == 201, created.text
    assert client.delete("/api/v1/quality/resources/persons/rules/name_han").status_code == 204

    shown = client.get("/api/v1/quality/resources/persons").json()
    assert shown["run"]["version"] == 1 and len(shown["trend"]) == 1 and shown["open_tickets"] == 2
    inbox = client.get("/api/v1/quality/tickets", params={"status": "open"}).json()
    assert len(inbox) == 2
    number = next(t["number"] for t in inbox if t["rule_id"] == "name.required")
    r = client.post(f"/api/v1/quality/tickets/{number}/reject", json={"reason": ""})
    assert r.status_code == 422 and "理由" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/quality/tickets/{number}").json()["items"][0]["key"] == P2

    # the corrected version closes the tickets on recheck
    world["lake"].write("persons", table([(P1, "张三", "1"), (P2, "李四", "2")]))
    r = client.post(f"/api/v1/quality/tickets/{number}/recheck")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert client.get("/api/v1/quality/tickets", params={"status": "open"}).json() == []

    # another department's steward cannot reject or recheck
    client.post("/logout")
    login(client, "steward_mzj")
    assert client.get(f"/api/v1/quality/tickets/{number}").status_code == 403
    assert client.post(f"/api/v1/quality/tickets/{number}/recheck").status_code == 403
    assert client.post("/api/v1/quality/resources/persons/runs", json={}).status_code == 403

    client.post("/logout")
    login(client, "consumer_mzj")
    r = client.post(
        "/api/v1/quality/resources/persons/objections",
        json={"keys": [P2], "field": "name", "description": "姓名错误", "evidence": "户口簿"},
    )
    assert r.status_code == 201, r.text
    obj = r.json()
    assert obj["dept_name"] == "市公安局" and obj["status"] == "open"
    assert client.post(f"/api/v1/quality/objections/{obj['number']}/reject", json={"reason": "x"}).status_code == 403

    client.post("/logout")
    login(client, "steward_gaj")
    received = client.get("/api/v1/quality/objections", params={"direction": "received"}).json()
    assert [o["number"] for o in received] == [obj["number"]]
    r = client.post(f"/api/v1/quality/objections/{obj['number']}/uphold", json={"reason": "属实"})
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    assert client.get("/api/v1/quality/league").status_code == 403

    client.post("/logout")
    login(client, "cdo1")
    league = client.get("/api/v1/quality/league").json()
    assert league[0]["dept_code"] == "gaj" and league[0]["rectification_rate"] == 1.0
    assert client.post("/api/v1/quality/tickets/escalate", json={}).status_code == 200


def test_console_inbox_ticket_and_quality_pages(client: Any, world: dict[str, Any]) -> None:
    login(client, "steward_gaj")
    page = client.get("/quality/resources/persons")
    assert page.status_code == 200 and "尚未评估" in page.text
    r = client.post("/quality/resources/persons/run", follow_redirects=False)
    assert r.status_code == 303
    page = client.get("/quality/resources/persons")
    assert "综合得分" in page.text and "准确性" in page.text and BAD_P1 in page.text
    assert 'id="trend"' in page.text
    assert "cdn" not in page.text.lower()
    inbox = client.get("/quality")
    assert inbox.status_code == 200 and "整改工单" in inbox.text and "市公安局" in inbox.text
    assert 'id="my-metrics"' in inbox.text and "问题数据整改率" in inbox.text
    number = inbox.text.split('href="/quality/tickets/')[1].split('"')[0]
    ticket = client.get(f"/quality/tickets/{number}")
    assert ticket.status_code == 200 and "待整改" in ticket.text and 'id="reject-form"' in ticket.text
    bad = client.post(f"/quality/tickets/{number}/reject", data={"reason": " "})
    assert bad.status_code == 422 and "理由" in bad.text
    ok = client.post(f"/quality/tickets/{number}/reject", data={"reason": "规则不适用"}, follow_redirects=True)
    assert ok.status_code == 200 and "已驳回" in ok.text and "规则不适用" in ok.text
    catalog = client.get("/catalog/persons")
    assert "数据质量" in catalog.text and "/quality/resources/persons" in catalog.text

    client.post("/logout")
    login(client, "consumer_mzj")
    r = client.post(
        "/quality/resources/persons/objections",
        data={"keys": P2, "field": "name", "description": "姓名缺失", "evidence": "户口簿"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "市公安局" in r.text and "待处理" in r.text
    assert client.get(f"/quality/tickets/{number}").status_code == 403

    client.post("/logout")
    login(client, "steward_gaj")
    inbox = client.get("/quality")
    assert "姓名缺失" in inbox.text
    obj = inbox.text.split('href="/quality/objections/')[1].split('"')[0]
    r = client.post(f"/quality/objections/{obj}/decide", data={"decision": "reject", "reason": ""})
    assert r.status_code == 422 and "理由" in r.text
    r = client.post(
        f"/quality/objections/{obj}/decide", data={"decision": "uphold", "reason": ""}, follow_redirects=True
    )
    assert "异议成立" in r.text

    client.post("/logout")
    login(client, "cdo1")
    league = client.get("/quality/league")
    assert league.status_code == 200 and "部门数据质量排行" in league.text and "市公安局" in league.text
    drill = client.get("/quality", params={"dept": "gaj", "status": ""})
    assert drill.status_code == 200 and "人口基础信息：" in drill.text


def test_cli_run_show_tickets_league(world: dict[str, Any]) -> None:
    from citybrain.cli.main import app

    runner = CliRunner(env={"COLUMNS": "200"})
    r = runner.invoke(app, ["quality", "run", "persons"])
    assert r.exit_code == 0, r.output
    assert "新开整改工单 2 张" in r.output
    r = runner.invoke(app, ["quality", "show", "persons"])
    assert r.exit_code == 0 and "质量趋势" in r.output
    r = runner.invoke(app, ["quality", "tickets", "--status", "open"])
    assert r.exit_code == 0 and "整改工单（2 张）" in r.output
    r = runner.invoke(app, ["quality", "tickets", "--as", "steward_mzj"])
    assert r.exit_code == 0 and "整改工单（0 张）" in r.output
    r = runner.invoke(
        app,
        [
            "quality",
            "objections",
            "raise",
            "persons",
            "--key",
            P2,
            "--description",
            "错",
            "--evidence",
            "证明",
            "--as",
            "consumer_mzj",
        ],
    )
    assert r.exit_code == 0 and "市公安局" in r.output, r.output
    r = runner.invoke(app, ["quality", "objections", "--as", "steward_gaj"])
    assert r.exit_code == 0 and "数据异议（1 条）" in r.output
    r = runner.invoke(app, ["quality", "league", "--as", "cdo1"])
    assert r.exit_code == 0 and "市公安局" in r.output
    r = runner.invoke(app, ["quality", "league", "--as", "steward_gaj"])
    assert r.exit_code == 1 and "无权" in r.output


def test_console_history_english_and_refusals(client: Any, world: dict[str, Any]) -> None:
    assert client.get("/quality", follow_redirects=False).status_code in (303, 401)
    login(client, "steward_gaj")
    client.post("/quality/resources/persons/run")
    world["lake"].write("persons", table([(P1, "张三", "1"), (P2, "李四", "2")]))
    client.post("/quality/resources/persons/run")
    page = client.get("/quality/resources/persons")
    assert "v2" in page.text and 'href="/quality/resources/persons?version=1"' in page.text
    old = client.get("/quality/resources/persons", params={"version": 1})
    assert old.status_code == 200 and BAD_P1 in old.text and "查看最新评估" in old.text
    assert client.get("/quality/resources/persons", params={"version": 9}).status_code == 404
    en = client.get("/quality/resources/persons", params={"lang": "en"})
    assert en.status_code == 200 and "Overall score" in en.text and "History" in en.text
    inbox = client.get("/quality", params={"status": "", "lang": "en"})
    assert "Rectification tickets" in inbox.text and "Escalated only" in inbox.text
    assert client.get("/quality/league").status_code == 403
    client.post("/logout")
    login(client, "cdo1")
    assert client.get("/quality", params={"escalated": "1", "status": ""}).status_code == 200
