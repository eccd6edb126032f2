"""The HTTP surface: error envelope, status codes, OpenAPI, health."""

from __future__ import annotations

from tests.factories import login


def test_health_and_openapi(client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/catalog/resources" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_errors_have_one_shape_and_the_right_status(client, factory) -> None:
    factory.user("admin", username="root1")
    login(client, "root1")
    r = client.post("/api/v1/departments", json={"code": "bad", "name": "坏部门", "uscc": "91350100M000100Y44"})
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "invalid" and "统一社会信用代码" in body["message"] and body["details"]["field"] == "uscc"
    r = client.post("/api/v1/departments", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    r = client.get("/api/v1/catalog/resources/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/no/such/path")
    assert r.status_code == 404 and "error" in r.json()
    r = client.get("/api/v1/catalog/resources", params={"limit": "many"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"].endswith("limit")


def test_anonymous_write_is_401_and_other_role_403(client, factory) -> None:
    r = client.post("/api/v1/departments", json={"code": "x1", "name": "某部门", "uscc": "91350100M000100Y43"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    factory.user("consumer", username="cons1")
    login(client, "cons1")
    r = client.post("/api/v1/departments", json={"code": "x1", "name": "某部门", "uscc": "91350100M000100Y43"})
    assert r.status_code == 403 and "无权" in r.json()["error"]["message"]


def test_department_create_checks_uscc_and_duplicates(client, factory) -> None:
    factory.user("admin", username="root2")
    login(client, "root2")
    ok = {"code": "dsj", "name": "市大数据管理局", "uscc": "11320400014109429N", "division_code": "320400"}
    from citybrain.standards.checks import uscc_check_char

    ok["uscc"] = ok["uscc"][:17] + uscc_check_char(ok["uscc"][:17])
    assert client.post("/api/v1/departments", json=ok).status_code == 201
    dup = client.post("/api/v1/departments", json={**ok, "code": "dsj2"})
    assert dup.status_code == 409 and "已被使用" in dup.json()["error"]["message"]
