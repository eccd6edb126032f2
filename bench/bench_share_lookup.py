"""Benchmark: 共享交换 lookup by key over HTTP, against Datasette serving the same table from SQLite.

A resource of ``--rows`` synthetic residents (公民身份号码 as primary key, 姓名, 手机号码, 住址, 出生日期,
户籍行政区划) is written to the lake and catalogued; a consumer department's request is granted with
the default masking and a row scope (``region IN`` the six districts, so every key is in scope), and a
grant-bound token is issued. The same rows go to a SQLite file with the key as PRIMARY KEY (its
index), which Datasette serves read-only (``-i``).

The servers run as their own processes on 127.0.0.1 (CityBrain: as ``citybrain serve``, on its embedded
SQLite metadata store, so each process runs lookups on one access thread — ``share_access_threads`` —
once with one process and once with two, ``--workers 2``, whose writes take turns through the
database's lock file; Datasette: ``datasette serve``, its defaults: one process), all started before
the load. A load generator in this process — asyncio with raw HTTP/1.1 keep-alive connections, so the
client itself costs little — sends ``GET`` lookups of random existing keys in a closed loop at each
``--concurrency`` level for ``--seconds`` per server, split into ``--rounds`` in which the servers take
turns (CityBrain, CityBrain with two processes, Datasette, then again), so that the machine's drift
during the run falls on every server alike; it records requests per second (over all rounds, and per
round) and latency percentiles (over all rounds).

A closed loop at 8 or 32 connections runs each server flat out, so its latency is mostly the queue the
load itself makes (Little's law: 8 connections at 350 answers a second wait about 23 ms on average,
however fast each answer is). The latency a caller sees at a given traffic is measured by an open loop
(``paced``): requests fall due at each ``--rate`` (evenly spaced, as wrk2 sends them) over 32
keep-alive connections, whether or not the earlier ones were answered, and each latency counts from
when the request was due, so a server that falls behind is charged for the queue it causes (no
coordinated omission). The servers take turns at each rate as in the closed loop.
Each result also gives the share of the machine's CPU time the hypervisor took (``cpu_steal_pct``,
from ``/proc/stat``) while it ran: on a shared virtual machine that comes in bursts of tens of
milliseconds which stall every server alike, so each paced result gives its p99 per round as well.
``highest_rate_p99_under_20ms`` is, per server, the highest offered rate it answered in full with p99
under 20 ms, every lower rate too.

CityBrain's lookup does everything a production call does: token → grant, policy, status and expiry,
mode, rate limit (the bench grant's limit is raised so the load is not refused, the check still runs on
every call), row scope, masking, a usage row, an audit-chain entry and the anomaly checks, committed
before the response. Datasette returns the row as stored.

Before the load the version's key index (a SQLite file beside the lake, see ``citybrain.share.lookup``)
is built with ``prepare_lookup``, as ``citybrain share index`` does after a large load (otherwise the
first lookup starts it in the background and lookups scan Parquet meanwhile);
its build time is recorded. ``citybrain_accounting`` counts the usage rows and audit entries the run
wrote: one each per answered request.

The issue's goal: at least Datasette's throughput, with p99 under 20 ms — read both ways: the closed
loop's throughput with its p99 (``ratios``), and the highest traffic each server carries with p99 under
20 ms (``highest_rate_ratios``).

    .venv/bin/python bench/bench_share_lookup.py                               # 10 million rows
    .venv/bin/python bench/bench_share_lookup.py --rows 200000 --seconds 5     # quick

Writes ``bench/results/share_lookup.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

os.environ.setdefault("CITYBRAIN_LOG_JSON", "false")
os.environ.setdefault("CITYBRAIN_LOG_LEVEL", "WARNING")

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RESULTS = Path(__file__).resolve().parent / "results" / "share_lookup.json"

_REGIONS = ["320402", "320404", "320411", "320412", "320413", "320481"]
_DISTRICTS = ["天宁区", "钟楼区", "新北区", "武进区", "金坛区", "溧阳市"]
_TOWNSHIPS = ["青龙街道", "红梅街道", "南大街街道", "湖塘镇", "天目湖镇", "别桥镇", "西城街道", "薛家镇"]
_ROADS = ["龙锦路", "延陵西路", "晋陵中路", "人民东路", "关河西路", "通江大道", "长虹路", "燕山路"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程")
_GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌宇浩然子涵欣怡")
_MOBILE_PREFIX = ["138", "139", "135", "186", "187", "151", "158", "177", "199", "133"]
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"))
_FIRST_DAY = int(np.datetime64("1940-01-01").astype(int))
_DAYS = 25_000  # birth dates 1940 … 2008

FIELDS = [
    {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id", "required": True, "sensitivity": 3},
    {"name": "name", "title": "姓名", "standard": "person_name", "sensitivity": 3},
    {"name": "mobile", "title": "手机号码", "standard": "mobile", "sensitivity": 3},
    {"name": "address", "title": "居住地址", "standard": "address", "sensitivity": 3},
    {"name": "birth_date", "title": "出生日期", "data_type": "date", "sensitivity": 2},
    {"name": "region", "title": "户籍行政区划"},
]
COLUMNS = [f["name"] for f in FIELDS]


def people(rows: int, seed: int = 20260701) -> pa.Table:
    """Residents with distinct, valid 公民身份号码 (region × birth date × sequence, shuffled), built
    column-wise. Distinct by construction, so the key really is a key."""
    if rows > len(_REGIONS) * _DAYS * 1000:
        raise SystemExit("too many rows for distinct synthetic IDs")
    rng = np.random.default_rng(seed)
    n = rng.permutation(rows)
    region_i = n % len(_REGIONS)
    day = (n // len(_REGIONS)) % _DAYS
    seq = n // (len(_REGIONS) * _DAYS)

    def pick(values: list[str]) -> pa.Array:
        return pa.array(values).take(pa.array(rng.integers(0, len(values), rows)))

    region = pa.array(_REGIONS).take(pa.array(region_i))
    birth = pa.array((day + _FIRST_DAY).astype("datetime64[D]"), pa.date32())
    order = pc.utf8_lpad(pa.array(seq).cast(pa.string()), width=3, padding="0")
    body = pc.binary_join_element_wise(region, pc.strftime(birth, format="%Y%m%d"), order, "")
    digits = np.frombuffer(body.buffers()[2], dtype=np.uint8)[: rows * 17].reshape(rows, 17) - ord("0")
    check = pa.array(_ID_CHECK[(digits.astype(np.int64) @ _ID_WEIGHTS) % 11])
    citizen_id = pc.binary_join_element_wise(body, check, "")
    name = pc.binary_join_element_wise(pick(_SURNAMES), pick(_GIVEN), pick(_GIVEN), "")
    tail = pc.utf8_lpad(pa.array(rng.integers(0, 10**8, rows)).cast(pa.string()), width=8, padding="0")
    mobile = pc.binary_join_element_wise(pick(_MOBILE_PREFIX), tail, "")
    number = pa.array(rng.integers(1, 500, rows)).cast(pa.string())
    address = pc.binary_join_element_wise(
        pa.scalar("江苏省常州市"),
        pa.array(_DISTRICTS).take(pa.array(region_i)),
        pick(_TOWNSHIPS),
        pick(_ROADS),
        number,
        "号",
        "",
    )
    return pa.table(
        {
            "citizen_id": citizen_id,
            "name": name,
            "mobile": mobile,
            "address": address,
            "birth_date": birth,
            "region": region,
        }
    )


# -- CityBrain side --------------------------------------------------------------------------------


def build_citybrain(home: Path, table: pa.Table) -> dict[str, Any]:
    """Catalog, lake version, granted request and token — through the platform's own actions."""
    from sqlalchemy import update

    from citybrain.actions import Context
    from citybrain.auth.actor import SYSTEM
    from citybrain.auth.rules import Role
    from citybrain.auth.schemas import UserCreate
    from citybrain.auth.service import actor_for_user, user_create
    from citybrain.bootstrap import init_platform
    from citybrain.catalog.schemas import ResourceCreate
    from citybrain.catalog.service import resource_create
    from citybrain.db import Database
    from citybrain.lake.store import Lake
    from citybrain.org.schemas import DepartmentCreate
    from citybrain.org.service import department_create
    from citybrain.settings import Settings
    from citybrain.share import service
    from citybrain.share.models import ShareGrant
    from citybrain.share.schemas import ShareRequestCreate
    from citybrain.standards import generate

    settings = Settings(home=home, log_json=False, log_level="WARNING")
    db = Database(settings.resolved_database_url)
    init_platform(db)

    def run(fn: Any, *args: Any, actor: Any = SYSTEM, **kwargs: Any) -> Any:
        with db.session() as session:
            return fn(Context(session=session, actor=actor, settings=settings), *args, **kwargs)

    rng = random.Random(4)

    def dept(code: str, name: str) -> Any:
        uscc = generate.uscc(rng, division="320400", department="1", category="1")
        data = DepartmentCreate(code=code, name=name, uscc=uscc, level="市", division_code="320400")
        return run(department_create, data)

    source = dept("gaj", "常州市公安局")
    consumer_dept = dept("mzj", "常州市民政局")
    password = "Bench!passw0rd"
    user = run(
        user_create,
        UserCreate(
            username="bench_consumer",
            display_name="bench_consumer",
            password=password,
            roles=[Role.CONSUMER],
            dept=consumer_dept.id,
        ),
    )
    consumer = actor_for_user(user)
    run(
        resource_create,
        ResourceCreate.model_validate(
            {
                "key": "population_bench",
                "name": "人口基本信息（基准测试）",
                "dept": source.id,
                "category": "部门库",
                "share_type": "无条件共享",
                "open_type": "不予开放",
                "open_basis": "含个人信息",
                "fields": FIELDS,
                "primary_key": ["citizen_id"],
            }
        ),
    )
    start = time.perf_counter()
    Lake(settings.lake_dir).write("population_bench", table, primary_key="citizen_id")
    lake_s = time.perf_counter() - start
    req = run(
        service.share_request_create,
        ShareRequestCreate(
            resource="population_bench",
            fields=COLUMNS,
            purpose="最低生活保障资格核查（基准测试）",
            legal_basis="《社会救助暂行办法》",
            row_filter=[{"field": "region", "op": "in", "values": _REGIONS}],
            modes=["lookup"],
        ),
        actor=consumer,
    )
    if req.status != "granted" or not req.grant_id:
        raise RuntimeError(f"request not granted: {req.status}")
    issued = run(service.grant_token_issue, req.grant_id, actor=consumer)
    with db.session() as session:
        # the load would otherwise be refused after the grant's per-minute limit; the check still runs
        session.execute(update(ShareGrant).where(ShareGrant.id == req.grant_id).values(rate_limit=10**9))
        grant = session.get(ShareGrant, req.grant_id)
        masking = dict(grant.masking) if grant else {}
    db.dispose()
    return {
        "settings": settings,
        "grant_id": req.grant_id,
        "token": issued.token,
        "masking": masking,
        "lake_write_s": round(lake_s, 1),
    }


