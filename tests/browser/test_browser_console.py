"""The console in a real browser: log in with the keyboard, search the catalog in Chinese, filter, open an entry."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import LiveConsole
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
