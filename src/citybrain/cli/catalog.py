from __future__ import annotations

from pathlib import Path

import typer

from citybrain.catalog import service, transfer
from citybrain.catalog.schemas import SearchQuery
from citybrain.cli.common import AS_OPTION, console, emit_json, table, unit_of_work
from citybrain.errors import parse

app = typer.Typer(help="Public data catalog (公共数据目录)")


@app.command("search")
def search(
    q: str = typer.Argument(""),
    dept: str = typer.Option(None),
    category: str = typer.Option(None),
    share_type: str = typer.Option(None),
    open_type: str = typer.Option(None),
    grade: str = typer.Option(None),
    limit: int = 20,
    as_user: str = AS_OPTION,
) -> None:
    """Search the catalog (Chinese substring and word search, with filters)."""
    with unit_of_work(as_user) as ctx:
        query = parse(
            SearchQuery,
            {
                k: v
                for k, v in dict(
                    q=q,
                    dept=dept,
                    category=category,
                    share_type=share_type,
                    open_type=open_type,
                    grade=grade,
                    limit=limit,
                ).items()
                if v is not None
            },
        )
        result = service.resource_search(ctx, query, facets=False)
        table(
            f"共 {result.total} 条",
            ["资源代码", "名称", "部门", "分类", "共享", "开放", "分级", "OID"],
            [
                [r.key, r.name, r.dept_name, r.base_library or r.category, r.share_type, r.open_type, r.grade, r.oid]
                for r in result.items
            ],
        )


@app.command("show")
def show(ref: str, as_user: str = AS_OPTION) -> None:
    """Show one resource (by key, id or OID) as JSON."""
    with unit_of_work(as_user) as ctx:
        emit_json(service.resource_show(ctx, ref).model_dump(mode="json"))


@app.command("history")
def history(ref: str, as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        rows = service.resource_history(ctx, ref)
        table(
            "变更记录",
            ["版本", "变更", "操作人", "时间", "内容"],
            [[c.revision, c.change, c.changed_by, f"{c.changed_at:%Y-%m-%d %H:%M}", ", ".join(c.diff)] for c in rows],
        )


@app.command("import")
def import_(path: Path, as_user: str = AS_OPTION) -> None:
    """Import the 目录编制 Excel template (.xlsx) or JSON. All rows are checked; nothing half-imported."""
    with unit_of_work(as_user) as ctx:
        created = transfer.catalog_import(ctx, path.read_bytes(), filename=path.name)
        console.print(f"已导入 {len(created)} 个资源")


@app.command("export")
def export(path: Path, dept: str = typer.Option(None), as_user: str = AS_OPTION) -> None:
    """Export the catalog to .xlsx (the 目录编制 template) or .json by the file's suffix."""
    with unit_of_work(as_user) as ctx:
        content, _media, _name = transfer.catalog_export(ctx, format=path.suffix.lstrip(".") or "xlsx", dept=dept)
    path.write_bytes(content)
    console.print(f"已导出到 {path}")


@app.command("template")
def template(path: Path) -> None:
    """Write an empty 目录编制 Excel template."""
    path.write_bytes(transfer.template_workbook())
    console.print(f"模板已写入 {path}")


@app.command("standards")
def standards(as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        rows = service.standard_list(ctx)
        table(
            "数据元标准",
            ["代码", "名称", "类型", "依据", "别名"],
            [[s.name, s.title, s.data_type, s.reference, "、".join(s.aliases)] for s in rows],
        )
