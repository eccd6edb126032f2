"""Organisation operations: divisions and departments."""

from __future__ import annotations

from sqlalchemy import func, select

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.errors import Conflict, Invalid, NotFound
from citybrain.org.models import Department, Division
from citybrain.org.schemas import DepartmentCreate, DepartmentUpdate, DivisionCreate
from citybrain.standards.checks import check_uscc

_LEVEL_DIGITS = {"city": 6, "district": 6, "street": 9, "community": 12}


@action("division_list")
def division_list(ctx: Context, parent_code: str | None = None, level: str | None = None) -> list[Division]:
    ctx.authorize("division_list")
    q = select(Division).order_by(Division.code)
    if parent_code:
        q = q.where(Division.parent_code == parent_code)
    if level:
        q = q.where(Division.level == level)
    return list(ctx.session.scalars(q))


@action("division_create")
def division_create(ctx: Context, data: DivisionCreate) -> Division:
    ctx.authorize("division_create")
    if len(data.code) != _LEVEL_DIGITS[data.level]:
        raise Invalid(
            f"{data.level} 级区划代码应为 {_LEVEL_DIGITS[data.level]} 位：{data.code}", details={"field": "code"}
        )
    if ctx.session.get(Division, data.code):
        raise Conflict(f"区划代码 {data.code} 已存在", details={"field": "code"})
    if data.parent_code and not ctx.session.get(Division, data.parent_code):
        raise Invalid(f"上级区划 {data.parent_code} 不存在", details={"field": "parent_code"})
    division = Division(**data.model_dump())
    ctx.session.add(division)
    ctx.session.flush()
    return division


def get_department(ctx: Context, ref: str) -> Department:
    """A department by id, short code or 统一社会信用代码."""
    dept = ctx.session.scalar(
        select(Department).where((Department.id == ref) | (Department.code == ref) | (Department.uscc == ref))
    )
    if dept is None:
        raise NotFound(f"部门 {ref} 不存在", details={"department": ref})
    return dept


@action("department_list")
def department_list(ctx: Context) -> list[Department]:
    ctx.authorize("department_list")
    return list(ctx.session.scalars(select(Department).order_by(Department.level, Department.code)))


@action("department_show")
def department_show(ctx: Context, ref: str) -> Department:
    ctx.authorize("department_show")
    return get_department(ctx, ref)


@action("department_create")
def department_create(ctx: Context, data: DepartmentCreate) -> Department:
    ctx.authorize("department_create")
    uscc = data.uscc.strip().upper()
    problem = check_uscc(uscc)
    if problem:
        raise Invalid(f"统一社会信用代码无效：{problem}", details={"field": "uscc", "value": data.uscc})
    if not ctx.session.get(Division, data.division_code):
        raise Invalid(f"行政区划 {data.division_code} 不存在", details={"field": "division_code"})
    for column, value, label in (
        (Department.code, data.code, "代码"),
        (Department.name, data.name, "名称"),
        (Department.uscc, uscc, "统一社会信用代码"),
    ):
        if ctx.session.scalar(select(Department.id).where(column == value)):
            raise Conflict(f"部门{label} {value} 已被使用", details={"field": column.key})
    next_arc = (ctx.session.scalar(select(func.max(Department.oid_code))) or 0) + 1
    dept = Department(
        code=data.code,
        name=data.name,
        name_en=data.name_en,
        uscc=uscc,
        level=data.level,
        division_code=data.division_code,
        oid_code=next_arc,
    )
    ctx.session.add(dept)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "department_create",
            resource_type="department",
            resource_id=dept.id,
            details={"code": dept.code, "name": dept.name},
        ),
    )
    return dept


@action("department_update")
def department_update(ctx: Context, ref: str, data: DepartmentUpdate) -> Department:
    ctx.authorize("department_update")
    dept = get_department(ctx, ref)
    changes = data.model_dump(exclude_unset=True)
    if "division_code" in changes and not ctx.session.get(Division, changes["division_code"]):
        raise Invalid(f"行政区划 {changes['division_code']} 不存在", details={"field": "division_code"})
    for key, value in changes.items():
        setattr(dept, key, value)
    ctx.session.flush()
    record_ctx(ctx, AuditEntry("department_update", resource_type="department", resource_id=dept.id, details=changes))
    return dept
