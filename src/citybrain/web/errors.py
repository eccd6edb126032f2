"""The one place domain errors become HTTP.

API paths get ``{"error": {"code", "message", "details"}}``; pages get an error page in the
user's language. Nothing a user sends can produce a bare 500: unexpected exceptions are logged
with the request id and answered with a generic message that quotes it.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from citybrain.errors import CityBrainError, NotAuthenticated, validation_details
from citybrain.logging import request_id_var

log = logging.getLogger("citybrain.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "not_authorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/open311/", "/healthz")) or path.endswith((".json", ".jsonld", ".ttl", ".xml")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: Request, status: int, code: str, message: str, details: object = None) -> Response:
    # protocol-specific envelopes (CKAN, Open311) register their own handlers for their prefixes
    for prefix, renderer in getattr(request.app.state, "error_renderers", {}).items():
        if request.url.path.startswith(prefix):
            return renderer(request, status, code, message, details)
    if wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message, "details": details}}, status_code=status)
    if status == 401:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    from citybrain.web.pages.common import render

    return render(
        request,
        "error.html",
        {"status": status, "code": code, "message": message, "details": details},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    app.state.error_renderers = {}

    @app.exception_handler(CityBrainError)
    async def _domain(request: Request, exc: CityBrainError) -> Response:
        if isinstance(exc, NotAuthenticated | CityBrainError) and exc.http_status in (401, 403):
            _audit_refusal(request, exc)
        return error_response(request, exc.http_status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(exc)
        summary = "；".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return error_response(request, 422, "invalid", f"输入有误：{summary}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = {404: "页面或接口不存在", 405: "不支持该请求方法"}.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        rid = request_id_var.get()
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(
            request, 500, "internal_error", f"服务器内部错误，请联系管理员并提供请求编号 {rid}", {"request_id": rid}
        )


def _audit_refusal(request: Request, exc: CityBrainError) -> None:
    """Refusals are audited in their own transaction: the action's own one was rolled back."""
    from citybrain.audit.service import AuditEntry, record

    actor = getattr(request.state, "actor", None)
    if actor is None:
        return
    try:
        with request.app.state.db.session() as session:
            details = {"path": request.url.path, "method": request.method, "reason": exc.message}
            if isinstance(exc.details, dict) and "action" in exc.details:
                details["action"] = exc.details["action"]
            record(
                session,
                actor,
                AuditEntry("access_refused", result="denied", details=details),
                ip=request.client.host if request.client else None,
                request_id=request_id_var.get(),
            )
    except Exception:  # auditing a refusal must never turn it into a 500
        log.exception("could not audit a refusal")
