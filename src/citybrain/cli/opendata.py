"""``citybrain open``: the open data portal from the command line (publishing, batches, metrics, DCAT)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from citybrain.cli.common import AS_OPTION, console, emit_json, table, unit_of_work
from citybrain.errors import parse
from citybrain.opendata import dcat, search, service
from citybrain.opendata.schemas import DatasetPrepare, DatasetUpdate

app = typer.Typer(help="Open data portal (公共数据开放平台)", no_args_is_help=True)


@app.command("prepare")
def prepare(
    resource: str = typer.Argument(..., help="资源代码、ID 或 OID"),
    name: str = typer.Option(None, help="数据集标识，默认取资源代码"),
    title: str = typer.Option(None),
    description: str = typer.Option(None),
    licence: str = typer.Option("cc-by-4.0"),
    topic: str = typer.Option(None),
    exclude: list[str] = typer.Option([], "--exclude", help="不开放的字段（可重复）"),
    mask: list[str] = typer.Option([], "--mask", help='字段=JSON 脱敏规则，如 name={"method":"name"}'),
    pinned: bool = typer.Option(False, "--pinned", help="固定在当前数据版本，不随资源更新"),
    as_user: str = AS_OPTION,
) -> None:
    """Prepare an open dataset (draft) from a catalog resource."""
    fields = [{"name": f, "include": False} for f in exclude]
    for item in mask:
        field, _, rule = item.partition("=")
        fields.append({"name": field, "mask": json.loads(rule)})
    with unit_of_work(as_user) as ctx:
        data = parse(
            DatasetPrepare,
            {
                k: v
                for k, v in dict(
                    resource=resource,
                    name=name,
                    title=title,
                    description=description,
                    licence=licence,
                    topic=topic,
                    fields=fields or None,
                    follow_latest=not pinned,
                ).items()
                if v is not None
            },
        )
        ds = service.open_dataset_prepare(ctx, data)
        console.print(
            f"已创建草稿 {ds.name}（v{ds.version}，{len(ds.fields)} 个字段）；提交审核：citybrain open submit"
        )


@app.command("update")
def update(
    name: str,
    exclude: list[str] = typer.Option([], "--exclude"),
    follow: bool = typer.Option(None, "--follow/--pinned"),
    version: int = typer.Option(None),
    as_user: str = AS_OPTION,
) -> None:
    """Leave fields out, follow new versions or pin to one."""
    with unit_of_work(as_user) as ctx:
        changes: dict[str, object] = {}
        if exclude:
            changes["fields"] = [{"name": f, "include": False} for f in exclude]
        if follow is not None:
            changes["follow_latest"] = follow
        if version is not None:
            changes["version"] = version
        ds = service.open_dataset_update(ctx, name, parse(DatasetUpdate, changes))
        console.print(f"{ds.name}: v{ds.version}，{'随资源更新' if ds.follow_latest else '固定版本'}")


@app.command("submit")
def submit(
    title: str = typer.Argument(..., help="开放目录批次名称"),
    datasets: list[str] = typer.Argument(...),
    as_user: str = AS_OPTION,
) -> None:
    """Submit datasets in an 开放目录批次 for the chief data officer's approval."""
    with unit_of_work(as_user) as ctx:
        batch = service.open_batch_submit(ctx, title, datasets)
        console.print(f"已提交批次 {batch.id}（{len(batch.dataset_ids)} 个数据集）")


@app.command("batches")
def batches(status: str = typer.Option(None), as_user: str = AS_OPTION) -> None:
    """List open-catalog batches."""
    with unit_of_work(as_user) as ctx:
        rows = service.open_batch_list(ctx, status)
        table(
            f"共 {len(rows)} 个批次",
            ["ID", "名称", "状态", "数据集", "提交人", "审核人", "意见"],
            [[b.id, b.title, b.status, len(b.dataset_ids), b.submitted_by, b.decided_by, b.reason] for b in rows],
        )


