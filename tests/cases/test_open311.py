"""Open311 GeoReport v2 over raw HTTP, and a 随手拍 report carried through the case API to 结案."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import test_cases_support as support
from test_cases_support import GRID, City

city = support.city  # the shared fixture

BASE = "/open311/v2"


def _bearer(factory: Any, actor: Any, *scopes: str) -> dict[str, str]:
    return {"authorization": f"Bearer {factory.token(actor, list(scopes))}"}


def test_discovery_and_services_in_json_and_xml(client: Any, city: City) -> None:
    found = client.get(f"{BASE}/discovery.json")
    assert found.status_code == 200 and found.json()["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    xml = ET.fromstring(client.get(f"{BASE}/discovery.xml").content)
    assert xml.tag == "discovery" and xml.find("endpoints/endpoint/specification") is not None

    services = client.get(f"{BASE}/services.json").json()
    bins = next(s for s in services if s["service_code"] == "06042")
    assert bins["service_name"] == "垃圾站（箱）满溢" and bins["group"] == "市容环境类" and bins["metadata"] is True
    listed = ET.fromstring(client.get(f"{BASE}/services.xml").content)
    assert listed.tag == "services" and len(listed.findall("service")) == len(services)

    definition = ET.fromstring(client.get(f"{BASE}/services/01037.xml").content)
    codes = [a.findtext("code") for a in definition.findall("attributes/attribute")]
    assert definition.findtext("service_code") == "01037" and codes == ["urgency", "component_id"]
    assert [v.findtext("key") for v in definition.findall("attributes/attribute/values/value")] == ["normal", "urgent"]


def test_errors_use_the_open311_envelope(client: Any, city: City) -> None:
    missing = client.get(f"{BASE}/services/99999.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
    assert "99999" in missing.json()[0]["description"]
    xml = client.get(f"{BASE}/requests/nope.xml")
    assert xml.status_code == 404 and ET.fromstring(xml.content).findtext("error/code") == "404"
    nowhere = client.post(f"{BASE}/requests.json", data={"service_code": "06042", "description": "垃圾满了"})
    assert nowhere.status_code == 400 and "坐标" in nowhere.json()[0]["description"]
    wrong_place = client.get(f"{BASE}/services.json", params={"jurisdiction_id": "example.org"})
    assert wrong_place.status_code == 404
    assert client.get(f"{BASE}/services.txt").status_code == 404


def test_suishoupai_report_routes_to_the_grid_worker_and_closes(client: Any, factory: Any, city: City) -> None:
    created = client.post(
        f"{BASE}/requests.json",
        data={
            "lat": str(city.lat),
            "long": str(city.lon),
            "description": "小区门口的垃圾桶满了，垃圾溢出来一地",
            "first_name": "明",
            "last_name": "李",
            "phone": "13900000000",
            "media_url": "https://example.org/photo.jpg",
        },
    )
    assert created.status_code == 201, created.text
    (answer,) = created.json()
    request_id, token = answer["service_request_id"], answer["token"]
    assert client.get(f"{BASE}/tokens/{token}.json").json() == [{"service_request_id": request_id, "token": token}]
    (public,) = client.get(f"{BASE}/requests/{request_id}.json").json()
    assert public["status"] == "open" and public["service_code"] == "06042" and public["media_url"]
    assert public["requested_datetime"].endswith("+08:00") and "13900000000" not in created.text + str(public)
    # a second citizen reporting the same overflowing bin joins the case
    again = client.post(
        f"{BASE}/requests.xml",
        data={"lat": str(city.lat), "long": str(city.lon + 0.00005), "description": "垃圾箱满溢没人清理"},
    )
    assert ET.fromstring(again.content).findtext("request/service_request_id") == request_id

    operator = _bearer(factory, city.operator, "cases:read", "cases:write")
    worker = _bearer(factory, city.worker, "cases:read", "cases:write")
    case = client.get(f"/api/v1/cases/{request_id}", headers=operator).json()
    assert case["report_count"] == 2 and case["grid_id"] == GRID and case["source"] == "open311"

    def step(name: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        nonlocal case
        response = client.post(
            f"/api/v1/cases/{request_id}/{name}", json={**body, "version": case["version"]}, headers=headers
        )
        assert response.status_code == 200, response.text
        case = response.json()
        return case

    step("accept", operator)
    step("register", operator)
    dispatched = step("dispatch", operator)
    assert dispatched["assignee_user_id"] == city.worker.user_id and dispatched["level"] == "grid"
    step("sign", worker)
    step("dispose", worker, note="已清运，地面已冲洗")
    step("feedback", worker)
    step("verify", operator, passed=True)
    assert step("close", operator)["state"] == "closed"

    (public,) = client.get(f"{BASE}/requests/{request_id}.json").json()
    assert public["status"] == "closed" and "已清运" in public["status_notes"]
    closed = client.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
    assert [r["service_request_id"] for r in closed] == [request_id]
    kpi = client.get(
        "/api/v1/cases/kpi",
        params={"start": "2000-01-01T00:00:00+08:00", "end": "2100-01-01T00:00:00+08:00", "by": "source"},
        headers=operator,
    ).json()
    (row,) = kpi["rows"]
    assert row["key"] == "open311" and row["counts"]["closed"] == 1 and row["rates"]["close_rate"] == 1.0


def test_two_operators_on_one_version_one_gets_409(client: Any, factory: Any, city: City) -> None:
    created = client.post(
        f"{BASE}/requests.json",
        data={"service_code": "06010", "lat": str(city.lat), "long": str(city.lon), "description": "路边有暴露垃圾"},
    )
    request_id = created.json()[0]["service_request_id"]
    first = _bearer(factory, city.operator, "cases:read", "cases:write")
    second = _bearer(factory, city.supervisor, "cases:read", "cases:write")
    version = client.get(f"/api/v1/cases/{request_id}", headers=first).json()["version"]
    ok = client.post(f"/api/v1/cases/{request_id}/accept", headers={**first, "if-match": f'"{version}"'})
    assert ok.status_code == 200
    lost = client.post(
        f"/api/v1/cases/{request_id}/reject", json={"reason": "重复", "version": version}, headers=second
    )
    assert lost.status_code == 409 and lost.json()["error"]["details"]["field"] == "version"
    illegal = client.post(f"/api/v1/cases/{request_id}/close", json={}, headers=first)
    assert illegal.status_code == 409 and "register" in illegal.json()["error"]["details"]["allowed"]


def test_an_api_key_parameter_identifies_the_client(client: Any, factory: Any, city: City) -> None:
    key = factory.token(city.operator, ["open311", "cases:read"])
    bad = client.post(f"{BASE}/requests.json", data={"api_key": "cbt_nope", "lat": str(city.lat), "long": "120"})
    assert bad.status_code == 401 and bad.json()[0]["code"] == 401
    sent = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": key,
            "service_code": "06010",
            "lat": str(city.lat),
            "long": str(city.lon),
            "description": "暴露垃圾",
        },
    )
    assert sent.status_code == 201
    case = client.get(
        f"/api/v1/cases/{sent.json()[0]['service_request_id']}", headers={"authorization": f"Bearer {key}"}
    )
    assert case.json()["reports"][0]["reporter_name"] is None and case.status_code == 200
