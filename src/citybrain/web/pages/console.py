"""Console entry: home, login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from citybrain.auth import service as auth
from citybrain.errors import NotAuthenticated
from citybrain.web.deps import SESSION_COOKIE, Ctx, read_session_cookie, sign_session
from citybrain.web.pages.common import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only local paths: an open redirect after login would be a phishing aid
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/catalog"
    return target


@router.get("/")
def home(ctx: Ctx, request: Request) -> Response:
    if not ctx.actor.is_authenticated:
        return RedirectResponse("/portal" if _has_portal(request) else "/login", status_code=303)
    return RedirectResponse("/catalog", status_code=303)


def _has_portal(request: Request) -> bool:
    # url_path_for sees routes added through include_router too, whatever FastAPI keeps in app.routes
    from starlette.routing import NoMatchFound

    try:
        request.app.url_path_for("portal_home")
    except NoMatchFound:
        return False
    return True


@router.get("/login")
def login_form(ctx: Ctx, request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(
    ctx: Ctx,
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        _user, login_session = auth.session_login(ctx, username, password)
    except NotAuthenticated as exc:
        # keep the audit record of the failed attempt: commit, then show the form again
        ctx.session.commit()
        return render(
            request,
            "login.html",
            {"error": exc.message, "username": username, "next": _safe_next(next)},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign_session(request, login_session.id),
        httponly=True,
        samesite="lax",
        max_age=ctx.settings.session_max_age,
    )
    return response


@router.post("/logout")
def logout(ctx: Ctx, request: Request) -> Response:
    session_id = read_session_cookie(request)
    if session_id and ctx.actor.is_authenticated:
        auth.session_logout(ctx, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
