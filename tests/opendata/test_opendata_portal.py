"""The portal pages: Chinese by default, English available, facets, dataset page with charts, registry, metrics."""

from __future__ import annotations

import re
from typing import Any

from tests.factories import login
from tests.opendata.conftest import World


def test_home_has_counts_recent_and_popular(client: Any, published: World) -> None:
    html = client.get("/portal").text
    assert '<html lang="zh-CN">' in html
    assert "公共信息资源社会开放率" in html and "100.0%" in html  # both openable resources are open
    assert "公交站点客流" in html and "最近更新" in html and "热门数据" in html
    assert "http://" not in re.sub(r'href="[^"]*"', "", html).replace("http://www.w3.org/2000/svg", "")


def test_english(client: Any, published: World) -> None:
    html = client.get("/portal", params={"lang": "en"}).text
    assert '<html lang="en">' in html and "Open Data Portal" in html


def test_search_with_chinese_text_and_facets(client: Any, published: World) -> None:
    html = client.get("/portal/datasets", params={"q": "公交"}).text
    assert "共 1 个数据集" in html and "公交站点客流" in html
    faceted = client.get("/portal/datasets", params={"open_type": "有条件开放"}).text
    assert "共 1 个数据集" in faceted and "站点经营许可" in faceted
    by_dept = client.get("/portal/datasets", params={"organization": "jtj", "format": "CSV"}).text
    assert "共 2 个数据集" in by_dept and "常州市交通运输局" in by_dept
    for label in ("提供部门", "主题", "格式", "开放属性", "更新频率"):
        assert label in html
    assert '<label for="q">' in html and '<label for="sort">' in html


def test_dataset_page(client: Any, published: World) -> None:
    html = client.get("/portal/datasets/bus-stops").text
    assert "数据字典" in html and "站长姓名" in html and "姓名遮蔽" in html
    assert "数据预览" in html and "恐龙园" in html
    assert "<svg" in html and 'role="img"' in html and "日均客流 分布" in html
    assert "/api/v1/open/datasets/bus-stops/download.csv" in html
    assert "datastore_search?resource_id=" in html and "版本历史" in html
    assert "站长身份证号" not in html


def test_conditional_dataset_page_shows_metadata_not_data(client: Any, published: World) -> None:
    html = client.get("/portal/datasets/stop-permits").text
    assert "有条件开放" in html and "数据字典" in html and "登录后申请" in html
    assert "恐龙园" not in html and "数据预览" not in html


def test_departments_and_topics(client: Any, published: World) -> None:
    assert "常州市交通运输局" in client.get("/portal/departments").text
    assert "2 个开放数据集" in client.get("/portal/departments/jtj").text
    assert client.get("/portal/departments/nope").status_code == 404
    topic = client.get("/portal/topics/交通出行", follow_redirects=False)
    assert topic.status_code == 303 and "topic=" in topic.headers["location"]


def test_app_registry(client: Any, published: World) -> None:
    assert "尚无登记的应用" in client.get("/portal/apps").text
    login(client, "citizen1")
    response = client.post(
        "/portal/apps",
        data={"name": "公交到站提醒", "developer": "某某科技", "url": "https://example.org", "datasets": ["bus-stops"]},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "应用已登记" in response.text and "公交到站提醒" in response.text
    assert "公交到站提醒" in client.get("/portal/datasets/bus-stops").text
    bad = client.post("/portal/apps", data={"name": "x", "developer": "某某", "datasets": []})
    assert bad.status_code == 422


def test_register_then_login(client: Any, published: World) -> None:
    response = client.post(
        "/portal/register",
        data={"username": "newcomer", "display_name": "新用户", "password": "Passw0rd!cb"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    login(client, "newcomer")
    assert "我的申请" in client.get("/portal/account").text
    dup = client.post("/portal/register", data={"username": "newcomer", "display_name": "x", "password": "Passw0rd!cb"})
    assert dup.status_code == 422 and "已存在" in dup.text


def test_metrics_page_for_public_and_cdo(client: Any, published: World) -> None:
    html = client.get("/portal/metrics").text
    assert "公共信息资源社会开放率" in html and "各部门开放情况" not in html
    login(client, "cdo")
    assert "各部门开放情况" in client.get("/portal/metrics").text


def test_controls_are_labelled(client: Any, published: World) -> None:
    login(client, "citizen1")
    for path in (
        "/portal",
        "/portal/datasets",
        "/portal/apps",
        "/portal/datasets/stop-permits/apply",
        "/portal/register",
    ):
        html = client.get(path).text
        ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html))
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        assert ids <= labelled, (path, ids - labelled)


def test_steward_submits_and_cdo_approves_on_the_portal(client: Any, world: World, run: Any) -> None:
    from citybrain.opendata import service
    from citybrain.opendata.schemas import DatasetPrepare

    run(service.open_dataset_prepare, DatasetPrepare(resource="bus_stops", name="stops"), actor=world.steward)
    login(client, "jt_steward")
    page = client.get("/portal/batches").text
    assert "本部门待提交的数据集" in page and "stops" in page
    assert client.post("/portal/batches", data={"title": "", "datasets": ["stops"]}).status_code == 422
    client.post("/portal/batches", data={"title": "第一批", "datasets": ["stops"]})
    assert "批准开放" not in client.get("/portal/batches").text, "only the CDO decides"
    client.post("/logout")
    login(client, "cdo")
    page = client.get("/portal/batches").text
    assert "第一批" in page and "站长姓名（脱敏）" in page and "批准开放" in page
    batch_id = run(service.open_batch_list, actor=world.cdo)[0].id
    client.post(f"/portal/batches/{batch_id}/decide", data={"decision": "approve", "reason": "同意"})
    assert client.get("/portal/datasets/stops").status_code == 200
    client.post("/logout")
    assert "公交站点客流" in client.get("/portal/datasets", params={"q": "公交"}).text
