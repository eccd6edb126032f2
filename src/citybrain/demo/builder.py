"""Build the demo city of 常州 under ``CITYBRAIN_HOME``, as named steps through the service layer.

Steps, in order: ``store`` (schema and reference data), ``departments``, ``users`` (with an API
token each; secrets to ``demo-credentials.json``), ``catalog`` (the five base libraries, a
department copy and the gazette tables), ``data`` (generated base-library records with planted
defects, and the real gazette tables, each loaded as a lake version). Data are deterministic for a
given ``seed`` and ``scale``; passwords and tokens are fresh on every build, because a demo whose
passwords sit in the repository would teach the wrong habit.

A finished build leaves ``demo/manifest.json``; running again without ``rebuild`` keeps it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from citybrain.actions import Context
from citybrain.auth.actor import SYSTEM, Actor
from citybrain.auth.models import User
from citybrain.auth.policy import scopes_for_roles
from citybrain.auth.rules import Role
from citybrain.auth.schemas import UserCreate
from citybrain.auth.service import issue_token, user_create
from citybrain.bootstrap import init_platform
from citybrain.catalog.schemas import ResourceCreate
from citybrain.catalog.service import get_resource, resource_create
from citybrain.db import Database, get_database
from citybrain.demo import catalog as demo_catalog
from citybrain.demo.departments import demo_users, departments
from citybrain.demo.entities import generate_credit_records, generate_legal_entities, generate_licenses
from citybrain.demo.people import DefectLog, generate_population, population_copy_civil_affairs
from citybrain.demo.sharing import build_sharing, demo_actor
from citybrain.demo.spatial import generate_places
from citybrain.errors import Conflict
from citybrain.gazettes.tables import as_arrow
from citybrain.org.models import Department
from citybrain.org.schemas import DepartmentCreate
from citybrain.org.service import department_create
from citybrain.settings import Settings, get_settings

log = logging.getLogger("citybrain.demo")

#: the data seed: the same seed and scale always give the same records
DEFAULT_SEED = "changzhou-2025"
#: share of planted defects per generated table (documented in docs/demo.md)
DEFECT_RATE = 0.02
#: cases the demo city files through every channel, unless --cases says otherwise
DEFAULT_CASES = 3000
MANIFEST = "demo/manifest.json"
CREDENTIALS = "demo-credentials.json"


@dataclass
class DemoSummary:
    home: Path
    scale: int
    seed: str
    departments: int = 0
    users: int = 0
    resources: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    sharing: dict[str, int] = field(default_factory=dict)
    cases: dict[str, Any] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    efficiency: dict[str, Any] = field(default_factory=dict)
    defects: dict[str, dict[str, int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "home": str(self.home),
            "scale": self.scale,
            "seed": self.seed,
            "departments": self.departments,
            "users": self.users,
            "resources": self.resources,
            "rows": self.rows,
            "quarantined": self.quarantined,
            "sharing": self.sharing,
            "cases": self.cases,
            "published": self.published,
            "efficiency": self.efficiency,
            "defects": self.defects,
            "timings_s": self.timings,
        }


def _write_private(path: Path, data: Any) -> None:
    """Write JSON readable only by the owner, atomically: a half-written credentials file is useless."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
    os.replace(tmp, path)


