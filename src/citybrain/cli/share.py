"""``citybrain share``: requests, approvals, grants, demands, data access, alerts and metrics."""

from __future__ import annotations

import json

import typer

from citybrain.cli.common import AS_OPTION, console, emit_json, table, unit_of_work
from citybrain.errors import parse

app = typer.Typer(help="Data sharing exchange (共享交换)")


def _json_arg(raw: str | None, what: str) -> object:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{what} 不是合法的 JSON：{exc}") from None


@app.command("request")
def request(
    resource: str,
    fields: str = typer.Option(..., help="comma-separated data items"),
    purpose: str = typer.Option(..., help="用途"),
    basis: str = typer.Option("", "--basis", help="共享依据"),
    rows: str = typer.Option(
        None, help='row scope as JSON, e.g. [{"field":"division_code","op":"prefix","values":["320402"]}]'
    ),
    modes: str = typer.Option("lookup,query,export", help="lookup, query, export, verify"),
    unmask: str = typer.Option("", help="fields asked to be shown unmasked"),
    days: int = 365,
    volume: int = typer.Option(None, help="expected rows per day"),
    as_user: str = AS_OPTION,
) -> None:
    """File a sharing request (无条件共享 is granted at once)."""
    from citybrain.share import service
    from citybrain.share.schemas import ShareRequestCreate

    with unit_of_work(as_user) as ctx:
        data = parse(
            ShareRequestCreate,
            {
                "resource": resource,
                "fields": [f.strip() for f in fields.split(",") if f.strip()],
                "purpose": purpose,
                "legal_basis": basis,
                "row_filter": _json_arg(rows, "--rows") or [],
                "modes": [m.strip() for m in modes.split(",") if m.strip()],
                "unmask": [f.strip() for f in unmask.split(",") if f.strip()],
                "days": days,
                "expected_volume": volume,
            },
        )
        emit_json(service.share_request_create(ctx, data).model_dump(mode="json"))


@app.command("requests")
def requests(
    box: str = typer.Option("all", help="mine, inbox or all"), status: str | None = None, as_user: str = AS_OPTION
) -> None:
    """List sharing requests."""
    from citybrain.share import service

    with unit_of_work(as_user) as ctx:
        items = service.share_request_list(ctx, box=box, status=status)
        table(
            f"共 {len(items)} 条",
            ["编号", "资源", "申请部门", "来源部门", "字段", "状态", "申请时间"],
            [
                [r.id, r.resource_key, r.consumer_dept_name, r.dept_name, ",".join(r.fields), r.status, r.created_at]
                for r in items
            ],
        )


@app.command("approve")
def approve(
    request_id: str,
    fields: str = typer.Option(None, help="approve only these fields"),
    rows: str = typer.Option(None, help="narrower row scope (JSON)"),
    days: int = typer.Option(None, help="shorter period"),
    unmask: str = typer.Option(None, help="fields shown unmasked"),
    rate: int = typer.Option(None, help="calls per minute"),
    mask: str = typer.Option(None, help='masking per field (JSON), e.g. {"citizen_id": {"method": "pseudonym"}}'),
    comment: str = "",
    as_user: str = AS_OPTION,
) -> None:
    """Approve a request, in full or in part."""
    from citybrain.share import service
    from citybrain.share.schemas import ApprovalIn

    with unit_of_work(as_user) as ctx:
        raw: dict[str, object] = {"comment": comment}
        if fields is not None:
            raw["fields"] = [f.strip() for f in fields.split(",") if f.strip()]
        if rows is not None:
            raw["row_filter"] = _json_arg(rows, "--rows")
        if days is not None:
            raw["days"] = days
        if unmask is not None:
            raw["unmask"] = [f.strip() for f in unmask.split(",") if f.strip()]
        if rate is not None:
            raw["rate_limit"] = rate
        if mask is not None:
            raw["mask"] = _json_arg(mask, "--mask")
        out = service.share_request_approve(ctx, request_id, parse(ApprovalIn, raw))
        console.print(f"申请 {out.id}：{out.status}" + (f"，授权 {out.grant_id}" if out.grant_id else ""))


@app.command("refuse")
def refuse(request_id: str, reason: str = typer.Option(...), as_user: str = AS_OPTION) -> None:
    """Refuse a request (a reason is required)."""
    from citybrain.share import service

    with unit_of_work(as_user) as ctx:
        out = service.share_request_refuse(ctx, request_id, reason)
        console.print(f"申请 {out.id} 已拒绝：{out.reason}")


@app.command("grants")
def grants(box: str = typer.Option("all", help="mine, source or all"), as_user: str = AS_OPTION) -> None:
    """List grants."""
    from citybrain.share import service

    with unit_of_work(as_user) as ctx:
        items = service.grant_list(ctx, box=box)
        table(
            f"共 {len(items)} 条",
            ["编号", "资源", "使用部门", "字段", "脱敏", "状态", "可用", "到期"],
            [
                [
                    g.id,
                    g.resource_key,
                    g.consumer_dept_name,
                    ",".join(g.fields),
                    ",".join(sorted(g.masking)),
                    g.status,
                    "是" if g.usable else "否",
                    g.expires_at,
                ]
                for g in items
            ],
        )


@app.command("suspend")
def suspend(grant_id: str, reason: str = typer.Option(...), as_user: str = AS_OPTION) -> None:
    """Suspend a grant (effective on the next call)."""
    from citybrain.share import service

    with unit_of_work(as_user) as ctx:
        console.print(f"授权 {service.grant_suspend(ctx, grant_id, reason).id} 已暂停")


