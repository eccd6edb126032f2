"""``citybrain quality``: runs, quality reports, tickets, objections and the league table."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from citybrain.cli.common import AS_OPTION, console, emit_json, table, unit_of_work
from citybrain.errors import Invalid, parse
from citybrain.quality import metrics, objections, service, tickets
from citybrain.quality.schemas import (
    DIMENSION_LABELS,
    OBJECTION_STATUS_LABELS,
    SEVERITY_LABELS,
    TICKET_STATUS_LABELS,
    ObjectionCreate,
    RuleIn,
)

app = typer.Typer(help="Data governance (数据治理): quality runs, rectification tickets, objections")
rules_app = typer.Typer(help="Rules of a resource (derived from the catalog, plus stewards' own)")
tickets_app = typer.Typer(help="Rectification tickets (整改工单)", invoke_without_command=True)
objections_app = typer.Typer(help="Data objections (数据异议)", invoke_without_command=True)
app.add_typer(rules_app, name="rules")
app.add_typer(tickets_app, name="tickets")
app.add_typer(objections_app, name="objections")


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _dims(dimensions: dict[str, float]) -> str:
    return "  ".join(f"{DIMENSION_LABELS.get(k, k)} {v:.2f}" for k, v in dimensions.items())


@app.command("run")
def run(
    ref: str,
    version: int = typer.Option(None, help="lake version (default: current)"),
    as_json: bool = typer.Option(False, "--json"),
    as_user: str = AS_OPTION,
) -> None:
    """Run the resource's rules on a lake version; opens and closes rectification tickets."""
    with unit_of_work(as_user) as ctx:
        result = service.quality_run(ctx, ref, version)
        if as_json:
            emit_json(result.model_dump(mode="json"))
            return
        console.print(
            f"{result.resource_key} 版本 {result.version}：{result.rows} 行，综合得分 {_score(result.overall)}"
        )
        console.print(_dims(result.dimensions))
        table(
            "规则结果",
            ["规则", "维度", "严重程度", "检查", "不合格"],
            [
                [r.rule_id, r.dimension_label, SEVERITY_LABELS.get(r.severity, r.severity), r.checked, r.failed]
                for r in result.results
            ],
        )
        for s in result.skipped:
            console.print(f"[yellow]未执行[/] {s['rule']}：{s['reason']}")
        console.print(f"新开整改工单 {result.tickets_opened} 张，关闭 {result.tickets_closed} 张")


@app.command("show")
def show(
    ref: str,
    version: int = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
    as_user: str = AS_OPTION,
) -> None:
    """Scores, trend over versions and failing samples of a resource."""
    with unit_of_work(as_user) as ctx:
        report = service.quality_show(ctx, ref, version)
        if as_json:
            emit_json(report.model_dump(mode="json"))
            return
        console.print(f"{report.resource_name}（{report.resource_key}，{report.dept_name}）")
        table(
            "质量趋势",
            ["版本", "综合得分", "各维度", "评估时间"],
            [
                [p.version, _score(p.overall), _dims(p.dimensions), f"{p.created_at:%Y-%m-%d %H:%M}"]
                for p in report.trend
            ],
        )
        if report.run is None:
            console.print("尚未评估")
            return
        rows = []
        for r in report.run.results:
            for s in r.samples[:5]:
                other = "；".join(f"{k}={v}" for k, v in s.related)
                rows.append([r.rule_id, s.key, s.field, s.value, other])
        table("不合格样例（每条规则前 5 条）", ["规则", "主键", "字段", "值", "关联/比对"], rows)
        console.print(f"待整改工单 {report.open_tickets} 张，待处理异议 {report.open_objections} 条")


@app.command("league")
def league(as_user: str = AS_OPTION) -> None:
    """Department league table for the chief data officer."""
    with unit_of_work(as_user) as ctx:
        rows = metrics.quality_league(ctx)
        table(
            "部门数据质量排行",
            ["排名", "部门", "资源", "质量得分", "整改率", "平均整改(小时)", "待整改", "逾期", "异议成立/驳回"],
            [
                [
                    i,
                    m.dept_name,
                    m.resources,
                    _score(m.score),
                    "—" if m.rectification_rate is None else f"{m.rectification_rate:.0%}",
                    "—" if m.avg_rectify_hours is None else f"{m.avg_rectify_hours:.1f}",
                    m.tickets_open,
                    m.tickets_overdue,
                    f"{m.objections_upheld}/{m.objections_rejected}",
                ]
                for i, m in enumerate(rows, 1)
            ],
        )


@rules_app.command("list")
def rules_list(ref: str, as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        table(
            "质量规则",
            ["规则", "类型", "维度", "严重程度", "来源", "字段", "说明"],
            [
                [r.id, r.kind, r.dimension_label, r.severity, r.origin, ", ".join(r.columns), r.description]
                for r in service.rule_list(ctx, ref)
            ],
        )


@rules_app.command("add")
def rules_add(
    ref: str, spec: str = typer.Argument(..., help="rule JSON, or @file.json"), as_user: str = AS_OPTION
) -> None:
    """Add a steward rule, e.g. '{"kind":"pattern","id":"zip","column":"zip","pattern":"^\\\\d{6}$"}'."""
    text = Path(spec[1:]).read_text(encoding="utf-8") if spec.startswith("@") else spec
    with unit_of_work(as_user) as ctx:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"规则不是合法的 JSON：{exc}") from None
        created = service.rule_create(ctx, ref, RuleIn(spec=data))
        console.print(f"已添加规则 {created.id}")


