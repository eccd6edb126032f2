"""Actions of the 工业企业效益综合评价 (溧政发〔2023〕6号) as a platform application.

The cycle (:mod:`citybrain.efficiency.cycle`) is one row per 评价年度. Department data lives in the lake
under the catalog resources of :mod:`citybrain.efficiency.catalog`; :func:`load_department_table` is the
only place that writes it (through the ingest service's ``resource_load`` when installed, so loads get
its catalog checks, quarantine and lineage). A run reads named lake versions, so re-running with the same
versions, parameters and 领导小组 decisions gives byte-identical results (compared by checksum).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, func, insert, select

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.auth.rules import Role
from citybrain.efficiency import cycle as wf
from citybrain.efficiency.api_schemas import (
    ClearoutUpdate,
    CycleCreate,
    DecisionIn,
    FirmBind,
    ObjectionCreate,
    ObjectionReply,
    TransitionIn,
)
from citybrain.efficiency.catalog import (
    BY_KEY,
    EXTRA_DEPARTMENTS,
    INPUTS,
    OFFICE_DEPT,
    POWER,
    RESULTS_KEY,
    assemble,
    resource_spec,
    results_spec,
)
from citybrain.efficiency.method import Adjustment, EvaluationResult, score_prepared
from citybrain.efficiency.models import (
    Clearout,
    Confirmation,
    Cycle,
    DataException,
    Decision,
    FirmAccount,
    Objection,
    Result,
    Run,
    Transition,
)
from citybrain.efficiency.params import load_params, version_for_year
from citybrain.efficiency.prepare import prepare
from citybrain.errors import Conflict, Invalid, NotFound
from citybrain.lake.store import Lake
from citybrain.standards.checks import check_uscc

CST = ZoneInfo("Asia/Shanghai")
#: records that can cause a bonus, a deduction or a forced class, by resource
RECORD_KEYS: tuple[str, ...] = tuple(
    r.key for r in INPUTS if r.table in {"listings", "hightech", "honours", "penalties", "accidents"}
)
#: columns holding a firm's code, by resource (leases name two firms)
_CODE_COLUMNS: dict[str, tuple[str, ...]] = {"ly_eff_leases": ("lessor_uscc", "tenant_uscc")}


def today() -> dt.date:
    """Today in Beijing: the date 数据核对 deadlines are judged by (not the server's own date)."""
    return dt.datetime.now(CST).date()


def lake_for(ctx: Context) -> Lake:
    return Lake(ctx.settings.lake_dir)


def _optional(module: str, name: str) -> Callable[..., Any] | None:
    """An action of another domain when that domain is installed, else None."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        return None
    return getattr(mod, name, None)


def _department(ctx: Context, code: str) -> Any:
    from citybrain.org.service import get_department

    return get_department(ctx, code)


def office(ctx: Context) -> dict[str, str]:
    """The 领导小组 office as an authorization resource: the rules' own_dept checks its ``dept_id``."""
    dept = _department(ctx, OFFICE_DEPT)
    return {"dept_id": dept.id}


# ------------------------------------------------------------------------------------------------------
# Loading department data


def load_department_table(ctx: Context, key: str, table: pa.Table, *, source: str = "efficiency") -> int:
    """Write one department resource into the lake and return the new version.

    The one switch point between the platform's ingest service and a plain lake write: with
    ``citybrain.ingest.service.resource_load`` installed, the table goes through it as a Parquet file
    (catalog checks, quarantine of bad rows, load record, lineage); without it, ``Lake.write`` directly.
    """
    resource_load = _optional("citybrain.ingest.service", "resource_load")
    if resource_load is not None:
        with tempfile.TemporaryDirectory(prefix="cb-eff-") as tmp:
            path = Path(tmp) / f"{key}.parquet"
            pq.write_table(table, path)
            load = resource_load(ctx, key, path, mode="replace", filename=f"{source}:{key}.parquet")
        if getattr(load, "version", None) is None:
            raise Invalid(
                f"资源 {key} 归集失败：{getattr(load, 'error', None) or getattr(load, 'status', '')}",
                details={"resource": key, "status": str(getattr(load, "status", ""))},
            )
        return int(load.version)
    from citybrain.catalog.service import get_resource

    resource = get_resource(ctx.session, key)
    info = lake_for(ctx).write(
        key,
        table,
        mode="full",
        lineage={"connector": source, "who": ctx.actor.label(), "dept_id": resource.dept_id},
    )
    return info.version


def read_inputs(lake: Lake, versions: dict[str, int]) -> dict[str, pa.Table]:
    """The named versions of every input resource (a resource never loaded is absent).

    Reads the versions' Parquet parts with pyarrow: whole tables need no SQL, and a DuckDB connection
    per resource costs more than the read itself for the small ones.
    """
    out: dict[str, pa.Table] = {}
    for key, v in sorted(versions.items()):
        files = lake.files(key, int(v))
        out[key] = pq.read_table(files[0]) if len(files) == 1 else pa.concat_tables(pq.read_table(f) for f in files)
    return out


def _current_versions(lake: Lake) -> dict[str, int]:
    out: dict[str, int] = {}
    for res in INPUTS:
        info = lake.current(res.key)
        if info is not None:
            out[res.key] = info.version
    return out


# ------------------------------------------------------------------------------------------------------
# Catalog and demo data


@action("efficiency_catalog_install")
def efficiency_catalog_install(ctx: Context) -> list[str]:
    """Register every input resource under its source department (idempotent); returns the keys created."""
    ctx.authorize("efficiency_catalog_install")
    from citybrain.catalog.models import Resource
    from citybrain.catalog.schemas import ResourceCreate
    from citybrain.catalog.service import resource_create
    from citybrain.org.models import Department

    _install_departments(ctx)
    created: list[str] = []
    existing = set(ctx.session.scalars(select(Resource.key).where(Resource.key.like("ly_eff_%"))))
    specs = [resource_spec(r) for r in (*INPUTS, POWER)] + [results_spec()]
    missing_depts = sorted(
        {s["dept"] for s in specs}
        - set(ctx.session.scalars(select(Department.code).where(Department.code.in_({s["dept"] for s in specs}))))
    )
    if missing_depts:
        raise NotFound(
            f"缺少数据提供部门：{'、'.join(missing_depts)}（请先建立演示部门）", details={"departments": missing_depts}
        )
    for spec in specs:
        if spec["key"] in existing:
            continue
        resource_create(ctx, ResourceCreate(**spec))
        created.append(spec["key"])
    _install_quality_rules(ctx, created)
    record_ctx(ctx, AuditEntry("efficiency_catalog_install", resource_type="catalog", details={"created": created}))
    return created


def _install_departments(ctx: Context) -> None:
    import random

    from citybrain.org.models import Department
    from citybrain.org.schemas import DepartmentCreate
    from citybrain.org.service import department_create
    from citybrain.standards.generate import uscc

    have = set(ctx.session.scalars(select(Department.code)))
    if "lyspj" not in have:
        # the demo city is not installed: only the extra 溧阳 departments would be odd on their own
        return
    for code, (name, name_en) in EXTRA_DEPARTMENTS.items():
        if code in have:
            continue
        # seeded by the code, as the demo departments are, so every build gives the same 统一社会信用代码
        rng = random.Random(f"citybrain.demo.department:{code}")
        department_create(
            ctx,
            DepartmentCreate(
                code=code,
                name=name,
                name_en=name_en,
                uscc=uscc(rng, division="320481", department="1", category="1"),
                level="区",
                division_code="320481",
            ),
        )


def _install_quality_rules(ctx: Context, keys: list[str]) -> None:
    """With the quality service installed, codes of each department resource must join 工商登记 (一致性):
    a quality run then opens a 整改工单 to the source department for every unmatched code."""
    rule_create = _optional("citybrain.quality.service", "rule_create")
    if rule_create is None:
        return
    from citybrain.quality.schemas import RuleIn

    for key in keys:
        if key in {"ly_eff_registration", RESULTS_KEY}:
            continue
        for column in _CODE_COLUMNS.get(key, ("uscc",)):
            if column == "lessor_uscc":
                continue  # a lessor may be a platform or landlord outside the evaluation
            rule_create(
                ctx,
                key,
                RuleIn(
                    spec={
                        "kind": "referential",
                        "id": f"eff_{column}_registered",
                        "column": column,
                        "ref_table": "ly_eff_registration",
                        "ref_column": "uscc",
                        "description": "统一社会信用代码须与行政审批局工商登记信息一致（溧政发〔2023〕6号）",
                    }
                ),
            )


@action("efficiency_demo_load")
def efficiency_demo_load(ctx: Context, year: int, *, seed: int | str = 2024, n_firms: int = 3000) -> dict[str, Any]:
    """Generate the demo 溧阳 population for ``year`` and load every department's table."""
    ctx.authorize("efficiency_demo_load")
    from citybrain.efficiency.generate import generate

    demo = generate(seed, year, n_firms)
    versions: dict[str, int] = {}
    # 工商登记 first: the other resources' consistency rules refer to it
    for key in sorted(demo.tables, key=lambda k: k != "ly_eff_registration"):
        versions[key] = load_department_table(ctx, key, demo.tables[key], source=f"demo:{seed}")
    rows = {k: t.num_rows for k, t in demo.tables.items()}
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_demo_load",
            resource_type="efficiency_year",
            resource_id=str(year),
            row_count=sum(rows.values()),
            details={"seed": str(seed), "versions": versions},
        ),
    )
    return {"year": year, "seed": str(seed), "versions": versions, "rows": rows, "planted": demo.planted}