def prepare_citybrain(settings: Any) -> dict[str, Any]:
    """Build the version's key index ahead, as a deployment does after a large load; timed."""
    from citybrain.share import lookup

    start = time.perf_counter()
    info = lookup.prepare_lookup(settings, "population_bench")
    seconds = round(time.perf_counter() - start, 1)
    if info.get("index"):
        # where it lay under the temporary home says nothing about this machine worth keeping
        info["index"] = Path(info["index"]).name
    return {"key_index_s": seconds, **info}


def citybrain_calls(settings: Any) -> dict[str, int]:
    """Usage rows and audit entries for share lookups: every answered call must have both."""
    from sqlalchemy import func, select

    from citybrain.audit.models import AuditEvent
    from citybrain.db import Database
    from citybrain.share.models import ShareCall

    db = Database(settings.resolved_database_url)
    try:
        with db.session() as session:
            calls = session.scalar(select(func.count()).select_from(ShareCall)) or 0
            audited = (
                session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share_lookup"))
                or 0
            )
        return {"share_calls": int(calls), "audit_entries": int(audited)}
    finally:
        db.dispose()


_SERVER = """
import os, sys, uvicorn
os.environ.update(CITYBRAIN_HOME=sys.argv[1], CITYBRAIN_LOG_JSON="false", CITYBRAIN_LOG_LEVEL="WARNING")
port, workers = int(sys.argv[2]), int(sys.argv[3])
kwargs = dict(host="127.0.0.1", port=port, log_level="warning", access_log=False)
if workers == 1:
    from citybrain.web.app import create_app
    uvicorn.run(create_app(), **kwargs)
else:  # as `citybrain serve --workers N`
    uvicorn.run("citybrain.web.app:create_app", factory=True, workers=workers, **kwargs)
"""


