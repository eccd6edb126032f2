"""Benchmark: 一网统管 intake rate, batch routing and 考核 (KPIs), on PostgreSQL.

Three figures, each against the goal the issue sets:

1. **Intake**: reports through the real actions (``case_report`` for 巡查, ``case_hotline_create``
   for 12345 tickets whose category is suggested from the text, ``open311_request_create`` for
   随手拍, ``case_webhook_intake`` for IoT alarms), each in its own unit of work and committed, as a
   request would be: locate the point, classify, look for a duplicate to merge, write case, report,
   timeline and audit entry. Goal ≥ 300 cases/s sustained with p99 < 100 ms per intake. Measured on
   threads of one process (the figure), and beside it on several single-threaded processes, as several
   server workers would serve intake.
2. **Batch routing** of geocoded events: point → unit grid (vectorized STRtree lookup) and the
   routing rules (部件 先属主后属地, 事项 先属地后属主) through ``routing.route_batch``. Goal
   ≥ 10,000 events/s. The per-event path (``GridIndex.locate`` + ``routing.route``) is timed on a
   sample for comparison.
3. **KPIs** over 1,000,000 cases: ``kpi.report`` (one ``GROUP BY`` per period, with 同比 and 环比) by
   each dimension. Goal < 2 s. The cases are bulk-generated in the database (``INSERT … SELECT``
   over ``generate_series``) with consistent stage timestamps, on-time flags and counters.

No peer runs here for comparison (no open-source system implements this loop); the per-event routing
path is the baseline for the batch one. A scratch database is created on the server and dropped after.
Writes ``bench/results/cases.json``.

    .venv/bin/python bench/bench_cases.py                   # full size
    .venv/bin/python bench/bench_cases.py --intake 300 --route-events 20000 --kpi-cases 100000   # quick
    .venv/bin/python bench/bench_cases.py --parts intake --intake 1000       # the intake figure only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from citybrain.cases.demo import PROBLEMS as DEMO_PROBLEMS
from latency import percentiles

RESULTS = Path(__file__).resolve().parent / "results" / "cases.json"
TZ = ZoneInfo("Asia/Shanghai")
GOALS = {"intake_per_s": 300.0, "intake_p99_ms": 100.0, "route_per_s": 10_000.0, "kpi_s": 2.0}

#: (code, what people say) — the demo's common problems, for the channels that send text only
PROBLEMS = DEMO_PROBLEMS
#: 部件 codes for the routing batch (市政公用设施: 井盖, 路灯 …)
COMPONENT_CODES = ("01001", "01002", "01006", "01010", "02008", "03001")
DEPARTMENTS = (
    ("cgj", "常州市城市管理局", "市", "320400"),
    ("szc", "常州市市政设施管理处", "市", "320400"),
    ("zjj", "常州市住房和城乡建设局", "市", "320400"),
    ("jtj", "常州市交通运输局", "市", "320400"),
    ("xbcg", "常州市新北区城市管理局", "区", "320411"),
    ("zx", "常州市城市运行管理中心", "市", "320400"),
)
#: (kind, code pattern, department code, area prefix)
RULES = (
    ("*", "06*", "cgj", ""),
    ("*", "07*", "cgj", ""),
    ("*", "09*", "cgj", ""),
    ("事项", "01*", "cgj", ""),
    ("部件", "01*", "szc", ""),
    ("*", "08*", "zjj", ""),
    ("*", "02*", "jtj", ""),
    ("*", "03*", "cgj", ""),
    ("*", "06*", "xbcg", "320411"),
)


# ---- measuring ------------------------------------------------------------------------------------


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@contextmanager
def scratch_database(server_url: str, name: str) -> Iterator[str]:
    """A fresh database of our own on the server, dropped after the run (also when it fails)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---- the city ---------------------------------------------------------------------------------------


