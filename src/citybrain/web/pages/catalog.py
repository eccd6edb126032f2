"""Console pages of the catalog: search with filters, a resource's page, the standards list, import/export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from citybrain.auth.rules import ALL_STAFF
from citybrain.catalog import service, transfer
from citybrain.catalog.models import Category, Grade, OpenType, ShareType
from citybrain.catalog.schemas import SearchQuery
from citybrain.errors import CityBrainError, parse
from citybrain.org.service import department_list
from citybrain.web.deps import Ctx, request_lang
from citybrain.web.i18n import translate
from citybrain.web.pages.common import add_nav, render

router = APIRouter(include_in_schema=False)

PAGE = 20
#: the import/export pages live under "/catalog/-/", which no resource key can take (keys are [a-z0-9_])
TRANSFER = "/catalog/-"

add_nav(f"{TRANSFER}/import", "nav.transfer", {str(r) for r in ALL_STAFF})


def _page_number(raw: str | None) -> int:
    try:
        return max(int(raw or 1), 1)
    except ValueError:
        return 1


@router.get("/catalog")
def catalog_search(ctx: Ctx, request: Request) -> Response:
    params = {k: v for k, v in request.query_params.items() if v and k in SearchQuery.model_fields}
    page = _page_number(request.query_params.get("page"))
    query = parse(SearchQuery, {**params, "limit": PAGE, "offset": (page - 1) * PAGE})
    result = service.resource_search(ctx, query)
    return render(
        request,
        "catalog/search.html",
        {
            "query": query,
            "result": result,
            "page": page,
            "pages": max((result.total + PAGE - 1) // PAGE, 1),
            "departments": department_list(ctx),
            "choices": {
                "category": [c.value for c in Category],
                "share_type": [s.value for s in ShareType],
                "open_type": [o.value for o in OpenType],
                "grade": [g.value for g in Grade],
            },
            "topics": sorted(result.facets.get("topic", {})),
            "params": params,
        },
    )


def _transfer_page(
    ctx: Ctx, request: Request, *, problems: list[dict[str, Any]] | None = None, **extra: Any
) -> Response:
    return render(
        request,
        "catalog/transfer.html",
        {
            "can_import": ctx.allowed("catalog_import"),
            "departments": department_list(ctx),
            "problems": problems,
            **extra,
        },
        status_code=422 if problems else 200,
    )


@router.get(f"{TRANSFER}/import")
def transfer_page(ctx: Ctx, request: Request) -> Response:
    ctx.authorize("catalog_export")  # every member of staff may export; the import form shows only if allowed
    return _transfer_page(ctx, request)


@router.post(f"{TRANSFER}/import")
async def transfer_import(ctx: Ctx, request: Request, file: Annotated[UploadFile | None, File()] = None) -> Response:
    data = await file.read() if file is not None else b""
    if not data:
        ctx.authorize("catalog_import")
        message = translate("transfer.no_file", request_lang(request))
        return _transfer_page(ctx, request, problems=[{"sheet": None, "row": None, "column": None, "message": message}])
    try:
        created = transfer.catalog_import(ctx, data, filename=(file.filename if file else "") or "upload.xlsx")
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        # all or nothing: whatever the action flushed before it gave up must not be committed
        ctx.session.rollback()
        problems = exc.details if isinstance(exc.details, list) else [{"message": exc.message}]
        return _transfer_page(ctx, request, problems=[_problem(p) for p in problems], error=exc.message)
    return _transfer_page(ctx, request, created=[(r.key, r.name) for r in created])


def _problem(raw: Any) -> dict[str, Any]:
    item = raw if isinstance(raw, dict) else {"message": str(raw)}
    return {k: item.get(k) for k in ("sheet", "row", "column", "message")}


@router.get(f"{TRANSFER}/export")
def transfer_export(ctx: Ctx, format: str = "xlsx", dept: str | None = None) -> Response:
    content, media, filename = transfer.catalog_export(ctx, format=format, dept=dept or None)
    return Response(content, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'})


@router.get(f"{TRANSFER}/template")
def transfer_template(ctx: Ctx) -> Response:
    ctx.authorize("catalog_export")
    return Response(
        transfer.template_workbook(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": 'attachment; filename="catalog-template.xlsx"'},
    )


@router.get("/catalog/{ref}")
def resource_page(ctx: Ctx, request: Request, ref: str) -> Response:
    resource = service.resource_show(ctx, ref)
    # public users may see an open entry but not its change history
    history = service.resource_history(ctx, ref) if ctx.allowed("resource_history", resource) else []
    extras = []
    # other domains add panels (versions, quality, sharing) by registering a provider
    for provider in RESOURCE_PANELS:
        panel = provider(ctx, resource)
        if panel:
            extras.append(panel)
    return render(request, "catalog/resource.html", {"r": resource, "history": history, "panels": extras})


@router.get("/standards")
def standards_page(ctx: Ctx, request: Request) -> Response:
    return render(request, "catalog/standards.html", {"standards": service.standard_list(ctx)})


#: callables (ctx, ResourcePublic) -> {"title": str, "html": Markup} | None, added by other domains' pages
RESOURCE_PANELS: list = []
