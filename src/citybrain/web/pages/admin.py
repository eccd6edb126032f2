"""Administration pages: departments, users, the audit log."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from citybrain.audit import service as audit
from citybrain.auth import service as auth
from citybrain.auth.rules import ROLE_TITLES, Role
from citybrain.auth.schemas import UserCreate
from citybrain.errors import CityBrainError, parse
from citybrain.org import service as org
from citybrain.org.schemas import DepartmentCreate
from citybrain.web.deps import Ctx
from citybrain.web.pages.common import add_nav, render

router = APIRouter(include_in_schema=False)

add_nav("/admin/departments", "nav.departments", {"admin"})
add_nav("/admin/users", "nav.users", {"admin"})
add_nav("/admin/audit", "nav.audit", {"admin", "cdo", "security"})


@router.get("/admin/departments")
def departments_page(ctx: Ctx, request: Request, created: str | None = None) -> Response:
    return _departments(ctx, request, created=created)


def _departments(
    ctx: Ctx,
    request: Request,
    *,
    error: str | None = None,
    created: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    ctx.authorize("department_create")  # the page is the administrator's form
    return render(
        request,
        "admin/departments.html",
        {
            "departments": org.department_list(ctx),
            "error": error,
            "created": created,
            "form": form or {},
            "divisions": org.division_list(ctx, level="city") + org.division_list(ctx, level="district"),
        },
        status_code=422 if error else 200,
    )


@router.post("/admin/departments")
def departments_create(
    ctx: Ctx,
    request: Request,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    uscc: Annotated[str, Form()],
    level: Annotated[str, Form()],
    division_code: Annotated[str, Form()],
) -> Response:
    form = {"code": code, "name": name, "uscc": uscc.strip().upper(), "level": level, "division_code": division_code}
    try:
        org.department_create(ctx, parse(DepartmentCreate, form))
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _departments(ctx, request, error=exc.message, form=form)
    # post/redirect/get, so a reload does not submit the form twice
    return RedirectResponse(f"/admin/departments?{urlencode({'created': name})}", status_code=303)


@router.get("/admin/users")
def users_page(ctx: Ctx, request: Request, created: str | None = None) -> Response:
    return _users(ctx, request, created=created)


def _users(
    ctx: Ctx,
    request: Request,
    *,
    error: str | None = None,
    created: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    users = auth.user_list(ctx)
    depts = {d.id: d for d in org.department_list(ctx)}
    return render(
        request,
        "admin/users.html",
        {
            "users": users,
            "depts": depts,
            "error": error,
            "created": created,
            "form": form or {},
            "roles": [(r.value, ROLE_TITLES[r]) for r in Role],
        },
        status_code=422 if error else 200,
    )


@router.post("/admin/users")
def users_create(
    ctx: Ctx,
    request: Request,
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    dept: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        auth.user_create(
            ctx,
            parse(
                UserCreate,
                {
                    "username": username,
                    "display_name": display_name,
                    "password": password,
                    "roles": [role],
                    "dept": dept or None,
                },
            ),
        )
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        form = {"username": username, "display_name": display_name, "role": role, "dept": dept or ""}
        return _users(ctx, request, error=exc.message, form=form)
    return RedirectResponse(f"/admin/users?{urlencode({'created': username})}", status_code=303)


@router.get("/admin/audit")
def audit_page(ctx: Ctx, request: Request, verify: bool = False, action: str | None = None) -> Response:
    events = audit.audit_list(ctx, action_name=action or None, limit=200)
    report = audit.audit_verify(ctx) if verify else None
    return render(request, "admin/audit.html", {"events": events, "report": report, "action": action or ""})