def build_city(db: Any, settings: Any, seed: int) -> dict[str, Any]:
    """Platform, departments, an operator, one grid worker per district, the demo grid and rules."""
    from sqlalchemy import select

    from citybrain.actions import Context
    from citybrain.auth.actor import SYSTEM
    from citybrain.auth.rules import Role
    from citybrain.auth.schemas import UserCreate
    from citybrain.auth.service import actor_for_user, user_create
    from citybrain.bootstrap import init_platform
    from citybrain.cases.models import GridArea
    from citybrain.cases.routing import routing_rule_create
    from citybrain.cases.schemas import RoutingRuleIn
    from citybrain.cases.service import grid_assign_worker, grid_import
    from citybrain.org.schemas import DepartmentCreate
    from citybrain.org.service import department_create
    from citybrain.standards import generate

    rng = random.Random(seed)
    started = time.perf_counter()
    init_platform(db)
    with db.session() as session:
        ctx = Context(session=session, actor=SYSTEM, settings=settings)
        depts = {}
        for code, name, level, division in DEPARTMENTS:
            uscc = generate.uscc(rng, division=division, department="1", category="1")
            depts[code] = department_create(
                ctx, DepartmentCreate(code=code, name=name, uscc=uscc, level=level, division_code=division)
            )
        operator = user_create(
            ctx,
            UserCreate(
                username="bench_zuoxi", display_name="坐席", password="Bench!passw0rd",
                roles=[Role.GRID_OPERATOR], dept=depts["zx"].id,
            ),
        )  # fmt: skip
        grids = grid_import(ctx, demo=True)
        districts = sorted({c[:6] for c in session.scalars(select(GridArea.code).where(GridArea.level == "grid"))})
        for district in districts:
            user_create(
                ctx,
                UserCreate(
                    username=f"bench_wgy_{district}", display_name=f"网格员 {district}", password="Bench!passw0rd",
                    roles=[Role.GRID_OPERATOR], dept=depts["zx"].id, divisions=[district],
                ),
            )  # fmt: skip
        for code in list(session.scalars(select(GridArea.code).where(GridArea.level == "grid"))):
            grid_assign_worker(ctx, code, f"bench_wgy_{code[:6]}")
        for kind, pattern, dept, prefix in RULES:
            routing_rule_create(ctx, RoutingRuleIn(kind=kind, code=pattern, dept=depts[dept].id, area_prefix=prefix))
        operator_actor = actor_for_user(operator)
        boxes = [
            tuple(row)
            for row in session.execute(
                select(GridArea.code, GridArea.min_lon, GridArea.min_lat, GridArea.max_lon, GridArea.max_lat).where(
                    GridArea.level == "grid"
                )
            )
        ]
    return {
        "operator": operator_actor,
        "boxes": boxes,
        "depts": {k: d.id for k, d in depts.items()},
        "grids": grids,
        "setup_s": round(time.perf_counter() - started, 2),
    }


def _point(rng: random.Random, boxes: list[tuple[Any, ...]]) -> tuple[float, float]:
    _code, west, south, east, north = rng.choice(boxes)
    return round(rng.uniform(west, east), 6), round(rng.uniform(south, north), 6)


# ---- 1. intake ----------------------------------------------------------------------------------------


def intake_calls(n: int, city: dict[str, Any], rng: random.Random, tag: str) -> list[tuple[Any, Callable[[Any], Any]]]:
    """``n`` reports through the four channels' actions, each a function of a fresh Context."""
    from citybrain.auth.actor import ANONYMOUS, SYSTEM
    from citybrain.cases import open311
    from citybrain.cases.intake import case_hotline_create, case_report, case_webhook_intake
    from citybrain.cases.schemas import AlarmIn, HotlineTicketIn, ReportIn

    calls: list[tuple[Any, Callable[[Any], Any]]] = []
    base = datetime.now(TZ) - timedelta(days=20)
    for i in range(n):
        code, text = rng.choice(PROBLEMS)
        lon, lat = _point(rng, city["boxes"])
        at = base + timedelta(seconds=i * 7 + rng.random())
        channel = ("patrol", "patrol", "hotline", "open311", "iot")[i % 5]
        if channel == "patrol":
            data = ReportIn(channel="patrol", text=text, kind="事项", code=code, lon=lon, lat=lat, reported_at=at)
            calls.append((city["operator"], lambda ctx, d=data, at=at: case_report(ctx, d, now=at)))
        elif channel == "hotline":
            # the hotline sends the caller's words only: the category is suggested by the classifier
            ticket = HotlineTicketIn(
                ticket_no=f"{tag}-RX{i}", content=f"市民来电反映：{text}", lon=lon, lat=lat, received_at=at
            )
            calls.append((SYSTEM, lambda ctx, d=ticket, at=at: case_hotline_create(ctx, d, now=at)))
        elif channel == "open311":
            req = open311.RequestIn(service_code=code, description=text, lat=lat, long=lon)
            calls.append((ANONYMOUS, lambda ctx, d=req, at=at: open311.open311_request_create(ctx, d, now=at)))
        else:
            alarm = AlarmIn(
                channel="iot", alarm_id=f"{tag}-AL{i}", device_id=f"DEV{i % 500:04d}", code=code, text=text,
                lon=lon, lat=lat, confidence=0.95, detected_at=at,
            )  # fmt: skip
            calls.append((SYSTEM, lambda ctx, d=alarm, at=at: case_webhook_intake(ctx, d, now=at)))
    return calls


