"""Masked and left-out fields never leave the platform: package_show, datastore_search, every download
format, the REST rows, the portal preview and DCAT. Raw values are looked for in every response body."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from openpyxl import load_workbook

from citybrain.catalog.service import get_resource
from citybrain.opendata import service
from citybrain.opendata.schemas import DatasetUpdate, FieldChoice
from tests.opendata.conftest import SECRET_IDS, SECRET_MOBILES, SECRET_NAMES, SECRET_NOTES, World

RAW = [*SECRET_IDS, *SECRET_NAMES, *SECRET_MOBILES]


def _assert_clean(body: str, where: str, *, notes_hidden: bool = False) -> None:
    for raw in RAW:
        assert raw not in body, f"{where} leaks {raw}"
    assert "manager_id" not in body and "站长身份证号" not in body, f"{where} names the 高敏感 field"
    if notes_hidden:
        for note in SECRET_NOTES:
            assert note not in body, f"{where} leaks a left-out field"
        assert '"note"' not in body


def _paths(client: Any) -> dict[str, str]:
    rid = client.get("/api/3/action/package_show", params={"id": "bus-stops"}).json()["result"]["id"]
    paths = {
        "package_show": "/api/3/action/package_show?id=bus-stops",
        "package_search": "/api/3/action/package_search?q=公交",
        "resource_show": f"/api/3/action/resource_show?id={rid}",
        "datastore_search": f"/api/3/action/datastore_search?resource_id={rid}&limit=100",
        "datastore_q": f"/api/3/action/datastore_search?resource_id={rid}&q=张",
        "rows": "/api/v1/open/datasets/bus-stops/rows",
        "show": "/api/v1/open/datasets/bus-stops",
        "csv": "/api/v1/open/datasets/bus-stops/download.csv",
        "json": "/api/v1/open/datasets/bus-stops/download.json",
        "portal": "/portal/datasets/bus-stops",
        "jsonld": "/portal/datasets/bus-stops.jsonld",
        "catalog_ttl": "/catalog.ttl",
    }
    return paths


def test_masked_values_never_appear(client: Any, published: World) -> None:
    for where, path in _paths(client).items():
        response = client.get(path)
        assert response.status_code == 200, (where, response.text[:300])
        _assert_clean(response.content.decode("utf-8-sig"), where)
    xlsx = client.get("/api/v1/open/datasets/bus-stops/download.xlsx")
    wb = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    cells = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row)
    _assert_clean(cells, "xlsx")


def test_masked_values_are_masked_not_dropped(client: Any, published: World) -> None:
    records = client.get("/api/v1/open/datasets/bus-stops/rows").json()["records"]
    assert {r["manager_name"] for r in records} == {"张**", "欧阳**", "李**"}
    assert records[0]["manager_mobile"] == "138****1111"


def test_left_out_fields_never_appear(client: Any, published: World, run: Any) -> None:
    run(
        service.open_dataset_update,
        "bus-stops",
        DatasetUpdate(fields=[FieldChoice(name="note", include=False)]),
        actor=published.steward,
    )
    for where, path in _paths(client).items():
        _assert_clean(client.get(path).content.decode("utf-8-sig"), where, notes_hidden=True)
    rid = client.get("/api/3/action/package_show", params={"id": "bus-stops"}).json()["result"]["id"]
    asked = client.get("/api/3/action/datastore_search", params={"resource_id": rid, "fields": "note"})
    assert asked.status_code == 409 and "未开放" in asked.json()["error"]["message"]
    filtered = client.post("/api/3/action/datastore_search", json={"resource_id": rid, "filters": {"note": "x"}})
    assert filtered.status_code == 409


def test_masked_fields_cannot_be_probed(client: Any, published: World) -> None:
    rid = client.get("/api/3/action/package_show", params={"id": "bus-stops"}).json()["result"]["id"]
    for body in (
        {"resource_id": rid, "filters": {"manager_mobile": SECRET_MOBILES[0]}},
        {"resource_id": rid, "q": {"manager_name": "张三丰"}},
        {"resource_id": rid, "sort": "manager_name asc"},
        {"resource_id": rid, "filters": {"manager_id": SECRET_IDS[0]}},
    ):
        response = client.post("/api/3/action/datastore_search", json=body)
        assert response.status_code == 409, body
        # the error may echo the field name the caller sent, never a stored value
        assert not any(raw in response.text.replace(json.dumps(body, ensure_ascii=False), "") for raw in RAW[3:])
    # full text skips masked columns: a raw name finds nothing
    found = client.post("/api/3/action/datastore_search", json={"resource_id": rid, "q": "张三丰"}).json()
    assert found["result"]["total"] == 0


def test_raised_sensitivity_applies_without_editing_the_dataset(client: Any, published: World, run: Any) -> None:
    # the steward raises 内部备注 to 高敏感 in the catalog; the published dataset is not touched.
    # (Written to the row directly: replacing a resource's field list through resource_update
    # currently trips the catalog's own unique constraint — reported to the catalog's owner.)
    from sqlalchemy import select

    from citybrain.catalog.models import ResourceField

    with run.db.session() as s:
        resource = get_resource(s, "bus_stops")
        s.scalar(
            select(ResourceField).where(ResourceField.resource_id == resource.id, ResourceField.name == "note")
        ).sensitivity = 4
    for where, path in _paths(client).items():
        _assert_clean(client.get(path).content.decode("utf-8-sig"), where, notes_hidden=True)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_downloads(client: Any, published: World, fmt: str) -> None:
    response = client.get(f"/api/v1/open/datasets/bus-stops/download.{fmt}")
    assert response.status_code == 200
    assert "bus-stops-v1" in response.headers["content-disposition"]
    if fmt == "csv":
        assert response.content.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM"
        lines = response.content.decode("utf-8-sig").splitlines()
        assert lines[0].replace('"', "").startswith("stop_id,name,district") and len(lines) == 4
        assert "恐龙园" in response.content.decode("utf-8-sig")
    elif fmt == "json":
        data = response.json()
        assert len(data["records"]) == 3 and data["fields"][0]["id"] == "stop_id"
    else:
        wb = load_workbook(io.BytesIO(response.content), read_only=True)
        assert wb.sheetnames == ["公交站点客流", "数据字典"]
    metrics = client.get("/api/v1/open/metrics").json()
    assert metrics["downloads"] == 1
    audit = run_audit(client)
    assert "open_dataset_download" in audit


def run_audit(client: Any) -> list[str]:
    from citybrain.audit.models import AuditEvent

    with client.app.state.db.session() as s:
        return [e.action for e in s.query(AuditEvent).all()]
