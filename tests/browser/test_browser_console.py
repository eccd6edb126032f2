"""The console in a real browser: log in with the keyboard, search the catalog in Chinese, filter, open an entry."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveConsole
from tests.browser.seed import GOOD, GOOD_FIELDS, XLSX, workbook
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_login_search_filter_and_open_a_resource(browser_page: Any, live_console: LiveConsole) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto("/catalog/-/import")
    # not logged in: sent to the login form, which remembers where we were going
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    # the form is focused on arrival, so typing starts at once
    assert page.evaluate("document.activeElement.id") == "username"
    page.get_by_label("用户名").fill(live_console.city.admin)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("密码").press("Enter")
    expect(page).to_have_url(re.compile(r"/catalog/-/import$"))
    expect(page.get_by_role("heading", name="导出目录")).to_be_visible()
    # the skip link is the first thing the keyboard reaches, and it leads to the page's content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"

    page.get_by_role("link", name="数据目录").click()
    expect(page.locator("#result-count")).to_have_text("共 4 条资源")
    # "身份证" is only an alias of the 公民身份号码 standard bound to one of population's fields
    search = page.get_by_label("关键词")
    search.fill("身份证")
    search.press("Enter")
    expect(page.locator("#result-count")).to_have_text("共 1 条资源")
    expect(page.get_by_role("link", name="人口基础信息")).to_be_visible()

    search = page.get_by_label("关键词")
    search.fill("")
    page.get_by_label("资源分类").select_option("主题库")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#result-count")).to_have_text("共 1 条资源")
    expect(page.get_by_role("link", name="企业信用画像")).to_be_visible()
    assert page.get_by_label("资源分类").input_value() == "主题库"

    page.get_by_label("资源分类").select_option("")
    page.get_by_label("来源部门").select_option(live_console.city.police.code)
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#result-count")).to_have_text("共 1 条资源")
    # open the entry with the keyboard
    page.get_by_role("link", name="人口基础信息").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/catalog/population$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("人口基础信息")
    expect(page.locator("#res-oid")).to_have_text(live_console.city.population_oid)
    fields = page.locator("#fields tbody tr")
    expect(fields).to_have_count(4)
    first = fields.nth(0)
    expect(first.locator("th")).to_contain_text("citizen_id")
    expect(first).to_contain_text("公民身份号码")
    expect(first).to_contain_text("3 级 敏感")
    expect(page.locator("#history tbody tr")).to_have_count(2)

    # English, and it stays English on the next page
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("columnheader", name="Sensitivity")).to_be_visible()
    page.get_by_role("link", name="Back to the catalog").click()
    expect(page.locator("#result-count")).to_have_text("4 resources")
    assert page.locator("html").get_attribute("lang") == "en"


def test_import_reports_problems_and_export_downloads(browser_page: Any, live_console: LiveConsole) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto("/login")
    page.get_by_label("用户名").fill(live_console.city.steward)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="导入导出").click()
    expect(page.get_by_role("heading", name="导入目录")).to_be_visible()

    stray = {"resource": "nowhere", "name": "x", "title": "X"}
    bad = workbook([{**GOOD, "category": "某某库"}], [*GOOD_FIELDS, stray])
    page.get_by_label("选择文件").set_input_files({"name": "目录.xlsx", "mimeType": XLSX, "buffer": bad})
    page.get_by_role("button", name="校验并导入").click()
    problems = page.locator("#import-problems")
    expect(problems).to_contain_text("共 2 处错误")
    expect(problems.locator("tbody tr")).to_have_count(2)
    expect(problems).to_contain_text("资源分类")
    expect(problems).to_contain_text("nowhere")

    good = workbook([GOOD], GOOD_FIELDS)
    page.get_by_label("选择文件").set_input_files({"name": "目录.xlsx", "mimeType": XLSX, "buffer": good})
    page.get_by_role("button", name="校验并导入").click()
    expect(page.locator("#import-result")).to_contain_text("已导入 1 条资源")

    with page.expect_download() as info:
        page.get_by_role("button", name="下载").click()
    download = info.value
    assert download.suggested_filename == "catalog.xlsx"
    assert download.failure() is None