def run_intake(db: Any, settings: Any, calls: list[Any], threads: int) -> tuple[list[float], list[float], float, int]:
    """Run the calls on ``threads`` threads, each call in its own committed session.

    Returns the wall-clock and client-CPU milliseconds of each call, the wall seconds of the whole run and
    how many reports merged into an existing case. The CPU figure is this process's share (Python,
    SQLAlchemy, the driver); the server's work is not in it.
    """
    from citybrain.actions import Context

    latencies: list[float] = []
    cpu: list[float] = []
    merged = 0
    lock = threading.Lock()
    shares = [calls[k::threads] for k in range(threads)]

    def worker(share: list[Any]) -> None:
        nonlocal merged
        mine: list[float] = []
        mine_cpu: list[float] = []
        m = 0
        for actor, fn in share:
            start, cpu_start = time.perf_counter(), time.thread_time()
            with db.session() as session:
                result = fn(Context(session=session, actor=actor, settings=settings))
            mine.append((time.perf_counter() - start) * 1000)
            mine_cpu.append((time.thread_time() - cpu_start) * 1000)
            # Open311 answers with a notice, the other channels with the intake result
            m += "合并" in result["service_notice"] if isinstance(result, dict) else result.merged
        with lock:
            latencies.extend(mine)
            cpu.extend(mine_cpu)
            merged += m

    pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, cpu, time.perf_counter() - started, merged


def _intake_process(
    url: str, home: str, city: dict[str, Any], n: int, warmup: int, seed: int, tag: str, start: Any, results: Any
) -> None:
    """One of several processes sharing the intake load, as one of several server workers would; it warms
    up by itself (the classifier from the parent's disk cache, the grid index) before the common start."""
    from citybrain.actions import load_all
    from citybrain.db import Database
    from citybrain.settings import Settings

    load_all()  # every model mapped, as in a server process (the ORM resolves foreign keys across domains)
    settings = Settings(home=Path(home), database_url=url, log_json=False, log_level="WARNING")
    db = Database(url)
    try:
        rng = random.Random(seed)
        run_intake(db, settings, intake_calls(warmup, city, rng, f"{tag}W"), 1)
        calls = intake_calls(n, city, rng, tag)
        start.wait()
        began = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes
        latencies, cpu, _wall, merged = run_intake(db, settings, calls, 1)
        results.put((latencies, cpu, began, time.perf_counter(), merged))
    finally:
        db.dispose()


