from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from citybrain.catalog import service, transfer
from citybrain.catalog.schemas import (
    ChangePublic,
    ResourceCreate,
    ResourcePublic,
    ResourceUpdate,
    SearchQuery,
    SearchResult,
    StandardCreate,
    StandardPublic,
    StandardUpdate,
)
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog 目录"])


class RetireIn(BaseModel):
    reason: str


@router.get("/standards", response_model=list[StandardPublic])
def standard_list(ctx: Ctx) -> object:
    return service.standard_list(ctx)


@router.get("/standards/{name}", response_model=StandardPublic)
def standard_show(ctx: Ctx, name: str) -> object:
    return service.standard_show(ctx, name)


@router.post("/standards", response_model=StandardPublic, status_code=201)
def standard_create(ctx: Ctx, data: StandardCreate) -> object:
    return service.standard_create(ctx, data)


@router.patch("/standards/{name}", response_model=StandardPublic)
def standard_update(ctx: Ctx, name: str, data: StandardUpdate) -> object:
    return service.standard_update(ctx, name, data)


@router.get("/resources", response_model=SearchResult, summary="Search the catalog (Chinese full text + filters)")
def resource_search(ctx: Ctx, query: Annotated[SearchQuery, Query()]) -> object:
    return service.resource_search(ctx, query)


@router.post("/resources", response_model=ResourcePublic, status_code=201)
def resource_create(ctx: Ctx, data: ResourceCreate) -> object:
    return service.to_public(service.resource_create(ctx, data))


@router.get("/resources/{ref}", response_model=ResourcePublic)
def resource_show(ctx: Ctx, ref: str) -> object:
    return service.resource_show(ctx, ref)


@router.patch("/resources/{ref}", response_model=ResourcePublic)
def resource_update(ctx: Ctx, ref: str, data: ResourceUpdate) -> object:
    return service.to_public(service.resource_update(ctx, ref, data))


@router.post("/resources/{ref}/retire", response_model=ResourcePublic)
def resource_retire(ctx: Ctx, ref: str, data: RetireIn) -> object:
    return service.to_public(service.resource_retire(ctx, ref, data.reason))


@router.get("/resources/{ref}/history", response_model=list[ChangePublic])
def resource_history(ctx: Ctx, ref: str) -> object:
    return service.resource_history(ctx, ref)


@router.get("/export", summary="Export the catalog as the 目录编制 Excel template or JSON")
def catalog_export(ctx: Ctx, format: str = "xlsx", dept: str | None = None) -> Response:
    content, media, filename = transfer.catalog_export(ctx, format=format, dept=dept)
    return Response(content, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'})


@router.post("/import", summary="Import catalog entries from the Excel template or JSON; all or nothing")
async def catalog_import(ctx: Ctx, file: UploadFile) -> dict[str, object]:
    data = await file.read()
    created = transfer.catalog_import(ctx, data, filename=file.filename or "upload")
    return {"created": [r.key for r in created], "count": len(created)}
