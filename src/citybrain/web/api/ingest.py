"""HTTP adapter for aggregation (归集): uploads, loads, quarantine, versions, pulls and jobs."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse

from citybrain.actions import Context
from citybrain.ingest import service
from citybrain.ingest.models import IngestLoad, LoadStatus
from citybrain.ingest.schemas import (
    JobPublic,
    LoadPage,
    LoadPublic,
    PruneIn,
    QuarantineGroup,
    QuarantinePage,
    ResubmitIn,
    RowsPage,
    SourceCreate,
    SourcePublic,
    VersionPublic,
)
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest 归集"])

#: uploads larger than this load in the background unless the client says otherwise: a foreground
#: load holds the request (and, on SQLite, the database's write lock) until it is done
BACKGROUND_BYTES = 16 << 20


def _answer(load: IngestLoad, *, created: int = 201) -> JSONResponse:
    """A load's outcome; a failed load answers 422 but is still recorded (the transaction commits)."""
    body = LoadPublic.model_validate(load).model_dump(mode="json")
    if load.status == LoadStatus.QUEUED.value:
        return JSONResponse(
            {"load": body, "job_id": load.job_id, "job_url": f"/api/v1/ingest/jobs/{load.job_id}"}, status_code=202
        )
    if load.status == LoadStatus.FAILED.value:
        error = {"code": "invalid", "message": load.error, "details": {**(load.error_details or {}), "load": body}}
        return JSONResponse({"error": error}, status_code=422)
    return JSONResponse(body, status_code=created)


def load_upload(
    ctx: Context,
    ref: str,
    upload: UploadFile,
    *,
    mode: str = "replace",
    sheet: str | None = None,
    encoding: str | None = None,
    background: bool | None = None,
) -> IngestLoad:
    """Keep an uploaded file under a fresh name and load it (in the background when it is large, unless
    ``background`` says); the file goes once the load is done or refused. The console's form uses it too."""
    suffix = Path(upload.filename or "").suffix.lower()
    path = service.uploads_dir(ctx.settings) / f"{uuid.uuid4().hex}{suffix}"
    with open(path, "wb") as fh:
        shutil.copyfileobj(upload.file, fh, 4 << 20)
    if background is None:
        background = path.stat().st_size > BACKGROUND_BYTES

    def cleanup() -> None:
        path.unlink(missing_ok=True)

    try:
        return service.resource_load(
            ctx,
            ref,
            path,
            mode=mode,
            filename=upload.filename or path.name,
            sheet=sheet,
            encoding=encoding,
            background=background,
            cleanup=cleanup,
        )
    except BaseException:
        cleanup()
        raise


@router.post("/resources/{ref}/loads", summary="Upload a file (CSV/XLSX/JSON/Parquet) and load it into a resource")
def resource_load(
    ctx: Ctx,
    ref: str,
    file: Annotated[UploadFile, File()],
    mode: Annotated[str, Form()] = "replace",
    background: Annotated[bool | None, Form(description="default: in the background when over 16 MiB")] = None,
    sheet: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    load = load_upload(ctx, ref, file, mode=mode, sheet=sheet, encoding=encoding, background=background)
    return _answer(load)


@router.get("/loads", response_model=LoadPage)
def load_list(
    ctx: Ctx, resource: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0
) -> object:
    return service.load_list(ctx, ref=resource, status=status, limit=limit, offset=offset)


@router.get("/loads/{load_id}", response_model=LoadPublic)
def load_show(ctx: Ctx, load_id: str) -> object:
    return service.load_show(ctx, load_id)


@router.get("/loads/{load_id}/quarantine", response_model=QuarantinePage)
def load_quarantine(ctx: Ctx, load_id: str, status: str | None = None, limit: int = 50, offset: int = 0) -> object:
    return service.quarantine_list(ctx, None, load_id=load_id, status=status, limit=limit, offset=offset)


@router.get("/resources/{ref}/quarantine", response_model=QuarantinePage)
def quarantine_list(
    ctx: Ctx,
    ref: str,
    status: str | None = "open",
    field: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> object:
    return service.quarantine_list(ctx, ref, status=status or None, field=field, kind=kind, limit=limit, offset=offset)


@router.get(
    "/resources/{ref}/quarantine/summary",
    response_model=list[QuarantineGroup],
    summary="Quarantined rows grouped by field and kind of problem, largest group first",
)
def quarantine_summary(ctx: Ctx, ref: str, status: str | None = "open") -> object:
    return service.quarantine_summary(ctx, ref, status=status or None)


@router.post("/resources/{ref}/quarantine/resubmit", summary="Correct quarantined rows and merge the good ones")
def quarantine_resubmit(ctx: Ctx, ref: str, data: ResubmitIn, background: bool = False) -> JSONResponse:
    return _answer(service.quarantine_resubmit(ctx, ref, data.rows, background=background))


@router.get("/resources/{ref}/versions", response_model=list[VersionPublic], response_model_by_alias=True)
def version_list(ctx: Ctx, ref: str) -> object:
    return service.version_list(ctx, ref)


@router.get("/resources/{ref}/versions/{version}", response_model=RowsPage, summary="Rows of an earlier version")
def version_read(ctx: Ctx, ref: str, version: int, limit: int = 100, offset: int = 0) -> object:
    return service.version_read(ctx, ref, version, limit=limit, offset=offset)


@router.get("/resources/{ref}/preview", response_model=RowsPage)
def resource_preview(ctx: Ctx, ref: str, version: int | None = None, limit: int = 20) -> object:
    return service.resource_preview(ctx, ref, version=version, limit=limit)


@router.post("/resources/{ref}/prune", summary="Retention: keep the last N versions")
def version_prune(ctx: Ctx, ref: str, data: PruneIn) -> dict[str, Any]:
    removed = service.version_prune(ctx, ref, keep_last=data.keep_last, keep_days=data.keep_days)
    return {"removed": removed}


@router.get("/sources", response_model=list[SourcePublic])
def source_list(ctx: Ctx, resource: Annotated[str | None, Query()] = None) -> object:
    return service.source_list(ctx, ref=resource)


@router.post("/sources", response_model=SourcePublic, status_code=201)
def source_create(ctx: Ctx, data: SourceCreate) -> object:
    src = service.source_create(ctx, data)
    return service.source_public(src, service.get_resource(ctx.session, src.resource_id).key)


@router.post("/sources/{ref}/run", summary="Pull a stored source now")
def source_run(ctx: Ctx, ref: str, background: bool = False) -> JSONResponse:
    return _answer(service.source_run(ctx, ref, background=background))


@router.get("/jobs/{job_id}", response_model=JobPublic)
def job_show(ctx: Ctx, job_id: str) -> object:
    return service.job_show(ctx, job_id)