@rules_app.command("delete")
def rules_delete(ref: str, rule_id: str, as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        service.rule_delete(ctx, ref, rule_id)
        console.print(f"已删除规则 {rule_id}")


@tickets_app.callback()
def tickets_list(
    typer_ctx: typer.Context,
    status: str = typer.Option(None, help="open | closed | rejected"),
    resource: str = typer.Option(None),
    escalated: bool = typer.Option(None, "--escalated/--not-escalated"),
    as_user: str = AS_OPTION,
) -> None:
    """List tickets (the steward's inbox); sub-commands show, reject, recheck, escalate."""
    if typer_ctx.invoked_subcommand is not None:
        return
    with unit_of_work(as_user) as ctx:
        rows = tickets.ticket_list(ctx, status=status, resource=resource, escalated=escalated)
        table(
            f"整改工单（{len(rows)} 张）",
            ["编号", "资源", "规则", "严重程度", "状态", "问题数据", "责任部门", "整改期限", "逾期"],
            [
                [
                    t.number,
                    t.resource_key,
                    t.rule_id,
                    SEVERITY_LABELS.get(t.severity, t.severity),
                    TICKET_STATUS_LABELS.get(t.status, t.status),
                    t.failed,
                    t.dept_name,
                    f"{t.due_at:%Y-%m-%d}",
                    "是" if t.overdue else "",
                ]
                for t in rows
            ],
        )


@tickets_app.command("show")
def tickets_show(ref: str, as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        emit_json(tickets.ticket_show(ctx, ref).model_dump(mode="json"))


@tickets_app.command("reject")
def tickets_reject(ref: str, reason: str = typer.Option(..., "--reason"), as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        t = tickets.ticket_reject(ctx, ref, reason)
        console.print(f"工单 {t.number} 已驳回")


@tickets_app.command("recheck")
def tickets_recheck(ref: str, as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        t = tickets.ticket_recheck(ctx, ref)
        console.print(f"工单 {t.number}：{TICKET_STATUS_LABELS.get(t.status, t.status)}，待整改记录 {t.items_open} 条")


@tickets_app.command("escalate")
def tickets_escalate(as_user: str = AS_OPTION) -> None:
    """Escalate overdue tickets to the chief data officer (run daily, e.g. from cron)."""
    with unit_of_work(as_user) as ctx:
        rows = tickets.tickets_escalate(ctx)
        console.print(f"已上报首席数据官 {len(rows)} 张逾期工单")


@objections_app.callback()
def objections_list(
    typer_ctx: typer.Context,
    status: str = typer.Option(None, help="open | upheld | fixed | rejected"),
    direction: str = typer.Option(None, help="received | raised"),
    as_user: str = AS_OPTION,
) -> None:
    """List objections; sub-commands raise, show, uphold, reject."""
    if typer_ctx.invoked_subcommand is not None:
        return
    with unit_of_work(as_user) as ctx:
        rows = objections.objection_list(ctx, status=status, direction=direction)
        table(
            f"数据异议（{len(rows)} 条）",
            ["编号", "资源", "受理资源", "受理部门", "字段", "记录数", "状态", "提出人"],
            [
                [
                    o.number,
                    o.resource_key,
                    o.target_resource_key,
                    o.dept_name,
                    o.field or "",
                    len(o.keys),
                    OBJECTION_STATUS_LABELS.get(o.status, o.status),
                    o.raised_by,
                ]
                for o in rows
            ],
        )


@objections_app.command("raise")
def objections_raise(
    ref: str,
    keys: list[str] = typer.Option(..., "--key", help="disputed record key; repeat for several"),
    description: str = typer.Option(..., "--description"),
    evidence: str = typer.Option(..., "--evidence"),
    field: str = typer.Option(None, "--field"),
    as_user: str = AS_OPTION,
) -> None:
    with unit_of_work(as_user) as ctx:
        data = parse(ObjectionCreate, {"keys": keys, "field": field, "description": description, "evidence": evidence})
        o = objections.objection_create(ctx, ref, data)
        console.print(f"异议 {o.number} 已提交，受理部门：{o.dept_name}（资源 {o.target_resource_key}）")


@objections_app.command("show")
def objections_show(ref: str, as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        emit_json(objections.objection_show(ctx, ref).model_dump(mode="json"))


@objections_app.command("uphold")
def objections_uphold(ref: str, reason: str = typer.Option("", "--reason"), as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        o = objections.objection_uphold(ctx, ref, reason)
        console.print(f"异议 {o.number} 成立，请在新版本中更正")


@objections_app.command("reject")
def objections_reject(ref: str, reason: str = typer.Option(..., "--reason"), as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        o = objections.objection_reject(ctx, ref, reason)
        console.print(f"异议 {o.number} 不成立，已驳回")
