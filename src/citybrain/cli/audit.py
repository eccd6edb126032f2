from __future__ import annotations

import sys

import typer

from citybrain.audit import service
from citybrain.cli.common import AS_OPTION, console, err_console, table, unit_of_work

app = typer.Typer(help="Audit log (可追溯): list, verify the SM3 chain, export")


@app.command("list")
def list_events(limit: int = 30, action: str = typer.Option(None), as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        rows = service.audit_list(ctx, action_name=action, limit=limit)
        table(
            "审计日志",
            ["序号", "时间", "操作", "结果", "用户", "对象"],
            [[e.seq, f"{e.at:%Y-%m-%d %H:%M:%S}", e.action, e.result, e.username, e.resource_id] for e in rows],
        )


@app.command("verify")
def verify(as_user: str = AS_OPTION) -> None:
    """Recompute the hash chain; exit 2 and say where when any entry was edited, deleted or inserted."""
    with unit_of_work(as_user) as ctx:
        report = service.audit_verify(ctx)
    if report["ok"]:
        console.print(f"[green]审计链完整[/]：共 {report['entries']} 条记录")
        return
    err_console.print(f"[bold red]审计链被篡改[/]：{len(report['problems'])} 处问题（共 {report['entries']} 条）")
    for p in report["problems"]:
        err_console.print(f"  序号 {p['seq']}: {p['message']}")
    raise typer.Exit(2)


@app.command("export")
def export(as_user: str = AS_OPTION) -> None:
    """Write every entry with its hashes as JSON lines to standard output."""
    with unit_of_work(as_user) as ctx:
        for line in service.audit_export(ctx):
            sys.stdout.write(line)
