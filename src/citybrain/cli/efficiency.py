"""``citybrain efficiency``: the 工业企业效益综合评价 (亩均效益) cycle from the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from citybrain.cli.common import AS_OPTION, console, emit_json, table, unit_of_work
from citybrain.efficiency import service
from citybrain.efficiency.api_schemas import CycleCreate, DecisionIn, FirmBind, ObjectionReply, TransitionIn

app = typer.Typer(help="工业企业效益综合评价（亩均效益，溧政发〔2023〕6号）", no_args_is_help=True)


@app.command("install")
def install(as_user: str = AS_OPTION) -> None:
    """Register the input resources in the catalog under their source departments."""
    with unit_of_work(as_user) as ctx:
        created = service.efficiency_catalog_install(ctx)
    console.print(f"已登记 {len(created)} 个资源：{'、'.join(created) or '无（均已存在）'}")


@app.command("demo")
def demo(
    year: int = typer.Argument(..., help="评价年度"),
    seed: str = typer.Option("2024", help="随机种子：同一种子生成同样的企业"),
    firms: int = typer.Option(3000, help="企业数"),
    as_user: str = AS_OPTION,
) -> None:
    """Generate and load a demo 溧阳 population for one year."""
    with unit_of_work(as_user) as ctx:
        out = service.efficiency_demo_load(ctx, year, seed=seed, n_firms=firms)
    table(
        f"{year} 年度演示数据",
        ["资源", "版本", "行数"],
        [[k, out["versions"][k], out["rows"][k]] for k in out["versions"]],
    )


@app.command("start")
def start(
    year: int,
    params: str = typer.Option(None, help="参数版本；缺省按年度选用施行中的版本"),
    deadline: str = typer.Option(None, help="数据核对截止日期 YYYY-MM-DD"),
    as_user: str = AS_OPTION,
) -> None:
    """Open the cycle of a year (数据采集)."""
    with unit_of_work(as_user) as ctx:
        c = service.efficiency_cycle_create(
            ctx,
            CycleCreate(
                year=year, params_version=params, check_deadline=dt.date.fromisoformat(deadline) if deadline else None
            ),
        )
        emit_json(service.cycle_public(c))


@app.command("advance")
def advance(
    year: int,
    to: str = typer.Argument(..., help="checking / evaluating / published / collecting"),
    note: str = typer.Option(None, help="退回时的理由"),
    deadline: str = typer.Option(None, help="数据核对截止日期 YYYY-MM-DD"),
    as_user: str = AS_OPTION,
) -> None:
    """Move the cycle to the next state."""
    with unit_of_work(as_user) as ctx:
        c = service.efficiency_cycle_advance(
            ctx,
            year,
            TransitionIn(to=to, note=note, check_deadline=dt.date.fromisoformat(deadline) if deadline else None),
        )
        console.print(f"{year} 年度评价：{service.cycle_public(c)['state_name']}")


@app.command("status")
def status(year: int, as_user: str = AS_OPTION) -> None:
    """Show a cycle: state, dates, transitions, open objections."""
    with unit_of_work(as_user) as ctx:
        emit_json(service.efficiency_cycle_show(ctx, year))


@app.command("exceptions")
def exceptions(year: int, dept: str = typer.Option(None), as_user: str = AS_OPTION) -> None:
    """Invalid and unmatched codes per source department."""
    with unit_of_work(as_user) as ctx:
        rows = service.efficiency_exception_list(ctx, year, dept=dept)
        table(
            f"{year} 年度数据异常 {len(rows)} 条",
            ["资源", "字段", "代码", "问题", "行数"],
            [[r.resource_key, r.column, r.value, r.message, r.rows] for r in rows],
        )


@app.command("reply")
def reply(objection_id: str, status: str, text: str, as_user: str = AS_OPTION) -> None:
    """Answer an objection as the department it was routed to: accepted or rejected, with the reply."""
    with unit_of_work(as_user) as ctx:
        obj = service.efficiency_objection_reply(ctx, objection_id, ObjectionReply(status=status, reply=text))  # type: ignore[arg-type]
        console.print(f"异议 {obj.id}：{obj.status}")


@app.command("run")
def run(year: int, as_user: str = AS_OPTION) -> None:
    """Compute every firm of the year with the cycle's parameters and the current decisions."""
    with unit_of_work(as_user) as ctx:
        r = service.efficiency_run(ctx, year)
        table(
            f"{year} 年度第 {r.seq} 次计算（{r.seconds} 秒，校验和 {r.checksum[:16]}）",
            ["类别", "企业数"],
            [[k, v] for k, v in r.class_counts.items()],
        )


