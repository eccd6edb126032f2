"""演示案件 (demo cases): the demo grid, routing rules for the demo departments and a few weeks of cases.

Deterministic for a seed. Every case goes through the real actions (intake, 受理, 立案, 派遣 …) with
past timestamps, so the queue, the 督办 board and the 考核 pages have something true to show.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from citybrain.actions import Context
from citybrain.cases import intake, routing, service
from citybrain.cases.codes import load_codes
from citybrain.cases.models import Case, GridArea, RoutingRule
from citybrain.cases.schemas import DisposeIn, ReportIn, RevisitIn, RoutingRuleIn, VerifyIn
from citybrain.db import utcnow
from citybrain.errors import CityBrainError
from citybrain.org.models import Department

#: (code, what people say) — common 城市管理 problems
PROBLEMS = (
    ("06042", "垃圾桶满溢，垃圾散落一地"),
    ("06010", "路边有暴露垃圾无人清理"),
    ("06011", "人行道旁堆着建筑垃圾渣土很久了"),
    ("09006", "有摊贩占道经营卖水果"),
    ("09005", "沿街商户店外经营堆放货物"),
    ("01037", "路灯晚上不亮"),
    ("06013", "道路破损坑洼"),
    ("07001", "电线杆上贴满非法小广告"),
    ("09009", "机动车乱停放堵住人行道"),
    ("06028", "夜间噪声扰民"),
)
#: 大类 → the demo department competent for it (when that department exists)
RULES = (("06*", "cgj"), ("07*", "cgj"), ("09*", "cgj"), ("01*", "cgj"), ("08*", "zjj"), ("02*", "jtj"))
CHANNELS = ("patrol", "patrol", "open311", "hotline", "iot")
#: how far a case got: index into the steps below (0 = just reported … 8 = closed)
_PROGRESS_WEIGHTS = (1, 1, 1, 2, 2, 1, 1, 1, 10)


def _rules(ctx: Context) -> int:
    added = 0
    existing = {(r.code, r.dept_id) for r in ctx.session.scalars(select(RoutingRule))}
    for pattern, code in RULES:
        dept = ctx.session.scalar(select(Department).where(Department.code == code))
        if dept is None or (pattern, dept.id) in existing:
            continue
        routing.routing_rule_create(ctx, RoutingRuleIn(kind="*", code=pattern, dept=dept.id, note="演示路由规则"))
        added += 1
    return added


def seed_cases(ctx: Context, *, count: int = 60, seed: int = 0, now: datetime | None = None) -> dict[str, Any]:
    """Import the demo grid when none is loaded, add routing rules, then ``count`` cases."""
    if not ctx.session.scalar(select(func.count()).select_from(GridArea)):
        service.grid_import(ctx, demo=True)
    rules = _rules(ctx)
    rng = random.Random(seed)
    now = now or utcnow()
    book = load_codes()
    problems = [(code, text) for code, text in PROBLEMS if book.find("事项", code)]
    grids = list(
        ctx.session.execute(
            select(GridArea.min_lon, GridArea.min_lat, GridArea.max_lon, GridArea.max_lat)
            .where(GridArea.level == "grid", GridArea.code.startswith("32040"))
            .order_by(GridArea.code)
        ).all()
    )
    made = 0
    for i in range(count):
        code, text = rng.choice(problems)
        west, south, east, north = rng.choice(grids)
        channel = rng.choice(CHANNELS)
        reported = now - timedelta(days=rng.uniform(0.5, 60))
        data = ReportIn(
            channel=channel,
            text=text,
            kind="事项",
            code=code,
            lon=round(rng.uniform(west, east), 6),
            lat=round(rng.uniform(south, north), 6),
            reported_at=reported,
            external_id=f"DEMO-{seed}-{i}" if channel in ("hotline", "iot") else None,
        )
        try:
            result = intake.case_report(ctx, data, now=reported)
            if not result.merged:
                made += 1
                _progress(ctx, result.case_id, rng, reported, now)
        except CityBrainError:
            # a demo case that cannot go further (no route, say) simply stays where it is
            continue
    return {"cases": made, "rules": rules, "total": ctx.session.scalar(select(func.count()).select_from(Case))}


def _progress(ctx: Context, ref: str, rng: random.Random, start: datetime, now: datetime) -> None:
    target = rng.choices(range(9), weights=_PROGRESS_WEIGHTS)[0]
    moment = start
    hotline = service.get_case(ctx.session, ref).source == "hotline"
    steps: list[tuple[float, Any]] = [
        (rng.uniform(2, 20), lambda at: service.case_accept(ctx, ref, now=at)),
        (rng.uniform(2, 15), lambda at: service.case_register(ctx, ref, now=at)),
        (rng.uniform(2, 30), lambda at: service.case_dispatch(ctx, ref, now=at)),
        (rng.uniform(20, 120), lambda at: service.case_sign(ctx, ref, now=at)),
        (rng.uniform(60, 60 * 60), lambda at: service.case_dispose(ctx, ref, DisposeIn(note="已处置完毕"), now=at)),
        (rng.uniform(5, 30), lambda at: service.case_feedback(ctx, ref, now=at)),
        (rng.uniform(10, 90), lambda at: service.case_verify(ctx, ref, VerifyIn(passed=True), now=at)),
        (rng.uniform(10, 60), lambda at: _close(ctx, ref, at, hotline, rng)),
    ]
    for minutes, step in steps[:target]:
        moment += timedelta(minutes=minutes)
        if moment >= now:
            return
        step(moment)


def _close(ctx: Context, ref: str, at: datetime, hotline: bool, rng: random.Random) -> None:
    if hotline:
        service.case_revisit(ctx, ref, RevisitIn(satisfied=rng.random() < 0.9), now=at)
        if service.get_case(ctx.session, ref).state != "revisited":
            return
    service.case_close(ctx, ref, now=at)