def run_intake_processes(
    url: str, settings: Any, city: dict[str, Any], n: int, warmup: int, processes: int
) -> tuple[list[float], list[float], float, int]:
    """``n`` intakes split over ``processes`` processes of one thread each; same returns as ``run_intake``
    (the wall time from the first process's start to the last one's end)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter each: no connection or lock inherited
    start, results = ctx.Barrier(processes + 1), ctx.Queue()
    shares = [n // processes + (k < n % processes) for k in range(processes)]
    pool = [
        ctx.Process(
            target=_intake_process,
            # a seed of its own per run and process: the same points again would merge into the last run's cases
            args=(
                url,
                str(settings.home),
                city,
                share,
                warmup,
                1000 * processes + k,
                f"P{processes}-{k}",
                start,
                results,
            ),
        )
        for k, share in enumerate(shares)
    ]
    for p in pool:
        p.start()
    start.wait(timeout=600)
    outcomes = [results.get(timeout=600) for _ in pool]
    for p in pool:
        p.join()
    latencies = [x for o in outcomes for x in o[0]]
    cpu = [x for o in outcomes for x in o[1]]
    wall = max(o[3] for o in outcomes) - min(o[2] for o in outcomes)
    return latencies, cpu, wall, sum(o[4] for o in outcomes)


def _intake_figures(n: int, latencies: list[float], cpu: list[float], wall: float, merged: int, before: Any) -> Any:
    return {
        "intakes": n,
        "merged_into_existing": merged,
        "wall_s": round(wall, 3),
        "per_s": round(n / wall, 1),
        "latency": percentiles(latencies),
        "client_cpu": percentiles(cpu),
        "load_average_before": before,
        "load_average_after": load(),
    }


def bench_intake(
    db: Any,
    settings: Any,
    city: dict[str, Any],
    n: int,
    warmup: int,
    concurrency: list[int],
    processes: Sequence[int] = (),
) -> Any:
    rng = random.Random(7)
    # warm-up: the classifier is trained (or read from disk) and the grid index built on first use
    run_intake(db, settings, intake_calls(warmup, city, rng, "WARM"), 1)
    out: dict[str, Any] = {}
    runs: list[tuple[str, Callable[[], tuple[list[float], list[float], float, int]]]] = [
        (f"threads_{t}", lambda t=t: run_intake(db, settings, intake_calls(n, city, rng, f"T{t}"), t))
        for t in concurrency
    ]
    runs += [
        (f"processes_{p}", lambda p=p: run_intake_processes(db.url, settings, city, n, warmup, p)) for p in processes
    ]
    for key, run in runs:
        before = load()
        latencies, cpu, wall, merged = run()
        figures = out[key] = _intake_figures(n, latencies, cpu, wall, merged, before)
        print(
            f"intake  {key}: {n} in {wall:.2f}s = {n / wall:.0f}/s, p50 {figures['latency']['p50_ms']} ms, "
            f"p99 {figures['latency']['p99_ms']} ms, client CPU mean {figures['client_cpu']['mean_ms']} ms, "
            f"merged {merged}, load {before}",
            flush=True,
        )
    return out


# ---- 2. batch routing ----------------------------------------------------------------------------------


def register_components(db: Any, settings: Any, city: dict[str, Any], rng: random.Random, n: int) -> list[str]:
    from citybrain.actions import Context
    from citybrain.auth.actor import SYSTEM
    from citybrain.cases.schemas import ComponentCreate
    from citybrain.cases.service import component_create

    idents = []
    with db.session() as session:
        ctx = Context(session=session, actor=SYSTEM, settings=settings)
        for i in range(n):
            lon, lat = _point(rng, city["boxes"])
            owner = city["depts"]["szc" if i % 3 else "jtj"]
            made = component_create(
                ctx, ComponentCreate(code=rng.choice(COMPONENT_CODES), owner_dept=owner, lon=lon, lat=lat)
            )
            idents.append(made.ident)
    return idents


def route_events(city: dict[str, Any], n: int, rng: random.Random, idents: list[str]) -> dict[str, list[Any]]:
    """A batch of geocoded events: mostly 事项, a fifth 部件 (half of those of a registered component),
    a few points outside every grid."""
    kinds, codes, lons, lats, comps = [], [], [], [], []
    for i in range(n):
        lon, lat = _point(rng, city["boxes"])
        if i % 97 == 0:
            lon, lat = lon + 3.0, lat  # off the map: no grid, only city-wide rules apply
        if i % 5 == 0:
            kinds.append("部件")
            codes.append(rng.choice(COMPONENT_CODES))
            comps.append(rng.choice(idents) if idents and i % 2 == 0 else None)
        else:
            kinds.append("事项")
            codes.append(rng.choice(PROBLEMS)[0])
            comps.append(None)
        lons.append(lon)
        lats.append(lat)
    return {"kinds": kinds, "codes": codes, "lons": lons, "lats": lats, "component_ids": comps}


def bench_routing(db: Any, settings: Any, city: dict[str, Any], n: int, repeat: int, sample: int) -> Any:
    import numpy as np

    from citybrain.cases import routing
    from citybrain.cases.models import Case

    rng = random.Random(11)
    idents = register_components(db, settings, city, rng, 300)
    events = route_events(city, n, rng, idents)
    lons, lats = np.asarray(events["lons"]), np.asarray(events["lats"])
    runs = []
    before = load()
    with db.session() as session:
        routing.space(session)  # the grid index is built once per process and cached; not part of the figure
        for _ in range(repeat):
            start = time.perf_counter()
            routes = routing.route_batch(
                session, events["kinds"], events["codes"], lons, lats, component_ids=events["component_ids"]
            )
            runs.append(time.perf_counter() - start)
        best = min(runs)
        # the per-event path on a sample: locate, then route() with its queries, as intake does one by one
        index = routing.space(session).index
        assert index is not None
        agree = 0
        start = time.perf_counter()
        for i in range(sample):
            hit = index.locate(events["lons"][i], events["lats"][i])
            case = Case(
                kind=events["kinds"][i], code=events["codes"][i], component_id=events["component_ids"][i],
                grid_id=hit.grid_id if hit else None, street_code=hit.street_code if hit else None,
                district_code=hit.district_code if hit else None, returned_by=[],
            )  # fmt: skip
            target = routing.route(session, case)
            got = (routes.level[i], routes.division[i], routes.dept_id[i], routes.user_id[i])
            agree += got == ((target.level, target.division, target.dept_id, target.user_id) if target else (None,) * 4)
        scalar = time.perf_counter() - start
    levels: dict[str, int] = {}
    for level in routes.level:
        levels[str(level)] = levels.get(str(level), 0) + 1
    out = {
        "events": n,
        "repeat": repeat,
        "best_s": round(best, 4),
        "runs_s": [round(r, 4) for r in runs],
        "per_s": round(n / best),
        "located": sum(g is not None for g in routes.grid_id),
        "targets_by_level": levels,
        "per_event_baseline": {
            "events": sample,
            "seconds": round(scalar, 3),
            "per_s": round(sample / scalar),
            "same_target_as_batch": agree,
        },
        "load_average_before": before,
        "load_average_after": load(),
    }
    print(
        f"routing {n} events: best {best:.3f}s = {n / best:,.0f}/s (per-event path {sample / scalar:,.0f}/s, "
        f"{agree}/{sample} same target)",
        flush=True,
    )
    return out


# ---- 3. KPIs --------------------------------------------------------------------------------------------

#: one row per generated case; ``s`` is the furthest stage reached (0 上报 … 8 评价, -1 不立案) and the
#: stage times follow each other by random minutes, so every KPI has something to count
_GENERATE = """
WITH g AS (SELECT array_agg(code ORDER BY code) AS codes, count(*) AS n FROM case_grid WHERE level = 'grid'),
d AS (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n FROM department),
raw AS (
  SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
         :start + (random() * :span_s) * interval '1 second' AS rep,
         (g.codes)[1 + floor(random() * g.n)::int] AS grid,
         (d.ids)[1 + floor(random() * d.n)::int] AS dept,
         (ARRAY['06042','06010','06011','09006','09005','01037','06013','07001','09009','06028'])
           [1 + floor(random() * 10)::int] AS code,
         (ARRAY['patrol','patrol','hotline','open311','iot','video'])[1 + floor(random() * 6)::int] AS source
  FROM generate_series(1, :n) AS i, g, d
),
s AS (
  SELECT *, CASE WHEN r1 < 0.03 THEN -1 WHEN r1 < 0.05 THEN 0 WHEN r1 < 0.07 THEN 1 WHEN r1 < 0.09 THEN 2
                 WHEN r1 < 0.13 THEN 3 WHEN r1 < 0.17 THEN 4 WHEN r1 < 0.21 THEN 5 WHEN r1 < 0.25 THEN 6
                 WHEN r1 < 0.85 THEN 7 ELSE 8 END AS st,
         rep + (2 + r2 * 20) * interval '1 minute' AS acc,
         rep + (5 + r2 * 40) * interval '1 minute' AS reg,
         rep + (10 + r2 * 60) * interval '1 minute' AS dis,
         rep + (30 + r3 * 3000) * interval '1 minute' AS dsp,
         rep + (60 + r3 * 3200) * interval '1 minute' AS cls
  FROM raw
)
INSERT INTO city_case (
  id, request_id, kind, code, edition, code_name, needs_human, title, description,
  grid_id, community_code, street_code, district_code, area_class, urgency, source, state, level,
  assignee_dept_id, returned_by, reported_at, accepted_at, registered_at, rejected_at, dispatched_at,
  signed_at, disposed_at, feedback_at, verified_at, closed_at, evaluated_at,
  registered_on_time, dispatched_on_time, disposed_on_time, closed_on_time, dispatch_accurate,
  overdue, supervision_level, dispatch_count, return_count, rework_count, redo_count, extension_count,
  reclassify_count, report_count, satisfaction, evaluation, updated_at, version)
