"""The FastAPI application: API routers, console pages, portal, static files, error handling."""

from __future__ import annotations

import gc
import importlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import configure_mappers
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import citybrain
from citybrain import logging as cb_logging
from citybrain.db import Database, get_database
from citybrain.logging import request_id_var
from citybrain.settings import Settings, get_settings
from citybrain.web import errors

log = logging.getLogger("citybrain.access")

#: routers mounted in this order; a domain that is not installed is skipped. Requests are matched
#: against the routes one by one, so the sharing API — whose lookups are the hottest calls, and whose
#: paths no other router shares (``/api/v1/share/``) — comes first.
ROUTERS = (
    "citybrain.web.api.share",
    "citybrain.web.api.system",
    "citybrain.web.api.org",
    "citybrain.web.api.auth",
    "citybrain.web.api.catalog",
    "citybrain.web.api.audit",
    "citybrain.web.api.ingest",
    "citybrain.web.api.quality",
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


class RequestIdMiddleware:
    """Names every request (``x-request-id``, taken from the caller or made up), logs it when done.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` streams
    every response through an extra task and memory channel, which costs a share lookup about as
    much as its database work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rid = headers.get("x-request-id") or uuid.uuid4().hex[:16]
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        token = request_id_var.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                    "request_id": rid,
                },
            )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    _configure_orm()
    _freeze_startup_heap()
    # SQLite's WAL is checkpointed off the event loop while the server runs (see WalCheckpoints)
    with app.state.db.checkpoints_in_background():
        yield


def _configure_orm() -> None:
    """Configure every domain's ORM mappers before the first request, not in it.

    SQLAlchemy configures all mappers the first time any ORM statement needs one. The hottest requests
    (share lookups) use plain SQL, so that first time can come minutes into serving — the first usage
    row of a new minute — and that request, with every request queued behind it on the event loop,
    waited about 150 ms for all 56 mappers."""
    import citybrain.models  # noqa: F401  (every domain's tables, so none is configured later)

    configure_mappers()


_frozen = False


def _freeze_startup_heap() -> None:
    """Leave the objects that exist once the app is built (modules, classes, routes: hundreds of
    thousands) out of every later garbage collection.

    A server keeps many requests in flight, so each request's objects outlive the young generations and
    a full collection comes every few seconds; it walks every tracked object, the startup heap included,
    and everything waits — half a second on a busy server, the slowest 1 % of answers. Frozen objects
    are still freed by reference counting; only cycles among them would stay (``gc.freeze``). Once per
    process: a test run builds many apps."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()


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
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.db = database or get_database(settings)
    errors.install(app)

    app.add_middleware(RequestIdMiddleware)

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