def series(workers: int) -> str:
    """The results' name for CityBrain served by this many processes."""
    return "citybrain" if workers == 1 else f"citybrain_{workers}_workers"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(args: list[str], port: int, probe: str) -> Iterator[str]:
    import httpx

    env = {**os.environ, "CITYBRAIN_LOG_LEVEL": "WARNING", "CITYBRAIN_LOG_JSON": "false"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + probe, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {args[:3]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- Datasette side --------------------------------------------------------------------------------


def build_sqlite(path: Path, table: pa.Table) -> float:
    """The same rows in SQLite, key as PRIMARY KEY (inserted in key order, as a bulk load would)."""
    start = time.perf_counter()
    ordered = table.sort_by("citizen_id")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute(
        "CREATE TABLE people (citizen_id TEXT PRIMARY KEY, name TEXT, mobile TEXT, address TEXT, "
        "birth_date TEXT, region TEXT)"
    )
    ordered = ordered.set_column(4, "birth_date", ordered.column("birth_date").cast(pa.string()))
    for batch in ordered.to_batches(100_000):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)", zip(*columns, strict=True))
    con.commit()
    con.close()
    return time.perf_counter() - start


# -- load generator --------------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            headers[k.strip().lower()] = v.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        body = await reader.read()
    return status, body


async def _load(
    port: int, paths: list[str], headers: str, concurrency: int, seconds: float, warmup: float
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(10**12))
    start = time.perf_counter()
    measure_from = start + warmup
    stop = measure_from + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                now = time.perf_counter()
                if now >= stop:
                    return
                path = paths[next(counter) % len(paths)]
                writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
                t0 = time.perf_counter()
                status, _ = await _read_response(reader)
                t1 = time.perf_counter()
                if t0 >= measure_from and t1 <= stop:
                    latencies.append(t1 - t0)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"concurrency": concurrency, "seconds": seconds, "latencies": latencies, "statuses": statuses}