SELECT
  md5(i::text || 'bench'), 'B' || lpad(i::text, 12, '0'), '事项', code, 'GB/T 47678.5-2026', NULL, false,
  '基准案件 ' || i, '', grid, left(grid, 12), left(grid, 9), left(grid, 6),
  CASE WHEN r4 < 0.2 THEN 'A' WHEN r4 < 0.8 THEN 'B' ELSE 'C' END, CASE WHEN r5 < 0.1 THEN 'urgent' ELSE 'normal' END,
  source,
  (ARRAY['rejected','reported','accepted','registered','dispatched','signed','disposed','feedback','closed',
         'evaluated'])[st + 2],
  CASE WHEN st >= 3 THEN 'grid' ELSE 'city' END,
  CASE WHEN st >= 3 AND r5 < 0.3 THEN dept END, '[]',
  rep, CASE WHEN st >= 1 OR st = -1 THEN acc END, CASE WHEN st >= 2 THEN reg END, CASE WHEN st = -1 THEN reg END,
  CASE WHEN st >= 3 THEN dis END, CASE WHEN st >= 4 THEN dis + interval '20 minutes' END,
  CASE WHEN st >= 5 THEN dsp END, CASE WHEN st >= 6 THEN dsp + interval '10 minutes' END,
  CASE WHEN st >= 7 THEN cls - interval '20 minutes' END, CASE WHEN st >= 7 THEN cls END,
  CASE WHEN st >= 8 THEN cls + interval '1 day' END,
  CASE WHEN st >= 2 THEN r2 < 0.93 END, CASE WHEN st >= 3 THEN r2 < 0.9 END,
  CASE WHEN st >= 5 THEN r3 < 0.8 END, CASE WHEN st >= 7 THEN r3 < 0.8 END, CASE WHEN st >= 3 THEN r4 > 0.05 END,
  r3 >= 0.8, CASE WHEN r3 >= 0.9 THEN 1 ELSE 0 END, CASE WHEN st >= 3 THEN 1 ELSE 0 END,
  CASE WHEN st >= 3 AND r4 <= 0.05 THEN 1 ELSE 0 END, CASE WHEN st >= 5 AND r5 > 0.95 THEN 1 ELSE 0 END,
  0, 0, 0, 1 + (r5 > 0.9)::int,
  CASE WHEN st >= 7 AND source = 'hotline' THEN CASE WHEN r4 < 0.9 THEN '满意' ELSE '不满意' END END,
  CASE WHEN st = 8 THEN (ARRAY['满意','基本满意','不满意'])[1 + floor(r4 * 3)::int] END,
  rep, 1