@app.command("decide")
def decide(
    year: int,
    kind: str = typer.Argument(..., help="t_confirm / t_reject / adjust"),
    uscc: str = typer.Argument(...),
    reason: str = typer.Option(..., help="领导小组研究意见"),
    new_class: str = typer.Option(None, "--class", help="调档后的类别"),
    basis: str = typer.Option(None, help="科技领军 / 重点培育"),
    as_user: str = AS_OPTION,
) -> None:
    """Record a 领导小组 decision (T 认定 or 调档 4)."""
    with unit_of_work(as_user) as ctx:
        d = service.efficiency_decide(
            ctx,
            year,
            DecisionIn(kind=kind, uscc=uscc, new_class=new_class, basis=basis, reason=reason),  # type: ignore[arg-type]
        )
        console.print(f"已记录：{d.kind} {d.uscc}")


@app.command("confirm-t")
def confirm_t(
    year: int, reason: str = typer.Option("镇（区、街道）提出，领导小组认定"), as_user: str = AS_OPTION
) -> None:
    """Confirm every T candidate of the latest run at once (the 领导小组's usual list decision)."""
    with unit_of_work(as_user) as ctx:
        page = service.efficiency_result_list(ctx, year, cls="T", limit=1000)
        n = 0
        for r in page["items"]:
            service.efficiency_decide(ctx, year, DecisionIn(kind="t_confirm", uscc=r.uscc, reason=reason))
            n += 1
    console.print(f"已认定 {n} 家暂缓定类企业；请重新计算后确认")


@app.command("confirm")
def confirm(year: int, as_user: str = AS_OPTION) -> None:
    """The 领导小组 confirms the latest run."""
    with unit_of_work(as_user) as ctx:
        r = service.efficiency_confirm(ctx, year)
        console.print(f"已确认第 {r.seq} 次计算")


@app.command("show")
def show(year: int, uscc: str, as_user: str = AS_OPTION) -> None:
    """One firm's result with its full breakdown, as JSON."""
    with unit_of_work(as_user) as ctx:
        emit_json(service.efficiency_result_show(ctx, year, uscc))


@app.command("report")
def report(
    year: int,
    town: str = typer.Option(None, help="镇（区、街道）区划代码"),
    xlsx: Path = typer.Option(None, help="写出 Excel 文件"),
    as_user: str = AS_OPTION,
) -> None:
    """Per town class counts and moves; --xlsx writes the Excel report."""
    from citybrain.efficiency.reports import to_xlsx

    with unit_of_work(as_user) as ctx:
        data = service.efficiency_report(ctx, year, town_code=town)

    def pct(t: dict[str, Any]) -> str:
        change = (t.get("change") or {}).get("tax_per_mu_pct")
        return "" if change is None else f"{change:+.2f}%"

    since = f"（与 {data['previous_year']} 年度同比）" if data.get("previous_year") else ""
    table(
        f"{year} 年度评价结果{since}",
        ["镇（区、街道）", "企业", "A", "B", "C", "D", "T", "升档", "降档", "新参评", "退出", "亩均税收同比"],
        [
            [
                t["town"],
                t["firms"],
                *t["counts"].values(),
                *(t["moves"][m] for m in ("升档", "降档", "新参评", "退出")),
                pct(t),
            ]
            for t in [*data["towns"], {**data["total"], "town": "合计"}]
        ],
    )
    if xlsx:
        xlsx.write_bytes(to_xlsx(data))
        console.print(f"已写出 {xlsx}")


@app.command("clearout")
def clearout(year: int = typer.Option(None), town: str = typer.Option(None), as_user: str = AS_OPTION) -> None:
    """The 危污乱散低 clear-out register."""
    with unit_of_work(as_user) as ctx:
        rows = service.efficiency_clearout_list(ctx, year=year, town_code=town)
        table(
            f"整治台账 {len(rows)} 家",
            ["年度", "镇（区、街道）", "统一社会信用代码", "企业名称", "面积（亩）", "状态"],
            [[r.year, r.town, r.uscc, r.name, r.area_mu, r.status] for r in rows],
        )


@app.command("bind")
def bind(username: str, uscc: str, as_user: str = AS_OPTION) -> None:
    """Bind a portal account to its firm."""
    with unit_of_work(as_user) as ctx:
        service.efficiency_firm_bind(ctx, FirmBind(username=username, uscc=uscc))
    console.print(f"已绑定 {username} → {uscc}")