def _clear(settings: Settings) -> None:
    """Remove a previous demo: the embedded store, the lake and the demo files — nothing else."""
    url = settings.resolved_database_url
    home = settings.home.resolve()
    if url.startswith("sqlite:///"):
        db_file = Path(url.removeprefix("sqlite:///")).resolve()
        if home not in db_file.parents:
            raise Conflict(
                "重建演示数据只会删除数据目录下的嵌入式数据库；当前数据库不在数据目录中，请手工清理",
                details={"database": str(db_file), "home": str(home)},
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    else:
        raise Conflict(
            "重建演示数据只支持数据目录下的嵌入式数据库；外部数据库请先手工清空",
            details={"database": url.split("@")[-1]},
        )
    for sub in ("lake", "demo"):
        shutil.rmtree(home / sub, ignore_errors=True)
    (home / CREDENTIALS).unlink(missing_ok=True)


def _existing(session: Any) -> bool:
    return session.scalar(select(User.id).where(User.username == "admin")) is not None


def _timed(summary: DemoSummary, name: str, echo: Callable[[str], None], fn: Callable[[], Any]) -> Any:
    """A step that opens its own units of work (one per action, as requests would)."""
    started = time.perf_counter()
    result = fn()
    summary.timings[name] = round(time.perf_counter() - started, 3)
    echo(f"  ✓ {name}（{summary.timings[name]:.1f} 秒）")
    return result


class _Steps:
    """Runs the named steps, timing each, inside one unit of work per step."""

    def __init__(self, db: Database, settings: Settings, summary: DemoSummary, echo: Callable[[str], None]) -> None:
        self.db, self.settings, self.summary, self.echo = db, settings, summary, echo

    def run(self, name: str, fn: Callable[[Context], Any]) -> Any:
        def in_unit_of_work() -> Any:
            with self.db.session() as session:
                return fn(Context(session=session, actor=SYSTEM, settings=self.settings))

        return _timed(self.summary, name, self.echo, in_unit_of_work)


def build_demo(
    scale: int | None = None,
    rebuild: bool = False,
    *,
    seed: str = DEFAULT_SEED,
    settings: Settings | None = None,
    database: Database | None = None,
    echo: Callable[[str], None] = print,
    cases: int | None = None,
) -> DemoSummary:
    """Build (or reuse) the demo city and return what was built."""
    settings = settings or get_settings()
    scale = scale or settings.seeds_scale
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    manifest = home / MANIFEST
    if rebuild:
        _clear(settings)
    db = database or get_database(settings)
    summary = DemoSummary(home=home.resolve(), scale=scale, seed=seed)
    init_platform(db)
    with db.session() as session:
        if _existing(session):
            if manifest.exists():
                saved = json.loads(manifest.read_text(encoding="utf-8"))
                summary = DemoSummary(home=home.resolve(), scale=saved["scale"], seed=saved["seed"], reused=True)
                summary.rows = saved.get("rows", {})
                summary.departments = saved.get("departments", 0)
                summary.users = saved.get("users", 0)
                summary.resources = saved.get("resources", 0)
                echo(f"演示城市已存在（{home}），直接使用；重建请加 --rebuild")
                return summary
            raise Conflict(
                "数据目录中已有非演示数据（或未完成的演示构建），请换一个 CITYBRAIN_HOME 或加 --rebuild",
                details={"home": str(home)},
            )

    echo(f"构建演示城市：常州（人口 {scale:,} 人，种子 {seed}）→ {home}")
    steps = _Steps(db, settings, summary, echo)
    steps.run("departments 部门", lambda ctx: _departments(ctx, summary))
    credentials = steps.run("users 用户与令牌", lambda ctx: _users(ctx, summary))
    _write_private(home / CREDENTIALS, credentials)
    steps.run("catalog 目录", lambda ctx: _catalog(ctx, summary))
    inbox = home / "demo" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    logs: list[DefectLog] = steps.run("data 基础库归集", lambda ctx: _base_data(ctx, inbox, summary, scale, seed))
    steps.run("gazettes 公报数据归集", lambda ctx: _gazette_data(ctx, inbox, summary))

    summary.sharing = _timed(summary, "sharing 共享交换", echo, lambda: build_sharing(db, settings, seed))
    summary.published = steps.run("opendata 开放数据", _publish)
    summary.efficiency = steps.run("efficiency 亩均效益评价", lambda ctx: _efficiency(ctx, max(1000, scale), seed))
    # a few thousand cases in every state and channel, as a city's first weeks would have
    n_cases = cases if cases is not None else max(DEFAULT_CASES, scale)
    summary.cases = steps.run("cases 一网统管", lambda ctx: _cases(ctx, n_cases, seed))
    defects_file = home / "demo" / "defects.json"
    defects_file.parent.mkdir(parents=True, exist_ok=True)
    defects_file.write_text(
        json.dumps([r for dl in logs for r in dl.to_records()], ensure_ascii=False, indent=1), encoding="utf-8"
    )
    summary.defects = {dl.table: dl.counts() for dl in logs}
    manifest.write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    echo(
        f"完成：{summary.departments} 个部门，{summary.users} 个用户，{summary.resources} 个目录资源，"
        f"{sum(summary.rows.values()):,} 行数据；账号见 {home / CREDENTIALS}"
    )
    return summary


# -- steps ---------------------------------------------------------------------------------------


def _departments(ctx: Context, summary: DemoSummary) -> None:
    for item in departments():
        department_create(ctx, DepartmentCreate(**item.as_create()))
        summary.departments += 1


def _users(ctx: Context, summary: DemoSummary) -> dict[str, Any]:
    accounts = []
    for spec in demo_users(secrets.token_hex(16)):
        user = user_create(ctx, UserCreate(**spec.as_create()))
        scopes = sorted(scopes_for_roles(frozenset(Role(r) for r in spec.roles)))
        _token, secret = issue_token(ctx, user, "演示令牌", scopes, days=ctx.settings.token_default_days)
        accounts.append(
            {
                "username": spec.username,
                "password": spec.password,
                "display_name": spec.display_name,
                "roles": spec.roles,
                "dept": spec.dept,
                "divisions": spec.divisions,
                "api_token": secret,
            }
        )
        summary.users += 1
    return {
        "note": "演示账号：仅用于本机演示。每次构建随机生成；请勿用于生产。",
        "login": f"http://{ctx.settings.host}:{ctx.settings.port}/login",
        "accounts": accounts,
    }


def _catalog(ctx: Context, summary: DemoSummary) -> None:
    specs = [*demo_catalog.BASE_LIBRARIES, demo_catalog.CIVIL_AFFAIRS_COPY]
    specs += [spec for _, spec in demo_catalog.gazette_resources()]
    for spec in specs:
        resource_create(ctx, ResourceCreate(**spec))
        summary.resources += 1


#: how each department delivers its table: the formats departments really send (归集 connectors)
DELIVERY: dict[str, str] = {
    "population": "csv-gb18030",  # 公安: a GB18030 export from the household register
    "legal_entities": "xlsx",  # 市场监管: an Excel sheet with a title row above the header
    "credit_records": "json",
    "licenses": "csv-bom",  # 政务办: UTF-8 with a BOM, as Excel writes it
    "places": "parquet",
    "civil_affairs_residents": "ndjson",
}
#: above this many rows an Excel delivery becomes CSV (departments split big sheets the same way)
_XLSX_MAX_ROWS = 50_000
_SUFFIXES = {"parquet": ".parquet", "json": ".json", "ndjson": ".ndjson", "xlsx": ".xlsx"}


def _as_text(table: pa.Table) -> pa.Table:
    """Every column as text, the way a department's export holds it."""
    import pyarrow.compute as pc

    columns = []
    for col in table.columns:
        if pa.types.is_timestamp(col.type):
            col = pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
        elif not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _export(table: pa.Table, titles: dict[str, str], path: Path, fmt: str, *, title: str) -> Path:
    """Write ``table`` as a department would deliver it, headed by the catalog's Chinese titles."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "xlsx" and table.num_rows > _XLSX_MAX_ROWS:
        fmt = "csv-bom"
    path = path.with_suffix(
        {"parquet": ".parquet", "json": ".json", "ndjson": ".ndjson", "xlsx": ".xlsx"}.get(fmt, ".csv")
    )
    if fmt == "parquet":
        pq.write_table(table, path)
        return path
    text = _as_text(table)
    if fmt in ("json", "ndjson"):
        rows = text.to_pylist()
        with path.open("w", encoding="utf-8") as fh:
            if fmt == "json":
                json.dump(rows, fh, ensure_ascii=False)
            else:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return path
    headed = text.rename_columns([titles.get(n, n) for n in text.column_names])
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("数据")
        ws.append([title])
        ws.append(headed.column_names)
        for row in zip(*(c.to_pylist() for c in headed.columns), strict=True):
            ws.append(list(row))
        wb.save(path)
        return path
    sink = pa.BufferOutputStream()
    pacsv.write_csv(headed, sink, pacsv.WriteOptions(quoting_style="needed"))
    data = sink.getvalue().to_pybytes().decode("utf-8")
    encoded = data.encode("gb18030") if fmt == "csv-gb18030" else b"\xef\xbb\xbf" + data.encode("utf-8")
    path.write_bytes(encoded)
    return path


def _steward(ctx: Context, dept_code: str) -> Actor:
    """The source department's 数据管理员: loads are theirs, not the platform's."""
    return demo_actor(ctx.session, f"steward.{dept_code}")


def _deliver(
    ctx: Context, key: str, table: pa.Table, fmt: str, inbox: Path, summary: DemoSummary, *, title: str
) -> None:
    from citybrain.ingest.service import resource_load

    resource = get_resource(ctx.session, key)
    titles = {f.name: f.title for f in resource.fields}
    path = _export(table, titles, inbox / key, fmt, title=title)
    dept = ctx.session.get(Department, resource.dept_id)
    assert dept is not None
    as_steward = Context(session=ctx.session, actor=_steward(ctx, dept.code), settings=ctx.settings)
    load = resource_load(as_steward, key, path)
    if load.version is None:
        raise Conflict(f"演示数据 {key} 未能归集：{load.error}", details={"load_id": load.id})
    summary.rows[key] = load.rows_accepted
    summary.quarantined[key] = load.rows_quarantined


def _base_data(ctx: Context, inbox: Path, summary: DemoSummary, scale: int, seed: str) -> list[DefectLog]:
    import random

    population, pop_log = generate_population(scale, seed=seed, defect_rate=DEFECT_RATE)
    entities, ent_log = generate_legal_entities(population, pop_log, seed=seed, defect_rate=DEFECT_RATE)
    credit, credit_log = generate_credit_records(entities, ent_log, seed=seed, defect_rate=DEFECT_RATE)
    licenses, lic_log = generate_licenses(population, pop_log, entities, ent_log, seed=seed, defect_rate=DEFECT_RATE)
    places, place_log = generate_places(max(200, scale // 5), seed=seed, defect_rate=DEFECT_RATE)
    copy, copy_log = population_copy_civil_affairs(
        population, random.Random(f"citybrain.demo.copy:{seed}"), exclude_rows=pop_log.rows()
    )
    for key, table in (
        ("population", population),
        ("legal_entities", entities),
        ("credit_records", credit),
        ("licenses", licenses),
        ("places", places),
        ("civil_affairs_residents", copy),
    ):
        _deliver(ctx, key, table, DELIVERY[key], inbox, summary, title=f"{key}（演示数据，种子 {seed}）")
    return [pop_log, ent_log, credit_log, lic_log, place_log, copy_log]


def _gazette_data(ctx: Context, inbox: Path, summary: DemoSummary) -> None:
    for table, _spec in demo_catalog.gazette_resources():
        _deliver(ctx, table.key, as_arrow(table.key), "csv-bom", inbox, summary, title=table.title)


def _cases(ctx: Context, count: int, seed: str) -> dict[str, Any]:
    """The demo grid over 常州's districts, routing rules, and ``count`` cases through every channel and state."""
    from citybrain.cases.demo import seed_cases
    from citybrain.cases.models import GridArea
    from citybrain.cases.service import grid_assign_worker, grid_import
    from citybrain.demo.departments import GRID_STREETS

    grid_import(ctx, demo=True)
    # each street's 网格员 account looks after the unit grids of that street, so 事项 route to a person
    workers = 0
    for street in GRID_STREETS:
        codes = ctx.session.scalars(
            select(GridArea.code).where(GridArea.level == "grid", GridArea.code.startswith(street))
        )
        for code in codes:
            grid_assign_worker(ctx, code, f"grid.{street}")
            workers += 1
    out = seed_cases(ctx, count=count, seed=int.from_bytes(seed.encode(), "big") % (2**31))
    return {**out, "grids_with_worker": workers}


def _publish(ctx: Context) -> list[str]:
    """Every loaded 无条件/有条件开放 resource onto the portal, in one batch the platform approves."""
    from citybrain.opendata.service import publish_demo

    return publish_demo(ctx)


def _efficiency(ctx: Context, firms: int, seed: str) -> dict[str, Any]:
    """溧阳's 亩均效益 evaluation: its input resources under their real providers, and two years of
    department data each taken through the whole cycle to 结果通报 (see ``citybrain.demo.efficiency``)."""
    from citybrain.demo.efficiency import build_efficiency

    return build_efficiency(ctx, firms, seed)
