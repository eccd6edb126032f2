"""HTTP API of the sharing exchange: ``/api/v1/share/...``.

Data endpoints take the grant id in the path; with a grant's own token, ``-`` stands for "the grant
this token is bound to", so a system integrating one grant needs only its token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field, TypeAdapter
from starlette.routing import Route

from citybrain.errors import Invalid
from citybrain.share import access, anomalies, metrics, service
from citybrain.share.schemas import (
    AlertPublic,
    ApprovalIn,
    DemandAnswer,
    DemandCreate,
    DemandPublic,
    ExportIn,
    ExportPublic,
    GrantPublic,
    LookupIn,
    QueryIn,
    RefuseIn,
    ShareRequestCreate,
    ShareRequestPublic,
    TokenIssued,
    VerifyIn,
)
from citybrain.web.deps import Ctx, in_unit_of_work

router = APIRouter(prefix="/api/v1/share", tags=["share 共享交换"])


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=1000)


# -- requests ----------------------------------------------------------------------------------------


@router.post("/requests", response_model=ShareRequestPublic, status_code=201, summary="File a sharing request")
def share_request_create(ctx: Ctx, data: ShareRequestCreate) -> object:
    return service.share_request_create(ctx, data)


@router.get("/requests", response_model=list[ShareRequestPublic])
def share_request_list(ctx: Ctx, box: str = "all", status: str | None = None) -> object:
    return service.share_request_list(ctx, box=box, status=status)


@router.get("/requests/{request_id}", response_model=ShareRequestPublic)
def share_request_show(ctx: Ctx, request_id: str) -> object:
    return service.share_request_show(ctx, request_id)


@router.post("/requests/{request_id}/approve", response_model=ShareRequestPublic, summary="Approve, fully or in part")
def share_request_approve(ctx: Ctx, request_id: str, data: ApprovalIn | None = None) -> object:
    return service.share_request_approve(ctx, request_id, data)


@router.post("/requests/{request_id}/refuse", response_model=ShareRequestPublic)
def share_request_refuse(ctx: Ctx, request_id: str, data: RefuseIn) -> object:
    return service.share_request_refuse(ctx, request_id, data.reason)


# -- demands -----------------------------------------------------------------------------------------


@router.post("/demands", response_model=DemandPublic, status_code=201, summary="Ask for data not in the catalog")
def demand_create(ctx: Ctx, data: DemandCreate) -> object:
    return service.demand_create(ctx, data)


@router.get("/demands", response_model=list[DemandPublic])
def demand_list(ctx: Ctx, box: str = "all", status: str | None = None) -> object:
    return service.demand_list(ctx, box=box, status=status)


@router.post("/demands/{demand_id}/answer", response_model=DemandPublic)
def demand_answer(ctx: Ctx, demand_id: str, data: DemandAnswer) -> object:
    return service.demand_answer(ctx, demand_id, data)


# -- grants ------------------------------------------------------------------------------------------


@router.get("/grants", response_model=list[GrantPublic])
def grant_list(ctx: Ctx, box: str = "all", status: str | None = None) -> object:
    return service.grant_list(ctx, box=box, status=status)


@router.get("/grants/{grant_id}", response_model=GrantPublic)
def grant_show(ctx: Ctx, grant_id: str) -> object:
    return service.grant_show(ctx, grant_id)


@router.post("/grants/{grant_id}/suspend", response_model=GrantPublic)
def grant_suspend(ctx: Ctx, grant_id: str, data: ReasonIn) -> object:
    return service.grant_suspend(ctx, grant_id, data.reason)


@router.post("/grants/{grant_id}/resume", response_model=GrantPublic)
def grant_resume(ctx: Ctx, grant_id: str, data: ReasonIn | None = None) -> object:
    return service.grant_resume(ctx, grant_id, data.reason if data else "")


@router.post("/grants/{grant_id}/revoke", response_model=GrantPublic)
def grant_revoke(ctx: Ctx, grant_id: str, data: ReasonIn) -> object:
    return service.grant_revoke(ctx, grant_id, data.reason)


@router.post("/grants/{grant_id}/token", response_model=TokenIssued, status_code=201, summary="Issue the grant's token")
def grant_token_issue(ctx: Ctx, grant_id: str) -> object:
    return service.grant_token_issue(ctx, grant_id)


# -- data --------------------------------------------------------------------------------------------


@router.get("/grants/{grant_id}/records/{key}", summary="Look one record up by primary key")
async def share_lookup(request: Request, grant_id: str, key: str, version: int | None = None) -> dict[str, Any]:
    """Documents the call; requests are answered by :func:`_lookup_endpoint`, registered ahead of it."""
    return await _lookup(request, grant_id, key, version)


async def _lookup(request: Request, grant_id: str, key: str, version: int | None) -> dict[str, Any]:
    return await in_unit_of_work(
        request, lambda ctx: access.share_lookup(ctx, grant_id, key, version=version), on_loop=True
    )


_RECORD = TypeAdapter(dict[str, Any])


async def _lookup_endpoint(request: Request) -> Response:
    """``GET /api/v1/share/grants/{grant_id}/records/{key}`` as a plain Starlette route.

    The hottest call of the platform: FastAPI's per-request work for the route above — parameter
    parsing, dependency solving, response validation — costs about a quarter of the whole lookup.
    Same action, same unit of work, same errors (raised to the app's one handler, see ``web.errors``),
    and the same JSON: the answer is serialised as FastAPI serialises a ``dict[str, Any]``."""
    raw = request.query_params.get("version")
    version = None
    if raw is not None:
        try:
            version = int(raw)
        except ValueError:
            raise Invalid("version 应为整数（版本号）", details={"field": "version", "value": raw[:50]}) from None
    params = request.path_params
    result = await _lookup(request, params["grant_id"], params["key"], version)
    return Response(_RECORD.dump_json(result), media_type="application/json")


def setup(app: FastAPI) -> None:
    # first of all the app's routes: they are tried in order
    app.router.routes.insert(
        0, Route(router.prefix + "/grants/{grant_id}/records/{key}", _lookup_endpoint, methods=["GET"])
    )


@router.post("/grants/{grant_id}/lookup", summary="Look one record up by primary key (key in the body)")
async def share_lookup_post(request: Request, grant_id: str, data: LookupIn) -> dict[str, Any]:
    return await in_unit_of_work(
        request, lambda ctx: access.share_lookup(ctx, grant_id, data.key, version=data.version), on_loop=True
    )


@router.post("/grants/{grant_id}/query", summary="Filtered, paged query within the grant")
def share_query(ctx: Ctx, grant_id: str, data: QueryIn | None = None) -> dict[str, Any]:
    return access.share_query(ctx, grant_id, data)


@router.get("/grants/{grant_id}/rows", summary="Paged rows; each other query parameter filters a granted field")
def share_rows(
    ctx: Ctx,
    request: Request,
    grant_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    reserved = {"limit", "offset", "version", "lang"}
    filters: dict[str, Any] = {}
    for k, v in request.query_params.multi_items():
        if k not in reserved:
            filters.setdefault(k, []).append(v)
    return access.share_query(ctx, grant_id, QueryIn(filters=filters, limit=limit, offset=offset, version=version))


@router.post("/grants/{grant_id}/verify", summary="数据核验: does this record match? yes/no, no data")
async def share_verify(request: Request, grant_id: str, data: VerifyIn) -> dict[str, Any]:
    return await in_unit_of_work(request, lambda ctx: access.share_verify(ctx, grant_id, data))


@router.post("/grants/{grant_id}/exports", response_model=ExportPublic, status_code=202, summary="Start a bulk export")
def share_export_start(
    ctx: Ctx, request: Request, tasks: BackgroundTasks, grant_id: str, data: ExportIn | None = None
) -> object:
    export = access.share_export_start(ctx, grant_id, data)
    # runs after the response, i.e. after this request's transaction has committed the queued job
    tasks.add_task(access.run_export, request.app.state.db, request.app.state.settings, export.id)
    return export


@router.get("/exports/{export_id}", response_model=ExportPublic)
def share_export_show(ctx: Ctx, export_id: str) -> object:
    return access.share_export_show(ctx, export_id)


@router.get("/exports/{export_id}/download")
def share_export_download(ctx: Ctx, export_id: str) -> FileResponse:
    path, media, filename = access.share_export_download(ctx, export_id)
    return FileResponse(path, media_type=media, filename=filename)


# -- monitoring --------------------------------------------------------------------------------------


@router.get("/anomalies", response_model=list[AlertPublic])
def anomaly_list(ctx: Ctx, status: str | None = None, kind: str | None = None) -> object:
    return anomalies.anomaly_list(ctx, status=status, kind=kind)


@router.post("/anomalies/{alert_id}/acknowledge", response_model=AlertPublic)
def anomaly_acknowledge(ctx: Ctx, alert_id: str, data: ReasonIn | None = None) -> object:
    return anomalies.anomaly_acknowledge(ctx, alert_id, data.reason if data else "")


@router.get("/metrics")
def share_metrics(ctx: Ctx) -> dict[str, Any]:
    return metrics.share_metrics(ctx)


@router.get("/usage")
def share_usage(ctx: Ctx, grant_id: str | None = None, days: int = 30) -> dict[str, Any]:
    return metrics.share_usage(ctx, grant_id=grant_id, days=days)