FROM s
"""


def generate_cases(db: Any, n: int, start: datetime, end: datetime) -> float:
    from sqlalchemy import text

    began = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(_GENERATE), {"n": n, "start": start, "span_s": (end - start).total_seconds()})
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # the planner's statistics, as autovacuum would gather them shortly after a bulk load
        conn.execute(text("ANALYZE city_case"))
    return time.perf_counter() - began


def bench_kpi(db: Any, n: int, repeat: int, dimensions: list[str]) -> Any:
    from sqlalchemy import func, select

    from citybrain.cases import kpi
    from citybrain.cases.models import Case

    # the figure's period: one calendar year; 环比 (the year before) and 同比 read the earlier cases
    start, end = datetime(2025, 1, 1, tzinfo=TZ), datetime(2026, 1, 1, tzinfo=TZ)
    with db.session() as session:
        existing = session.scalar(select(func.count()).select_from(Case))
    gen_s = generate_cases(db, n, start, end)
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(Case))
        in_period = session.scalar(
            select(func.count()).select_from(Case).where(Case.reported_at >= start, Case.reported_at < end)
        )
    print(f"kpi: generated {n:,} cases in {gen_s:.1f}s ({total:,} in the table, {in_period:,} in the period)")
    out: dict[str, Any] = {
        "cases_generated": n,
        "cases_in_table": total,
        "cases_in_period": in_period,
        "cases_before": existing,
        "generate_s": round(gen_s, 1),
        "period": [start.isoformat(), end.isoformat()],
        "by": {},
    }
    before = load()
    for by in dimensions:
        runs = []
        for _ in range(repeat):
            with db.session() as session:
                began = time.perf_counter()
                result = kpi.report(session, start, end, by)
                runs.append(time.perf_counter() - began)
        city_rates = result["rows"][0]["rates"] if by == "city" else None
        out["by"][by] = {
            "best_s": round(min(runs), 3),
            "median_s": round(statistics.median(runs), 3),
            "runs_s": [round(r, 3) for r in runs],
            "rows": len(result["rows"]),
            "reported": sum(r["counts"]["reported"] for r in result["rows"]),
            **({"city_rates": city_rates} if city_rates else {}),
        }
        print(
            f"kpi by {by:<10} best {min(runs):.3f}s  median {statistics.median(runs):.3f}s  rows {len(result['rows'])}"
        )
    out["load_average_before"], out["load_average_after"] = before, load()
    out["worst_best_s"] = max(v["best_s"] for v in out["by"].values())
    return out


# ---- main -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CITYBRAIN_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        metavar="SERVER_URL",
        help="the server to create the scratch database on",
    )
    parser.add_argument("--database", default="citybrain_bench_cases", help="scratch database name (dropped after)")
    parser.add_argument("--intake", type=int, default=3000, help="intakes per concurrency level")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--concurrency", default="1,4", help="thread counts to run the intake with (one process)")
    parser.add_argument(
        "--processes",
        default="2,4",
        help="process counts (one thread each) to run the intake with as well, as several server workers "
        "would serve it; '' for none",
    )
    parser.add_argument(
        "--parts", default="intake,routing,kpi", help="which of the three figures to measure (comma-separated)"
    )
    parser.add_argument("--route-events", type=int, default=100_000)
    parser.add_argument("--route-sample", type=int, default=2000, help="events routed one by one for comparison")
    parser.add_argument("--kpi-cases", type=int, default=1_000_000)
    parser.add_argument("--kpi-dimensions", default="city,district,street,grid,department,source,category")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from citybrain.db import Database
    from citybrain.settings import Settings

    load_start = load()
    began = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="citybrain-bench-cases-") as tmp,
        scratch_database(args.postgres, args.database) as url,
    ):
        settings = Settings(home=Path(tmp), database_url=url, log_json=False, log_level="WARNING")
        db = Database(url)
        try:
            city = build_city(db, settings, args.seed)
            print(f"city: {city['grids']} boundaries, set up in {city['setup_s']}s", flush=True)
            parts = {p.strip() for p in args.parts.split(",") if p.strip()}
            threads = [int(t) for t in args.concurrency.split(",") if t.strip()]
            processes = [int(p) for p in args.processes.split(",") if p.strip()]
            intake = (
                bench_intake(db, settings, city, args.intake, args.warmup, threads, processes)
                if "intake" in parts
                else None
            )
            routing = (
                bench_routing(db, settings, city, args.route_events, args.repeat, args.route_sample)
                if "routing" in parts
                else None
            )
            kpis = (
                bench_kpi(db, args.kpi_cases, args.repeat, args.kpi_dimensions.split(",")) if "kpi" in parts else None
            )
            server_version = db.engine.dialect.server_version_info
        finally:
            db.dispose()

    figures: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if intake:
        # the goal is a rate and a p99 together: the figure is the thread count (one process) with the best
        # rate, and its p99; the several-process runs are reported beside it, never in its place
        threaded = {k: v for k, v in intake.items() if k.startswith("threads_")}
        if threaded:
            best_level, best_intake = max(threaded.items(), key=lambda item: item[1]["per_s"])
            figures |= {
                "intake_at": best_level,
                "intake_per_s": best_intake["per_s"],
                "intake_p99_ms": best_intake["latency"]["p99_ms"],
            }
        multi = {k: v for k, v in intake.items() if k.startswith("processes_")}
        if multi:
            best_level, best_intake = max(multi.items(), key=lambda item: item[1]["per_s"])
            extra = {
                "intake_processes_at": best_level,
                "intake_processes_per_s": best_intake["per_s"],
                "intake_processes_p99_ms": best_intake["latency"]["p99_ms"],
            }
    if routing:
        figures["route_per_s"] = routing["per_s"]
    if kpis:
        figures["kpi_s"] = kpis["worst_best_s"]
    # > 1 means the goal is met with room to spare, for "at least" and "at most" goals alike
    ratios = {
        "intake_per_s": lambda: figures["intake_per_s"] / GOALS["intake_per_s"],
        "intake_p99_ms": lambda: GOALS["intake_p99_ms"] / figures["intake_p99_ms"],
        "route_per_s": lambda: figures["route_per_s"] / GOALS["route_per_s"],
        "kpi_s": lambda: GOALS["kpi_s"] / figures["kpi_s"],
    }
    goal_ratio = {k: round(ratio(), 2) for k, ratio in ratios.items() if k in figures}
    figures |= extra
    report = {
        "benchmark": "cases: intake rate, batch routing, KPIs over many cases (PostgreSQL)",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["python", *sys.argv]),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "database": "postgresql " + ".".join(str(p) for p in server_version or ()),
        "seconds": round(time.perf_counter() - began, 1),
        # the machine is shared: a load above the CPU count means the figures waited for a core
        "load_average_1_5_15": {"start": load_start, "end": load()},
        "goals": GOALS,
        "figures": figures,
        "goal_ratio": goal_ratio,
        "goals_met": {k: v >= 1 for k, v in goal_ratio.items()},
        "intake": intake,
        "routing": routing,
        "kpi": kpis,
        "note": "intake: each report its own committed unit of work through the action, as a request; threads_N: "
        "N threads share one process (the GIL) and the server, so they overlap only while waiting on the server "
        "— figures.intake_per_s / intake_p99_ms are the best of these; processes_N: N processes of one thread "
        "each, as N server workers would serve intake, reported beside (figures.intake_processes_*), on the same "
        "2 CPUs as the database server. Every intake appends to the one audit hash chain (a PostgreSQL advisory "
        "lock, taken by its last statements). client_cpu is the intake's CPU in its process, the server's not "
        "included. KPI: kpi.report = 3 GROUP BY queries (the period, 环比, 同比; the comparison periods hold no "
        "cases here) and the names. No open-source peer implements this loop; the per-event routing path is the "
        "baseline for the batch one",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for key, ratio in goal_ratio.items():
        print(f"  {key:<15} {figures[key]:>10}  goal {GOALS[key]:>8}  ratio {ratio}")
    if "intake_at" in figures:
        print(f"  (intake figures at {figures['intake_at']})")
    if extra:
        print(
            f"  beside them, {extra['intake_processes_at']}: {extra['intake_processes_per_s']}/s, "
            f"p99 {extra['intake_processes_p99_ms']} ms"
        )
    print(f"→ {args.out}")


if __name__ == "__main__":
    main()
