from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict

from citybrain.audit import service
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1/audit", tags=["audit 审计"])


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    action: str
    result: str
    actor_kind: str
    username: str | None
    dept_id: str | None
    token_id: str | None
    resource_type: str | None
    resource_id: str | None
    fields: list[str] | None
    row_count: int | None
    purpose: str | None
    ip: str | None
    details: dict[str, Any] | None
    hash: str


@router.get("/events", response_model=list[AuditPublic])
def audit_list(
    ctx: Ctx,
    action: str | None = None,
    user: str | None = None,
    resource: str | None = None,
    result: str | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> object:
    return service.audit_list(
        ctx, action_name=action, user=user, resource_id=resource, result=result, limit=limit, before_seq=before_seq
    )


@router.get("/verify")
def audit_verify(ctx: Ctx) -> dict[str, Any]:
    return service.audit_verify(ctx)


@router.get("/export", response_class=PlainTextResponse)
def audit_export(ctx: Ctx) -> PlainTextResponse:
    # the export is small enough per city-day to build in memory; streaming would outlive the session
    body = "".join(service.audit_export(ctx))
    return PlainTextResponse(
        body, media_type="application/x-ndjson", headers={"content-disposition": 'attachment; filename="audit.jsonl"'}
    )