@app.command("approve")
def approve(batch_id: str, note: str = typer.Option(""), as_user: str = AS_OPTION) -> None:
    """Approve a batch: its datasets become public (chief data officer)."""
    with unit_of_work(as_user) as ctx:
        batch = service.open_batch_approve(ctx, batch_id, note)
        console.print(f"批次 {batch.id} 已批准，{len(batch.dataset_ids)} 个数据集已开放")


@app.command("reject")
def reject(batch_id: str, reason: str = typer.Option(..., help="退回原因"), as_user: str = AS_OPTION) -> None:
    """Send a batch back to its department with the reason."""
    with unit_of_work(as_user) as ctx:
        service.open_batch_reject(ctx, batch_id, reason)
        console.print(f"批次 {batch_id} 已退回")


@app.command("withdraw")
def withdraw(name: str, reason: str = typer.Option(...), as_user: str = AS_OPTION) -> None:
    """Withdraw a published dataset."""
    with unit_of_work(as_user) as ctx:
        service.open_dataset_withdraw(ctx, name, reason)
        console.print(f"{name} 已撤回")


@app.command("list")
def list_(q: str = typer.Argument(""), rows: int = 20, as_user: str = AS_OPTION) -> None:
    """Search published datasets."""
    with unit_of_work(as_user) as ctx:
        result = service.open_dataset_search(ctx, search.Query(q=q, rows=rows, sort="name asc"))
        table(
            f"共 {result.count} 个开放数据集",
            ["标识", "名称", "部门", "开放属性", "版本", "行数", "数据更新", "下载"],
            [
                [
                    d.name,
                    d.title,
                    result.depts[d.dept_id].name,
                    d.open_type,
                    f"v{d.version}{'' if d.follow_latest else '（固定）'}",
                    d.rows,
                    d.data_updated_at.strftime("%Y-%m-%d %H:%M") if d.data_updated_at else "",
                    d.downloads,
                ]
                for d in result.datasets
            ],
        )


@app.command("sync")
def sync(as_user: str = AS_OPTION) -> None:
    """Pick up new lake versions for datasets that follow their resource (run after loads or from cron)."""
    with unit_of_work(as_user) as ctx:
        changed = service.open_dataset_sync(ctx)
        console.print(f"已更新 {len(changed)} 个数据集" + (f"：{'、'.join(changed)}" if changed else ""))


@app.command("metrics")
def metrics(detail: bool = typer.Option(False, "--detail"), as_user: str = AS_OPTION) -> None:
    """公共信息资源社会开放率, downloads, API calls, approved applications, apps (JSON)."""
    with unit_of_work(as_user) as ctx:
        emit_json(service.open_metrics_detail(ctx) if detail else service.open_metrics_show(ctx))


@app.command("dcat")
def dcat_export(
    out: Path = typer.Option(None, help="写入文件（默认标准输出）"),
    fmt: str = typer.Option("ttl", "--format", help="ttl 或 jsonld"),
    base: str = typer.Option("http://127.0.0.1:8000", help="门户地址"),
    as_user: str = AS_OPTION,
) -> None:
    """Export the open catalog as DCAT-AP (Turtle or JSON-LD)."""
    from sqlalchemy import select

    from citybrain.opendata.models import DatasetStatus, OpenDataset
    from citybrain.org.models import Department

    with unit_of_work(as_user) as ctx:
        service.open_dataset_search(ctx, search.Query(rows=0))
        rows = ctx.session.execute(
            select(OpenDataset, Department)
            .join(Department, Department.id == OpenDataset.dept_id)
            .where(OpenDataset.status == DatasetStatus.PUBLISHED)
        ).all()
        text = dcat.serialize(dcat.catalog_graph(base.rstrip("/"), [(d, p) for d, p in rows]), fmt)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"已写入 {out}")
    else:
        typer.echo(text)


@app.command("publish-demo")
def publish_demo(as_user: str = AS_OPTION) -> None:
    """Open every openable demo resource that has data, in one approved batch (idempotent)."""
    with unit_of_work(as_user) as ctx:
        names = service.publish_demo(ctx)
        console.print(f"已开放 {len(names)} 个数据集" + (f"：{'、'.join(names)}" if names else "（均已开放）"))
