"""The aggregation console on the real app: upload a department file, follow the load, see the
quarantine grouped by field and reason, correct rows in the form and resubmit them."""

from __future__ import annotations

import re

from tests.factories import login
from tests.ingest.test_ingest_support import csv_text, uscc, world

from citybrain.auth.rules import Role


def _upload(client, key: str, content: bytes, name: str = "企业.csv", **form: str):
    return client.post(
        f"/catalog/{key}/ingest", files={"file": (name, content, "text/csv")}, data=form, follow_redirects=False
    )


def _rows(n_good: int, bad_dates: list[str], bad_staff: list[str]) -> list[list[str]]:
    rows = [[uscc(), f"良好企业{i}", "2020-01-01", "100", "5"] for i in range(n_good)]
    rows += [[uscc(), f"日期有误{i}", d, "100", "5"] for i, d in enumerate(bad_dates)]
    rows += [[uscc(), f"人数有误{i}", "2020-01-01", "100", s] for i, s in enumerate(bad_staff)]
    return rows


def test_steward_uploads_a_gb18030_file_and_fixes_quarantined_rows_in_the_console(client, factory) -> None:
    w = world(factory)
    login(client, w.steward.username)
    page = client.get(f"/catalog/{w.key}/ingest")
    assert page.status_code == 200 and 'id="upload-form"' in page.text and "GB18030" in page.text

    body = csv_text(_rows(3, ["2020-02-31", "2021-13-01"], ["很多"])).encode("gb18030")
    r = _upload(client, w.key, body)
    assert r.status_code == 303
    load = client.get(r.headers["location"])
    assert load.status_code == 200
    assert re.search(r'id="load-counts">\s*6 / 3 / 3', load.text), load.text
    assert "gb18030" in load.text and "成功" in load.text

    # the quarantine, grouped by field and kind of problem (not by value): the larger group first
    q = client.get(f"/catalog/{w.key}/quarantine")
    cell = (
        r'<tr[^>]*><td class="mono">([^<]*)</td>\s*'
        r'<td><a href="\?([^"]+)">([^<]+)</a><br><small>[^<]*</small></td><td>(\d+)</td>'
    )
    groups = re.findall(cell, q.text)
    assert [(g[0], g[2], int(g[3])) for g in groups] == [
        ("成立日期（reg_date）", "不是有效的日期", 2),
        ("从业人数（staff）", "不是有效的整数", 1),
    ]

    # narrow to the date group and correct one of its two rows
    one = client.get(f"/catalog/{w.key}/quarantine?{groups[0][1].replace('&amp;', '&')}")
    ids = re.findall(r'name="row" value="([^"]+)"', one.text)
    assert len(ids) == 2 and "很多" not in one.text.split('id="fix-form"')[1]
    form = {
        "row": ids,
        f"value:{ids[0]}:reg_date": "2020-02-28",
        f"value:{ids[1]}:reg_date": "2021-13-01",
        "field": "reg_date",
        "kind": "不是有效的日期",
    }
    r = client.post(f"/catalog/{w.key}/quarantine/resubmit", data=form)
    assert r.status_code == 200
    assert "已重新提交：1 行入湖（版本 v2），1 行仍未通过" in r.text

    # the group shrank, the other group is untouched, and the new version holds the corrected row
    after = client.get(f"/catalog/{w.key}/ingest")
    assert re.search(r"待处理隔离行：2", after.text)
    preview = client.get(f"/api/v1/ingest/resources/{w.key}/preview", params={"limit": 10}).json()
    assert preview["version"] == 2 and "2020-02-28" in {row["reg_date"] for row in preview["rows"]}
    summary = client.get(f"/api/v1/ingest/resources/{w.key}/quarantine/summary").json()
    assert sorted((g["field"], g["rows"]) for g in summary) == [("reg_date", 1), ("staff", 1)]


def test_a_file_the_catalog_rejects_is_explained_on_its_load_page(client, factory) -> None:
    w = world(factory)
    login(client, w.steward.username)
    r = _upload(client, w.key, "统一社会信用代码,无关列\r\nx,y\r\n".encode())
    assert r.status_code == 303
    load = client.get(r.headers["location"])
    assert "失败" in load.text and "目录中没有这些列：无关列" in load.text


def test_no_file_and_a_bad_mode_say_why(client, factory) -> None:
    w = world(factory)
    login(client, w.steward.username)
    r = client.post(f"/catalog/{w.key}/ingest", data={"mode": "replace"})
    assert r.status_code == 422 and "请选择要上传的文件" in r.text
    r = _upload(client, w.key, csv_text(_rows(1, [], [])).encode(), mode="append")
    assert r.status_code == 422 and "归集方式 mode 只能是" in r.text


def test_who_sees_what(client, factory) -> None:
    w = world(factory)
    login(client, w.steward.username)
    _upload(client, w.key, csv_text(_rows(1, ["2020-02-31"], [])).encode())
    client.post("/logout")

    # a consumer of the same department sees the loads but not the quarantined data, and no upload form
    _user, consumer = factory.user(Role.CONSUMER, dept=w.dept)
    login(client, consumer.username)
    page = client.get(f"/catalog/{w.key}/ingest")
    assert page.status_code == 200 and 'id="loads"' in page.text
    assert 'id="upload-form"' not in page.text and 'id="groups"' not in page.text
    assert client.get(f"/catalog/{w.key}/quarantine").status_code == 403
    client.post("/logout")

    # another department's steward is refused, with the reason
    other = factory.dept(name="市交通运输局")
    _user, outsider = factory.user(Role.STEWARD, dept=other)
    login(client, outsider.username)
    r = client.get(f"/catalog/{w.key}/quarantine")
    assert r.status_code == 403
    r = _upload(client, w.key, csv_text(_rows(1, [], [])).encode())
    assert r.status_code == 403


def test_the_catalog_page_has_an_aggregation_panel_and_english_works(client, factory) -> None:
    w = world(factory)
    login(client, w.steward.username)
    _upload(client, w.key, csv_text(_rows(2, ["2020-02-31"], [])).encode())
    page = client.get(f"/catalog/{w.key}")
    assert "数据归集" in page.text and f'href="/catalog/{w.key}/ingest"' in page.text
    english = client.get(f"/catalog/{w.key}/ingest", params={"lang": "en"})
    assert "Upload a data file" in english.text and "Open quarantined rows" in english.text
