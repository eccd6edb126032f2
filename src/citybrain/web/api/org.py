from __future__ import annotations

from fastapi import APIRouter

from citybrain.org import service
from citybrain.org.schemas import DepartmentCreate, DepartmentPublic, DepartmentUpdate, DivisionCreate, DivisionPublic
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1", tags=["organisation 组织"])


@router.get("/divisions", response_model=list[DivisionPublic])
def division_list(ctx: Ctx, parent: str | None = None, level: str | None = None) -> object:
    return service.division_list(ctx, parent_code=parent, level=level)


@router.post("/divisions", response_model=DivisionPublic, status_code=201)
def division_create(ctx: Ctx, data: DivisionCreate) -> object:
    return service.division_create(ctx, data)


@router.get("/departments", response_model=list[DepartmentPublic])
def department_list(ctx: Ctx) -> object:
    return service.department_list(ctx)


@router.get("/departments/{ref}", response_model=DepartmentPublic)
def department_show(ctx: Ctx, ref: str) -> object:
    return service.department_show(ctx, ref)


@router.post("/departments", response_model=DepartmentPublic, status_code=201)
def department_create(ctx: Ctx, data: DepartmentCreate) -> object:
    return service.department_create(ctx, data)


@router.patch("/departments/{ref}", response_model=DepartmentPublic)
def department_update(ctx: Ctx, ref: str, data: DepartmentUpdate) -> object:
    return service.department_update(ctx, ref, data)
