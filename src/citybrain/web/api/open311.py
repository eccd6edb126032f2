"""Open311 GeoReport v2 at ``/open311/v2/`` (discovery, services, requests, tokens; ``.xml`` and ``.json``).

Errors use Open311's own envelope — a list of ``{code, description}`` (``<errors><error>…`` in XML) —
registered for the ``/open311/`` prefix with the app's one error handler, so domain errors, validation
errors and unknown paths all answer in it. Timestamps are W3C (ISO 8601) with the +08:00 offset.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from citybrain.cases import open311
from citybrain.cases.config import get_config
from citybrain.errors import Invalid, NotFound, parse
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/open311/v2", tags=["open311 GeoReport v2"])

_TZ = ZoneInfo("Asia/Shanghai")
_MEDIA = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
_REQUEST_FIELDS = set(open311.RequestIn.model_fields) - {"attributes"}


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(_TZ).isoformat(timespec="seconds")
    return value


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return _value(data)


def _xml_fill(parent: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        child = ET.SubElement(parent, key)
        if isinstance(value, list):
            # attributes → <attribute>, values → <value>, formats → <format>, endpoints → <endpoint>
            item_tag = key[:-1] if key.endswith("s") else "item"
            for item in value:
                node = ET.SubElement(child, item_tag)
                if isinstance(item, dict):
                    _xml_fill(node, item)
                else:
                    node.text = _text(item)
        elif isinstance(value, dict):
            _xml_fill(child, value)
        else:
            child.text = _text(value)


def _text(value: Any) -> str | None:
    value = _value(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml(root: str, item: str | None, data: Any) -> bytes:
    top = ET.Element(root)
    if item is None:
        _xml_fill(top, data)
    else:
        for entry in data:
            _xml_fill(ET.SubElement(top, item), entry)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")


def _format(fmt: str) -> str:
    if fmt not in _MEDIA:
        raise NotFound(f"不支持的格式 .{fmt}（可选 .xml、.json）", details={"format": fmt})
    return fmt


def respond(fmt: str, data: Any, root: str, item: str | None, status: int = 200) -> Response:
    if _format(fmt) == "json":
        body = json.dumps(_plain(data), ensure_ascii=False).encode("utf-8")
    else:
        body = _xml(root, item, data)
    return Response(body, status_code=status, media_type=_MEDIA[fmt])


def render_error(request: Request, status: int, code: str, message: str, details: object = None) -> Response:
    """Open311's error envelope; 422 (our validation) is Open311's 400."""
    status = 400 if status == 422 else status
    fmt = "json" if request.url.path.endswith(".json") else "xml"
    errors = [{"code": status, "description": message}]
    return respond(fmt, errors, "errors", "error", status=status)


def setup(app: FastAPI) -> None:
    app.state.error_renderers["/open311/"] = render_error


def _check_jurisdiction(request: Request) -> None:
    given = request.query_params.get("jurisdiction_id")
    expected = get_config().open311_jurisdiction
    if given and given != expected:
        raise NotFound(f"jurisdiction_id {given} 不在本服务范围（应为 {expected}）", details={"jurisdiction_id": given})


@router.get("/discovery.{fmt}")
def discovery(request: Request, fmt: str) -> Response:
    base = str(request.base_url).rstrip("/") + "/open311/v2/"
    data = {
        "changeset": "2026-07-01T00:00:00+08:00",
        "contact": "常州市城市运行管理中心（12345）",
        "key_service": "匿名即可上报；机构对接请向城运中心申请 API 令牌",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2026-07-01T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, data, "discovery", None)


@router.get("/services.{fmt}")
def services(ctx: Ctx, request: Request, fmt: str) -> Response:
    _format(fmt)
    _check_jurisdiction(request)
    return respond(fmt, open311.open311_service_list(ctx), "services", "service")


@router.get("/services/{service_code}.{fmt}")
def service_definition(ctx: Ctx, request: Request, service_code: str, fmt: str) -> Response:
    _format(fmt)
    _check_jurisdiction(request)
    return respond(fmt, open311.open311_service_list(ctx, service_code), "service_definition", None)


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} 须为 W3C 时间，如 2026-10-01T00:00:00+08:00", details={"field": name}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_TZ)
    return moment


@router.get("/requests.{fmt}")
def requests_list(ctx: Ctx, request: Request, fmt: str) -> Response:
    _format(fmt)
    _check_jurisdiction(request)
    q = request.query_params
    rows = open311.open311_request_list(
        ctx,
        service_request_id=q.get("service_request_id"),
        service_code=q.get("service_code"),
        start_date=_when(q.get("start_date"), "start_date"),
        end_date=_when(q.get("end_date"), "end_date"),
        status=q.get("status"),
    )
    return respond(fmt, rows, "service_requests", "request")


@router.post("/requests.{fmt}")
async def requests_create(ctx: Ctx, request: Request, fmt: str) -> Response:
    _format(fmt)
    _check_jurisdiction(request)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            raw: dict[str, Any] = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            raise Invalid(f"JSON 解析失败：{exc}", details={"field": "body"}) from None
    else:
        raw = dict((await request.form()).items())
    api_key = raw.get("api_key") or request.query_params.get("api_key")
    if api_key and not ctx.actor.is_authenticated:
        # Open311 clients (FixMyStreet and others) send their key as a parameter, not a header
        from citybrain.auth.service import actor_from_token

        ctx.actor = actor_from_token(ctx.session, str(api_key))
        request.state.actor = ctx.actor
    fields: dict[str, Any] = {k: v for k, v in raw.items() if k in _REQUEST_FIELDS and v not in ("", None)}
    # attribute[code]=value, as the specification spells them in a form
    attributes = {
        k[len("attribute[") : -1]: str(v) for k, v in raw.items() if k.startswith("attribute[") and k[-1] == "]"
    }
    attributes.update(
        {str(k): str(v) for k, v in (raw.get("attributes") or {}).items()}
        if isinstance(raw.get("attributes"), dict)
        else {}
    )
    fields["attributes"] = attributes
    data = parse(open311.RequestIn, fields)
    created = open311.open311_request_create(ctx, data)
    return respond(fmt, [created], "service_requests", "request", status=201)


@router.get("/requests/{request_id}.{fmt}")
def request_show(ctx: Ctx, request: Request, request_id: str, fmt: str) -> Response:
    _format(fmt)
    _check_jurisdiction(request)
    return respond(fmt, [open311.open311_request_show(ctx, request_id)], "service_requests", "request")


@router.get("/tokens/{token}.{fmt}")
def token_show(ctx: Ctx, request: Request, token: str, fmt: str) -> Response:
    _format(fmt)
    _check_jurisdiction(request)
    return respond(fmt, [open311.open311_token_show(ctx, token)], "service_requests", "request")
