"""The web console through the real app: login, catalog search and filters, a resource's page, the English
switch, department and user administration, Excel import/export, and refusals for non-administrators."""

from __future__ import annotations

import io
import json
import random
import re
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from tests.browser.seed import GOOD, GOOD_FIELDS, XLSX, City, seed_city, workbook
from tests.factories import PASSWORD, login

from citybrain.catalog.transfer import RESOURCE_SHEET
from citybrain.standards import generate


class _Controls(HTMLParser):
    """Collects form controls, labels and the html element's lang, to check every control is labelled."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.lang: str | None = None
        self.ids: set[str] = set()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit", "button"):
            self.controls.append(a)
        for attr in ("src", "href", "action"):
            if re.match(r"^(https?:)?//", a.get(attr, "")):
                self.external.append(a[attr])


def check_page(html: str, lang: str = "zh-CN") -> _Controls:
    """The accessibility and offline rules every console page keeps."""
    page = _Controls()
    page.feed(html)
    assert page.lang == lang
    unlabelled = [c for c in page.controls if c.get("id") not in page.label_for and not c.get("aria-label")]
    assert not unlabelled, unlabelled
    assert not page.external, f"the console must work offline: {page.external}"
    assert "main" in page.ids and 'class="skip" href="#main"' in html
    return page


@pytest.fixture
def city(factory, run) -> City:
    return seed_city(factory, run)


def test_login_page_and_failed_and_good_login(client, city) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    check_page(page.text)
    assert 'for="username"' in page.text and 'autocomplete="current-password"' in page.text
    bad = client.post("/login", data={"username": "admin1", "password": "wrong-password"})
    assert bad.status_code == 401
    assert 'role="alert"' in bad.text and 'value="admin1"' in bad.text
    good = login(client, "admin1")
    assert good.headers["location"] == "/catalog"
    assert "cb_session" in good.cookies or "cb_session" in client.cookies
    # an open redirect after login would be a phishing aid
    r = client.post(
        "/login", data={"username": "admin1", "password": PASSWORD, "next": "//evil.example"}, follow_redirects=False
    )
    assert r.headers["location"] == "/catalog"


def test_anonymous_admin_pages_redirect_to_login(client, city) -> None:
    r = client.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/admin/users")


def test_catalog_search_finds_by_standard_alias_and_filters(client, city) -> None:
    login(client, "admin1")
    page = client.get("/catalog")
    check_page(page.text)
    for name in ("q", "f-dept", "f-category", "f-share_type", "f-open_type", "f-grade", "f-topic"):
        assert f'id="{name}"' in page.text
    assert "共 4 条资源" in page.text
    # "身份证" is an alias of 公民身份号码, the standard bound to population.citizen_id
    r = client.get("/catalog", params={"q": "身份证"})
    assert "共 1 条资源" in r.text and 'href="/catalog/population"' in r.text

    def keys(**params: str) -> set[str]:
        html = client.get("/catalog", params=params).text
        return set(re.findall(r'<a href="/catalog/([a-z_]+)">', html))

    assert keys(category="基础库") == {"population"}
    assert keys(category="主题库") == {"credit_profile"}
    assert keys(category="部门库") == {"market_entities", "inspections"}
    assert keys(dept="scjgj") == {"market_entities", "inspections"}
    assert keys(share_type="有条件共享") == {"population", "credit_profile"}
    assert keys(open_type="不予开放") == {"population", "inspections"}
    assert keys(grade="重要") == {"population", "credit_profile"}
    assert keys(topic="营商环境") == {"market_entities"}
    assert keys(q="信用", category="主题库") == {"credit_profile"}
    # the selected filter stays selected, and facet counts are shown
    r = client.get("/catalog", params={"category": "基础库"})
    assert '<option value="基础库" selected>' in r.text
    assert "清除筛选" in r.text


def test_bad_filter_and_page_give_a_page_not_a_500(client, city) -> None:
    login(client, "admin1")
    r = client.get("/catalog", params={"category": "不存在"})
    assert r.status_code == 422 and "出错了" in r.text
    assert client.get("/catalog", params={"page": "abc"}).status_code == 200


def test_resource_page_shows_fields_standards_levels_oid_and_history(client, city) -> None:
    login(client, "admin1")
    r = client.get("/catalog/population")
    assert r.status_code == 200
    check_page(r.text)
    html = r.text
    assert city.population_oid in html
    assert "公民身份号码" in html and 'href="/standards#citizen_id"' in html
    assert "3 级 敏感" in html
    expected = ["基础库", "人口库", "有条件共享", "《常州市公共数据管理办法》"]
    for text in [*expected, "不予开放", "含个人信息", "重要", "每日"]:
        assert text in html, text
    assert "人口.name" in html and "权威来源" in html  # 一数一源 data elements of a base library
    assert 'id="history"' in html and "登记" in html and "修改" in html and "description" in html
    # the same page by OID
    assert client.get(f"/catalog/{city.population_oid}").status_code == 200
    assert client.get("/catalog/no_such_thing").status_code == 404


def test_public_user_sees_open_entries_without_history(client, city) -> None:
    login(client, "citizen1")
    r = client.get("/catalog/market_entities")
    assert r.status_code == 200 and 'id="history"' not in r.text
    assert client.get("/catalog/population").status_code == 403  # 不予开放
    assert "/admin/" not in client.get("/catalog").text


def test_english_switch_persists_and_switches_back(client, city) -> None:
    login(client, "admin1")
    r = client.get("/catalog", params={"q": "身份证", "lang": "en"})
    check_page(r.text, lang="en")
    assert "1 resources" in r.text and "Source department" in r.text
    assert client.cookies.get("cb_lang") == "en"
    # the switch link keeps the query and replaces the language, never repeating it
    assert re.search(r'href="/catalog\?q=%E8%BA%AB%E4%BB%BD%E8%AF%81&amp;lang=zh"', r.text), r.text[:2000]
    later = client.get("/catalog/population")
    check_page(later.text, lang="en")
    assert "Sensitivity" in later.text and "3 sensitive" in later.text
    assert "Departments" in client.get("/admin/departments").text
    back = client.get("/catalog", params={"lang": "zh"})
    check_page(back.text)
    assert client.cookies.get("cb_lang") == "zh"
    assert "数据目录" in client.get("/catalog").text


def test_standards_page(client, city) -> None:
    login(client, "consumer1")
    r = client.get("/standards")
    check_page(r.text)
    assert 'id="citizen_id"' in r.text and "身份证" in r.text


def test_admin_manages_departments(client, city) -> None:
    login(client, "admin1")
    page = client.get("/admin/departments")
    check_page(page.text)
    assert "市公安局" in page.text and 'aria-current="page">部门' in page.text
    uscc = generate.uscc(random.Random(5), division="320400", department="1", category="1")
    form = {"code": "jyj", "name": "市教育局", "uscc": uscc, "level": "市", "division_code": "320400"}
    r = client.post("/admin/departments", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    listed = client.get(r.headers["location"])
    assert "市教育局" in listed.text and "已创建 市教育局" in listed.text
    bad = client.post("/admin/departments", data={**form, "code": "jyj2", "uscc": "12345"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert 'value="市教育局"' in bad.text  # what was typed is kept


def test_admin_manages_users(client, city) -> None:
    login(client, "admin1")
    page = client.get("/admin/users")
    check_page(page.text)
    assert "steward1" in page.text and "数据管理员" in page.text
    form = {"username": "steward2", "display_name": "王五", "password": "Str0ng!pass", "role": "steward", "dept": "gaj"}
    r = client.post("/admin/users", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "王五" in client.get("/admin/users").text
    dup = client.post("/admin/users", data=form)
    assert dup.status_code == 422 and 'role="alert"' in dup.text
    client.post("/logout")
    login(client, "steward2", "Str0ng!pass")


@pytest.mark.parametrize("username", ["consumer1", "steward1", "citizen1"])
def test_administration_is_refused_to_others(client, city, username: str) -> None:
    login(client, username)
    catalog = client.get("/catalog").text
    assert 'href="/admin/departments"' not in catalog and 'href="/admin/users"' not in catalog
    for path in ("/admin/departments", "/admin/users"):
        r = client.get(path)
        assert r.status_code == 403, path
        check_page(r.text)
        assert "出错了" in r.text
    intruder = {"username": "x1", "display_name": "x", "password": "12345678", "role": "admin"}
    r = client.post("/admin/users", data=intruder)
    assert r.status_code == 403


def test_import_reports_every_problem_with_sheet_row_and_column(client, city) -> None:
    login(client, "steward1")
    page = client.get("/catalog/-/import")
    check_page(page.text)
    assert 'enctype="multipart/form-data"' in page.text and 'for="import-file"' in page.text
    bad = workbook(
        [GOOD, {**GOOD, "key": "second", "name": "", "category": "某某库"}],
        [*GOOD_FIELDS, {"resource": "nowhere", "name": "x", "title": "X"}, {"resource": "second", "name": "Bad Name"}],
    )
    r = client.post("/catalog/-/import", files={"file": ("catalog.xlsx", bad, XLSX)})
    assert r.status_code == 422
    check_page(r.text)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", r.text)
    cells = {(s, row, col) for s, row, col, _ in rows}
    assert ("字段", "4", "资源代码") in cells  # a field for a resource not in the 资源 sheet
    assert ("资源", "3", "资源分类") in cells
    assert ("字段", "5", "字段名") in cells and ("字段", "5", "中文名称") in cells
    assert len(rows) >= 4 and f"共 {len(rows)} 处错误" in r.text
    assert "school_roll" not in client.get("/catalog").text  # all or nothing


def test_import_then_export_round_trip(client, city) -> None:
    login(client, "steward1")
    good = workbook([GOOD], GOOD_FIELDS)
    r = client.post("/catalog/-/import", files={"file": ("catalog.xlsx", good, XLSX)})
    assert r.status_code == 200, r.text
    assert "已导入 1 条资源" in r.text and 'href="/catalog/school_roll"' in r.text
    assert "学籍信息" in client.get("/catalog", params={"q": "身份证"}).text
    assert client.post("/catalog/-/import", files={"file": ("empty.xlsx", b"", XLSX)}).status_code == 422

    export = client.get("/catalog/-/export", params={"format": "xlsx", "dept": "scjgj"})
    assert export.status_code == 200
    assert export.headers["content-type"] == XLSX and "attachment" in export.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(export.content))
    keys = {row[0] for row in wb[RESOURCE_SHEET].iter_rows(min_row=2, values_only=True)}
    assert keys == {"school_roll", "market_entities", "inspections"}
    doc = json.loads(client.get("/catalog/-/export", params={"format": "json"}).content)
    assert "school_roll" in {r["key"] for r in doc["resources"]}
    template = client.get("/catalog/-/template")
    assert template.status_code == 200 and load_workbook(io.BytesIO(template.content)).sheetnames == ["资源", "字段"]


def test_import_of_another_departments_entry_is_refused(client, city) -> None:
    login(client, "steward1")
    other = workbook([{**GOOD, "dept": "gaj"}], GOOD_FIELDS)
    r = client.post("/catalog/-/import", files={"file": ("catalog.xlsx", other, XLSX)})
    assert r.status_code == 422 and "来源部门" in r.text


def test_consumer_exports_but_cannot_import(client, city) -> None:
    login(client, "consumer1")
    page = client.get("/catalog/-/import")
    assert page.status_code == 200
    assert 'id="import-file"' not in page.text and 'id="export-format"' in page.text
    assert 'aria-current="page">导入导出' in page.text and 'aria-current="page">数据目录' not in page.text
    r = client.post("/catalog/-/import", files={"file": ("catalog.xlsx", workbook([GOOD], GOOD_FIELDS), XLSX)})
    assert r.status_code == 403
    assert client.get("/catalog/-/export").status_code == 200


def test_static_styles_are_served_locally(client) -> None:
    css = client.get("/static/citybrain.css")
    assert css.status_code == 200 and "@import" not in css.text and "url(http" not in css.text


def test_home_and_audit_pages(client, city) -> None:
    assert client.get("/", follow_redirects=False).status_code == 303
    login(client, "admin1")
    assert client.get("/", follow_redirects=False).headers["location"] == "/catalog"
    page = client.get("/admin/audit", params={"verify": "true"})
    assert page.status_code == 200
    check_page(page.text)
    assert "审计链完整" in page.text and "session_login" in page.text
    assert "session_login" in client.get("/admin/audit", params={"action": "session_login"}).text
    client.post("/logout")
    login(client, "consumer1")
    assert client.get("/admin/audit").status_code == 403