@action("efficiency_data_load")
def efficiency_data_load(ctx: Context, key: str, table: pa.Table) -> int:
    """A department steward loads its own input resource (a new lake version)."""
    from citybrain.catalog.service import get_resource

    if key not in BY_KEY:
        raise NotFound(f"{key} 不是效益评价的输入资源", details={"resource": key, "allowed": sorted(BY_KEY)})
    resource = get_resource(ctx.session, key)
    ctx.authorize("efficiency_data_load", resource)
    version = load_department_table(ctx, key, table, source="upload")
    record_ctx(
        ctx,
        AuditEntry("efficiency_data_load", resource_type="resource", resource_id=key, row_count=table.num_rows),
    )
    return version


# ------------------------------------------------------------------------------------------------------
# Cycle


def get_cycle(ctx: Context, year: int) -> Cycle:
    c = ctx.session.scalar(select(Cycle).where(Cycle.year == int(year)))
    if c is None:
        raise NotFound(f"{year} 年度评价尚未启动", details={"year": year})
    return c


def cycle_public(c: Cycle) -> dict[str, Any]:
    from citybrain.efficiency.api_schemas import CyclePublic

    out = CyclePublic.model_validate(c)
    out.state_name = wf.state_name(c.state)
    out.allowed_next = list(wf.TRANSITIONS.get(c.state, ()))
    return out.model_dump(mode="json")


@action("efficiency_cycle_create")
def efficiency_cycle_create(ctx: Context, data: CycleCreate) -> Cycle:
    ctx.authorize("efficiency_cycle_create", office(ctx))
    version = data.params_version or version_for_year(data.year)
    load_params(version)  # refuse an unknown version now, not at the run
    if ctx.session.scalar(select(Cycle.id).where(Cycle.year == data.year)):
        raise Conflict(f"{data.year} 年度评价已存在", details={"year": data.year})
    c = Cycle(
        year=data.year,
        params_version=version,
        state=wf.COLLECTING,
        check_deadline=data.check_deadline,
        created_by=ctx.actor.label(),
    )
    ctx.session.add(c)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_cycle_create",
            resource_type="efficiency_cycle",
            resource_id=str(c.year),
            details={"params_version": c.params_version},
        ),
    )
    return c


@action("efficiency_cycle_list")
def efficiency_cycle_list(ctx: Context) -> list[Cycle]:
    ctx.authorize("efficiency_cycle_list")
    return list(ctx.session.scalars(select(Cycle).order_by(Cycle.year.desc())))


@action("efficiency_cycle_show")
def efficiency_cycle_show(ctx: Context, year: int) -> dict[str, Any]:
    ctx.authorize("efficiency_cycle_show")
    c = get_cycle(ctx, year)
    out = cycle_public(c)
    out["transitions"] = [
        {"from": t.from_state, "to": t.to_state, "note": t.note, "by": t.by, "at": t.at.isoformat()}
        for t in ctx.session.scalars(select(Transition).where(Transition.cycle_id == c.id).order_by(Transition.at))
    ]
    out["objections_open"] = ctx.session.scalar(
        select(func.count()).select_from(Objection).where(Objection.cycle_id == c.id, Objection.status == "open")
    )
    out["exceptions"] = ctx.session.scalar(
        select(func.count()).select_from(DataException).where(DataException.cycle_id == c.id)
    )
    return out


@action("efficiency_cycle_advance")
def efficiency_cycle_advance(ctx: Context, year: int, data: TransitionIn) -> Cycle:
    """Move the cycle to ``data.to`` if the transition table allows it and its conditions hold."""
    ctx.authorize("efficiency_cycle_advance", office(ctx))
    c = get_cycle(ctx, year)
    wf.check_transition(c.state, data.to)
    if (c.state, data.to) in wf.NEEDS_NOTE and not (data.note or "").strip():
        raise Invalid("退回须说明理由（note）", details={"field": "note"})
    now = dt.datetime.now(dt.UTC)
    if data.check_deadline is not None:
        c.check_deadline = data.check_deadline
    quality: dict[str, list[str]] | None = None
    if data.to == wf.CHECKING:
        quality = _open_checking(ctx, c)
        c.checking_at = now
    elif data.to == wf.EVALUATING and c.state == wf.CHECKING:
        _close_checking(ctx, c)
        c.evaluating_at = now
    elif data.to == wf.PUBLISHED:
        _publish(ctx, c)
        c.published_at = now
    elif data.to == wf.EVALUATING and c.state == wf.PUBLISHED:
        # 结果调整或增补: the new result must be confirmed again before it is published
        c.confirmed_run_id = None
        c.confirmed_at = None
        c.evaluating_at = now
    elif data.to == wf.CHECKING and c.state == wf.EVALUATING:
        c.confirmed_run_id = None
        c.checking_at = now
    ctx.session.add(
        Transition(cycle_id=c.id, from_state=c.state, to_state=data.to, note=data.note, by=ctx.actor.label())
    )
    old = c.state
    c.state = data.to
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_cycle_advance",
            resource_type="efficiency_cycle",
            resource_id=str(c.year),
            details={"from": old, "to": data.to, "note": data.note, **({"quality": quality} if quality else {})},
        ),
    )
    return c


def _open_checking(ctx: Context, c: Cycle) -> dict[str, list[str]]:
    if c.check_deadline is None:
        raise Invalid("进入数据核对须设定核对截止日期（check_deadline）", details={"field": "check_deadline"})
    lake = lake_for(ctx)
    versions = _current_versions(lake)
    if "ly_eff_registration" not in versions:
        raise Conflict(
            "工商登记数据（ly_eff_registration）尚未归集，不能进入数据核对",
            details={"missing": ["ly_eff_registration"]},
        )
    c.check_versions = versions
    ctx.session.execute(delete(DataException).where(DataException.cycle_id == c.id))
    rows = _exceptions(lake, versions)
    depts = _resource_depts(ctx)
    for r in rows:
        r["dept_id"] = depts.get(r["resource_key"])
        r["cycle_id"] = c.id
    if rows:
        ctx.session.execute(insert(DataException), rows)
    # with the quality service, the same unmatched codes become 整改工单 of the source departments
    return _check_quality(ctx, versions)


