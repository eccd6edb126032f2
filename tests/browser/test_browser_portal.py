"""The open-data portal in a real browser: an anonymous visitor finds a dataset in Chinese, sees its preview
and downloads the CSV; a registered company applies for a 有条件开放 dataset, the source department's
steward approves it in the console, and the company's personal key then works against the API."""

from __future__ import annotations

import csv
import io
import random
import re
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from citybrain.lake.store import Lake
from citybrain.opendata import service
from citybrain.opendata.schemas import DatasetPrepare
from citybrain.standards import generate
from tests.browser.conftest import LiveConsole
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

FIELDS = [
    {"name": "stop_id", "title": "站点编号", "required": True},
    {"name": "name", "title": "站点名称"},
    {"name": "district", "title": "所属区"},
    {"name": "passengers", "title": "日均客流", "data_type": "integer"},
    {"name": "manager_name", "title": "站长姓名", "standard": "person_name", "sensitivity": 3},
]
STOPS = pa.table(
    {
        "stop_id": ["S0001", "S0002", "S0003"],
        "name": ["文化宫", "火车站", "恐龙园"],
        "district": ["天宁区", "钟楼区", "新北区"],
        "passengers": [3200, 5100, 2700],
        "manager_name": ["张三丰", "欧阳修远", "李四光"],
    }
)


@pytest.fixture
def open_city(live_console: LiveConsole, factory: Any, run: Any, settings: Any) -> LiveConsole:
    """Two datasets of the market bureau (whose steward is ``steward1``): one open, one 有条件开放."""
    market = live_console.city.market
    common = dict(topic="交通出行", update_frequency="每日", grade="一般", primary_key=["stop_id"], fields=FIELDS)
    factory.resource(market, key="bus_stops", name="公交站点客流", description="全市公交站点及日均客流", **common)
    factory.resource(
        market, key="stop_permits", name="站点经营许可", open_type="有条件开放", open_basis="涉及经营信息", **common
    )
    lake = Lake(settings.lake_dir)
    names = []
    for key in ("bus_stops", "stop_permits"):
        lake.write(key, STOPS, mode="full")
        names.append(run(service.open_dataset_prepare, DatasetPrepare(resource=key, name=key.replace("_", "-"))).name)
    batch = run(service.open_batch_submit, "第一批开放目录", names)
    run(service.open_batch_approve, batch.id)
    return live_console


def _login(page: Any, username: str, password: str = PASSWORD) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def _logout(page: Any) -> None:
    page.get_by_role("button", name="退出").click()


def test_search_preview_and_download_csv(browser_page: Any, open_city: LiveConsole, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto("/portal")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    search = page.get_by_label("搜索开放数据")
    search.fill("公交")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/portal/datasets\?q="))
    expect(page.get_by_text("共 1 个数据集")).to_be_visible()
    page.get_by_role("link", name="公交站点客流").click()
    expect(page).to_have_url(re.compile(r"/portal/datasets/bus-stops$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("公交站点客流")

    preview = page.get_by_role("table", name="数据预览（前 10 行）")
    expect(preview).to_be_visible()
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview).to_contain_text("恐龙园")
    expect(preview).not_to_contain_text("张三丰")  # 3 级 field: masked in the preview too

    with page.expect_download() as info:
        page.get_by_role("link", name="CSV", exact=True).click()
    download = info.value
    assert download.failure() is None
    target = tmp_path / "stops.csv"
    download.save_as(target)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM"
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    assert rows[0] == ["stop_id", "name", "district", "passengers", "manager_name"]
    assert [r[1] for r in rows[1:]] == ["文化宫", "火车站", "恐龙园"]
    assert not {"张三丰", "欧阳修远", "李四光"} & {r[4] for r in rows[1:]}


def test_company_applies_steward_approves_key_works(browser_page: Any, open_city: LiveConsole) -> None:
    from playwright.sync_api import expect

    page = browser_page
    api = f"{open_city.url}/api/3/action/datastore_search"
    # anonymous: the conditional dataset's rows are not served
    before = httpx.get(api, params={"resource_id": "stop-permits"})
    assert before.status_code == 403 and before.json()["success"] is False

    page.goto("/portal/register")
    page.get_by_label("用户名（字母、数字）").fill("acme2026")
    page.get_by_label("姓名或单位名称").fill("常州某某数据科技有限公司")
    page.get_by_label("密码（至少 8 位）").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    _login(page, "acme2026")
    expect(page.get_by_role("heading", name="我的申请")).to_be_visible()

    page.goto("/portal/datasets/stop-permits")
    expect(page.get_by_text("您没有获批的申请")).to_be_visible()
    expect(page.get_by_role("table", name="数据预览（前 10 行）")).to_have_count(0)
    page.get_by_role("link", name="申请使用").click()
    page.get_by_label("企业或其他组织").check()
    page.get_by_label("单位名称（企业填写）").fill("常州某某数据科技有限公司")
    page.get_by_label("统一社会信用代码（企业填写）").fill(generate.uscc(random.Random(7), division="320400"))
    page.get_by_label("申请用途").fill("公交站点经营情况分析")
    page.get_by_label("预期使用场景与成果").fill("为市民出行应用提供站点经营信息")
    page.get_by_label("我已阅读并同意上述使用条款").check()
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_role("status")).to_have_text("申请已提交，等待数据提供部门审核")
    expect(page.get_by_text("状态：待审核")).to_be_visible()
    _logout(page)

    # the source department's steward decides in the console
    page.goto("/portal/review")
    _login(page, open_city.city.steward)
    expect(page).to_have_url(re.compile(r"/portal/review$"))
    card = page.locator("form", has_text="常州某某数据科技有限公司")
    expect(card).to_contain_text("公交站点经营情况分析")
    card.get_by_label("每次最多行数").fill("2")
    card.get_by_role("button", name="批准", exact=True).click()
    expect(page.get_by_text("没有待审核的申请")).to_be_visible()
    _logout(page)

    page.goto("/portal/account")
    _login(page, "acme2026")
    expect(page.get_by_text("状态：已批准")).to_be_visible()
    page.get_by_role("button", name="领取个人密钥").click()
    key = page.locator("#api-key").inner_text().strip()
    assert len(key) > 20

    # ckanapi sends the key bare in Authorization; the native API takes it as a bearer token
    ok = httpx.get(api, params={"resource_id": "stop-permits", "limit": 2}, headers={"Authorization": key})
    assert ok.status_code == 200, ok.text
    result = ok.json()["result"]
    assert [r["name"] for r in result["records"]] == ["文化宫", "火车站"]
    assert "张三丰" not in ok.text
    over = httpx.get(api, params={"resource_id": "stop-permits", "limit": 3}, headers={"Authorization": key})
    # the approved row limit holds
    assert over.status_code == 409 and "每次最多返回 2 行" in over.json()["error"]["message"]
    wrong = httpx.get(api, params={"resource_id": "stop-permits"}, headers={"Authorization": "not-a-key"})
    assert wrong.status_code == 403 and wrong.json()["success"] is False
