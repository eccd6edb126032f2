"""Open-data HTTP API: publishing (prepare, batches), rows and downloads, 有条件开放 applications,
apps, metrics, and the DCAT-AP catalog (``/catalog.jsonld``, ``/catalog.ttl``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy import select

from citybrain.errors import Invalid
from citybrain.opendata import ckan, dcat, search, service
from citybrain.opendata import query as q
from citybrain.opendata.models import DatasetStatus, OpenApplication, OpenCatalogBatch, OpenDataset
from citybrain.opendata.schemas import (
    ApplicationCreate,
    ApplicationDecision,
    AppRegister,
    DatasetPrepare,
    DatasetUpdate,
)
from citybrain.org.models import Department
from citybrain.web.deps import Ctx

router = APIRouter(tags=["opendata 开放数据"])
PREFIX = "/api/v1/open"


class ReasonIn(BaseModel):
    reason: str


class NoteIn(BaseModel):
    note: str = ""


class BatchIn(BaseModel):
    title: str
    datasets: list[str]


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _dept(ctx: Ctx, ds: OpenDataset) -> Department:
    dept = ctx.session.get(Department, ds.dept_id)
    assert dept is not None
    return dept


def _served(ctx: Ctx, ds: OpenDataset) -> list[q.ServedField]:
    try:
        version = q.resolve_version(service.lake_for(ctx), ds)
    except Exception:
        return []
    return q.served_fields(ds, service.dataset_resource(ctx.session, ds), version)


def dataset_out(ctx: Ctx, request: Request, ds: OpenDataset, *, detail: bool = False) -> dict[str, Any]:
    out = ckan.package_dict(ds, _dept(ctx, ds), base_url(request), _served(ctx, ds) if detail else None)
    out["status"] = ds.status
    return out


def batch_out(batch: OpenCatalogBatch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "title": batch.title,
        "status": batch.status,
        "dataset_ids": batch.dataset_ids,
        "submitted_by": batch.submitted_by,
        "submitted_at": batch.submitted_at.isoformat(),
        "decided_by": batch.decided_by,
        "decided_at": batch.decided_at.isoformat() if batch.decided_at else None,
        "reason": batch.reason,
    }


def application_out(app: OpenApplication) -> dict[str, Any]:
    return {
        "id": app.id,
        "dataset_id": app.dataset_id,
        "status": app.status,
        "applicant_kind": app.applicant_kind,
        "organization": app.organization,
        "purpose": app.purpose,
        "intended_use": app.intended_use,
        "terms_version": app.terms_version,
        "created_at": app.created_at.isoformat(),
        "decided_by": app.decided_by,
        "decided_at": app.decided_at.isoformat() if app.decided_at else None,
        "reason": app.reason,
        "daily_calls": app.daily_calls,
        "max_rows": app.max_rows,
        "expires_at": app.expires_at.isoformat() if app.expires_at else None,
        "has_key": bool(app.token_id),
    }


# -- datasets --------------------------------------------------------------------------------------


@router.get(f"{PREFIX}/datasets", summary="Search open datasets (Chinese full text, fq filters, facets)")
def dataset_search(
    ctx: Ctx, request: Request, q: str = "", fq: str = "", rows: int = 20, start: int = 0, sort: str = ""
) -> dict[str, Any]:
    query = search.Query(q=q, fq=fq, rows=rows, start=start, sort=sort, facet_fields=list(search.FACET_FIELDS))
    result = service.open_dataset_search(ctx, query)
    base = base_url(request)
    return {
        "count": result.count,
        "results": [ckan.package_dict(ds, result.depts[ds.dept_id], base) for ds in result.datasets],
        "facets": result.facets,
    }


@router.post(f"{PREFIX}/datasets", status_code=201, summary="Prepare an open dataset from a catalog resource")
def dataset_prepare(ctx: Ctx, request: Request, data: DatasetPrepare) -> dict[str, Any]:
    return dataset_out(ctx, request, service.open_dataset_prepare(ctx, data), detail=True)


@router.get(f"{PREFIX}/datasets/{{name}}")
def dataset_show(ctx: Ctx, request: Request, name: str) -> dict[str, Any]:
    return dataset_out(ctx, request, service.open_dataset_show(ctx, name), detail=True)


@router.patch(f"{PREFIX}/datasets/{{name}}")
def dataset_update(ctx: Ctx, request: Request, name: str, data: DatasetUpdate) -> dict[str, Any]:
    return dataset_out(ctx, request, service.open_dataset_update(ctx, name, data), detail=True)


@router.post(f"{PREFIX}/datasets/{{name}}/withdraw")
def dataset_withdraw(ctx: Ctx, request: Request, name: str, data: ReasonIn) -> dict[str, Any]:
    return dataset_out(ctx, request, service.open_dataset_withdraw(ctx, name, data.reason))


@router.get(f"{PREFIX}/datasets/{{name}}/rows", summary="Masked rows, filtered and paged (as datastore_search)")
def dataset_rows(
    ctx: Ctx,
    name: str,
    limit: int = 100,
    offset: int = 0,
    sort: str | None = None,
    q: str | None = None,
    filters: str | None = None,
    fields: str | None = None,
) -> dict[str, Any]:
    try:
        parsed = json.loads(filters) if filters else None
    except ValueError:
        raise Invalid("filters 应为 JSON 对象", details={"field": "filters"}) from None
    if parsed is not None and not isinstance(parsed, dict):
        raise Invalid("filters 应为 JSON 对象", details={"field": "filters"})
    result = service.open_dataset_rows(
        ctx,
        name,
        filters=parsed,
        text=q,
        fields=[f for f in (fields or "").split(",") if f] or None,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return {
        "fields": [{"id": f.name, "title": f.title, "type": f.data_type, "masked": f.masked} for f in result.fields],
        "records": result.records,
        "total": result.total,
        "limit": limit,
        "offset": offset,
        "version": result.version.version,
    }


@router.get(f"{PREFIX}/datasets/{{name}}/versions")
def dataset_versions(ctx: Ctx, name: str) -> list[dict[str, Any]]:
    ds = service.open_dataset_show(ctx, name)
    return [
        {"version": v.version, "rows": v.rows, "created_at": v.created_at} for v in service.version_history(ctx, ds)
    ]


_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def download_response(download: service.Download, fmt: str) -> Response:
    ds = download.dataset
    headers = {"content-disposition": f'attachment; filename="{ds.name}-v{download.version.version}.{fmt}"'}
    if fmt == "xlsx":
        content = q.xlsx_bytes(download.batches(), download.fields, ds.title)
        return Response(content, media_type=_MEDIA[fmt], headers=headers)
    if fmt == "csv":
        chunks = q.csv_chunks(download.batches(), download.fields)
    else:
        meta = {"dataset": ds.name, "title": ds.title, "version": download.version.version, "licence": ds.licence}
        chunks = q.json_chunks(download.batches(), download.fields, meta)
    return StreamingResponse(chunks, media_type=_MEDIA[fmt], headers=headers)


@router.get(f"{PREFIX}/datasets/{{name}}/download.{{fmt}}", summary="Download as CSV (UTF-8 BOM), XLSX or JSON")
def dataset_download(ctx: Ctx, name: str, fmt: str) -> Response:
    download = service.open_dataset_download(ctx, name, fmt)
    # the audit record and counters are committed before the body streams
    ctx.session.commit()
    return download_response(download, fmt)


@router.post(f"{PREFIX}/sync", summary="Pick up new lake versions for datasets that follow their resource")
def dataset_sync(ctx: Ctx, dept: str | None = None) -> dict[str, Any]:
    return {"changed": service.open_dataset_sync(ctx, dept)}


# -- batches ---------------------------------------------------------------------------------------


@router.get(f"{PREFIX}/batches")
def batch_list(ctx: Ctx, status: str | None = None) -> list[dict[str, Any]]:
    return [batch_out(b) for b in service.open_batch_list(ctx, status)]


@router.post(f"{PREFIX}/batches", status_code=201, summary="Submit an 开放目录批次 for the CDO's approval")
def batch_submit(ctx: Ctx, data: BatchIn) -> dict[str, Any]:
    return batch_out(service.open_batch_submit(ctx, data.title, data.datasets))


@router.post(f"{PREFIX}/batches/{{batch_id}}/approve")
def batch_approve(ctx: Ctx, batch_id: str, data: NoteIn) -> dict[str, Any]:
    return batch_out(service.open_batch_approve(ctx, batch_id, data.note))


@router.post(f"{PREFIX}/batches/{{batch_id}}/reject")
def batch_reject(ctx: Ctx, batch_id: str, data: ReasonIn) -> dict[str, Any]:
    return batch_out(service.open_batch_reject(ctx, batch_id, data.reason))


# -- 有条件开放 applications ------------------------------------------------------------------------


@router.post(f"{PREFIX}/applications", status_code=201)
def application_create(ctx: Ctx, data: ApplicationCreate) -> dict[str, Any]:
    return application_out(service.open_application_create(ctx, data))


@router.get(f"{PREFIX}/applications")
def application_list(ctx: Ctx, review: bool = False, status: str | None = None) -> list[dict[str, Any]]:
    return [application_out(a) for a in service.open_application_list(ctx, review=review, status=status)]


@router.get(f"{PREFIX}/applications/{{app_id}}")
def application_show(ctx: Ctx, app_id: str) -> dict[str, Any]:
    return application_out(service.open_application_show(ctx, app_id))


@router.post(f"{PREFIX}/applications/{{app_id}}/decide")
def application_decide(ctx: Ctx, app_id: str, data: ApplicationDecision) -> dict[str, Any]:
    return application_out(service.open_application_decide(ctx, app_id, data))


@router.post(
    f"{PREFIX}/applications/{{app_id}}/key", status_code=201, summary="Collect the personal API key (shown once)"
)
def application_key(ctx: Ctx, app_id: str) -> dict[str, Any]:
    app, secret = service.open_application_key(ctx, app_id)
    return {**application_out(app), "api_key": secret}


@router.post(f"{PREFIX}/applications/{{app_id}}/revoke")
def application_revoke(ctx: Ctx, app_id: str, data: ReasonIn) -> dict[str, Any]:
    return application_out(service.open_application_revoke(ctx, app_id, data.reason))


# -- apps and metrics ------------------------------------------------------------------------------


@router.get(f"{PREFIX}/apps")
def app_list(ctx: Ctx, dataset: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "id": a.id,
            "name": a.name,
            "description": a.description,
            "url": a.url,
            "developer": a.developer,
            "datasets": [d.name for d in used],
        }
        for a, used in service.open_app_list(ctx, dataset)
    ]


@router.post(f"{PREFIX}/apps", status_code=201)
def app_register(ctx: Ctx, data: AppRegister) -> dict[str, Any]:
    app = service.open_app_register(ctx, data)
    return {"id": app.id, "name": app.name}


@router.get(f"{PREFIX}/metrics", summary="公共信息资源社会开放率, downloads, API calls, applications, apps")
def metrics(ctx: Ctx) -> dict[str, Any]:
    return service.open_metrics_show(ctx)


@router.get(f"{PREFIX}/metrics/detail", summary="The chief data officer's view: per department and daily usage")
def metrics_detail(ctx: Ctx, days: int = 30) -> dict[str, Any]:
    return service.open_metrics_detail(ctx, days)


# -- DCAT-AP ---------------------------------------------------------------------------------------

_RDF_MEDIA = {"jsonld": "application/ld+json", "ttl": "text/turtle; charset=utf-8"}


def _published_with_depts(ctx: Ctx) -> list[tuple[OpenDataset, Department]]:
    service.open_dataset_search(ctx, search.Query(rows=0))
    rows = ctx.session.execute(
        select(OpenDataset, Department)
        .join(Department, Department.id == OpenDataset.dept_id)
        .where(OpenDataset.status == DatasetStatus.PUBLISHED)
        .order_by(OpenDataset.name)
    ).all()
    return [(ds, dept) for ds, dept in rows]


@router.get("/catalog.jsonld", summary="The open catalog in DCAT-AP (JSON-LD)")
def catalog_jsonld(ctx: Ctx, request: Request) -> Response:
    graph = dcat.catalog_graph(base_url(request), _published_with_depts(ctx))
    return Response(dcat.serialize(graph, "jsonld"), media_type=_RDF_MEDIA["jsonld"])


@router.get("/catalog.ttl", summary="The open catalog in DCAT-AP (Turtle)")
def catalog_ttl(ctx: Ctx, request: Request) -> Response:
    graph = dcat.catalog_graph(base_url(request), _published_with_depts(ctx))
    return Response(dcat.serialize(graph, "ttl"), media_type=_RDF_MEDIA["ttl"])


def _dataset_rdf(ctx: Ctx, request: Request, name: str, fmt: str) -> Response:
    ds = service.open_dataset_show(ctx, name)
    if ds.status != DatasetStatus.PUBLISHED:
        from citybrain.errors import NotFound

        raise NotFound(f"开放数据集 {name} 不存在")
    graph = dcat.new_graph()
    dcat.add_dataset(graph, base_url(request), ds, _dept(ctx, ds))
    return Response(dcat.serialize(graph, fmt), media_type=_RDF_MEDIA[fmt])


@router.get("/portal/datasets/{name}.jsonld", summary="One dataset in DCAT-AP (JSON-LD)")
def dataset_jsonld(ctx: Ctx, request: Request, name: str) -> Response:
    return _dataset_rdf(ctx, request, name, "jsonld")


@router.get("/portal/datasets/{name}.ttl", summary="One dataset in DCAT-AP (Turtle)")
def dataset_ttl(ctx: Ctx, request: Request, name: str) -> Response:
    return _dataset_rdf(ctx, request, name, "ttl")