def _check_quality(ctx: Context, versions: dict[str, int]) -> dict[str, list[str]]:
    """Make sure every version shown in 数据核对 has been checked by the governance rules.

    Each load already ran them (``after_load``); a version whose stored run still stands (same rules, same
    工商登记 and other referenced data, see ``quality.service.standing_run``) keeps its results and tickets,
    and only the others run again. Returns the keys reused and re-run.
    """
    quality_run = _optional("citybrain.quality.service", "quality_run")
    standing = _optional("citybrain.quality.service", "standing_run")
    out: dict[str, list[str]] = {"reused": [], "rerun": []}
    if quality_run is None:
        return out
    from citybrain.catalog.service import get_resource

    # the check belongs to the platform, not to whoever opened 数据核对 (the office may not run quality
    # checks on other departments' resources); same transaction, so it lands or not with it
    platform = _platform(ctx)
    for key, version in sorted(versions.items()):
        if key == "ly_eff_registration":
            continue
        if standing is not None and standing(platform, get_resource(ctx.session, key), version) is not None:
            out["reused"].append(key)
            continue
        quality_run(platform, key, version)
        out["rerun"].append(key)
    return out


def _resource_depts(ctx: Context) -> dict[str, str]:
    from citybrain.catalog.models import Resource

    return dict(ctx.session.execute(select(Resource.key, Resource.dept_id).where(Resource.key.like("ly_eff_%"))).all())


def _exceptions(lake: Lake, versions: dict[str, int]) -> list[dict[str, Any]]:
    """Invalid (GB 32100) and unmatched codes of every resource, counted per value."""
    registered = set(
        lake.read("ly_eff_registration", versions["ly_eff_registration"], columns=["uscc"])["uscc"].to_pylist()
    )
    out: list[dict[str, Any]] = []
    for key, version in sorted(versions.items()):
        for column in _CODE_COLUMNS.get(key, ("uscc",)):
            values = pd.Series(lake.read(key, version, columns=[column])[column].to_pylist(), dtype=object)
            counts = values.fillna("").astype(str).value_counts()
            for value, n in counts.items():
                problem = check_uscc(value) if value else "统一社会信用代码为空"
                if problem:
                    kind, message = "invalid", f"统一社会信用代码无效：{problem}"
                elif key != "ly_eff_registration" and column != "lessor_uscc" and value not in registered:
                    kind, message = "unmatched", "工商登记中没有该统一社会信用代码"
                else:
                    continue
                out.append(
                    {
                        "resource_key": key,
                        "data_version": int(version),
                        "column": column,
                        "value": str(value)[:64],
                        "problem": kind,
                        "message": message[:200],
                        "rows": int(n),
                    }
                )
    return out


def _close_checking(ctx: Context, c: Cycle) -> None:
    if not wf.deadline_passed(c.check_deadline, today()):
        raise Conflict(
            f"数据核对截止日期（{c.check_deadline}）未到，不能进入评价分类",
            details={"check_deadline": str(c.check_deadline)},
        )
    _sync_objections(ctx, c)
    open_n = ctx.session.scalar(
        select(func.count()).select_from(Objection).where(Objection.cycle_id == c.id, Objection.status == "open")
    )
    if open_n:
        raise Conflict(f"还有 {open_n} 条异议未答复，答复后才能进入评价分类", details={"open_objections": open_n})


# ------------------------------------------------------------------------------------------------------
# 数据核对: the data used for a firm, confirmations and objections


def viewer_uscc(ctx: Context) -> str | None:
    """The 统一社会信用代码 a public (firm) user is bound to."""
    if ctx.actor.user_id is None or not ctx.actor.roles <= {Role.PUBLIC} or ctx.actor.kind == "system":
        return None
    return ctx.session.scalar(select(FirmAccount.uscc).where(FirmAccount.user_id == ctx.actor.user_id))


def _registration(lake: Lake, versions: dict[str, int] | None, uscc: str) -> dict[str, Any] | None:
    if not versions or "ly_eff_registration" not in versions:
        info = lake.current("ly_eff_registration")
        if info is None:
            return None
        version = info.version
    else:
        version = versions["ly_eff_registration"]
    rows = lake.read("ly_eff_registration", version, filter_sql=f"uscc = '{_safe_code(uscc)}'").to_pylist()
    return rows[0] if rows else None


def _safe_code(uscc: str) -> str:
    code = uscc.strip().upper()
    if not code.isalnum() or len(code) != 18:
        raise Invalid(f"统一社会信用代码格式不正确：{uscc}", details={"field": "uscc", "value": uscc})
    return code


def town_code_of(row: dict[str, Any] | None) -> str | None:
    if row is None:
        return None
    code = row.get("town_code")
    if code:
        return str(code)
    from citybrain.standards.divisions import find

    hits = [d for d in find(str(row.get("town") or "")) if d.code.startswith("320481")]
    return hits[0].code if hits else None


def _town_resource(ctx: Context, town_code: str | None) -> dict[str, Any] | None:
    """A list filtered to one town: a town user may ask only for its own; a firm's list is its own row."""
    if not town_code:
        return None
    return {"town_code": town_code, "viewer_uscc": viewer_uscc(ctx)}


def _firm_resource(ctx: Context, uscc: str, town_code: str | None) -> dict[str, Any]:
    return {"uscc": uscc, "town_code": town_code, "viewer_uscc": viewer_uscc(ctx)}


@action("efficiency_firm_data")
def efficiency_firm_data(ctx: Context, year: int, uscc: str) -> dict[str, Any]:
    """Every department record used for one firm in 数据核对, with the data versions shown."""
    c = get_cycle(ctx, year)
    lake = lake_for(ctx)
    versions = c.check_versions or _current_versions(lake)
    code = _safe_code(uscc)
    reg = _registration(lake, versions, code)
    town = town_code_of(reg)
    ctx.authorize("efficiency_firm_data", _firm_resource(ctx, code, town))
    if reg is None and not ctx.allowed("efficiency_run", office(ctx)):
        raise NotFound(f"工商登记中没有企业 {code}", details={"uscc": code})
    tables: dict[str, Any] = {}
    depts = _resource_depts(ctx)
    for key, version in sorted(versions.items()):
        cols = _CODE_COLUMNS.get(key, ("uscc",))
        where = " OR ".join(f"{col} = '{code}'" for col in cols)
        rows = lake.read(key, int(version), filter_sql=where).to_pylist()
        if rows:
            tables[key] = {
                "name": BY_KEY[key].name,
                "dept_id": depts.get(key),
                "version": int(version),
                "rows": json.loads(json.dumps(rows, default=str, ensure_ascii=False)),
            }
    n_obj, n_open = _objection_counts(ctx, c.id, code)
    confirmed = bool(
        ctx.session.scalar(select(Confirmation.id).where(Confirmation.cycle_id == c.id, Confirmation.uscc == code))
    )
    status = wf.check_status(
        objections=n_obj,
        open_objections=n_open,
        confirmed=confirmed,
        deadline_over=wf.deadline_passed(c.check_deadline, today()) or c.state not in (wf.COLLECTING, wf.CHECKING),
    )
    return {
        "year": c.year,
        "uscc": code,
        "name": (reg or {}).get("name"),
        "town": (reg or {}).get("town"),
        "town_code": town,
        "state": c.state,
        "check_deadline": c.check_deadline.isoformat() if c.check_deadline else None,
        "check_status": status,
        "data_versions": versions,
        "tables": tables,
    }