@app.command("resume")
def resume(grant_id: str, as_user: str = AS_OPTION) -> None:
    """Resume a suspended grant."""
    from citybrain.share import service

    with unit_of_work(as_user) as ctx:
        console.print(f"授权 {service.grant_resume(ctx, grant_id).id} 已恢复")


@app.command("revoke")
def revoke(grant_id: str, reason: str = typer.Option(...), as_user: str = AS_OPTION) -> None:
    """Revoke a grant and its token (effective on the next call)."""
    from citybrain.share import service

    with unit_of_work(as_user) as ctx:
        console.print(f"授权 {service.grant_revoke(ctx, grant_id, reason).id} 已撤销")


@app.command("token")
def token(grant_id: str, as_user: str = AS_OPTION) -> None:
    """Issue (rotate) the grant's API token; the secret is printed once."""
    from citybrain.share import service

    with unit_of_work(as_user) as ctx:
        out = service.grant_token_issue(ctx, grant_id)
        console.print(f"令牌（仅显示一次，请妥善保存），到期 {out.expires_at}：")
        # the secret alone on its line, never wrapped, so scripts can read it
        print(out.token)


@app.command("index")
def index(resource: str, as_user: str = AS_OPTION) -> None:
    """Build the key index of a resource's current version (lookups in microseconds, not a scan)."""
    from citybrain.share import access

    with unit_of_work(as_user) as ctx:
        emit_json(access.share_index_build(ctx, resource))


@app.command("query")
def query(
    grant_id: str,
    filters: str = typer.Option(None, help='JSON, e.g. {"division_code": "320402001"}'),
    limit: int = 20,
    offset: int = 0,
    version: int | None = None,
    as_user: str = AS_OPTION,
) -> None:
    """Query a grant's data (masked, scoped, audited)."""
    from citybrain.share import access
    from citybrain.share.schemas import QueryIn

    with unit_of_work(as_user) as ctx:
        data = parse(QueryIn, {"filters": _json_arg(filters, "--filters") or {}, "limit": limit, "offset": offset,
                               "version": version})  # fmt: skip
        emit_json(access.share_query(ctx, grant_id, data))


@app.command("verify")
def verify(grant_id: str, record: str = typer.Argument(..., help='JSON, e.g. {"citizen_id": "…", "name": "…"}'),
           as_user: str = AS_OPTION) -> None:  # fmt: skip
    """数据核验: does a record with these values exist? Prints 一致 / 不一致."""
    from citybrain.share import access
    from citybrain.share.schemas import VerifyIn

    with unit_of_work(as_user) as ctx:
        out = access.share_verify(ctx, grant_id, parse(VerifyIn, {"record": _json_arg(record, "record")}))
        console.print("一致" if out["match"] else "不一致")


@app.command("export")
def export(grant_id: str, format: str = "csv", as_user: str = AS_OPTION) -> None:
    """Export a grant's data to a file under CITYBRAIN_HOME/share/exports (runs in the foreground)."""
    from citybrain.db import get_database
    from citybrain.settings import get_settings
    from citybrain.share import access
    from citybrain.share.schemas import ExportIn

    with unit_of_work(as_user) as ctx:
        job = access.share_export_start(ctx, grant_id, parse(ExportIn, {"format": format}))
    out = access.run_export(get_database(), get_settings(), job.id)
    console.print(f"导出 {out.id}：{out.status}，{out.rows_done} 行" + (f"（{out.error}）" if out.error else ""))


@app.command("demand")
def demand(
    title: str, description: str = "", purpose: str = "", dept: str | None = None, as_user: str = AS_OPTION
) -> None:
    """Ask for data the catalog does not list; it is routed to the likely source department."""
    from citybrain.share import service
    from citybrain.share.schemas import DemandCreate

    with unit_of_work(as_user) as ctx:
        data = parse(DemandCreate, {"title": title, "description": description, "purpose": purpose, "dept": dept})
        emit_json(service.demand_create(ctx, data).model_dump(mode="json"))


@app.command("answer")
def answer(
    demand_id: str,
    resource: str = typer.Option(None, help="supplied as this resource"),
    reason: str = typer.Option("", help="why it is refused"),
    as_user: str = AS_OPTION,
) -> None:
    """Answer a demand: supplied as a resource (--resource) or refused (--reason)."""
    from citybrain.share import service
    from citybrain.share.schemas import DemandAnswer

    with unit_of_work(as_user) as ctx:
        outcome = "supplied" if resource else "refused"
        data = parse(DemandAnswer, {"outcome": outcome, "resource": resource, "reason": reason})
        out = service.demand_answer(ctx, demand_id, data)
        console.print(f"需求 {out.id}：{out.status}")


@app.command("anomalies")
def anomalies_cmd(status: str | None = None, as_user: str = AS_OPTION) -> None:
    """List anomaly alerts."""
    from citybrain.share import anomalies

    with unit_of_work(as_user) as ctx:
        items = anomalies.anomaly_list(ctx, status=status)
        table(f"共 {len(items)} 条", ["时间", "类型", "资源", "授权", "说明", "状态"],
              [[a.at, a.kind, a.resource_key, a.grant_id, a.message, a.status] for a in items])  # fmt: skip


@app.command("metrics")
def metrics_cmd(as_user: str = AS_OPTION) -> None:
    """Sharing metrics (共享率, fulfilment, time to approve, calls, verifications) as JSON."""
    from citybrain.share import metrics

    with unit_of_work(as_user) as ctx:
        emit_json(metrics.share_metrics(ctx))
