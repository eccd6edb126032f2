"""Administration pages: departments, users, the audit log."""

from __future__ import annotations

from typing import Annotated

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
def departments_page(ctx: Ctx, request: Request, error: str | None = None) -> Response:
    ctx.authorize("department_create")  # the page is the administrator's form
    return render(
        request,
        "admin/departments.html",
        {
            "departments": org.department_list(ctx),
            "error": error,
            "divisions": org.division_list(ctx, level="district") + org.division_list(ctx, level="city"),
        },
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
    try:
        org.department_create(
            ctx,
            parse(
                DepartmentCreate,
                {"code": code, "name": name, "uscc": uscc, "level": level, "division_code": division_code},
            ),
        )
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return departments_page(ctx, request, error=exc.message)
    return RedirectResponse("/admin/departments", status_code=303)


@router.get("/admin/users")
def users_page(ctx: Ctx, request: Request, error: str | None = None) -> Response:
    users = auth.user_list(ctx)
    depts = {d.id: d for d in org.department_list(ctx)}
    return render(
        request,
        "admin/users.html",
        {"users": users, "depts": depts, "error": error, "roles": [(r.value, ROLE_TITLES[r]) for r in Role]},
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
        return users_page(ctx, request, error=exc.message)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/audit")
def audit_page(ctx: Ctx, request: Request, verify: bool = False, action: str | None = None) -> Response:
    events = audit.audit_list(ctx, action_name=action or None, limit=200)
    report = audit.audit_verify(ctx) if verify else None
    return render(request, "admin/audit.html", {"events": events, "report": report, "action": action or ""})