def _objection_counts(ctx: Context, cycle_id: str, uscc: str) -> tuple[int, int]:
    rows = ctx.session.execute(
        select(Objection.status, func.count())
        .where(Objection.cycle_id == cycle_id, Objection.uscc == uscc)
        .group_by(Objection.status)
    ).all()
    total = sum(n for _, n in rows)
    return total, sum(n for s, n in rows if s == "open")


def _checking_open(c: Cycle) -> None:
    if c.state != wf.CHECKING:
        raise Conflict(
            f"只有在数据核对阶段才能核对确认或提出异议（当前：{wf.state_name(c.state)}）", details={"state": c.state}
        )
    if wf.deadline_passed(c.check_deadline, today()):
        raise Conflict(
            f"数据核对已于 {c.check_deadline} 截止，逾期视为认可", details={"check_deadline": str(c.check_deadline)}
        )


@action("efficiency_confirm_data")
def efficiency_confirm_data(ctx: Context, year: int, uscc: str) -> dict[str, Any]:
    c = get_cycle(ctx, year)
    code = _safe_code(uscc)
    reg = _registration(lake_for(ctx), c.check_versions, code)
    ctx.authorize("efficiency_confirm_data", _firm_resource(ctx, code, town_code_of(reg)))
    _checking_open(c)
    if reg is None:
        raise NotFound(f"工商登记中没有企业 {code}", details={"uscc": code})
    if not ctx.session.scalar(select(Confirmation.id).where(Confirmation.cycle_id == c.id, Confirmation.uscc == code)):
        ctx.session.add(Confirmation(cycle_id=c.id, uscc=code, by=ctx.actor.label()))
        ctx.session.flush()
    record_ctx(ctx, AuditEntry("efficiency_confirm_data", resource_type="efficiency_firm", resource_id=code))
    return {"uscc": code, "confirmed": True}


@action("efficiency_objection_create")
def efficiency_objection_create(ctx: Context, year: int, data: ObjectionCreate) -> Objection:
    """A firm or its town objects to data used for the firm, before the 数据核对 deadline.

    Kept in the evaluation's own table (the deadline and 逾期视为认可 are the cycle's). An objection naming a
    resource goes to the department that supplied it: with the quality service installed it is raised
    there as a 数据异议 on the firm's records of the version shown, which the governance loop routes to the
    authoritative source; that department's answer settles it. One naming no resource is the office's.
    """
    c = get_cycle(ctx, year)
    reg = _registration(lake_for(ctx), c.check_versions, data.uscc)
    town = town_code_of(reg)
    ctx.authorize("efficiency_objection_create", _firm_resource(ctx, data.uscc, town))
    _checking_open(c)
    if reg is None:
        raise NotFound(f"工商登记中没有企业 {data.uscc}", details={"uscc": data.uscc})
    if data.resource_key is not None and data.resource_key not in BY_KEY:
        raise Invalid(f"{data.resource_key} 不是效益评价的输入资源", details={"field": "resource_key"})
    obj = Objection(
        cycle_id=c.id,
        uscc=data.uscc,
        town_code=town,
        resource_key=data.resource_key,
        field=data.field,
        message=data.message,
        raised_by=ctx.actor.label(),
        # "谁主管、谁统计、谁负责、谁解释": the department that supplied the disputed data answers
        dept_id=_resource_depts(ctx).get(data.resource_key) if data.resource_key else None,
    )
    ctx.session.add(obj)
    ctx.session.flush()
    _forward_objection(ctx, c, obj)
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_objection_create",
            resource_type="efficiency_objection",
            resource_id=obj.id,
            details={"uscc": obj.uscc, "resource": obj.resource_key},
        ),
    )
    return obj


def _forward_objection(ctx: Context, c: Cycle, obj: Objection) -> None:
    """Raise ``obj`` as a 数据异议 on the firm's records in the disputed resource, when there are any."""
    create = _optional("citybrain.quality.objections", "objection_create")
    if create is None or obj.resource_key is None:
        return
    from citybrain.catalog.service import get_resource
    from citybrain.quality.models import QualityObjection
    from citybrain.quality.schemas import ObjectionCreate as QualityObjectionCreate

    resource = get_resource(ctx.session, obj.resource_key)
    keys = _record_keys(ctx, c, obj.resource_key, obj.uscc, list(resource.primary_key or []))
    if not keys:
        # data missing for the firm: no record to dispute in the governance loop, so the source department
        # answers it here (the objection is already routed to it by ``dept_id``)
        return
    # a firm's portal account (or a town user without the scope) cannot raise platform objections itself:
    # the platform raises it on their behalf and records them as the raiser, so they can follow it
    own = ctx.allowed("objection_create", resource)
    raiser = ctx if own else _platform(ctx)
    field = obj.field if obj.field in {f.name for f in resource.fields} else None
    try:
        with ctx.session.begin_nested():
            created = create(
                raiser,
                obj.resource_key,
                QualityObjectionCreate(
                    keys=keys,
                    field=field,
                    description=obj.message,
                    evidence=f"工业企业效益综合评价 {c.year} 年度数据核对异议 {obj.id}（企业 {obj.uscc}）",
                ),
            )
    except Invalid:
        # the department reloaded since 数据核对 opened and the records shown are gone from its current
        # version: the objection stays routed to it here, to be answered against the version shown
        return
    quality = ctx.session.get(QualityObjection, created.id)
    if quality is not None and not own:
        quality.raised_by = ctx.actor.label()
        quality.raised_by_id = ctx.actor.user_id
        quality.raised_by_dept_id = ctx.actor.dept_id
    obj.field = field
    obj.quality_objection_id = created.id
    obj.quality_number = created.number
    # the governance loop may route a copied field on to its authoritative source
    obj.dept_id = created.dept_id
    ctx.session.flush()


def _platform(ctx: Context) -> Context:
    from citybrain.auth.actor import SYSTEM

    return Context(session=ctx.session, actor=SYSTEM, settings=ctx.settings, request_id=ctx.request_id)


def _record_keys(ctx: Context, c: Cycle, key: str, uscc: str, pk: list[str]) -> list[str]:
    """The primary keys of the firm's records in the version shown in 数据核对, as the quality engine
    writes them (a composite key joined by ``|``)."""
    lake = lake_for(ctx)
    versions = c.check_versions or _current_versions(lake)
    if key not in versions or not pk:
        return []
    cols = _CODE_COLUMNS.get(key, ("uscc",))
    where = " OR ".join(f"{col} = '{_safe_code(uscc)}'" for col in cols)
    rows = lake.read(key, int(versions[key]), columns=pk, filter_sql=where).to_pylist()
    return sorted({"|".join(str(r[k]) for k in pk) for r in rows})[:1000]


def _sync_objections(ctx: Context, c: Cycle) -> None:
    """Settle open objections whose 数据异议 the source department decided in the governance loop."""
    try:
        from citybrain.quality.models import ObjectionStatus, QualityObjection
    except ModuleNotFoundError:
        return
    rows = ctx.session.execute(
        select(Objection, QualityObjection)
        .join(QualityObjection, QualityObjection.id == Objection.quality_objection_id)
        .where(Objection.cycle_id == c.id, Objection.status == "open", QualityObjection.status != ObjectionStatus.OPEN)
    ).all()
    for obj, quality in rows:
        obj.status = "rejected" if quality.status == ObjectionStatus.REJECTED else "accepted"
        obj.reply = quality.decision_reason or ("异议成立，数据将更正" if obj.status == "accepted" else "异议不成立")
        obj.replied_by = quality.decided_by
        obj.replied_at = quality.decided_at
    if rows:
        ctx.session.flush()


