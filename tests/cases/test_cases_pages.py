"""Console pages (queue, case page with steps, 督办 board, 考核) and the citizens' report and status pages."""

from __future__ import annotations

import re
from typing import Any

import test_cases_support as support
from test_cases_support import City
from tests.factories import login

city = support.city  # the shared fixture


def _submit(client: Any, city: City, **form: str) -> str:
    sent = client.post("/report", data=form, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    match = re.match(r"/report/status/(\d+)\?new=1", sent.headers["location"])
    assert match
    return match.group(1)


def test_citizen_reports_by_address_and_follows_the_status(client: Any, city: City) -> None:
    form = client.get("/report")
    assert form.status_code == 200 and "市民随手拍" in form.text and "<optgroup" in form.text
    sent = client.post(
        "/report",
        data={"description": "延陵西路边上井盖缺失了很危险", "address_string": "钟楼区延陵西路"},
        files={"photo": ("jinggai.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image/jpeg")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    request_id = sent.headers["location"].split("/")[-1].split("?")[0]
    status = client.get(f"/report/status/{request_id}?new=1")
    assert status.status_code == 200 and request_id in status.text and "办理中" in status.text
    assert "提交成功" in status.text
    assert client.get(f"/report/status?id={request_id}", follow_redirects=False).status_code == 303
    login(client, "zuoxi")
    assert "jinggai.jpg" in client.get(f"/cases/{request_id}").text
    client.post("/logout")
    missing = client.post("/report", data={"description": "这里有问题"}, follow_redirects=False)
    assert missing.status_code == 422 and "坐标" in missing.text


def test_operator_works_a_case_from_the_queue_and_a_stale_form_is_refused(client: Any, city: City) -> None:
    assert client.get("/cases", follow_redirects=False).status_code == 303  # to the login page
    request_id = _submit(
        client, city, description="垃圾桶满了溢出来", lat=str(city.lat), long=str(city.lon), service_code="06042"
    )
    login(client, "zuoxi")
    queue = client.get("/cases", params={"open_only": "true", "source": "open311"})
    assert queue.status_code == 200 and request_id in queue.text and "垃圾站（箱）满溢" in queue.text
    page = client.get(f"/cases/{request_id}")
    assert page.status_code == 200 and "时间轴" in page.text and f"/cases/{request_id}/act/accept" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    done = client.post(f"/cases/{request_id}/act/accept", data={"version": version}, follow_redirects=False)
    assert done.status_code == 303
    stale = client.post(f"/cases/{request_id}/act/register", data={"version": version})
    assert stale.status_code == 409 and "已被他人更新" in stale.text
    page = client.get(f"/cases/{request_id}")
    assert "受理核实" in page.text and f"/cases/{request_id}/act/register" in page.text


def test_supervisor_board_and_kpi_pages(client: Any, city: City) -> None:
    _submit(client, city, description="路边有暴露垃圾", lat=str(city.lat), long=str(city.lon), service_code="06010")
    login(client, "ducha")
    board = client.get("/cases-board")
    assert board.status_code == 200 and "督办看板" in board.text
    swept = client.post("/cases-board/sweep", follow_redirects=False)
    assert swept.status_code == 303
    assert "检查" in client.get(swept.headers["location"]).text
    kpi = client.get("/cases-kpi", params={"by": "source"})
    assert kpi.status_code == 200 and "结案率" in kpi.text and "市民随手拍" in kpi.text


def test_unsure_report_shows_suggestions_an_operator_can_accept(client: Any, city: City) -> None:
    request_id = _submit(client, city, description="这边有点问题你们来看看", lat=str(city.lat), long=str(city.lon))
    login(client, "zuoxi")
    queue = client.get("/cases", params={"needs_human": "true"})
    assert request_id in queue.text and "待人工分类" in queue.text
    page = client.get(f"/cases/{request_id}")
    assert "分类建议（请人工确认）" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    code = re.search(r'name="code" value="(\d{5})"', page.text).group(1)
    chosen = client.post(
        f"/cases/{request_id}/act/reclassify",
        data={"version": version, "kind": "事项", "code": code, "reason": "人工确认分类建议"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert "分类建议（请人工确认）" not in client.get(f"/cases/{request_id}").text


def test_grid_worker_sees_their_to_do_list(client: Any, run: Any, city: City) -> None:
    from citybrain.cases import service

    mine = _submit(client, city, description="垃圾桶满了", lat=str(city.lat), long=str(city.lon), service_code="06042")
    other = _submit(
        client, city, description="暴露垃圾", lat=str(city.lat), long=str(city.lon + 0.001), service_code="06010"
    )
    for step in (service.case_accept, service.case_register, service.case_dispatch):
        run(step, mine, actor=city.operator)
    login(client, "wanggeyuan")
    todo = client.get("/cases", params={"mine": "true"})
    assert todo.status_code == 200 and mine in todo.text and other not in todo.text
    assert "新派遣案件" in todo.text  # the unread notice of the dispatch
