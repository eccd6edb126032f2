"""``citybrain ingest``: load files, inspect loads and quarantine, resubmit fixes, versions, pulls, scheduler."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from citybrain.cli.common import AS_OPTION, console, emit_json, err_console, table, unit_of_work
from citybrain.errors import Invalid, parse
from citybrain.ingest import jobs, service
from citybrain.ingest.models import JobStatus, LoadStatus
from citybrain.ingest.schemas import SourceCreate

app = typer.Typer(help="Aggregation into the data lake (数据归集)")


def _follow(job_id: str, as_user: str | None, *, show: bool = True) -> dict[str, Any]:
    """Poll a background job, drawing a progress bar, until it ends; return the final load."""
    final: dict[str, Any] = {}
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=False,
    ) as bar:
        task = bar.add_task("排队中", total=100)
        while True:
            with unit_of_work(as_user) as ctx:
                job = service.job_show(ctx, job_id)
                status, progress, message = job.status, job.progress, job.message
            bar.update(task, completed=progress, description=message)
            if status in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value):
                break
            time.sleep(0.2)
    jobs.wait(job_id, timeout=60)
    with unit_of_work(as_user) as ctx:
        load = service.load_show(ctx, service.job_show(ctx, job_id).load_id or "")
        final = service.load_public(load).model_dump(mode="json")
    return final


def _report(load: dict[str, Any]) -> None:
    status = load["status"]
    if status == LoadStatus.SUCCEEDED.value:
        console.print(
            f"[green]归集完成[/]：读取 {load['rows_read']} 行，接收 {load['rows_accepted']} 行，"
            f"隔离 {load['rows_quarantined']} 行，数据湖版本 {load['version']}（归集记录 {load['id']}）"
        )
        if load["rows_quarantined"]:
            console.print(f"查看隔离数据：citybrain ingest quarantine {load['resource_key']} --load {load['id']}")
        return
    if status == LoadStatus.REJECTED.value:
        err_console.print(
            f"[yellow]没有数据行通过校验[/]：{load['rows_quarantined']} 行已隔离，未写入新版本（归集记录 {load['id']}）"
        )
        raise typer.Exit(2)
    err_console.print(f"[bold red]归集失败[/]：{load['error']}（归集记录 {load['id']}）")
    raise typer.Exit(1)


@app.command("load")
def load(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, XLSX, JSON/NDJSON or Parquet file"),
    resource: str = typer.Argument(..., help="resource key, id or OID"),
    mode: str = typer.Option("replace", help="replace (全量替换) or merge (按主键合并)"),
    sheet: str = typer.Option(None, help="XLSX worksheet (default: the first)"),
    encoding: str = typer.Option(None, help="override encoding detection, e.g. gb18030"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="draw a progress bar"),
    as_user: str = AS_OPTION,
) -> None:
    """Load a department file into a resource; rows failing the catalog's checks go to quarantine."""
    with unit_of_work(as_user) as ctx:
        queued = service.resource_load(ctx, resource, path, mode=mode, sheet=sheet, encoding=encoding, background=True)
        job_id = queued.job_id
    assert job_id is not None
    _report(_follow(job_id, as_user, show=progress))


@app.command("loads")
def loads(
    resource: str = typer.Option(None, help="only this resource"),
    status: str = typer.Option(None, help="succeeded, rejected, failed, running, queued"),
    limit: int = 20,
    as_user: str = AS_OPTION,
) -> None:
    """Recent loads and their outcome."""
    with unit_of_work(as_user) as ctx:
        page = service.load_list(ctx, ref=resource, status=status, limit=limit)
    table(
        f"归集记录（共 {page.total} 条）",
        ["编号", "资源", "方式", "来源", "状态", "读取", "接收", "隔离", "版本", "操作人", "时间"],
        [
            [
                i.id,
                i.resource_key,
                i.mode,
                f"{i.connector}:{i.source}",
                i.status,
                i.rows_read,
                i.rows_accepted,
                i.rows_quarantined,
                i.version,
                i.created_by,
                f"{i.started_at:%Y-%m-%d %H:%M}",
            ]
            for i in page.items
        ],
    )