@action("efficiency_objection_list")
def efficiency_objection_list(ctx: Context, year: int, *, status: str | None = None) -> list[Objection]:
    ctx.authorize("efficiency_objection_list")
    c = get_cycle(ctx, year)
    _sync_objections(ctx, c)
    q = select(Objection).where(Objection.cycle_id == c.id).order_by(Objection.raised_at)
    if status:
        q = q.where(Objection.status == status)
    q = _narrow(ctx, q, Objection.uscc, Objection.town_code)
    return list(ctx.session.scalars(q))


def _narrow(ctx: Context, q: Any, uscc_col: Any, town_col: Any) -> Any:
    """Limit a list to what a town user or a firm user may see."""
    actor = ctx.actor
    if actor.kind == "system" or actor.roles & {Role.ADMIN, Role.CDO, Role.SECURITY}:
        return q
    if actor.roles <= {Role.PUBLIC}:
        return q.where(uscc_col == (viewer_uscc(ctx) or "-"))
    if actor.divisions:
        from sqlalchemy import or_

        return q.where(or_(*[town_col.like(f"{d}%") for d in sorted(actor.divisions)]))
    return q


@action("efficiency_objection_reply")
def efficiency_objection_reply(ctx: Context, objection_id: str, data: ObjectionReply) -> Objection:
    """The department an objection was routed to answers it (the office answers those naming no data).

    A forwarded objection is decided as its 数据异议 (upheld: the department corrects the records in a new
    version, which the governance loop marks fixed; rejected: the reason is shown to the firm).
    """
    obj = ctx.session.get(Objection, objection_id)
    if obj is None:
        raise NotFound(f"异议 {objection_id} 不存在", details={"objection": objection_id})
    ctx.authorize("efficiency_objection_reply", {"dept_id": obj.dept_id} if obj.dept_id else office(ctx))
    cycle = ctx.session.get(Cycle, obj.cycle_id)
    if cycle is not None:
        _sync_objections(ctx, cycle)
    if obj.status != "open":
        raise Conflict("该异议已答复", details={"status": obj.status})
    if obj.quality_objection_id:
        from citybrain.quality.objections import objection_reject, objection_uphold

        decide = objection_uphold if data.status == "accepted" else objection_reject
        decide(ctx, obj.quality_objection_id, data.reply)
    obj.status = data.status
    obj.reply = data.reply
    obj.replied_by = ctx.actor.label()
    obj.replied_at = dt.datetime.now(dt.UTC)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_objection_reply",
            resource_type="efficiency_objection",
            resource_id=obj.id,
            details={"status": data.status},
        ),
    )
    return obj


@action("efficiency_exception_list")
def efficiency_exception_list(ctx: Context, year: int, *, dept: str | None = None) -> list[DataException]:
    """Invalid and unmatched codes found when 数据核对 opened, per source department."""
    ctx.authorize("efficiency_exception_list")
    c = get_cycle(ctx, year)
    q = select(DataException).where(DataException.cycle_id == c.id)
    if dept:
        q = q.where(DataException.dept_id == _department(ctx, dept).id)
    return list(ctx.session.scalars(q.order_by(DataException.resource_key, DataException.problem, DataException.value)))


# ------------------------------------------------------------------------------------------------------
# 评价分类


def _decisions(ctx: Context, cycle_id: str) -> list[Decision]:
    return list(
        ctx.session.scalars(
            select(Decision).where(Decision.cycle_id == cycle_id).order_by(Decision.kind, Decision.uscc)
        )
    )


def compute(
    tables: dict[str, pa.Table], year: int, params_version: str, decisions: Iterable[Decision] = ()
) -> EvaluationResult:
    """Score a year from department tables and the 领导小组 decisions; pure, so it can be benchmarked."""
    params = load_params(params_version)
    prep = prepare(assemble(year, tables), params)
    rejected = {d.uscc for d in decisions if d.kind == "t_reject"}
    if rejected:
        unit_of = dict(zip(prep.firms["uscc"], prep.firms["unit_id"], strict=True))
        units = {unit_of[u] for u in rejected if u in unit_of}
        # a T candidate the 领导小组 does not 认定 is classified by its score like any other unit
        mask = prep.units["unit_id"].isin(units)
        prep.units.loc[mask, "t_rule"] = None
        prep.units.loc[mask, "t_reason"] = None
    adjustments = [
        Adjustment(d.uscc, d.new_class or "", f"{d.basis}：{d.reason}") for d in decisions if d.kind == "adjust"
    ]
    return score_prepared(prep, params, adjustments=adjustments)


def result_checksum(result: EvaluationResult) -> str:
    """SHA-256 identifying a result: year, parameters, 基准值, every firm's unit, class and breakdown
    (which carries every score, record and override), and every exclusion with its reason.

    Same inputs, parameters and decisions give the same digest. Hashes the columns directly instead of
    :meth:`EvaluationResult.to_json`, which builds the whole document and costs seconds at 100,000 firms.
    """
    digest = hashlib.sha256()
    head = {
        "year": result.year,
        "params_version": result.params_version,
        "params_fingerprint": result.params_fingerprint,
        "baselines": result.baselines,
    }
    digest.update(json.dumps(head, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    # column by column, each value ended by a unit separator, so no two different results hash alike
    for frame, cols in (
        (result.firms, ("uscc", "name", "town", "unit_id", "class", "breakdown")),
        (result.excluded, ("uscc", "reason")),
    ):
        for c in cols:
            digest.update(f"\x1e{c}\x1d".encode())
            digest.update(_joined(frame[c]))
    return digest.hexdigest()


def _joined(col: pd.Series) -> bytes | memoryview:
    """The column's values as text joined by a unit separator, built by Arrow in C++ (no Python strings)."""
    import pyarrow.compute as pc

    if len(col) == 0:
        # before Arrow sees it: an empty pandas ``str`` column converts to a chunked array with no chunks,
        # whose null-typed combination refuses fill_null (a year with no excluded firm)
        return b""
    arr = pa.chunked_array([pa.array(col.astype(str), pa.string())]).combine_chunks().fill_null("")
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(arr)], pa.int32()), arr), "\x1f")[0]
    return memoryview(joined.as_buffer())


