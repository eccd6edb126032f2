"""Intake channels: the 12345 hotline (受理 clock, 回访, 重办), signed IoT alarms, and outbound webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import test_cases_support as support
from test_cases_support import GRID, City

from citybrain.cases import service
from citybrain.cases.config import reset_config
from citybrain.cases.intake import case_report
from citybrain.cases.models import Outbox
from citybrain.cases.schemas import DisposeIn, RevisitIn, VerifyIn
from citybrain.errors import Conflict

city = support.city  # the shared fixture


def _bearer(factory: Any, actor: Any, *scopes: str) -> dict[str, str]:
    return {"authorization": f"Bearer {factory.token(actor, list(scopes))}"}


def _dispose_and_verify(run: Any, city: City, ref: str) -> None:
    run(service.case_sign, ref, actor=city.worker)
    run(service.case_dispose, ref, DisposeIn(note="已清理"), actor=city.worker)
    run(service.case_feedback, ref, actor=city.worker)
    run(service.case_verify, ref, VerifyIn(passed=True), actor=city.operator)


def test_hotline_ticket_is_revisited_and_an_unsatisfied_caller_reopens_it(
    client: Any, run: Any, factory: Any, city: City
) -> None:
    headers = _bearer(factory, city.operator, "cases:hotline", "cases:read")
    ticket = {
        "ticket_no": "12345-20261201-0001",
        "content": "小区门口路边有一堆暴露垃圾，没人清理",
        "lon": city.lon,
        "lat": city.lat,
        "caller_name": "王女士",
        "caller_phone": "13800000000",
        "code": "06010",
    }
    created = client.post("/api/v1/cases/hotline", json=ticket, headers=headers)
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    # the hotline system resending the same 工单 changes nothing
    assert client.post("/api/v1/cases/hotline", json=ticket, headers=headers).json()["case_id"] == case_id
    case = run(service.case_show, case_id)
    assert case.source == "hotline" and case.stage == "accept" and case.grid_id == GRID and len(case.reports) == 1

    accepted = run(service.case_accept, case_id, actor=city.operator, now=case.reported_at + timedelta(hours=2))
    # 受理 within its half working day; the 30-minute 立案+派遣 clock starts at the 受理
    assert accepted.stage == "dispatch" and accepted.dispatch_due_at == accepted.accepted_at + timedelta(minutes=30)
    assert accepted.timer_state == "on_time"
    run(service.case_register, case_id, actor=city.operator, now=accepted.accepted_at + timedelta(minutes=5))
    run(service.case_dispatch, case_id, actor=city.operator)
    _dispose_and_verify(run, city, case_id)
    with pytest.raises(Conflict) as refused:
        run(service.case_close, case_id, actor=city.operator)
    assert "回访" in refused.value.message
    redo = run(service.case_revisit, case_id, RevisitIn(satisfied=False, note="垃圾又堆起来了"), actor=city.operator)
    assert redo.state == "dispatched" and redo.redo_count == 1 and redo.assignee_user_id == city.worker.user_id
    _dispose_and_verify(run, city, case_id)
    run(service.case_revisit, case_id, RevisitIn(satisfied=True), actor=city.operator)
    closed = run(service.case_close, case_id, actor=city.operator)
    assert closed.state == "closed" and closed.satisfaction == "满意"


def test_iot_alarm_needs_a_signature_or_a_token_and_is_taken_once(client: Any, settings: Any, city: City) -> None:
    alarm = {
        "channel": "video",
        "alarm_id": "AI-0001",
        "device_id": "CAM-320402-17",
        "code": "09006",
        "text": "视频识别：占道经营",
        "lon": city.lon,
        "lat": city.lat,
        "confidence": 0.35,
    }
    body = json.dumps(alarm).encode()
    unsigned = client.post("/api/v1/cases/webhook", content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    signature = hmac.new(settings.secret("cases_webhook"), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-citybrain-signature": f"sha256={signature}"}
    first = client.post("/api/v1/cases/webhook", content=body, headers=headers)
    assert first.status_code == 201, first.text
    # a detection the model itself is unsure of goes to a person
    assert first.json()["needs_human"] is True
    again = client.post("/api/v1/cases/webhook", content=body, headers=headers)
    assert again.json()["case_id"] == first.json()["case_id"]


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = "https://hooks.example.org/cases"
    monkeypatch.setenv("CITYBRAIN_CASES_WEBHOOK_URL", url)
    reset_config()
    yield url
    monkeypatch.delenv("CITYBRAIN_CASES_WEBHOOK_URL")
    reset_config()


def test_dispatch_queues_a_webhook_that_the_outbox_delivers(run: Any, db: Any, city: City, webhook: str) -> None:
    result = run(case_report, city.report("垃圾桶满了溢出来"), actor=city.operator)
    for step in (service.case_accept, service.case_register, service.case_dispatch):
        run(step, result.case_id, actor=city.operator)
    sent: list[tuple[str, dict[str, Any]]] = []
    counts = run(service.outbox_deliver, sender=lambda url, payload: sent.append((url, payload)))
    assert counts == {"sent": 1, "retry": 0, "failed": 0}
    assert sent[0][0] == webhook and sent[0][1]["event"] == "dispatch"
    assert sent[0][1]["request_id"] == result.request_id

    def down(url: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("对端不可达")

    run(service.case_sign, result.case_id, actor=city.worker)
    run(service.case_supervise, result.case_id, actor=city.supervisor)
    assert run(service.outbox_deliver, sender=down) == {"sent": 0, "retry": 1, "failed": 0}
    with db.session() as session:
        pending = session.query(Outbox).filter(Outbox.status == "pending").one()
        assert pending.event == "supervise" and pending.attempts == 1 and "不可达" in pending.last_error


def test_patrol_report_with_a_photo(client: Any, factory: Any, city: City) -> None:
    worker = _bearer(factory, city.worker, "cases:write", "cases:read")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    sent = client.post(
        "/api/v1/cases/patrol/upload",
        data={"data": json.dumps({"text": "人行道上有一堆建筑垃圾渣土", "lon": city.lon, "lat": city.lat})},
        files=[("photos", ("xianchang.png", png, "image/png"))],
        headers=worker,
    )
    assert sent.status_code == 201, sent.text
    case = client.get(f"/api/v1/cases/{sent.json()['case_id']}", headers=worker).json()
    (photo,) = case["attachments"]
    assert photo["filename"] == "xianchang.png" and photo["size"] == len(png)
    got = client.get(f"/api/v1/cases/attachments/{photo['id']}", headers=worker)
    assert got.status_code == 200 and got.content == png and got.headers["content-type"] == "image/png"
    other = _bearer(factory, city.cgj_staff, "cases:read")
    assert client.get(f"/api/v1/cases/attachments/{photo['id']}", headers=other).status_code == 403
    # a worker reports only inside their own grid
    outside = client.post(
        "/api/v1/cases/patrol",
        json={"text": "路灯不亮", "lon": city.lon + 0.05, "lat": city.lat - 0.03},
        headers=worker,
    )
    assert outside.status_code == 403
