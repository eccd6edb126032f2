"""The case console and the citizens' pages in English (the ``lang`` switch), Chinese staying the default."""

from __future__ import annotations

import re
from typing import Any

import test_cases_support as support
from test_cases_support import City
from tests.factories import login

city = support.city  # the shared fixture


def _submit(client: Any, city: City) -> str:
    form = {"description": "垃圾桶满了溢出来", "lat": str(city.lat), "long": str(city.lon), "service_code": "06042"}
    sent = client.post("/report", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    return re.match(r"/report/status/(\d+)", sent.headers["location"]).group(1)


def test_case_page_in_english(client: Any, city: City) -> None:
    request_id = _submit(client, city)
    login(client, "zuoxi")
    page = client.get(f"/cases/{request_id}", params={"lang": "en"})
    assert page.status_code == 200 and '<html lang="en">' in page.text
    html = page.text
    for english in (
        "Case number",
        "Timeline",
        "Reports (1)",
        "Citizen report (Open311)",
        "Assigned to",
        "← Case queue",
    ):
        assert english in html, english
    # the state, the step forms and the timeline speak English too
    assert re.search(r"<dt>Status</dt><dd>Reported\b", html)
    assert "<h3>Accept</h3>" in html and "Why it is not registered" in html
    assert re.search(r"<td>Reported</td>", html)  # the timeline's first event
    for chinese in ("案件编号", "时间轴", "上报记录", "处置层级", "受理</h3>", "不立案原因", "市民随手拍"):
        assert chinese not in html, chinese
    # what people wrote, and the standard's category name, stay as they are
    assert "垃圾桶满了溢出来" in html and "垃圾站（箱）满溢" in html

    # the choice is remembered: the queue follows in English, and Chinese comes back on request
    queue = client.get("/cases")
    assert "Case queue" in queue.text and "案件办理队列" not in queue.text
    chinese = client.get(f"/cases/{request_id}", params={"lang": "zh"})
    assert "时间轴" in chinese.text and "Timeline" not in chinese.text


def test_board_kpis_and_citizen_pages_in_english(client: Any, city: City) -> None:
    request_id = _submit(client, city)
    status = client.get(f"/report/status/{request_id}", params={"new": "1", "lang": "en"})
    assert "Thank you! Note your case number" in status.text and "In progress" in status.text
    assert "提交成功" not in status.text
    form = client.get("/report", params={"lang": "en"})
    assert "Report a problem in the city" in form.text and "市民随手拍" not in form.text
    login(client, "ducha")
    swept = client.post("/cases-board/sweep", follow_redirects=False)
    board = client.get(swept.headers["location"] + "&lang=en")
    assert "Supervision board" in board.text and re.search(r"\d+ checked, \d+ warned, \d+ escalated", board.text)
    kpi = client.get("/cases-kpi", params={"by": "source", "lang": "en"})
    assert kpi.status_code == 200
    for english in ("Closure rate", "Handled on the spot", "Citizen report (Open311)", "Dispatch accuracy"):
        assert english in kpi.text, english
    assert "结案率" not in kpi.text and "市民随手拍" not in kpi.text