@action("efficiency_run")
def efficiency_run(ctx: Context, year: int, *, data_versions: dict[str, int] | None = None) -> Run:
    """Compute every firm of ``year`` with the cycle's parameters and the current decisions; store it all."""
    ctx.authorize("efficiency_run", office(ctx))
    c = get_cycle(ctx, year)
    if c.state != wf.EVALUATING:
        raise Conflict(f"只有在评价分类阶段才能计算（当前：{wf.state_name(c.state)}）", details={"state": c.state})
    lake = lake_for(ctx)
    versions = {k: int(v) for k, v in (data_versions or _current_versions(lake)).items()}
    unknown = sorted(set(versions) - {r.key for r in INPUTS})
    if unknown:
        raise Invalid(f"不是效益评价的输入资源：{'、'.join(unknown)}", details={"unknown": unknown})
    decisions = _decisions(ctx, c.id)
    started = time.perf_counter()
    tables = read_inputs(lake, versions)
    result = compute(tables, c.year, c.params_version, decisions)
    checksum = result_checksum(result)
    seq = (ctx.session.scalar(select(func.max(Run.seq)).where(Run.cycle_id == c.id)) or 0) + 1
    run = Run(
        cycle_id=c.id,
        year=c.year,
        seq=seq,
        params_version=result.params_version,
        params_fingerprint=result.params_fingerprint,
        data_versions=versions,
        decisions=[d.id for d in decisions],
        checksum=checksum,
        firm_count=len(result.firms),
        excluded_count=len(result.excluded),
        class_counts=result.class_counts(),
        baselines=result.baselines,
        created_by=ctx.actor.label(),
    )
    ctx.session.add(run)
    ctx.session.flush()
    towns = _town_codes(tables["ly_eff_registration"])
    f = result.firms
    rows = [
        {
            "run_id": run.id,
            "year": c.year,
            "uscc": r.uscc,
            "name": r.name,
            "town": r.town,
            "town_code": towns.get(r.uscc),
            "unit_id": r.unit_id,
            "firm_type": r.firm_type,
            "area_mu": float(r.area_mu),
            "tax_paid": float(r.tax_paid),
            "total_score": float(r.total_score),
            "score_class": r.score_class,
            "cls": r.cls,
            "override_rule": None if pd.isna(r.override_rule) else r.override_rule,
            "breakdown": r.breakdown,
        }
        for r in f.rename(columns={"class": "cls"})[
            [
                "uscc",
                "name",
                "town",
                "unit_id",
                "firm_type",
                "area_mu",
                "tax_paid",
                "total_score",
                "score_class",
                "override_rule",
                "breakdown",
                "cls",
            ]
        ].itertuples(index=False)
    ]
    if rows:
        ctx.session.execute(insert(Result), rows)
    run.results_version = _write_results(ctx, lake, run, f, towns)
    run.seconds = round(time.perf_counter() - started, 3)
    c.confirmed_run_id = None
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_run",
            resource_type="efficiency_run",
            resource_id=run.id,
            row_count=run.firm_count,
            details={"year": c.year, "seq": seq, "checksum": checksum, "versions": versions},
        ),
    )
    return run


def _town_codes(registration: pa.Table) -> dict[str, str | None]:
    df = registration.to_pandas()
    if "town_code" in df.columns:
        return dict(zip(df["uscc"], df["town_code"].where(df["town_code"].notna(), None), strict=True))
    return {u: town_code_of({"town": t}) for u, t in zip(df["uscc"], df["town"], strict=True)}


def _write_results(ctx: Context, lake: Lake, run: Run, firms: pd.DataFrame, towns: dict[str, str | None]) -> int | None:
    """The run as a version of the catalog's results resource, when it is registered."""
    from citybrain.catalog.models import Resource

    if not ctx.session.scalar(select(Resource.id).where(Resource.key == RESULTS_KEY)):
        return None
    table = pa.table(
        {
            "year": pa.array(np.full(len(firms), run.year, dtype=np.int64)),
            "uscc": pa.array(firms["uscc"].astype(str).to_numpy()),
            "name": pa.array(firms["name"].astype(str).to_numpy()),
            "town": pa.array(firms["town"].astype(str).to_numpy()),
            "town_code": pa.array([towns.get(u) for u in firms["uscc"]], pa.string()),
            "unit_id": pa.array(firms["unit_id"].astype(str).to_numpy()),
            "total_score": pa.array(firms["total_score"].to_numpy(dtype=float)),
            "score_class": pa.array(firms["score_class"].astype(str).to_numpy()),
            "class": pa.array(firms["class"].astype(str).to_numpy()),
            "override_rule": pa.array([None if pd.isna(x) else str(x) for x in firms["override_rule"]], pa.string()),
            "run_id": pa.array(np.full(len(firms), run.id, dtype=object).astype(str)),
        }
    )
    info = lake.write(
        RESULTS_KEY,
        table,
        lineage={
            "connector": "efficiency_run",
            "who": ctx.actor.label(),
            "run_id": run.id,
            "data_versions": run.data_versions,
            "params_version": run.params_version,
            "params_fingerprint": run.params_fingerprint,
        },
    )
    return info.version


@action("efficiency_run_list")
def efficiency_run_list(ctx: Context, year: int) -> list[Run]:
    ctx.authorize("efficiency_run_list")
    c = get_cycle(ctx, year)
    return list(ctx.session.scalars(select(Run).where(Run.cycle_id == c.id).order_by(Run.seq.desc())))


def latest_run(ctx: Context, c: Cycle) -> Run | None:
    return ctx.session.scalar(select(Run).where(Run.cycle_id == c.id).order_by(Run.seq.desc()).limit(1))


def _result_row(ctx: Context, run: Run, uscc: str) -> Result | None:
    return ctx.session.scalar(select(Result).where(Result.run_id == run.id, Result.uscc == uscc))


def _class_before_adjust(breakdown: dict[str, Any]) -> str:
    for o in breakdown.get("overrides", []):
        if o["rule"] == "adjust-4":
            return str(o["from"])
    return str(breakdown["class"])


def _t_rule(breakdown: dict[str, Any]) -> str | None:
    rules = [o["rule"] for o in breakdown.get("overrides", []) if str(o["rule"]).startswith("T-")]
    return rules[-1] if rules else None


@action("efficiency_decide")
def efficiency_decide(ctx: Context, year: int, data: DecisionIn) -> Decision:
    """Record a 领导小组 decision with its reason; the next run applies it and must be confirmed again."""
    ctx.authorize("efficiency_decide", office(ctx))
    c = get_cycle(ctx, year)
    if c.state != wf.EVALUATING:
        raise Conflict(f"只有在评价分类阶段才能认定（当前：{wf.state_name(c.state)}）", details={"state": c.state})
    run = latest_run(ctx, c)
    if run is None:
        raise Conflict("请先计算本年度评价结果（efficiency_run）", details={"year": year})
    row = _result_row(ctx, run, data.uscc)
    if row is None:
        raise NotFound(f"企业 {data.uscc} 未参加本年度评价", details={"uscc": data.uscc})
    bd = json.loads(row.breakdown)
    if data.kind in ("t_confirm", "t_reject"):
        earlier = ctx.session.scalar(
            select(Decision).where(
                Decision.cycle_id == c.id, Decision.uscc == data.uscc, Decision.kind.in_(("t_confirm", "t_reject"))
            )
        )
        if _t_rule(bd) is None and earlier is None:
            raise Invalid(f"企业 {data.uscc} 不是暂缓定类（T）候选企业", details={"uscc": data.uscc})
        if earlier is not None:
            ctx.session.delete(earlier)
            ctx.session.flush()
    else:
        if data.new_class is None or data.basis is None:
            raise Invalid(
                "调档须给出调整后的类别（new_class）和依据（科技领军 / 重点培育）", details={"field": "new_class"}
            )
        allowed = set(load_params(c.params_version).section("overrides")["adjustable_from"])
        before = _class_before_adjust(bd)
        if before not in allowed:
            raise Invalid(
                f"只有评价为 {'、'.join(sorted(allowed))} 类的企业可调档（该企业为 {before} 类）",
                details={"uscc": data.uscc, "class": before},
            )
        earlier = ctx.session.scalar(
            select(Decision).where(Decision.cycle_id == c.id, Decision.uscc == data.uscc, Decision.kind == "adjust")
        )
        if earlier is not None:
            ctx.session.delete(earlier)
            ctx.session.flush()
    d = Decision(
        cycle_id=c.id,
        kind=data.kind,
        uscc=data.uscc,
        new_class=data.new_class if data.kind == "adjust" else None,
        basis=data.basis if data.kind == "adjust" else None,
        reason=data.reason,
        by=ctx.actor.label(),
    )
    ctx.session.add(d)
    c.confirmed_run_id = None
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_decide",
            resource_type="efficiency_firm",
            resource_id=data.uscc,
            details={"kind": data.kind, "new_class": data.new_class, "basis": data.basis, "reason": data.reason},
        ),
    )
    return d


