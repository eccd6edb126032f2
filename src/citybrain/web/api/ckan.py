"""CKAN-compatible Action API under ``/api/3/action/{name}`` (GET and POST), read-only.

Speaks CKAN's envelope (``{"help", "success", "result"}``), its error shape
(``{"success": false, "error": {"__type": "Not Found Error", "message": …}}``) and its status
codes, so ``ckanapi``, harvesters and existing CKAN clients work against the portal unchanged.
There is deliberately no ``datastore_search_sql`` and no write action.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybrain.actions import Context
from citybrain.auth.actor import Actor
from citybrain.auth.service import TOKEN_PREFIX, actor_from_token
from citybrain.errors import CityBrainError, Invalid, NotAuthenticated, NotAuthorized, NotFound, RateLimited
from citybrain.opendata import ckan, search, service
from citybrain.opendata.models import DatasetStatus, OpenDataset, OpenDatasetTag
from citybrain.org.models import Department
from citybrain.web.deps import request_context, resolve_actor

router = APIRouter(tags=["CKAN Action API"])

PREFIXES = ("/api/3/action/", "/api/action/")

#: CKAN actions that change things: answered with an Authorization Error, never executed
_WRITE_ACTIONS = {
    "package_create",
    "package_update",
    "package_patch",
    "package_delete",
    "resource_create",
    "resource_update",
    "resource_patch",
    "resource_delete",
    "organization_create",
    "organization_update",
    "group_create",
    "datastore_create",
    "datastore_upsert",
    "datastore_delete",
}


def _ckan_actor(request: Request, session: Session) -> Actor:
    # CKAN's ways of sending a key: a bare ``Authorization: <key>`` header (what ckanapi sends) and
    # ``X-CKAN-API-Key``; a browser session otherwise
    auth = request.headers.get("authorization", "").strip()
    key = request.headers.get("x-ckan-api-key", "").strip()
    if auth.startswith(TOKEN_PREFIX):
        return actor_from_token(session, auth)
    if key:
        return actor_from_token(session, key)
    return resolve_actor(request, session)


def ckan_context(request: Request) -> Iterator[Context]:
    """Like ``web.deps.get_context``, also reading CKAN's ways of sending a key."""
    yield from request_context(request, _ckan_actor)


