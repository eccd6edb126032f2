"""The FastAPI application: API routers, console pages, portal, static files, error handling."""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

import citybrain
from citybrain import logging as cb_logging
from citybrain.db import Database, get_database
from citybrain.logging import request_id_var
from citybrain.settings import Settings, get_settings
from citybrain.web import errors

log = logging.getLogger("citybrain.access")

#: routers mounted in this order; a domain that is not installed is skipped
ROUTERS = (
    "citybrain.web.api.system",
    "citybrain.web.api.org",
    "citybrain.web.api.auth",
    "citybrain.web.api.catalog",
    "citybrain.web.api.audit",
    "citybrain.web.api.ingest",
    "citybrain.web.api.quality",
    "citybrain.web.api.share",
    "citybrain.web.api.opendata",
    "citybrain.web.api.ckan",
    "citybrain.web.api.cases",
    "citybrain.web.api.open311",
    "citybrain.web.api.efficiency",
    "citybrain.web.pages.console",
    "citybrain.web.pages.catalog",
    "citybrain.web.pages.ingest",
    "citybrain.web.pages.admin",
    "citybrain.web.pages.quality",
    "citybrain.web.pages.share",
    "citybrain.web.pages.portal",
    "citybrain.web.pages.opendata",
    "citybrain.web.pages.cases",
    "citybrain.web.pages.efficiency",
)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    cb_logging.configure(settings.log_level, settings.log_json)
    app = FastAPI(
        title="CityBrain 城市大脑",
        version=citybrain.__version__,
        description="公共数据目录、归集治理、共享交换、开放数据与一网统管的统一平台。",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database or get_database(settings)
    errors.install(app)

    @app.middleware("http")
    async def _request_id(request: Request, call_next):  # type: ignore[no-untyped-def]
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        token = request_id_var.set(rid)
        start = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        response.headers["x-request-id"] = rid
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - start) * 1000, 1),
                "request_id": rid,
            },
        )
        return response

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module_name in ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        app.include_router(module.router)
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
    return app
