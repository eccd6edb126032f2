"""The steward's 准备开放 form: renders the resource's fields with their masking, creates a draft through
``open_dataset_prepare``, shows the action's reason when it refuses, and is only for stewards."""

from __future__ import annotations

import re
from typing import Any

from citybrain.opendata import service
from citybrain.opendata.models import DatasetStatus
from tests.factories import login
from tests.opendata.conftest import World, stops_table


def _dataset(run: Any, name: str) -> Any:
    return run(lambda ctx: service.get_dataset(ctx.session, name))


def test_form_lists_department_resources_and_fields(client: Any, world: World) -> None:
    login(client, "jt_steward")
    first = client.get("/portal/prepare")
    assert first.status_code == 200 and '<html lang="zh-CN">' in first.text
    assert "准备开放数据集" in first.text
    for name in ("公交站点客流", "站点经营许可", "站务人员信息"):
        assert name in first.text
    html = client.get("/portal/prepare", params={"resource": "bus_stops"}).text
    assert 'id="prepare-form"' in html and 'value="bus-stops"' in html
    # 3 级 fields offer masking only; 4 级 is shown as never published and has no control
    assert 'id="mask-manager_name"' in html and "按策略默认：姓名遮蔽" in html
    mobile = re.search(r'<select id="mask-manager_mobile".*?</select>', html, re.S)
    assert mobile is not None and 'value="plain"' not in mobile.group(0)
    note = re.search(r'<select id="mask-note".*?</select>', html, re.S)
    assert note is not None and 'value="plain"' in note.group(0)
    assert 'id="inc-manager_id"' not in html and "4 级高敏感，不得开放" in html
    # only maskings that suit the column's type: text methods for text, generalisation for dates
    opened = re.search(r'<select id="mask-opened".*?</select>', html, re.S)
    assert opened is not None and 'value="date_year"' in opened.group(0) and 'value="name"' not in opened.group(0)
    count = re.search(r'<select id="mask-passengers".*?</select>', html, re.S)
    assert count is not None and 'value="name"' not in count.group(0) and 'value="date_year"' not in count.group(0)
    for licence in ("cc-by-4.0", "odc-by", "city-open-1.0"):
        assert f'value="{licence}"' in html
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and ids <= labelled, ids - labelled
    # the catalog page of the resource links to the form for its steward
    assert 'id="open-prepare"' in client.get("/catalog/bus_stops").text


def test_english(client: Any, world: World) -> None:
    login(client, "jt_steward")
    html = client.get("/portal/prepare", params={"resource": "bus_stops", "lang": "en"}).text
    assert '<html lang="en">' in html and "Prepare an open dataset" in html and "Fields and masking" in html


def test_submit_creates_the_draft_with_the_choices(client: Any, world: World, run: Any) -> None:
    world.lake.write("bus_stops", stops_table(extra=2), mode="full")  # version 2; pin to version 1
    login(client, "jt_steward")
    form = {
        "resource": "bus_stops",
        "name": "stops-open",
        "title": "公交站点（开放）",
        "description": "全市公交站点",
        "licence": "odc-by",
        "topic": "交通出行",
        "tags": "公交，站点",
        "follow": "pinned",
        "version": "1",
        "include": ["stop_id", "name", "district", "passengers", "manager_name", "manager_mobile"],
        "mask.manager_name": "pseudonym",
        "mask.manager_mobile": "mask_3_4",
        "mask.district": "plain",
    }
    response = client.post("/portal/prepare", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal/batches?prepared=stops-open"
    assert "已生成开放数据集草稿 stops-open" in client.get(response.headers["location"]).text
    ds = _dataset(run, "stops-open")
    assert ds.status == DatasetStatus.DRAFT and ds.licence == "odc-by" and ds.topic == "交通出行"
    assert ds.follow_latest is False and ds.version == 1 and ds.rows == 3
    assert ds.tags == ["公交", "站点"] and ds.title == "公交站点（开放）"
    masks = {f["name"]: (f["mask"] or {}).get("method") for f in ds.fields}
    # opened and note not ticked: left out; manager_id (4 级) is never there
    assert masks == {
        "stop_id": None,
        "name": None,
        "district": None,
        "passengers": None,
        "manager_name": "pseudonym",
        "manager_mobile": "mask",
    }
    mobile = next(f for f in ds.fields if f["name"] == "manager_mobile")
    assert mobile["mask"]["params"] == {"keep_first": 3, "keep_last": 4}
    # the draft is audited like any prepared dataset
    from citybrain.audit.models import AuditEvent

    events = run(lambda ctx: ctx.session.query(AuditEvent).filter(AuditEvent.action == "open_dataset_prepare").all())
    assert [e.resource_id for e in events] == ["stops-open"]


def test_following_by_default_and_policy_masking(client: Any, world: World, run: Any) -> None:
    login(client, "jt_steward")
    fields = ["stop_id", "name", "manager_name"]
    data = {"resource": "bus_stops", "name": "stops-follow", "follow": "latest", "include": fields}
    assert client.post("/portal/prepare", data=data, follow_redirects=False).status_code == 303
    ds = _dataset(run, "stops-follow")
    assert ds.follow_latest is True
    assert {f["name"]: (f["mask"] or {}).get("method") for f in ds.fields} == {
        "stop_id": None,
        "name": None,
        "manager_name": "name",
    }


def test_refusal_shows_the_reason_and_keeps_the_form(client: Any, world: World, run: Any) -> None:
    login(client, "jt_steward")
    closed = client.post(
        "/portal/prepare",
        data={"resource": "stop_staff", "name": "staff", "include": ["stop_id"]},
    )
    assert closed.status_code == 422
    assert "开放属性为“不予开放”" in closed.text and "含个人信息" in closed.text
    assert 'role="alert"' in closed.text and 'value="staff"' in closed.text
    # a 3 级 field sent unmasked is refused by the action, with the field named
    plain = client.post(
        "/portal/prepare",
        data={
            "resource": "bus_stops",
            "name": "stops-plain",
            "include": ["manager_mobile"],
            "mask.manager_mobile": "plain",
            "title": "保留的名称",
        },
    )
    assert plain.status_code == 422 and "manager_mobile：3 级敏感字段必须脱敏后才能开放" in plain.text
    assert 'value="保留的名称"' in plain.text
    bad_name = client.post("/portal/prepare", data={"resource": "bus_stops", "name": "Bad Name!"})
    assert bad_name.status_code == 422 and "数据集标识只能包含小写字母" in bad_name.text
    assert run(lambda ctx: ctx.session.query(service.OpenDataset).count()) == 0


def test_only_the_source_steward(client: Any, world: World, run: Any) -> None:
    anonymous = client.get("/portal/prepare", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    login(client, "citizen1")
    assert client.get("/portal/prepare").status_code == 403
    refused = client.post("/portal/prepare", data={"resource": "bus_stops", "name": "x-by-public"})
    assert refused.status_code == 403
    client.post("/logout")
    login(client, "sj_steward")  # a steward of another department
    page = client.get("/portal/prepare").text
    assert "公交站点客流" not in page
    other = client.post("/portal/prepare", data={"resource": "bus_stops", "name": "x-by-other"})
    assert other.status_code == 403
    assert 'id="open-prepare"' not in client.get("/catalog/bus_stops").text
    assert run(lambda ctx: ctx.session.query(service.OpenDataset).count()) == 0
