from __future__ import annotations

import typer

from citybrain.cli.common import AS_OPTION, table, unit_of_work
from citybrain.org import service
from citybrain.org.schemas import DepartmentCreate

app = typer.Typer(help="Organisation: divisions and departments")


@app.command("divisions")
def divisions(parent: str = typer.Option(None, help="parent division code"), as_user: str = AS_OPTION) -> None:
    """List administrative divisions (GB/T 2260 and below)."""
    with unit_of_work(as_user) as ctx:
        rows = service.division_list(ctx, parent_code=parent)
        table("行政区划", ["代码", "名称", "层级", "上级"], [[d.code, d.name, d.level, d.parent_code] for d in rows])


@app.command("departments")
def departments(as_user: str = AS_OPTION) -> None:
    """List departments."""
    with unit_of_work(as_user) as ctx:
        rows = service.department_list(ctx)
        table(
            "部门",
            ["代码", "名称", "层级", "统一社会信用代码", "OID 段"],
            [[d.code, d.name, d.level, d.uscc, d.oid_code] for d in rows],
        )


@app.command("add-department")
def add_department(
    code: str, name: str, uscc: str, level: str = "市", division: str = "320400", as_user: str = AS_OPTION
) -> None:
    """Register a department (its 统一社会信用代码 is checked per GB 32100)."""
    with unit_of_work(as_user) as ctx:
        dept = service.department_create(
            ctx, DepartmentCreate(code=code, name=name, uscc=uscc, level=level, division_code=division)
        )
        typer.echo(f"已创建部门 {dept.name}（{dept.code}）")
