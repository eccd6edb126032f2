"""The evaluation over HTTP: the API through a whole cycle, the Excel download, and the console pages."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import load_workbook
from tests.factories import login

from citybrain.auth.rules import Role
from citybrain.demo.departments import departments
from citybrain.efficiency import service as svc
from citybrain.efficiency.service import today as beijing_today
from citybrain.org.schemas import DepartmentCreate
from citybrain.org.service import department_create

YEAR = 2023
API = "/api/v1/efficiency"


def _setup(run: Any) -> dict[str, Any]:
    depts = {}
    for d in departments():
        if d.division_code == "320481":
            depts[d.code] = run(department_create, DepartmentCreate(**d.as_create()))
    run(svc.efficiency_catalog_install)
    run(svc.efficiency_demo_load, YEAR, seed=3, n_firms=300)
    return depts


def test_api_runs_a_whole_cycle_and_serves_reports(client: Any, run: Any, factory: Any) -> None:
    depts = _setup(run)
    user, _actor = factory.user(Role.STEWARD, dept=depts["lygxj"])
    login(client, user.username)
    past = (beijing_today() - dt.timedelta(days=1)).isoformat()
    future = (beijing_today() + dt.timedelta(days=7)).isoformat()
    r = client.post(f"{API}/cycles", json={"year": YEAR, "check_deadline": future})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "collecting" and r.json()["allowed_next"] == ["checking"]
    bad = client.post(f"{API}/cycles/{YEAR}/transition", json={"to": "published"})
    assert bad.status_code == 409 and bad.json()["error"]["details"]["allowed"] == ["checking"]
    assert client.post(f"{API}/cycles/{YEAR}/transition", json={"to": "checking"}).status_code == 200
    exc = client.get(f"{API}/cycles/{YEAR}/exceptions")
    assert exc.status_code == 200 and any(e["problem"] == "unmatched" for e in exc.json())
    r = client.post(f"{API}/cycles/{YEAR}/transition", json={"to": "evaluating", "check_deadline": past})
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/cycles/{YEAR}/runs")
    assert r.status_code == 201, r.text
    counts = r.json()["class_counts"]
    t_list = client.get(f"{API}/cycles/{YEAR}/results", params={"cls": "T", "limit": 1000}).json()["items"]
    for item in t_list:
        d = client.post(
            f"{API}/cycles/{YEAR}/decisions", json={"kind": "t_confirm", "uscc": item["uscc"], "reason": "领导小组认定"}
        )
        assert d.status_code == 201, d.text
    assert client.post(f"{API}/cycles/{YEAR}/runs").status_code == 201
    assert client.post(f"{API}/cycles/{YEAR}/confirm").status_code == 200
    assert client.post(f"{API}/cycles/{YEAR}/transition", json={"to": "published"}).status_code == 200
    report = client.get(f"{API}/cycles/{YEAR}/report").json()
    assert report["total"]["counts"] == counts
    xlsx = client.get(f"{API}/cycles/{YEAR}/report", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["汇总", "企业名单", "升降档"]
    assert wb["企业名单"].max_row == report["total"]["firms"] + 1
    firms = client.get(f"{API}/cycles/{YEAR}/results", params={"limit": 5}).json()
    assert firms["total"] == report["total"]["firms"] and firms["items"][0]["class"] in "ABCDT"
    uscc = firms["items"][0]["uscc"]
    shown = client.get(f"{API}/cycles/{YEAR}/results/{uscc}").json()
    assert shown["breakdown"]["indicators"] and shown["run"]["data_versions"]
    register = client.get(f"{API}/clearout", params={"year": YEAR}).json()
    assert len(register) == counts["D"]
    if register:
        upd = client.patch(f"{API}/clearout/{register[0]['id']}", json={"status": "整治中", "note": "已约谈"})
        assert upd.status_code == 200 and upd.json()["status"] == "整治中"

    # the console pages, in Chinese
    for path in (
        "/efficiency",
        f"/efficiency/{YEAR}",
        f"/efficiency/{YEAR}/results",
        f"/efficiency/{YEAR}/firms/{uscc}",
        "/efficiency/clearout",
    ):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert '<script src="http' not in page.text and "cdn" not in page.text.lower()
    assert "结果通报" in client.get(f"/efficiency/{YEAR}").text
    assert "基础分" in client.get(f"/efficiency/{YEAR}/firms/{uscc}").text
    assert client.get(f"/efficiency/{YEAR}/report.xlsx").status_code == 200


def test_api_refuses_strangers(client: Any, run: Any, factory: Any) -> None:
    depts = _setup(run)
    run(svc.efficiency_cycle_create, svc.CycleCreate(year=YEAR))
    user, _ = factory.user(Role.STEWARD, dept=depts["lytjj"])
    assert client.post(f"{API}/cycles/{YEAR}/transition", json={"to": "checking"}).status_code == 401
    login(client, user.username)
    r = client.post(f"{API}/cycles/{YEAR}/transition", json={"to": "checking", "check_deadline": "2030-01-01"})
    assert r.status_code == 403
    assert "无权" in r.json()["error"]["message"]


def test_pages_in_data_check_take_objections_and_moves(client: Any, run: Any, factory: Any) -> None:
    depts = _setup(run)
    future = beijing_today() + dt.timedelta(days=7)
    run(svc.efficiency_cycle_create, svc.CycleCreate(year=YEAR, check_deadline=future))
    user, _ = factory.user(Role.STEWARD, dept=depts["lygxj"])
    login(client, user.username)
    page = client.get(f"/efficiency/{YEAR}")
    assert page.status_code == 200 and "转入“数据核对”" in page.text
    moved = client.post(f"/efficiency/{YEAR}/advance", data={"to": "checking"}, follow_redirects=False)
    assert moved.status_code == 303
    refused = client.post(f"/efficiency/{YEAR}/advance", data={"to": "evaluating"})
    assert refused.status_code == 409 and "截止日期" in refused.text
    uscc = run(lambda ctx: svc.lake_for(ctx).read("ly_eff_registration")["uscc"][0].as_py())
    firm = client.get(f"/efficiency/{YEAR}/firms/{uscc}")
    assert firm.status_code == 200 and "提出异议" in firm.text and "评价所用数据" in firm.text
    sent = client.post(
        f"/efficiency/{YEAR}/firms/{uscc}/objection",
        data={"resource_key": "ly_eff_tax", "message": "应税销售收入漏报出口部分"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "应税销售收入漏报出口部分" in client.get(f"/efficiency/{YEAR}/firms/{uscc}").text
