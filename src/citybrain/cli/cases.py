"""``citybrain cases``: 一网统管 from the command line (grids, intake, the workflow, 督办, 考核)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from citybrain.cases import intake, kpi, routing, service, supervision
from citybrain.cases.enums import STATE_LABELS, CaseState
from citybrain.cases.schemas import CaseQuery, ReportIn, RoutingRuleIn
from citybrain.cli.common import AS_OPTION, console, emit_json, table, unit_of_work
from citybrain.errors import Invalid, parse

app = typer.Typer(help="City operations cases (一网统管案件)")

_TZ = ZoneInfo("Asia/Shanghai")


def _local(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment.astimezone(_TZ):%Y-%m-%d %H:%M}"


def _date(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{name} 须为日期或时间，如 2026-10-01", param_hint=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_TZ)


@app.command("grids-import")
def grids_import(
    file: Path = typer.Option(None, help="GeoJSON FeatureCollection of the five-level boundaries"),
    demo: bool = typer.Option(False, help="the demo grid over 常州"),
    grids: int = typer.Option(400, help="demo: number of unit grids"),
    as_user: str = AS_OPTION,
) -> None:
    """Load the grid boundaries (grid workers already assigned are kept)."""
    with unit_of_work(as_user) as ctx:
        geojson = file.read_text(encoding="utf-8") if file else None
        count = service.grid_import(ctx, geojson, demo=demo, grids_total=grids)
    console.print(f"已导入 {count} 个区域")


@app.command("grid-worker")
def grid_worker(code: str, user: str, as_user: str = AS_OPTION) -> None:
    """Assign the 网格员 of a unit grid."""
    with unit_of_work(as_user) as ctx:
        service.grid_assign_worker(ctx, code, user)
    console.print(f"网格 {code} 的网格员：{user}")


@app.command("rule-add")
def rule_add(
    dept: str,
    code: str = typer.Option("*", help="5-digit code, 大类 wildcard like 06*, or *"),
    kind: str = typer.Option("*", help="部件 / 事项 / *"),
    area: str = typer.Option("", help="division prefix, e.g. 320402 (天宁区)"),
    as_user: str = AS_OPTION,
) -> None:
    """Add a routing rule: category × area → department."""
    with unit_of_work(as_user) as ctx:
        rule = routing.routing_rule_create(
            ctx, parse(RoutingRuleIn, {"kind": kind, "code": code, "area_prefix": area, "dept": dept})
        )
        console.print(f"已添加路由规则 {rule.id}")


@app.command("report")
def report(
    text: str,
    lon: float = typer.Option(None),
    lat: float = typer.Option(None),
    address: str = typer.Option(None),
    channel: str = typer.Option("patrol", help="hotline / patrol / open311 / iot / video"),
    code: str = typer.Option(None, help="GB/T 47678.5 code; empty: suggested from the text"),
    as_user: str = AS_OPTION,
) -> None:
    """Report a problem (it may join an existing case)."""
    with unit_of_work(as_user) as ctx:
        data = parse(
            ReportIn,
            {
                k: v
                for k, v in dict(channel=channel, text=text, lon=lon, lat=lat, address=address, code=code).items()
                if v is not None
            },
        )
        result = intake.case_report(ctx, data)
        emit_json(result.model_dump())


@app.command("list")
def list_(
    state: str = typer.Option(None),
    source: str = typer.Option(None),
    grid: str = typer.Option(None, help="grid or division code prefix"),
    open_only: bool = typer.Option(False, "--open", help="only cases not finished"),
    overdue: bool = typer.Option(None, "--overdue/--on-time"),
    limit: int = 50,
    as_user: str = AS_OPTION,
) -> None:
    """Cases, most urgent first."""
    with unit_of_work(as_user) as ctx:
        filters = dict(state=state, source=source, grid=grid, overdue=overdue, open_only=open_only, limit=limit)
        query = parse(CaseQuery, {k: v for k, v in filters.items() if v is not None})
        total, rows = service.case_list(ctx, query)
        table(
            f"共 {total} 件",
            ["编号", "标题", "类别", "网格", "状态", "时限", "计时", "督办"],
            [
                [
                    c.request_id,
                    c.title,
                    f"{c.code or ''} {c.code_name or '未分类'}",
                    c.grid_id,
                    STATE_LABELS[CaseState(c.state)],
                    _local(c.due_at),
                    c.timer_state,
                    c.supervision_level or "",
                ]
                for c in rows
            ],
        )


@app.command("show")
def show(ref: str, as_user: str = AS_OPTION) -> None:
    """One case with its timeline, as JSON."""
    with unit_of_work(as_user) as ctx:
        emit_json(service.case_show(ctx, ref).model_dump(mode="json"))


@app.command("act")
def act(
    ref: str,
    step: str = typer.Argument(..., help="accept, register, dispatch, sign, dispose, feedback, verify, close, …"),
    data: str = typer.Option("{}", "--data", help='the step\'s fields as JSON, e.g. \'{"note": "已清运"}\''),
    version: int = typer.Option(None, help="the version you saw (refused when the case changed since)"),
    as_user: str = AS_OPTION,
) -> None:
    """Take one workflow step on a case."""
    from citybrain.web.api.cases import run_step

    try:
        body = json.loads(data)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--data 不是有效的 JSON：{exc}") from None
    if not isinstance(body, dict):
        raise typer.BadParameter("--data 须为 JSON 对象")
    if version is not None:
        body["version"] = version
    with unit_of_work(as_user) as ctx:
        case = run_step(ctx, ref, step, body)
        console.print(f"案件 {case.request_id}：{STATE_LABELS[CaseState(case.state)]}（第 {case.version} 版）")


@app.command("supervise")
def supervise(as_user: str = AS_OPTION) -> None:
    """督办 sweep: warn at-risk cases, escalate overdue ones one level up."""
    with unit_of_work(as_user) as ctx:
        result = supervision.cases_supervise(ctx)
    console.print(
        f"检查 {result['checked']} 件；预警 {len(result['warned'])} 件；督办 {len(result['escalated'])} 件"
        + (f"：{'、'.join(result['escalated'])}" if result["escalated"] else "")
    )


@app.command("kpi")
def kpi_(
    start: str = typer.Option(..., help="first day, e.g. 2026-10-01"),
    end: str = typer.Option(..., help="day after the last, e.g. 2026-11-01"),
    by: str = typer.Option(
        "district", help="city / district / street / community / grid / department / source / category"
    ),
    as_json: bool = typer.Option(False, "--json"),
    as_user: str = AS_OPTION,
) -> None:
    """考核 KPIs for cases reported in [start, end), with 同比 / 环比."""
    with unit_of_work(as_user) as ctx:
        if by not in kpi.DIMENSIONS:
            from citybrain.cli.common import fail

            fail(Invalid(f"统计维度无效：{by}", details={"allowed": list(kpi.DIMENSIONS)}))
        result = kpi.cases_kpi(ctx, _date(start, "start"), _date(end, "end"), by)
    if as_json:
        emit_json(result)
        return

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value * 100:.1f}%"

    labels = result["labels"]["rates"]
    table(
        f"考核（{start} 至 {end}，按{by}）",
        ["维度", "上报", "立案", "结案", *labels.values(), "平均处置时长(h)"],
        [
            [
                r["name"],
                r["counts"]["reported"],
                r["counts"]["registered"],
                r["counts"]["closed"],
                *[pct(r["rates"][k]) for k in labels],
                r["averages"]["avg_dispose_hours"],
            ]
            for r in result["rows"]
        ],
    )


@app.command("deliver")
def deliver(as_user: str = AS_OPTION) -> None:
    """Send pending webhook deliveries from the outbox."""
    with unit_of_work(as_user) as ctx:
        counts = service.outbox_deliver(ctx)
    console.print(f"已发送 {counts['sent']}，待重试 {counts['retry']}，失败 {counts['failed']}")


@app.command("demo")
def demo(
    count: int = typer.Option(60, help="cases to generate over the last 60 days"),
    seed: int = typer.Option(0),
    as_user: str = AS_OPTION,
) -> None:
    """Demo grid, routing rules for the demo departments and a few weeks of cases through the workflow."""
    from citybrain.cases.demo import seed_cases

    with unit_of_work(as_user) as ctx:
        result = seed_cases(ctx, count=count, seed=seed)
    console.print(f"已生成 {result['cases']} 件演示案件（共 {result['total']} 件），新增路由规则 {result['rules']} 条")
