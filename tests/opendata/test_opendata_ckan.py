"""The CKAN Action API, spoken to by the real ``ckanapi`` client against a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import ckanapi
import pytest
import uvicorn

from tests.opendata.conftest import World


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(app: Any, published: World) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(params=[False, True], ids=["post", "get"])
def remote(live: str, request: pytest.FixtureRequest) -> Iterator[ckanapi.RemoteCKAN]:
    with ckanapi.RemoteCKAN(live, get_only=request.param) as ckan:
        yield ckan


def test_status_and_lists(remote: ckanapi.RemoteCKAN) -> None:
    status = remote.action.status_show()
    assert status["api_version"] == 3 and "datastore" in status["extensions"]
    assert remote.action.package_list() == ["bus-stops", "stop-permits"]
    assert remote.action.organization_list() == ["jtj"]
    orgs = remote.action.organization_list(all_fields=True)
    assert orgs[0]["title"] == "常州市交通运输局" and orgs[0]["package_count"] == 2
    assert remote.action.group_list() == ["交通出行"]
    assert remote.action.tag_list() == ["公交", "客流", "许可"]
    assert remote.action.tag_list(query="客") == ["客流"]


def test_package_search_chinese_text_fq_facets_paging(remote: ckanapi.RemoteCKAN) -> None:
    found = remote.action.package_search(q="公交")
    assert found["count"] == 1 and found["results"][0]["name"] == "bus-stops"
    # a field title is searchable too (站长姓名 is a published, masked field)
    assert remote.action.package_search(q="站长姓名")["count"] == 2
    fq = remote.action.package_search(fq='organization:jtj tags:"许可"')
    assert [r["name"] for r in fq["results"]] == ["stop-permits"]
    assert remote.action.package_search(fq="-tags:许可")["count"] == 1
    assert [r["name"] for r in remote.action.package_search(q="tags:许可 站点")["results"]] == ["stop-permits"]
    faceted = remote.action.package_search(**{"facet.field": ["organization", "tags", "open_type", "res_format"]})
    assert faceted["facets"]["organization"] == {"jtj": 2}
    assert faceted["facets"]["open_type"] == {"无条件开放": 1, "有条件开放": 1}
    assert faceted["search_facets"]["organization"]["items"][0]["display_name"] == "常州市交通运输局"
    page = remote.action.package_search(rows=1, start=1, sort="name asc")
    assert page["count"] == 2 and [r["name"] for r in page["results"]] == ["stop-permits"]
    with pytest.raises(ckanapi.SearchQueryError):
        remote.action.package_search(fq="nosuchfield:1")


def test_package_and_resource_show(remote: ckanapi.RemoteCKAN) -> None:
    pkg = remote.action.package_show(id="bus-stops")
    assert pkg["title"] == "公交站点客流" and pkg["organization"]["name"] == "jtj"
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "XLSX", "JSON"]
    assert pkg["resources"][0]["datastore_active"] is True
    names = [f["id"] for f in pkg["data_dictionary"]]
    assert "manager_id" not in names and "manager_name" in names
    res = remote.action.resource_show(id=pkg["resources"][0]["id"])
    assert res["package_id"] == pkg["id"] and res["url"].endswith("/api/v1/open/datasets/bus-stops/download.csv")
    with pytest.raises(ckanapi.NotFound):
        remote.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.NotFound):
        remote.action.resource_show(id="nope")


def test_datastore_search(remote: ckanapi.RemoteCKAN) -> None:
    rid = remote.action.package_show(id="bus-stops")["resources"][0]["id"]
    everything = remote.action.datastore_search(resource_id=rid)
    assert everything["total"] == 3 and len(everything["records"]) == 3
    assert "manager_id" not in [f["id"] for f in everything["fields"]]
    if not remote.get_only:
        filtered = remote.action.datastore_search(resource_id=rid, filters={"district": "钟楼区"})
        assert [r["stop_id"] for r in filtered["records"]] == ["S0001"]
        listed = remote.action.datastore_search(resource_id=rid, filters={"passengers": [1000, 3000]})
        assert listed["total"] == 2
    paged = remote.action.datastore_search(resource_id=rid, sort="passengers desc", limit=1, offset=1)
    assert paged["total"] == 3 and paged["records"][0]["passengers"] == 2000
    assert paged["_links"]["next"].endswith("offset=2")
    text = remote.action.datastore_search(resource_id=rid, q="恐龙园", fields=["stop_id", "name"])
    assert text["records"] == [{"stop_id": "S0002", "name": "恐龙园"}]
    with pytest.raises(ckanapi.ValidationError):
        remote.action.datastore_search(resource_id=rid, sort="manager_mobile asc")
    with pytest.raises(ckanapi.ValidationError):
        remote.action.datastore_search(resource_id=rid, fields=["manager_id"])
    with pytest.raises(ckanapi.ValidationError):
        remote.action.datastore_search(resource_id=rid, limit=5000)
    with pytest.raises(ckanapi.NotFound):
        remote.action.datastore_search(resource_id="missing")


def test_conditional_data_needs_an_approved_key(remote: ckanapi.RemoteCKAN) -> None:
    rid = remote.action.package_show(id="stop-permits")["resources"][0]["id"]
    with pytest.raises(ckanapi.NotAuthorized):
        remote.action.datastore_search(resource_id=rid)


def test_no_sql_and_no_writes(remote: ckanapi.RemoteCKAN) -> None:
    with pytest.raises(ckanapi.ValidationError):
        remote.action.datastore_search_sql(sql="SELECT * FROM bus_stops")
    with pytest.raises(ckanapi.NotAuthorized):
        remote.action.package_create(name="x")
    with pytest.raises(ckanapi.CKANAPIError):
        remote.action.no_such_action()


def test_envelope_and_status_codes(client: Any, published: World) -> None:
    ok = client.get("/api/3/action/package_show", params={"id": "bus-stops"})
    assert ok.status_code == 200 and set(ok.json()) == {"help", "success", "result"} and ok.json()["success"]
    missing = client.post("/api/3/action/package_show", json={"id": "nope"})
    assert missing.status_code == 404
    assert missing.json()["success"] is False and missing.json()["error"]["__type"] == "Not Found Error"
    bad = client.get("/api/3/action/datastore_search", params={"resource_id": "bus-stops", "limit": "x"})
    assert bad.status_code == 409 and bad.json()["error"]["__type"] == "Validation Error"
    assert bad.json()["error"]["limit"]
    unknown = client.get("/api/3/action/frobnicate")
    assert unknown.status_code == 400 and unknown.json()["error"]["__type"] == "Bad request"
    denied = client.get("/api/3/action/datastore_search", params={"resource_id": "stop-permits"})
    assert denied.status_code == 403 and denied.json()["error"]["__type"] == "Authorization Error"
    bad_key = client.get("/api/3/action/status_show", headers={"Authorization": "cbt_not-a-key"})
    assert bad_key.status_code == 403 and bad_key.json()["success"] is False
    filtered = client.get(
        "/api/action/datastore_search", params={"resource_id": "bus-stops", "filters": '{"district": "新北区"}'}
    )
    assert filtered.json()["result"]["total"] == 1