@app.command("quarantine")
def quarantine(
    resource: str = typer.Argument(..., help="resource key, id or OID"),
    load_id: str = typer.Option(None, "--load", help="only this load"),
    status: str = typer.Option("open", help="open, resolved, or all"),
    summary: bool = typer.Option(False, "--summary", help="counts per field and kind of problem instead of rows"),
    field: str = typer.Option(None, "--field", help="only rows failing on this field"),
    kind: str = typer.Option(None, "--kind", help="only rows failing this check (as --summary lists it)"),
    limit: int = 50,
    offset: int = 0,
    as_json: bool = typer.Option(False, "--json", help="print the rows with their raw values as JSON"),
    as_user: str = AS_OPTION,
) -> None:
    """Rows that failed the checks: row number, field, reason (``--json`` adds the raw row);
    ``--summary`` groups them by field and kind of problem."""
    state = None if status == "all" else status
    if summary:
        with unit_of_work(as_user) as ctx:
            groups = service.quarantine_summary(ctx, resource, status=state)
        if as_json:
            emit_json([g.model_dump(mode="json") for g in groups])
            return
        table(
            f"隔离数据分类（{len(groups)} 类，共 {sum(g.rows for g in groups)} 行）",
            ["字段", "问题类型", "行数", "归集次数", "示例"],
            [[g.field or "", g.kind or "", g.rows, g.loads, g.example] for g in groups],
        )
        return
    with unit_of_work(as_user) as ctx:
        page = service.quarantine_list(
            ctx,
            None if load_id else resource,
            load_id=load_id,
            status=state,
            field=field,
            kind=kind,
            limit=limit,
            offset=offset,
        )
    if as_json:
        emit_json(page.model_dump(mode="json"))
        return
    table(
        f"隔离数据（共 {page.total} 行）",
        ["隔离编号", "归集记录", "行号", "字段", "原因", "状态"],
        [[q.id, q.load_id, q.row_number, q.field, q.reason, q.status] for q in page.items],
    )