def cpu_ticks() -> tuple[int, int]:
    """The machine's CPU time so far, in ticks: (all, stolen). Stolen time is time the hypervisor ran
    something else while this machine had work: on a shared virtual machine it comes in bursts, and a
    burst stalls every server alike, which is what sets a p99 here more than the servers do."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    # user nice system idle iowait irq softirq steal (guest time is already counted in user)
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def _with_steal(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    before = cpu_ticks()
    out = run()
    after = cpu_ticks()
    out["ticks"] = (after[0] - before[0], after[1] - before[1])
    return out


def steal_pct(runs: list[dict[str, Any]]) -> float | None:
    total = sum(run["ticks"][0] for run in runs)
    return round(100 * sum(run["ticks"][1] for run in runs) / total, 1) if total else None


def load(port: int, paths: list[str], headers: str, concurrency: int, seconds: float, warmup: float) -> dict[str, Any]:
    """One closed-loop run against one server: its raw latencies and statuses (see ``summary``)."""
    return _with_steal(lambda: asyncio.run(_load(port, paths, headers, concurrency, seconds, warmup)))


async def _paced(
    port: int, paths: list[str], headers: str, rate: float, seconds: float, warmup: float, connections: int
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    start = time.perf_counter() + 0.01
    measure_from = start + warmup
    stop = measure_from + seconds

    async def one(path: str, due: float) -> None:
        reader, writer = await idle.get()
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode())
            status, _ = await _read_response(reader)
        finally:
            idle.put_nowait((reader, writer))
        if measure_from <= due < stop:
            # from when the request was due, not when it was sent: a request that waited for a free
            # connection, or for the client's loop, waited because the server was slow to answer
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1

    pending: set[asyncio.Task[None]] = set()
    for i in itertools.count():
        due = start + i / rate
        if due >= stop:
            break
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(paths[i % len(paths)], due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    late = 0
    if pending:
        _, unfinished = await asyncio.wait(pending, timeout=10)
        for task in unfinished:
            task.cancel()
        late = len(unfinished)
    while not idle.empty():
        idle.get_nowait()[1].close()
    return {"rate": rate, "seconds": seconds, "latencies": latencies, "statuses": statuses, "late": late}


def paced(
    port: int, paths: list[str], headers: str, rate: float, seconds: float, warmup: float, connections: int = 32
) -> dict[str, Any]:
    """One open-loop run: requests due at a fixed rate (evenly spaced, as wrk2 sends them) whether or not
    earlier ones were answered, over a pool of keep-alive connections; latency counts from when each
    request was due, so a server that falls behind is charged for the queue it causes."""
    return _with_steal(lambda: asyncio.run(_paced(port, paths, headers, rate, seconds, warmup, connections)))


def _pooled(runs: list[dict[str, Any]]) -> tuple[np.ndarray, dict[int, int], float]:
    """Rounds as one run: every latency (ms), the statuses counted, the measured seconds."""
    latencies = [x for run in runs for x in run["latencies"]]
    statuses: dict[int, int] = {}
    for run in runs:
        for code, n in run["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    ms = np.array(latencies) * 1000 if latencies else np.array([float("nan")])
    return ms, statuses, sum(run["seconds"] for run in runs)


def paced_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one server at one offered rate, as one run."""
    ms, statuses, seconds = _pooled(runs)
    late = sum(run["late"] for run in runs)
    ok = statuses.get(200, 0)
    errors = {str(k): v for k, v in statuses.items() if k != 200} | ({"unanswered_10s": late} if late else {})
    p99 = round(float(np.percentile(ms, 99)), 2)
    return {
        "offered_rps": runs[0]["rate"],
        "seconds": seconds,
        "ok": ok,
        "errors": errors,
        "answered_rps": round(ok / seconds, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "p99_ms": p99,
        "max_ms": round(float(ms.max()), 2),
        "p99_under_20ms": bool(not errors and p99 < 20),
        "p99_ms_by_round": [_p99(run["latencies"]) for run in runs],
        "cpu_steal_pct": steal_pct(runs),
    }


def _p99(latencies: list[float]) -> float | None:
    return round(float(np.percentile(np.array(latencies) * 1000, 99)), 2) if latencies else None


def highest_rate_under(rows: list[dict[str, Any]]) -> float | None:
    """The highest offered rate answered in full with p99 under 20 ms, every lower rate too."""
    best = None
    for row in sorted(rows, key=lambda r: r["offered_rps"]):
        if not row["p99_under_20ms"]:
            break
        best = row["offered_rps"]
    return best


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one server at one level, as one run: requests per second over all measured seconds,
    percentiles over all latencies; each round's rate as well."""
    ms, statuses, seconds = _pooled(runs)
    ok = statuses.get(200, 0)
    return {
        "concurrency": runs[0]["concurrency"],
        "seconds": seconds,
        "requests": int(np.count_nonzero(~np.isnan(ms))),
        "ok": ok,
        "errors": {str(k): v for k, v in statuses.items() if k != 200},
        "rps": round(ok / seconds, 1),
        "rps_by_round": [round(run["statuses"].get(200, 0) / run["seconds"], 1) for run in runs],
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "cpu_steal_pct": steal_pct(runs),
    }


def take_turns(
    targets: list[tuple[str, int, list[str], str]],
    rounds: int,
    label: str,
    measure: Callable[[int, list[str], str, int], dict[str, Any]],
    summarize: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """One load on every server, in ``rounds`` in which they take turns (so the machine's drift falls on
    them alike); each server's rounds summarized as one result."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in targets}
    for round_no in range(rounds):
        for name, port, paths, headers in targets:
            print(f"{name} {label} round {round_no + 1} …", flush=True)
            runs[name].append(measure(port, paths, headers, round_no))
    out = {name: summarize(rows) for name, rows in runs.items()}
    for name, row in out.items():
        print(name, json.dumps(row), flush=True)
    return out


def fetch_json(url: str, headers: dict[str, str] | None = None) -> Any:
    import httpx

    r = httpx.get(url, headers=headers or {}, timeout=30)
    r.raise_for_status()
    return r.json()


def machine() -> dict[str, Any]:
    import duckdb

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__,
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        import datasette.version

        info["datasette"] = datasette.version.__version__
    except ImportError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--concurrency", type=int, action="append", help="closed-loop connections (repeatable)")
    parser.add_argument("--seconds", type=float, default=24.0, help="measured seconds per level and server")
    parser.add_argument(
        "--rounds", type=int, default=3, help="the servers take turns at each level this many times, sharing --seconds"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each level")
    parser.add_argument(
        "--rate", type=float, action="append", help="open-loop offered requests per second (repeatable)"
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=12.0, help="measured seconds per offered rate and server (0: none)"
    )
    parser.add_argument("--keys", type=int, default=100_000, help="distinct random keys the load draws from")
    parser.add_argument(
        "--workers",
        type=int,
        action="append",
        help="CityBrain server processes, as `citybrain serve --workers N` (repeatable; default 1 and 2)",
    )
    parser.add_argument("--skip-datasette", action="store_true")
    parser.add_argument("--keep", type=Path, help="build the stores under this directory and keep them")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    levels = args.concurrency or [1, 8, 32]
    # up to beyond what any of the servers carries here, so that each one's highest rate is found
    rates = (args.rate or [150, 300, 450, 600, 750, 900]) if args.paced_seconds > 0 else []
    args.workers = args.workers or [1, 2]
    datasette_exe = shutil.which("datasette", path=str(Path(sys.executable).parent)) or shutil.which("datasette")
    if not args.skip_datasette and datasette_exe is None:
        # said now, not after the ten minutes of building the stores
        parser.error("datasette is not installed: `make bench` installs the bench extras (or pass --skip-datasette)")

    tmp = None
    if args.keep:
        base = args.keep
        if base.exists():
            shutil.rmtree(base)
        base.mkdir(parents=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="citybrain-bench-lookup-")
        base = Path(tmp.name)
    report: dict[str, Any] = {
        "benchmark": "share lookup by key over HTTP vs Datasette",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python bench/bench_share_lookup.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "loadavg_start": loadavg(),
        "rows": args.rows,
        "goal": "at least Datasette's throughput, p99 < 20 ms",
    }
    try:
        start = time.perf_counter()
        table = people(args.rows)
        report["generate_s"] = round(time.perf_counter() - start, 1)
        rng = random.Random(7)
        sample = table.column("citizen_id").take(pa.array(rng.sample(range(args.rows), min(args.keys, args.rows))))
        keys = sample.to_pylist()

        built = build_citybrain(base / "home", table)
        settings = built["settings"]
        report["citybrain_build"] = {"lake_write_s": built["lake_write_s"], **prepare_citybrain(settings)}
        report["masking"] = built["masking"]
        if not args.skip_datasette:
            report["sqlite_build_s"] = round(build_sqlite(base / "bench.db", table), 1)
        del table

        auth = f"Authorization: Bearer {built['token']}\r\n"
        cb_paths = [f"/api/v1/share/grants/-/records/{quote(k)}" for k in keys]
        ds_paths = [f"/bench/people/{quote(k)}.json?_shape=objects" for k in keys]

        # every server runs from the start; at each level they take turns, round by round, so that a
        # change in the machine's speed during the run (a shared machine drifts by tens of per cent)
        # falls on all of them alike instead of on whichever ran last
        targets: list[tuple[str, int, list[str], str]] = []  # name, port, paths, headers
        before = citybrain_calls(settings)
        with ExitStack() as servers:
            for workers in args.workers:
                port = free_port()
                cb_args = [sys.executable, "-c", _SERVER, str(settings.home), str(port), str(workers)]
                url = servers.enter_context(server(cb_args, port, "/healthz"))
                if workers > 1:
                    time.sleep(10)  # the first process answered; give the others time to start too
                first = fetch_json(f"{url}{cb_paths[0]}", {"authorization": f"Bearer {built['token']}"})
                report["citybrain_example"] = first["record"]
                targets.append((series(workers), port, cb_paths, auth))
            if not args.skip_datasette:
                port = free_port()
                assert datasette_exe is not None
                ds_args = [datasette_exe, "serve", "-i", str(base / "bench.db")]
                ds_args += ["--host", "127.0.0.1", "--port", str(port)]
                url = servers.enter_context(server(ds_args, port, "/-/versions.json"))
                report["datasette_example"] = fetch_json(f"{url}{ds_paths[0]}")["rows"][0]
                targets.append(("datasette", port, ds_paths, ""))
            results: dict[str, Any] = {name: [] for name, *_ in targets}
            share = args.seconds / args.rounds
            for level in levels:

                def closed(port: int, paths: list[str], headers: str, round_no: int, level: int = level) -> Any:
                    warmup = args.warmup if round_no == 0 else min(args.warmup, 1.0)
                    return load(port, paths, headers, level, share, warmup)

                for name, row in take_turns(targets, args.rounds, f"concurrency {level}", closed, summary).items():
                    results[name].append(row)
            paced_results: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in targets}
            for rate in rates:

                def open_loop(port: int, paths: list[str], headers: str, round_no: int, rate: float = rate) -> Any:
                    warmup = 1.0 if round_no == 0 else 0.5
                    return paced(port, paths, headers, rate, args.paced_seconds / args.rounds, warmup)

                for name, row in take_turns(targets, args.rounds, f"{rate:g} rps", open_loop, paced_summary).items():
                    paced_results[name].append(row)
        after = citybrain_calls(settings)
        report["citybrain_accounting"] = {k: after[k] - before[k] for k in after}
        results.setdefault("datasette", [])
        report["results"] = results
        if results["datasette"]:
            ratios = []
            pairs = [
                (series(w), cb, ds)
                for w in args.workers
                for cb, ds in zip(results[series(w)], results["datasette"], strict=True)
            ]
            for name, cb, ds in pairs:
                ratios.append(
                    {
                        "citybrain": name,
                        "concurrency": cb["concurrency"],
                        "rps_citybrain_over_datasette": round(cb["rps"] / ds["rps"], 2) if ds["rps"] else None,
                        "p50_citybrain_over_datasette": round(cb["p50_ms"] / ds["p50_ms"], 2),
                        "p99_citybrain_over_datasette": round(cb["p99_ms"] / ds["p99_ms"], 2),
                        "rps_ratio_by_round": [
                            round(c / d, 2) if d else None
                            for c, d in zip(cb["rps_by_round"], ds["rps_by_round"], strict=True)
                        ],
                        "goal_met": bool(cb["rps"] >= ds["rps"] and cb["p99_ms"] < 20),
                    }
                )
            report["ratios"] = ratios
        if rates:
            report["paced"] = paced_results
            highest = {name: highest_rate_under(rows) for name, rows in paced_results.items()}
            report["highest_rate_p99_under_20ms"] = highest
            if highest.get("datasette"):
                report["highest_rate_ratios"] = {
                    f"{series(w)}_over_datasette": round((highest[series(w)] or 0) / highest["datasette"], 2)
                    for w in args.workers
                }
        report["loadavg_end"] = loadavg()
        report["notes"] = (
            "Same machine, same run; server and load generator share the CPUs. Closed loop (results): each "
            "connection sends its next request when the previous answer arrives; latency is the client-side "
            "round trip. Open loop (paced): requests fall due at a fixed rate over 32 keep-alive connections "
            "and latency counts from when each was due; highest_rate_p99_under_20ms is the highest offered "
            "rate a server answered in full with p99 under 20 ms (and every lower rate too). "
            "CityBrain answers with masked values, one usage row and one audit-chain entry per call (counted "
            "in citybrain_accounting); Datasette answers the stored row."
        )
    finally:
        if tmp is not None:
            tmp.cleanup()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("results", "ratios") if k in report}, indent=2))


if __name__ == "__main__":
    main()