CkanCtx = Annotated[Context, Depends(ckan_context, scope="function")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _help(request: Request, name: str) -> str:
    return f"{_base(request)}/api/3/action/help_show?name={name}"


def _envelope(request: Request, name: str, result: Any) -> JSONResponse:
    return JSONResponse({"help": _help(request, name), "success": True, "result": result})


_ERRORS: list[tuple[type[CityBrainError], int, str, str]] = [
    (NotFound, 404, "Not Found Error", "Not found"),
    (search.SearchQueryError, 409, "Search Query Error", "Search Query Error"),
    (NotAuthenticated, 403, "Authorization Error", "Access denied"),
    (NotAuthorized, 403, "Authorization Error", "Access denied"),
    (RateLimited, 429, "Rate Limit Error", "Rate limit"),
]


def error_envelope(request: Request, name: str, exc: CityBrainError) -> JSONResponse:
    match = next((m for m in _ERRORS if isinstance(exc, m[0])), None)
    if match is not None:
        _, status, etype, prefix = match
        error: dict[str, Any] = {"__type": etype, "message": f"{prefix}: {exc.message}"}
    else:
        status = 409
        error = {"__type": "Validation Error", "message": exc.message}
        details = exc.details if isinstance(exc.details, dict) else {}
        field = details.get("field")
        if isinstance(field, str):
            error[field] = [exc.message]
    return JSONResponse({"help": _help(request, name), "success": False, "error": error}, status_code=status)


def _render_error(request: Request, status: int, code: str, message: str, details: object) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    status = 403 if status == 401 else status
    etype = {404: "Not Found Error", 403: "Authorization Error", 401: "Authorization Error"}.get(status)
    if status == 405:
        etype = "Bad request"
    error = {
        "__type": etype or ("Validation Error" if status in (409, 422) else "Internal Server Error"),
        "message": message,
    }
    return JSONResponse({"help": _help(request, name), "success": False, "error": error}, status_code=status)


def setup(app: FastAPI) -> None:
    for prefix in PREFIXES:
        app.state.error_renderers[prefix] = _render_error


# -- parameters ------------------------------------------------------------------------------------


async def _params(request: Request) -> dict[str, Any]:
    """GET query parameters or a POST body (JSON or form), as one dict."""
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            params[key] = [*params[key], value] if isinstance(params[key], list) else [params[key], value]
        else:
            params[key] = value
    if request.method == "POST":
        body = await request.body()
        if body:
            ctype = request.headers.get("content-type", "")
            if "application/x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype:
                form = await request.form()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                try:
                    data = json.loads(body)
                except ValueError:
                    raise Invalid("请求体不是合法的 JSON", details={"field": "body"}) from None
                if not isinstance(data, dict):
                    raise Invalid("请求体应为 JSON 对象", details={"field": "body"})
                params.update(data)
    return params


def _json_param(value: Any, name: str) -> Any:
    """CKAN accepts structured parameters as JSON strings in GET requests."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            raise Invalid(f"参数 {name} 不是合法的 JSON", details={"field": name}) from None
    return value


def _int(params: dict[str, Any], name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise Invalid(f"参数 {name} 应为整数", details={"field": name}) from None
    if value < low or (high is not None and value > high):
        raise Invalid(f"参数 {name} 应在 {low}–{high or '∞'} 之间", details={"field": name})
    return value


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    raw = params.get(name, default)
    if isinstance(raw, bool):
        return raw
    return str(raw).lower() in ("true", "1", "yes", "on")


def _list(value: Any, name: str) -> list[str]:
    value = _json_param(value, name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None or str(value).strip() == "":
        raise Invalid(f"缺少参数 {name}", details={"field": name})
    return str(value)


# -- actions ---------------------------------------------------------------------------------------

Handler = Callable[[Context, dict[str, Any], str], Any]
HANDLERS: dict[str, Handler] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


@handler("status_show")
def status_show(ctx: Context, params: dict[str, Any], base: str) -> Any:
    metrics = service.open_metrics_show(ctx)
    return {
        "site_title": "常州市公共数据开放平台",
        "site_description": "城市大脑公共数据开放平台，兼容 CKAN Action API（只读）",
        "site_url": base,
        "ckan_version": ckan.CKAN_VERSION,
        "api_version": 3,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "dcat"],
        "package_count": metrics["datasets"],
    }


def _published(ctx: Context, ref: str) -> OpenDataset:
    ds = service.open_dataset_show(ctx, ref)
    if ds.status != DatasetStatus.PUBLISHED:
        # staff may see their drafts on the portal; the CKAN API lists only what is open
        raise NotFound(f"开放数据集 {ref} 不存在", details={"dataset": ref})
    return ds


@handler("package_list")
def package_list(ctx: Context, params: dict[str, Any], base: str) -> Any:
    service.open_dataset_search(ctx, search.Query(rows=0))
    limit = _int(params, "limit", 100_000, high=100_000)
    offset = _int(params, "offset", 0)
    return list(
        ctx.session.scalars(
            select(OpenDataset.name)
            .where(OpenDataset.status == DatasetStatus.PUBLISHED)
            .order_by(OpenDataset.name)
            .limit(limit)
            .offset(offset)
        )
    )


@handler("package_search")
def package_search(ctx: Context, params: dict[str, Any], base: str) -> Any:
    facet_fields = _list(params.get("facet.field"), "facet.field")
    # Solr lets clients put field queries in q ("tags:公交 客流"); they are filters here
    words, fields = [], []
    for token in str(params.get("q") or "").split():
        name = token.lstrip("+-").split(":", 1)[0]
        (fields if ":" in token and name in search.FQ_FIELDS else words).append(token)
    raw_fq = params.get("fq")
    fq = " ".join(_list(raw_fq, "fq")) if isinstance(raw_fq, list) else str(raw_fq or "")
    query = search.Query(
        q=" ".join(words),
        fq=" ".join([fq, *fields]).strip(),
        rows=_int(params, "rows", 10, high=1000),
        start=_int(params, "start", 0),
        sort=str(params.get("sort") or ""),
        facet_fields=facet_fields if _bool(params, "facet", True) else [],
        facet_limit=_int(params, "facet.limit", 50, low=-1) if params.get("facet.limit") is not None else 50,
    )
    if query.facet_limit < 0:
        query.facet_limit = 10_000
    result = service.open_dataset_search(ctx, query)
    return {
        "count": result.count,
        "sort": query.sort or "score desc, metadata_modified desc",
        "results": [ckan.package_dict(ds, result.depts[ds.dept_id], base) for ds in result.datasets],
        "facets": result.facets,
        "search_facets": {
            name: {
                "title": name,
                "items": [
                    {"name": k, "display_name": _display(result.depts, name, k), "count": n} for k, n in counts.items()
                ],
            }
            for name, counts in result.facets.items()
        },
    }


def _display(depts: dict[str, Department], facet: str, key: str) -> str:
    if facet == "organization":
        for d in depts.values():
            if d.code == key:
                return d.name
    return key


def _served(ctx: Context, ds: OpenDataset) -> list[Any]:
    try:
        version = service.q.resolve_version(service.lake_for(ctx), ds)
    except NotFound:
        return []
    return service.q.served_fields(ds, service.dataset_resource(ctx.session, ds), version)


@handler("package_show")
def package_show(ctx: Context, params: dict[str, Any], base: str) -> Any:
    ds = _published(ctx, _required(params, "id"))
    service.count_usage(ctx, ds, "api", ctx.actor.token_id)
    dept = ctx.session.get(Department, ds.dept_id)
    assert dept is not None
    return ckan.package_dict(ds, dept, base, _served(ctx, ds))


@handler("resource_show")
def resource_show(ctx: Context, params: dict[str, Any], base: str) -> Any:
    rid = _required(params, "id")
    dataset_ref, fmt = ckan.split_resource_id(rid)
    try:
        ds = _published(ctx, dataset_ref)
    except NotFound:
        raise NotFound(f"资源 {rid} 不存在", details={"resource": rid}) from None
    for res in ckan.resource_dicts(ds, base):
        if res["id"] == ckan.resource_id(ds, fmt):
            res["datastore_fields"] = ckan.dictionary(_served(ctx, ds)) if fmt == "csv" else []
            return res
    raise NotFound(f"资源 {rid} 不存在", details={"resource": rid})  # pragma: no cover


def _org_counts(ctx: Context) -> list[tuple[Department, int]]:
    return service.open_org_list(ctx)


@handler("organization_list")
def organization_list(ctx: Context, params: dict[str, Any], base: str) -> Any:
    rows = _org_counts(ctx)
    wanted = set(_list(params.get("organizations"), "organizations"))
    if wanted:
        rows = [(d, n) for d, n in rows if d.code in wanted or d.id in wanted]
    sort = str(params.get("sort") or "name asc")
    if sort.startswith("package_count"):
        rows.sort(key=lambda r: r[1], reverse="desc" in sort)
    else:
        rows.sort(key=lambda r: r[0].code, reverse="desc" in sort)
    offset = _int(params, "offset", 0)
    limit = _int(params, "limit", 1000, high=1000)
    rows = rows[offset : offset + limit]
    if _bool(params, "all_fields", False):
        return [ckan.org_dict(d, n) for d, n in rows]
    return [d.code for d, _ in rows]


@handler("organization_show")
def organization_show(ctx: Context, params: dict[str, Any], base: str) -> Any:
    ref = _required(params, "id")
    for dept, n in _org_counts(ctx):
        if ref in (dept.id, dept.code, dept.name):
            out = ckan.org_dict(dept, n)
            if _bool(params, "include_datasets", False):
                found = service.open_dataset_search(
                    ctx, search.Query(rows=1000, filters={"organization": [dept.id]}, sort="name asc")
                )
                out["packages"] = [ckan.package_dict(ds, dept, base) for ds in found.datasets]
            return out
    raise NotFound(f"组织 {ref} 不存在或没有开放数据集", details={"organization": ref})


@handler("group_list")
def group_list(ctx: Context, params: dict[str, Any], base: str) -> Any:
    service.open_dataset_search(ctx, search.Query(rows=0))
    rows = ctx.session.execute(
        select(OpenDataset.topic, func.count())
        .where(OpenDataset.status == DatasetStatus.PUBLISHED, OpenDataset.topic.isnot(None))
        .group_by(OpenDataset.topic)
        .order_by(OpenDataset.topic)
    ).all()
    if _bool(params, "all_fields", False):
        return [ckan.group_dict(t, int(n)) for t, n in rows]
    return [t for t, _ in rows]


@handler("tag_list")
def tag_list(ctx: Context, params: dict[str, Any], base: str) -> Any:
    service.open_dataset_search(ctx, search.Query(rows=0))
    stmt = (
        select(OpenDatasetTag.tag)
        .join(OpenDataset, OpenDataset.id == OpenDatasetTag.dataset_id)
        .where(OpenDataset.status == DatasetStatus.PUBLISHED)
        .group_by(OpenDatasetTag.tag)
        .order_by(OpenDatasetTag.tag)
    )
    text = str(params.get("query") or "").strip()
    if text:
        stmt = stmt.where(OpenDatasetTag.tag.contains(text, autoescape=True))
    tags = list(ctx.session.scalars(stmt))
    if _bool(params, "all_fields", False):
        return [{"id": t, "name": t, "display_name": t, "vocabulary_id": None} for t in tags]
    return tags


_CKAN_TYPES = {
    "integer": "int",
    "decimal": "numeric",
    "date": "date",
    "datetime": "timestamp",
    "boolean": "bool",
    "string": "text",
}


@handler("datastore_search")
def datastore_search(ctx: Context, params: dict[str, Any], base: str) -> Any:
    rid = _required(params, "resource_id")
    dataset_ref, fmt = ckan.split_resource_id(rid)
    if fmt != "csv":
        raise Invalid(f"资源 {rid} 不在 DataStore 中，请使用对应的 CSV 资源", details={"field": "resource_id"})
    records_format = str(params.get("records_format") or "objects")
    if records_format != "objects":
        raise Invalid("records_format 仅支持 objects", details={"field": "records_format"})
    filters = _json_param(params.get("filters"), "filters")
    if filters is not None and not isinstance(filters, dict):
        raise Invalid("filters 应为 JSON 对象", details={"field": "filters"})
    text = _json_param(params.get("q"), "q")
    if text is not None and not isinstance(text, str | dict):
        raise Invalid("q 应为字符串或 JSON 对象", details={"field": "q"})
    fields = _list(params.get("fields"), "fields") or None
    sort = params.get("sort")
    sort = ", ".join(sort) if isinstance(sort, list) else (str(sort) if sort else None)
    limit = _int(params, "limit", 100)
    offset = _int(params, "offset", 0)
    total = _bool(params, "include_total", True)
    try:
        ds = _published(ctx, dataset_ref)
    except NotFound:
        raise NotFound(f"资源 {rid} 不存在", details={"resource": rid}) from None
    result = service.open_dataset_rows(
        ctx, ds.id, filters=filters, text=text, fields=fields, sort=sort, limit=limit, offset=offset, total=total
    )
    link = f"/api/3/action/datastore_search?resource_id={rid}"
    out: dict[str, Any] = {
        "resource_id": rid,
        "fields": [
            {
                "id": f.name,
                "type": _CKAN_TYPES.get(f.data_type, "text"),
                "info": {"label": f.title, "notes": service.q.describe_mask(f.mask)},
            }
            for f in result.fields
        ],
        "records": result.records,
        "limit": limit,
        "offset": offset,
        "_links": {"start": link, "next": f"{link}&offset={offset + limit}"},
        "records_format": "objects",
    }
    if result.total is not None:
        out["total"] = result.total
        out["total_was_estimated"] = False
    if filters:
        out["filters"] = filters
    if text:
        out["q"] = text
    if sort:
        out["sort"] = sort
    return out


def _dispatch(request: Request, name: str, ctx: Context, params: dict[str, Any]) -> Response:
    try:
        if name == "datastore_search_sql":
            raise Invalid(
                "本平台不提供 SQL 查询接口，请使用 datastore_search 的 filters、q、sort 参数", details={"field": "sql"}
            )
        if name in _WRITE_ACTIONS:
            raise NotAuthorized("本平台的 CKAN 接口只读，数据由来源部门在开放平台发布")
        fn = HANDLERS.get(name)
        if fn is None:
            return JSONResponse(
                {
                    "help": _help(request, name),
                    "success": False,
                    "error": {"__type": "Bad request", "message": f"Bad request - Action name not known: {name}"},
                },
                status_code=400,
            )
        result = fn(ctx, params, _base(request))
        return _envelope(request, name, result)
    except CityBrainError as exc:
        ctx.session.rollback()
        if exc.http_status in (401, 403):
            from citybrain.web.errors import _audit_refusal

            _audit_refusal(request, exc)
        return error_envelope(request, name, exc)


Params = Annotated[dict[str, Any], Depends(_params)]


# sync endpoints: the actions use the database synchronously, so they run in the thread pool
@router.api_route("/api/3/action/{name}", methods=["GET", "POST"], summary="CKAN Action API (read-only)")
def action_v3(request: Request, name: str, ctx: CkanCtx, params: Params) -> Response:
    return _dispatch(request, name, ctx, params)


@router.api_route("/api/action/{name}", methods=["GET", "POST"], include_in_schema=False)
def action_unversioned(request: Request, name: str, ctx: CkanCtx, params: Params) -> Response:
    return _dispatch(request, name, ctx, params)