@app.command("resubmit")
def resubmit(
    resource: str = typer.Argument(..., help="resource key, id or OID"),
    corrections: Path = typer.Argument(..., exists=True, dir_okay=False, help='JSON: [{"id": …, "values": {…}}]'),
    as_user: str = AS_OPTION,
) -> None:
    """Resubmit corrected quarantined rows; those now passing are merged as a new version."""
    try:
        rows = json.loads(corrections.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        err_console.print(f"[bold red]错误[/]：{corrections.name} 不是有效的 JSON（{exc}）")
        raise typer.Exit(1) from exc
    if isinstance(rows, dict):
        rows = rows.get("rows", [])
    with unit_of_work(as_user) as ctx:
        result = service.load_public(service.quarantine_resubmit(ctx, resource, rows)).model_dump(mode="json")
    _report(result)


@app.command("versions")
def versions(resource: str, as_user: str = AS_OPTION) -> None:
    """Lake versions of a resource with their lineage (newest first)."""
    with unit_of_work(as_user) as ctx:
        rows = service.version_list(ctx, resource)
    table(
        "数据湖版本",
        ["版本", "当前", "方式", "行数", "来源", "操作人", "时间", "校验值"],
        [
            [
                v.version,
                "✓" if v.current else "",
                v.lineage.get("load_mode", v.mode),
                v.rows,
                f"{v.lineage.get('connector', '')}:{v.lineage.get('source', '')}",
                (v.lineage.get("who") or {}).get("user"),
                v.created_at[:19].replace("T", " "),
                v.checksum[:20] + "…",
            ]
            for v in rows
        ],
    )


@app.command("preview")
def preview(
    resource: str,
    version: int = typer.Option(None, help="an earlier version"),
    limit: int = 20,
    as_user: str = AS_OPTION,
) -> None:
    """The first rows of the current (or an earlier) version."""
    with unit_of_work(as_user) as ctx:
        page = service.resource_preview(ctx, resource, version=version, limit=limit)
    table(
        f"{page.resource_key} 版本 {page.version}（共 {page.total} 行）",
        page.columns,
        [[r.get(c) for c in page.columns] for r in page.rows],
    )


@app.command("prune")
def prune(
    resource: str,
    keep_last: int = typer.Option(5, help="versions to keep"),
    keep_days: float = typer.Option(None, help="also keep versions younger than this"),
    as_user: str = AS_OPTION,
) -> None:
    """Retention: delete versions older than the last N."""
    with unit_of_work(as_user) as ctx:
        removed = service.version_prune(ctx, resource, keep_last=keep_last, keep_days=keep_days)
    console.print(f"已清理版本：{'、'.join(map(str, removed)) or '无'}")


@app.command("sources")
def sources(resource: str = typer.Option(None), as_user: str = AS_OPTION) -> None:
    """Stored pull sources and their schedule."""
    with unit_of_work(as_user) as ctx:
        rows = service.source_list(ctx, ref=resource)
    table(
        "数据源",
        ["名称", "资源", "类型", "增量", "水位", "定时", "下次运行", "上次运行"],
        [
            [
                s.name,
                s.resource_key,
                s.kind,
                s.incremental,
                (s.watermark or {}).get("value"),
                s.cron,
                f"{s.next_run_at:%Y-%m-%d %H:%M}" if s.next_run_at else "",
                f"{s.last_run_at:%Y-%m-%d %H:%M}" if s.last_run_at else "",
            ]
            for s in rows
        ],
    )


@app.command("source-add")
def source_add(definition: Path = typer.Argument(..., exists=True, dir_okay=False), as_user: str = AS_OPTION) -> None:
    """Store a pull from a JSON definition (name, resource, kind, config, incremental, cursor_column, cron)."""
    try:
        data = json.loads(definition.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{definition.name} 不是有效的 JSON：{exc}") from exc
    with unit_of_work(as_user) as ctx:
        src = service.source_create(ctx, parse(SourceCreate, data))
        console.print(
            f"已保存数据源 {src.name}" + (f"，下次运行 {src.next_run_at:%Y-%m-%d %H:%M} UTC" if src.cron else "")
        )


@app.command("run")
def run_source(
    source: str = typer.Argument(..., help="source name or id"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    as_user: str = AS_OPTION,
) -> None:
    """Pull a stored source now."""
    with unit_of_work(as_user) as ctx:
        queued = service.source_run(ctx, source, background=True)
        job_id = queued.job_id
    assert job_id is not None
    _report(_follow(job_id, as_user, show=progress))


@app.command("scheduler")
def scheduler(
    interval: float = typer.Option(60.0, help="seconds between looks at the schedule"),
    iterations: int = typer.Option(None, help="stop after this many looks (default: run until stopped)"),
) -> None:
    """Run due scheduled pulls in a loop (cron times are UTC)."""
    from citybrain.db import get_database
    from citybrain.settings import get_settings

    if interval <= 0:
        raise Invalid("interval 必须大于 0", details={"field": "interval"})

    def show(now: Any, results: list[dict[str, Any]]) -> None:
        for r in results:
            line = f"{now:%Y-%m-%d %H:%M:%S} {r['source']}: {r['status']}"
            console.print(line + (f"（{r['error']}）" if r.get("error") else ""))

    settings = get_settings()
    console.print(f"调度已启动：每 {interval:g} 秒检查一次到期的数据源（Ctrl+C 停止）")
    try:
        started = jobs.scheduler_loop(
            get_database(settings), settings=settings, interval=interval, iterations=iterations, on_results=show
        )
    except KeyboardInterrupt:
        console.print("调度已停止")
        return
    console.print(f"调度结束，共运行 {started} 次拉取")