@action("efficiency_decision_list")
def efficiency_decision_list(ctx: Context, year: int) -> list[Decision]:
    ctx.authorize("efficiency_decision_list")
    return _decisions(ctx, get_cycle(ctx, year).id)


@action("efficiency_confirm")
def efficiency_confirm(ctx: Context, year: int) -> Run:
    """The 领导小组 confirms the latest run: it must reflect every decision, and every T unit be 认定."""
    ctx.authorize("efficiency_confirm", office(ctx))
    c = get_cycle(ctx, year)
    if c.state != wf.EVALUATING:
        raise Conflict(f"只有在评价分类阶段才能确认（当前：{wf.state_name(c.state)}）", details={"state": c.state})
    run = latest_run(ctx, c)
    decisions = _decisions(ctx, c.id)
    if run is None or sorted(run.decisions) != sorted(d.id for d in decisions):
        raise Conflict("最近一次计算未包含全部领导小组决定，请重新计算后再确认", details={"year": year})
    confirmed = {d.uscc for d in decisions if d.kind == "t_confirm"}
    pending: list[str] = []
    units: dict[str, list[str]] = {}
    for uscc, unit, bd in ctx.session.execute(
        select(Result.uscc, Result.unit_id, Result.breakdown).where(Result.run_id == run.id, Result.cls == "T")
    ):
        if _t_rule(json.loads(bd)) is not None:
            units.setdefault(unit, []).append(uscc)
    for _unit, members in sorted(units.items()):
        if not confirmed & set(members):
            pending.append(members[0])
    if pending:
        raise Conflict(
            f"还有 {len(pending)} 家暂缓定类（T）企业未经领导小组认定",
            details={"pending": pending[:50], "count": len(pending)},
        )
    c.confirmed_run_id = run.id
    c.confirmed_at = dt.datetime.now(dt.UTC)
    c.confirmed_by = ctx.actor.label()
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry("efficiency_confirm", resource_type="efficiency_run", resource_id=run.id, details={"year": c.year}),
    )
    return run


def _publish(ctx: Context, c: Cycle) -> None:
    if c.confirmed_run_id is None:
        raise Conflict("评价结果尚未经领导小组确认，不能通报", details={"year": c.year})
    # the D list goes to the 危污乱散低 register; entries already there keep their progress
    have = {u: row for u, row in ctx.session.execute(select(Clearout.uscc, Clearout).where(Clearout.year == c.year))}
    d_rows = ctx.session.execute(
        select(Result.uscc, Result.name, Result.town, Result.town_code, Result.area_mu).where(
            Result.run_id == c.confirmed_run_id, Result.cls == "D"
        )
    ).all()
    d_codes = set()
    for uscc, name, town, town_code, area in d_rows:
        d_codes.add(uscc)
        if uscc in have:
            have[uscc].area_mu = area
            have[uscc].run_id = c.confirmed_run_id
            continue
        ctx.session.add(
            Clearout(
                year=c.year,
                uscc=uscc,
                name=name,
                town=town,
                town_code=town_code,
                area_mu=area,
                run_id=c.confirmed_run_id,
                updated_by=ctx.actor.label(),
            )
        )
    for uscc, row in have.items():
        if uscc not in d_codes and row.status == "待整治":
            # no longer D after a 结果调整: nothing was started, so the entry goes
            ctx.session.delete(row)


# ------------------------------------------------------------------------------------------------------
# Results


def visible_run(ctx: Context, c: Cycle) -> Run | None:
    """The run a viewer sees: the published one for towns' and firms' users, else the newest."""
    office_view = ctx.actor.kind == "system" or bool(ctx.actor.roles & {Role.ADMIN, Role.CDO, Role.SECURITY})
    if not office_view and ctx.actor.dept_id:
        office_view = ctx.allowed("efficiency_run", office(ctx)) and not ctx.actor.divisions
    if office_view:
        if c.confirmed_run_id:
            return ctx.session.get(Run, c.confirmed_run_id)
        return latest_run(ctx, c)
    if c.state == wf.PUBLISHED and c.confirmed_run_id:
        return ctx.session.get(Run, c.confirmed_run_id)
    return None


