"""Console pages of the catalog: search with filters, a resource's page, the standards list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citybrain.catalog import service
from citybrain.catalog.models import Category, Grade, OpenType, ShareType
from citybrain.catalog.schemas import SearchQuery
from citybrain.errors import parse
from citybrain.org.service import department_list
from citybrain.web.deps import Ctx
from citybrain.web.pages.common import render

router = APIRouter(include_in_schema=False)

PAGE = 20


@router.get("/catalog")
def catalog_search(ctx: Ctx, request: Request) -> Response:
    params = {k: v for k, v in request.query_params.items() if v and k in SearchQuery.model_fields}
    page = max(int(request.query_params.get("page", "1") or 1), 1)
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
            "params": params,
        },
    )


@router.get("/catalog/{ref}")
def resource_page(ctx: Ctx, request: Request, ref: str) -> Response:
    resource = service.resource_show(ctx, ref)
    history = service.resource_history(ctx, ref) if ctx.actor.is_authenticated else []
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
