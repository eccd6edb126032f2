"""Open311 GeoReport v2 (市民随手拍): the actions behind ``/open311/v2/``.

Services are the GB/T 47678.5 管理事项, grouped by 大类 (one level, never nested further, since a
long nested list is what FixMyStreet users find most confusing). Unlike the specification,
``service_code`` may be left out: the classifier then suggests the 事项, and a report it is unsure
about waits for a person — so a citizen who cannot find the category can still report.

A request is answered with both its ``service_request_id`` (the case number, also when the report
joined an existing case) and a ``token`` that ``tokens/{token}`` resolves later. What is shown
publicly never includes the reporter's name, phone or e-mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from citybrain.actions import Context, action
from citybrain.cases.codes import load_codes
from citybrain.cases.enums import CaseState
from citybrain.cases.intake import intake, locate
from citybrain.cases.models import Case, Report
from citybrain.cases.schemas import Photo, ReportIn
from citybrain.db import utcnow
from citybrain.errors import Invalid, NotFound, parse
from citybrain.org.models import Department

CLOSED = {CaseState.CLOSED.value, CaseState.EVALUATED.value, CaseState.REJECTED.value}
#: 大类 01–05 of 事项 concern a 部件, so their services also take its 17-digit 部件标识码
_PART_MAJORS = {"01", "02", "03", "04", "05"}


class RequestIn(BaseModel):
    service_code: str | None = Field(default=None, pattern=r"^\d{5}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=4000)
    email: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=32)
    last_name: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    device_id: str | None = Field(default=None, max_length=64)
    account_id: str | None = Field(default=None, max_length=64)
    media_url: str | None = Field(default=None, max_length=500)
    attributes: dict[str, str] = Field(default_factory=dict)


def _service(entry: Any) -> dict[str, Any]:
    return {
        "service_code": entry.code,
        "service_name": entry.name,
        "description": f"{entry.major_name} · {entry.name}",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(dict.fromkeys([entry.major_name, entry.name])),
        "group": entry.major_name,
    }


@action("open311_service_list")
def open311_service_list(ctx: Context, service_code: str | None = None) -> Any:
    """``services``: every 管理事项; with a code, its service definition (attributes)."""
    ctx.authorize("open311_service_list")
    book = load_codes()
    if service_code is None:
        return [_service(e) for e in book.items()]
    entry = book.find("事项", service_code)
    if entry is None:
        raise NotFound(f"服务代码 {service_code} 不存在", details={"service_code": service_code})
    attributes: list[dict[str, Any]] = [
        {
            "variable": True,
            "code": "urgency",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "是否紧急（危及安全请选紧急）",
            "order": 1,
            "description": "紧急程度",
            "values": [{"key": "normal", "name": "一般"}, {"key": "urgent", "name": "紧急"}],
        }
    ]
    if entry.major in _PART_MAJORS:
        attributes.append(
            {
                "variable": True,
                "code": "component_id",
                "datatype": "string",
                "required": False,
                "datatype_description": "部件上的 17 位部件标识码（如有）",
                "order": 2,
                "description": "部件标识码",
                "values": [],
            }
        )
    return {"service_code": entry.code, "attributes": attributes}


@action("open311_request_create")
def open311_request_create(
    ctx: Context, data: RequestIn, *, photos: Sequence[Photo] = (), now: datetime | None = None
) -> dict[str, Any]:
    """``POST requests``: a 随手拍 report; it may join an existing case (same id returned)."""
    ctx.authorize("open311_request_create")
    name = " ".join(p for p in (data.last_name, data.first_name) if p) or None
    text = (data.description or "").strip()
    if len(text) < 2:
        if data.service_code is None:
            raise Invalid("请填写问题描述 description，或选择服务代码 service_code", details={"field": "description"})
        entry = load_codes().find("事项", data.service_code)
        text = entry.name if entry is not None else text
    urgency = data.attributes.get("urgency", "normal")
    component_id = data.attributes.get("component_id") or None
    report = parse(
        ReportIn,
        {
            "channel": "open311",
            "text": text,
            "kind": "部件" if component_id else ("事项" if data.service_code else None),
            "code": None if component_id else data.service_code,
            "component_id": component_id,
            "lon": data.long,
            "lat": data.lat,
            "address": data.address_string,
            "urgency": urgency if urgency in ("normal", "urgent") else "normal",
            "reporter_name": name,
            "reporter_phone": data.phone,
            "reporter_email": data.email,
            "payload": {
                k: v
                for k, v in {
                    "media_url": data.media_url,
                    "device_id": data.device_id,
                    "account_id": data.account_id,
                    "attributes": data.attributes or None,
                }.items()
                if v
            }
            or None,
        },
    )
    where = locate(ctx.session, report)
    result = intake(ctx, report, where, audit_name="open311_request_create", photos=photos, now=now)
    notice = "已合并到同一问题的已有案件" if result.merged else "已受理上报，感谢您的参与"
    if result.needs_human:
        notice += "；分类将由工作人员确认"
    return {
        "service_request_id": result.request_id,
        "token": result.token,
        "service_notice": notice,
        "account_id": data.account_id,
    }


def public_request(session: Any, case: Case, *, names: dict[str, str] | None = None) -> dict[str, Any]:
    """A case as Open311 and the public status page show it (no personal data)."""
    closed = case.state in CLOSED
    notes = CaseState(case.state).label
    if case.state == CaseState.REJECTED.value and case.reject_reason:
        notes = f"不予立案：{case.reject_reason}"
    elif closed and case.disposal_note:
        notes = f"已办结：{case.disposal_note}"
    agency = None
    if case.assignee_dept_id:
        agency = (names or {}).get(case.assignee_dept_id)
        if agency is None:
            dept = session.get(Department, case.assignee_dept_id)
            agency = dept.name if dept is not None else None
    elif case.assignee_division:
        agency = (
            "属地网格"
            if case.level == "grid"
            else f"属地{ {'street': '街道', 'community': '社区'}.get(case.level, '') }"
        )
    media = None
    first = session.scalar(select(Report).where(Report.case_id == case.id).order_by(Report.received_at).limit(1))
    if first is not None and first.payload:
        media = first.payload.get("media_url")
    return {
        "service_request_id": case.request_id,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": case.code_name,
        "service_code": case.code,
        "description": case.description,
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": case.reported_at,
        "updated_datetime": case.updated_at,
        "expected_datetime": case.dispose_due_at if not closed else None,
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": media,
    }


def find_request(session: Any, request_id: str) -> Case:
    case = session.scalar(select(Case).where(Case.request_id == request_id))
    if case is None:
        raise NotFound(f"服务请求 {request_id} 不存在", details={"service_request_id": request_id})
    return case


@action("open311_request_show")
def open311_request_show(ctx: Context, request_id: str) -> dict[str, Any]:
    ctx.authorize("open311_request_show")
    return public_request(ctx.session, find_request(ctx.session, request_id))


@action("open311_request_list")
def open311_request_list(
    ctx: Context,
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """``GET requests``: by ids (comma separated), or by code, dates (default: the last 90 days) and status."""
    ctx.authorize("open311_request_list")
    q = select(Case)
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()][:1000]
        q = q.where(Case.request_id.in_(ids))
    else:
        end = end_date or utcnow()
        start = start_date or end - timedelta(days=90)
        if start.tzinfo is None or end.tzinfo is None:
            raise Invalid("start_date / end_date 须为带时区的 W3C 时间", details={"field": "start_date"})
        q = q.where(Case.reported_at >= start, Case.reported_at <= end)
        if service_code:
            q = q.where(Case.code.in_([c.strip() for c in service_code.split(",")]))
        if status:
            if status not in ("open", "closed"):
                raise Invalid("status 须为 open 或 closed", details={"field": "status"})
            q = q.where(Case.state.in_(CLOSED) if status == "closed" else Case.state.not_in(CLOSED))
    rows = list(ctx.session.scalars(q.order_by(Case.reported_at.desc()).limit(min(limit, 1000))))
    dept_ids = {c.assignee_dept_id for c in rows if c.assignee_dept_id}
    names = dict(ctx.session.execute(select(Department.id, Department.name).where(Department.id.in_(dept_ids))).all())
    return [public_request(ctx.session, c, names=names) for c in rows]


@action("open311_token_show")
def open311_token_show(ctx: Context, token: str) -> dict[str, Any]:
    ctx.authorize("open311_token_show")
    report = ctx.session.scalar(select(Report).where(Report.token == token))
    if report is None:
        raise NotFound(f"令牌 {token} 不存在", details={"token": token})
    case = ctx.session.get(Case, report.case_id)
    assert case is not None
    return {"service_request_id": case.request_id, "token": token}