@action("efficiency_result_list")
def efficiency_result_list(
    ctx: Context,
    year: int,
    *,
    town_code: str | None = None,
    cls: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    ctx.authorize("efficiency_result_list", _town_resource(ctx, town_code))
    c = get_cycle(ctx, year)
    run = visible_run(ctx, c)
    if run is None:
        return {"year": c.year, "run": None, "total": 0, "items": []}
    query = select(Result).where(Result.run_id == run.id)
    if town_code:
        query = query.where(Result.town_code == town_code)
    if cls:
        query = query.where(Result.cls == cls)
    if q:
        query = query.where((Result.name.contains(q)) | (Result.uscc == q.strip().upper()))
    query = _narrow(ctx, query, Result.uscc, Result.town_code)
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(
        ctx.session.scalars(
            query.order_by(Result.total_score.desc(), Result.uscc).limit(min(limit, 1000)).offset(offset)
        )
    )
    return {"year": c.year, "run": run, "total": total, "items": items}


@action("efficiency_result_show")
def efficiency_result_show(ctx: Context, year: int, uscc: str) -> dict[str, Any]:
    """One firm's full breakdown: indicators, every bonus and deduction with its source record, the
    overrides applied, the 领导小组 decisions, and the data versions and parameters used."""
    c = get_cycle(ctx, year)
    code = _safe_code(uscc)
    run = visible_run(ctx, c) if ctx.actor.is_authenticated else None
    row = _result_row(ctx, run, code) if run is not None else None
    ctx.authorize("efficiency_result_show", _firm_resource(ctx, code, row.town_code if row else None))
    if row is None or run is None:
        raise NotFound(f"企业 {code} 没有可查看的 {year} 年度评价结果", details={"uscc": code, "year": year})
    bd = json.loads(row.breakdown)
    records = _records_for(ctx, run, bd)
    for item in [*bd.get("bonuses", []), *bd.get("deductions", [])]:
        item["record"] = records.get(str(item.get("record_id")))
    for o in bd.get("overrides", []):
        o["record"] = records.get(str(o.get("record_id"))) if o.get("record_id") else None
    decisions = [
        {
            "kind": d.kind,
            "new_class": d.new_class,
            "basis": d.basis,
            "reason": d.reason,
            "by": d.by,
            "at": d.at.isoformat(),
        }
        for d in _decisions(ctx, c.id)
        if d.uscc in set(bd.get("members", [code])) | {code}
    ]
    record_ctx(
        ctx,
        AuditEntry("efficiency_result_show", resource_type="efficiency_firm", resource_id=code, details={"year": year}),
    )
    return {
        "year": c.year,
        "uscc": code,
        "name": row.name,
        "town": row.town,
        "town_code": row.town_code,
        "class": row.cls,
        "class_name": load_params(run.params_version).section("classes")["names"].get(row.cls, row.cls),
        "total_score": row.total_score,
        "published": c.state == wf.PUBLISHED and c.confirmed_run_id == run.id,
        "run": {
            "id": run.id,
            "seq": run.seq,
            "params_version": run.params_version,
            "params_fingerprint": run.params_fingerprint,
            "data_versions": run.data_versions,
            "checksum": run.checksum,
            "baselines": run.baselines,
            "created_at": run.created_at.isoformat(),
        },
        "breakdown": bd,
        "decisions": decisions,
        "previous": _previous_result(ctx, c.year, code, row.total_score),
    }


def _previous_result(ctx: Context, year: int, uscc: str, score: float) -> dict[str, Any] | None:
    """The firm's class and score in the previous year's published result (同比), if it was evaluated."""
    prev = ctx.session.scalar(select(Cycle).where(Cycle.year == year - 1))
    if prev is None or prev.state != wf.PUBLISHED or not prev.confirmed_run_id:
        return None
    row = ctx.session.scalar(select(Result).where(Result.run_id == prev.confirmed_run_id, Result.uscc == uscc))
    if row is None:
        return None
    return {
        "year": prev.year,
        "class": row.cls,
        "total_score": row.total_score,
        "score_change": round(score - row.total_score, 4),
        "town": row.town,
    }


def _records_for(ctx: Context, run: Run, bd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The department records behind a breakdown's bonuses, deductions and forced classes, by record id."""
    wanted = {
        str(i["record_id"])
        for i in [*bd.get("bonuses", []), *bd.get("deductions", []), *bd.get("overrides", [])]
        if i.get("record_id") and not str(i["record_id"]).startswith("tax:")
    }
    if not wanted:
        return {}
    lake = lake_for(ctx)
    members = [_safe_code(m) for m in bd.get("members", []) if not str(m).startswith("group:")] or []
    depts = _resource_depts(ctx)
    out: dict[str, dict[str, Any]] = {}
    for key in RECORD_KEYS:
        version = run.data_versions.get(key)
        if version is None:
            continue
        where = "record_id IN (" + ",".join("'" + w.replace("'", "''") + "'" for w in sorted(wanted)) + ")"
        if members:
            where += " AND uscc IN (" + ",".join(f"'{m}'" for m in members) + ")"
        for rec in lake.read(key, int(version), filter_sql=where).to_pylist():
            out[str(rec["record_id"])] = {
                "resource_key": key,
                "resource_name": BY_KEY[key].name,
                "dept_id": depts.get(key),
                "version": int(version),
                "row": json.loads(json.dumps(rec, default=str, ensure_ascii=False)),
            }
    for item in [*bd.get("bonuses", []), *bd.get("deductions", [])]:
        rid = str(item.get("record_id") or "")
        if rid.startswith("tax:"):
            out[rid] = {
                "resource_key": "ly_eff_tax",
                "resource_name": BY_KEY["ly_eff_tax"].name,
                "dept_id": depts.get("ly_eff_tax"),
                "version": run.data_versions.get("ly_eff_tax"),
                "row": {"annual_tax": bd.get("inputs", {}).get("tax_paid")},
            }
    return out


# ------------------------------------------------------------------------------------------------------
# 结果通报: reports and the clear-out register


@action("efficiency_report")
def efficiency_report(ctx: Context, year: int, *, town_code: str | None = None) -> dict[str, Any]:
    """Per town: class counts, the firms, and 同比 (year-on-year) against the previous year's published result."""
    ctx.authorize("efficiency_report", _town_resource(ctx, town_code))
    from citybrain.efficiency.reports import build_report

    c = get_cycle(ctx, year)
    run = visible_run(ctx, c)
    if run is None:
        raise NotFound(f"{year} 年度评价结果尚未通报", details={"year": year})
    # 同比 is against what was told to towns and firms a year ago: the previous year's published result
    prev_cycle = ctx.session.scalar(select(Cycle).where(Cycle.year == c.year - 1))
    prev_run = (
        ctx.session.get(Run, prev_cycle.confirmed_run_id)
        if prev_cycle is not None and prev_cycle.state == wf.PUBLISHED and prev_cycle.confirmed_run_id
        else None
    )
    towns = [town_code] if town_code else None
    if ctx.actor.divisions and not (ctx.actor.roles & {Role.ADMIN, Role.CDO, Role.SECURITY}):
        allowed = sorted(ctx.actor.divisions)
        towns = [t for t in (towns or allowed) if any(t.startswith(d) for d in allowed)] or allowed
    cols = (
        Result.uscc,
        Result.name,
        Result.town,
        Result.town_code,
        Result.area_mu,
        Result.tax_paid,
        Result.total_score,
        Result.cls,
        Result.override_rule,
    )

    def frame(run_id: str) -> pd.DataFrame:
        # every row of the run: the report narrows to ``towns`` itself, and needs the rest to tell a firm
        # that moved town from one that is new or left
        q = select(*cols).where(Result.run_id == run_id)
        return pd.DataFrame(ctx.session.execute(q).all(), columns=[c.key for c in cols])

    report = build_report(
        c.year,
        frame(run.id),
        frame(prev_run.id) if prev_run else None,
        towns=towns,
        previous_year=prev_run.year if prev_run else None,
    )
    report["params_version"] = run.params_version
    report["previous_params_version"] = prev_run.params_version if prev_run else None
    report["run"] = {"id": run.id, "seq": run.seq, "checksum": run.checksum, "published": c.state == wf.PUBLISHED}
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_report", resource_type="efficiency_cycle", resource_id=str(c.year), details={"towns": towns}
        ),
    )
    return report


@action("efficiency_clearout_list")
def efficiency_clearout_list(
    ctx: Context, *, year: int | None = None, town_code: str | None = None, status: str | None = None
) -> list[Clearout]:
    ctx.authorize("efficiency_clearout_list", _town_resource(ctx, town_code))
    q = select(Clearout)
    if year is not None:
        q = q.where(Clearout.year == year)
    if town_code:
        q = q.where(Clearout.town_code == town_code)
    if status:
        q = q.where(Clearout.status == status)
    q = _narrow(ctx, q, Clearout.uscc, Clearout.town_code)
    return list(ctx.session.scalars(q.order_by(Clearout.year.desc(), Clearout.town_code, Clearout.area_mu.desc())))


@action("efficiency_clearout_update")
def efficiency_clearout_update(ctx: Context, entry_id: str, data: ClearoutUpdate) -> Clearout:
    entry = ctx.session.get(Clearout, entry_id)
    if entry is None:
        raise NotFound(f"整治台账条目 {entry_id} 不存在", details={"id": entry_id})
    ctx.authorize("efficiency_clearout_update", {**office(ctx), "uscc": entry.uscc, "town_code": entry.town_code})
    old = entry.status
    entry.status = data.status
    entry.note = data.note
    entry.updated_by = ctx.actor.label()
    entry.updated_at = dt.datetime.now(dt.UTC)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "efficiency_clearout_update",
            resource_type="efficiency_clearout",
            resource_id=entry.uscc,
            details={"year": entry.year, "from": old, "to": data.status},
        ),
    )
    return entry


@action("efficiency_firm_bind")
def efficiency_firm_bind(ctx: Context, data: FirmBind) -> FirmAccount:
    """Bind a portal (public) account to the firm it acts for."""
    ctx.authorize("efficiency_firm_bind")
    from citybrain.auth.models import User

    user = ctx.session.scalar(select(User).where(User.username == data.username))
    if user is None:
        raise NotFound(f"用户 {data.username} 不存在", details={"username": data.username})
    if set(user.roles or []) != {Role.PUBLIC.value}:
        raise Invalid("只有企业（公众）用户可以绑定统一社会信用代码", details={"username": data.username})
    code = _safe_code(data.uscc)
    problem = check_uscc(code)
    if problem:
        raise Invalid(f"统一社会信用代码无效：{problem}", details={"field": "uscc"})
    acc = ctx.session.scalar(select(FirmAccount).where(FirmAccount.user_id == user.id))
    if acc is None:
        acc = FirmAccount(user_id=user.id, uscc=code, bound_by=ctx.actor.label())
        ctx.session.add(acc)
    else:
        acc.uscc = code
        acc.bound_by = ctx.actor.label()
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry("efficiency_firm_bind", resource_type="user", resource_id=user.id, details={"uscc": code}),
    )
    return acc
