"""Aggregation (归集) operations: load, quarantine and resubmit, versions and time travel, pulls.

A load is split in two so it can run in the foreground or in a background thread alike:
:func:`_compute` does the heavy work without touching the database (read, check against the
catalog, write the lake version) and :func:`_apply` records the outcome — load row, quarantined
rows, pull watermark, audit event — in one transaction. In the foreground both run inside the
caller's transaction (on SQLite that holds the single write lock for the whole load, hence the
API sending large uploads to the background); a background job runs ``_compute`` outside any
transaction and ``_apply`` in a short one of its own.

The lake version is published before that transaction commits; a crash in between leaves a
version whose lineage names a load id with no load row, which is visible (``version_list``) and
harmless, whereas the reverse order could record a load whose data never arrived.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives import hashes
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record, record_ctx
from citybrain.auth.actor import Actor
from citybrain.catalog.models import Resource
from citybrain.catalog.service import get_resource
from citybrain.db import new_id, utcnow
from citybrain.errors import CityBrainError, Conflict, Invalid, NotAuthorized, NotFound
from citybrain.ingest import jobs
from citybrain.ingest.checks import InputData, Outcome, ResourceSchema, jsonable_row, process
from citybrain.ingest.connectors import (
    build_pull,
    cell_text,
    open_file,
    public_config,
    same_database,
    validate_config,
)
from citybrain.ingest.models import (
    IngestJob,
    IngestLoad,
    IngestSource,
    JobStatus,
    LoadStatus,
    QuarantineRow,
    QuarantineStatus,
)
from citybrain.ingest.schemas import (
    Correction,
    LoadPage,
    LoadPublic,
    QuarantineGroup,
    QuarantinePage,
    QuarantinePublic,
    RowsPage,
    SourceCreate,
    SourcePublic,
    VersionPublic,
)
from citybrain.lake import Lake
from citybrain.org.models import Department
from citybrain.settings import Settings, get_settings

log = logging.getLogger("citybrain.ingest")

MODES = ("replace", "merge")
MAX_PAGE = 1000
_OTHER_DEPT = {"dept_id": "\0another-department"}


# --- helpers ------------------------------------------------------------------------------------


def lake_for(settings: Settings) -> Lake:
    return Lake(settings.lake_dir)


def staging_root(settings: Settings) -> Path:
    return settings.home / "ingest" / "staging"


def uploads_dir(settings: Settings) -> Path:
    path = settings.home / "ingest" / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _explain_refusal(ctx: Context, resource: Any, doing: str) -> Iterator[None]:
    """Say whose resource it is when a steward of another department is refused."""
    try:
        yield
    except NotAuthorized as exc:
        reason = exc.details.get("reason") if isinstance(exc.details, dict) else None
        if reason != "只能操作本部门的资源" or resource is None:
            raise
        dept = ctx.session.get(Department, resource.dept_id)
        owner = dept.name if dept else resource.dept_id
        key = getattr(resource, "key", None) or getattr(resource, "resource_key", "")
        raise NotAuthorized(
            f"无权{doing}：资源 {key} 的来源部门是{owner}，只有{owner}的数据管理员或平台管理员可以{doing}",
            details={**exc.details, "resource": key, "owner_dept": owner},
        ) from None


def _sees_all(ctx: Context, action_name: str) -> bool:
    return ctx.allowed(action_name, _OTHER_DEPT)


def _page(limit: int, offset: int) -> tuple[int, int]:
    if limit < 1 or offset < 0:
        raise Invalid("分页参数无效：limit 至少为 1，offset 不能为负", details={"limit": limit, "offset": offset})
    return min(limit, MAX_PAGE), offset


def _who(ctx: Context) -> dict[str, Any]:
    dept = ctx.session.get(Department, ctx.actor.dept_id) if ctx.actor.dept_id else None
    return {
        "user": ctx.actor.label(),
        "user_id": ctx.actor.user_id,
        "actor_kind": ctx.actor.kind,
        "dept_id": ctx.actor.dept_id,
        "dept_name": dept.name if dept else None,
    }


def _sm3_file(path: Path) -> str:
    digest = hashes.Hash(hashes.SM3())
    with open(path, "rb") as fh:
        while chunk := fh.read(4 << 20):
            digest.update(chunk)
    return "sm3:" + digest.finalize().hex()


def _schema(ctx: Context, resource: Resource) -> ResourceSchema:
    return ResourceSchema.from_resource(resource, standards=ctx.settings.ingest_standards == "quarantine")


def _check_mode(mode: str, resource: Resource) -> None:
    if mode not in MODES:
        raise Invalid(
            f"归集方式 mode 只能是 replace（全量替换）或 merge（按主键合并），收到 {mode!r}", details={"field": "mode"}
        )
    if mode == "merge" and not resource.primary_key:
        raise Invalid(
            f"资源 {resource.key} 在目录中没有主键，不能按主键合并；请用全量替换（replace）或先在目录中登记主键",
            details={"field": "mode", "resource": resource.key},
        )


def _not_our_store(ctx: Context, kind: str, config: dict[str, Any]) -> None:
    # A pull runs with the platform's own access: pointed at the metadata store it would copy
    # users, tokens and the audit log into a department's resource.
    if kind == "database" and same_database(str(config.get("url", "")), ctx.settings.resolved_database_url):
        raise NotAuthorized("不能从平台自身的元数据库拉取数据", details={"field": "config.url"})


def _loadable(resource: Resource) -> None:
    if resource.status != "active":
        raise Conflict(f"资源 {resource.key} 已停用，不能再归集数据", details={"resource": resource.key})
    if not resource.fields:
        raise Invalid(f"资源 {resource.key} 在目录中没有登记任何字段，无法校验", details={"resource": resource.key})


# --- one load -------------------------------------------------------------------------------------


@dataclass
class LoadPlan:
    """Everything a load needs, detached from any session so a thread can carry it."""

    load_id: str
    schema: ResourceSchema
    mode: str
    connector: str
    source: str
    open_input: Callable[[], InputData]
    lineage: dict[str, Any]
    settings: Settings
    source_id: str | None = None
    #: file to fingerprint for lineage (uploads)
    checksum_path: Path | None = None
    #: resubmits: input row number → quarantine row id
    resubmit: dict[int, str] | None = None
    cleanup: Callable[[], None] | None = None


@dataclass
class Computed:
    outcome: Outcome | None = None
    error: CityBrainError | None = None
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    source_checksum: str | None = None
    staging: Path | None = None

    def discard(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)


def _sweep_staging(root: Path, older_than: dt.timedelta = dt.timedelta(days=1)) -> None:
    """Remove staging left by loads that were killed; a live load's staging is far younger than a day."""
    if not root.is_dir():
        return
    cutoff = (utcnow() - older_than).timestamp()
    for entry in root.iterdir():
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)


def _compute(plan: LoadPlan, progress: Callable[[float, str], None]) -> Computed:
    """Read, check and write the lake; no database. Domain errors are returned, not raised."""
    _sweep_staging(staging_root(plan.settings))
    staging = staging_root(plan.settings) / f"{plan.load_id}-{uuid.uuid4().hex[:8]}"
    done = Computed(staging=staging)
    try:
        if plan.checksum_path is not None:
            done.source_checksum = _sm3_file(plan.checksum_path)
        progress(0.02, "正在打开数据")
        data = plan.open_input()
        done.info = dict(data.info)
        lineage = {
            **plan.lineage,
            **{k: v for k, v in data.info.items() if k in ("format", "encoding", "header_row", "sheet")},
            "source_checksum": done.source_checksum,
        }
        done.outcome = process(
            plan.schema,
            data,
            lake_for(plan.settings),
            staging,
            mode=plan.mode,
            lineage=lineage,
            source=plan.source,
            progress=progress,
        )
        done.state = dict(data.state)
    except CityBrainError as exc:
        done.error = exc
    return done


def _apply(
    session: Session,
    actor: Actor,
    plan: LoadPlan,
    done: Computed,
    *,
    ip: str | None = None,
    request_id: str | None = None,
    settings: Settings | None = None,
) -> IngestLoad:
    """Record a computed load: load row, quarantine, watermark, audit, governance — one transaction."""
    load = session.get(IngestLoad, plan.load_id)
    if load is None:
        raise NotFound(f"归集记录 {plan.load_id} 不存在", details={"load_id": plan.load_id})
    load.finished_at = utcnow()
    load.source_checksum = done.source_checksum
    load.info = {**(load.info or {}), **done.info}
    source = session.get(IngestSource, plan.source_id) if plan.source_id else None
    if source is not None:
        source.last_run_at = load.finished_at
        source.last_load_id = load.id
    if done.error is not None or done.outcome is None:
        exc = done.error or Invalid("归集失败")
        load.status = LoadStatus.FAILED.value
        load.error = exc.message
        details = exc.details
        load.error_details = details if isinstance(details, dict) or details is None else {"items": details}
        session.flush()
        record(
            session,
            actor,
            AuditEntry(
                "resource_load",
                result="error",
                resource_type="resource",
                resource_id=plan.schema.key,
                details={"load_id": load.id, "connector": plan.connector, "source": plan.source, "error": exc.message},
            ),
            ip=ip,
            request_id=request_id,
        )
        return load
    out = done.outcome
    load.rows_read = out.rows_read
    load.rows_accepted = out.rows_accepted
    load.rows_quarantined = out.rows_quarantined
    if out.checks_skipped:
        load.info = {**load.info, "checks_skipped": out.checks_skipped}
    if out.version is not None:
        load.status = LoadStatus.SUCCEEDED.value
        load.version = out.version.version
        load.checksum = out.version.checksum
    else:
        load.status = LoadStatus.REJECTED.value
        load.error = "没有数据行通过校验，未写入新版本" if out.rows_read else "数据为空，未写入新版本"
    if plan.resubmit is None:
        _insert_quarantine(session, load, plan, out)
    else:
        _settle_resubmit(session, actor, load, plan, out)
    if source is not None and done.state.get("watermark") is not None:
        # Rows that failed went to quarantine, so the watermark may pass them: nothing is lost.
        source.watermark = done.state["watermark"]
    session.flush()
    record(
        session,
        actor,
        AuditEntry(
            "quarantine_resubmit" if plan.resubmit is not None else "resource_load",
            resource_type="resource",
            resource_id=plan.schema.key,
            row_count=out.rows_accepted,
            details={
                "load_id": load.id,
                "status": load.status,
                "version": load.version,
                "mode": plan.mode,
                "connector": plan.connector,
                "source": plan.source,
                "rows_read": out.rows_read,
                "rows_accepted": out.rows_accepted,
                "rows_quarantined": out.rows_quarantined,
            },
        ),
        ip=ip,
        request_id=request_id,
    )
    if load.version is not None:
        ctx = Context(session=session, actor=actor, settings=settings or get_settings(), ip=ip, request_id=request_id)
        _govern(ctx, plan.schema.key, load.version)
    return load


def _govern(ctx: Context, resource_key: str, version: int) -> None:
    """归集 → 治理 → 反馈: every new version is checked by the quality rules, which open or close the
    source department's 整改工单. The quality domain is optional; a failure there never undoes a load."""
    try:
        from citybrain.quality.service import after_load
    except ModuleNotFoundError as exc:
        if exc.name not in ("citybrain.quality", "citybrain.quality.service"):
            raise
        return
    after_load(ctx, resource_key, version)


def _insert_quarantine(session: Session, load: IngestLoad, plan: LoadPlan, out: Outcome) -> None:
    for chunk in out.rejected():
        session.execute(
            insert(QuarantineRow),
            [
                {
                    "id": new_id(),
                    "load_id": load.id,
                    "resource_id": plan.schema.resource_id,
                    "row_number": r["row_number"],
                    "field": r["field"],
                    "reason": r["reason"],
                    "problem_kind": r["kind"],
                    "problems": r["problems"],
                    "raw": r["raw"],
                    "status": QuarantineStatus.OPEN.value,
                }
                for r in chunk
            ],
        )


def _settle_resubmit(session: Session, actor: Actor, load: IngestLoad, plan: LoadPlan, out: Outcome) -> None:
    assert plan.resubmit is not None
    still_bad: dict[str, dict[str, Any]] = {}
    for chunk in out.rejected():
        for r in chunk:
            still_bad[plan.resubmit[r["row_number"]]] = r
    rows = {q.id: q for q in session.scalars(select(QuarantineRow).where(QuarantineRow.id.in_(plan.resubmit.values())))}
    for qid, q in rows.items():
        if qid in still_bad:
            bad = still_bad[qid]
            q.reason, q.problems, q.raw, q.field = bad["reason"], bad["problems"], bad["raw"], bad["field"]
            q.problem_kind = bad["kind"]
        elif load.version is not None:
            q.status = QuarantineStatus.RESOLVED.value
            q.resolved_version = load.version
            q.resolved_load_id = load.id
            q.resolved_by = actor.label()
            q.resolved_at = utcnow()


def _new_load(
    ctx: Context, resource: Resource, *, mode: str, connector: str, source: str, source_id: str | None = None
) -> IngestLoad:
    load = IngestLoad(
        id=new_id(),
        resource_id=resource.id,
        resource_key=resource.key,
        dept_id=resource.dept_id,
        mode=mode,
        connector=connector,
        source=source[:500],
        source_id=source_id,
        status=LoadStatus.RUNNING.value,
        resource_revision=resource.revision,
        info={},
        created_by=ctx.actor.label(),
        created_by_id=ctx.actor.user_id,
        created_by_dept_id=ctx.actor.dept_id,
    )
    ctx.session.add(load)
    ctx.session.flush()
    return load


def _lineage(ctx: Context, load: IngestLoad, resource: Resource) -> dict[str, Any]:
    return {
        "load_id": load.id,
        "source": load.source,
        "connector": load.connector,
        "source_id": load.source_id,
        "who": _who(ctx),
        "at": utcnow().isoformat(),
        "resource_id": resource.id,
        "resource_dept_id": resource.dept_id,
    }


def _execute(ctx: Context, plan: LoadPlan, load: IngestLoad, *, background: bool) -> IngestLoad:
    if not background:
        done = _compute(plan, lambda _f, _m: None)
        try:
            return _apply(
                ctx.session, ctx.actor, plan, done, ip=ctx.ip, request_id=ctx.request_id, settings=ctx.settings
            )
        finally:
            done.discard()
            if plan.cleanup is not None:
                plan.cleanup()
    job = IngestJob(
        id=new_id(),
        load_id=load.id,
        dept_id=load.dept_id,
        status=JobStatus.QUEUED.value,
        message="排队中",
        created_by=ctx.actor.label(),
    )
    ctx.session.add(job)
    load.job_id = job.id
    load.status = LoadStatus.QUEUED.value
    ctx.session.flush()
    engine = ctx.session.get_bind()
    maker = sessionmaker(engine, expire_on_commit=False)
    actor, ip, request_id = ctx.actor, ctx.ip, ctx.request_id
    jobs.start_after_commit(ctx.session, job.id, lambda: _run_job(maker, job.id, plan, actor, ip, request_id))
    return load


def _run_job(
    maker: sessionmaker[Session], job_id: str, plan: LoadPlan, actor: Actor, ip: str | None, request_id: str | None
) -> None:
    reporter = jobs.Reporter(maker, job_id)
    done: Computed | None = None
    try:
        reporter.start()
        with maker.begin() as s:
            load = s.get(IngestLoad, plan.load_id)
            if load is not None:
                load.status = LoadStatus.RUNNING.value
        try:
            done = _compute(plan, reporter.progress)
        except Exception as exc:  # a bug must still end the job visibly, not leave it "running"
            log.exception("background load crashed", extra={"job_id": job_id})
            done = Computed(error=Invalid(f"归集时发生内部错误：{type(exc).__name__}: {exc}"))
        with maker.begin() as s:
            load = _apply(s, actor, plan, done, ip=ip, request_id=request_id)
            ok = load.status != LoadStatus.FAILED.value
            if load.status == LoadStatus.SUCCEEDED.value:
                message = f"已完成：接收 {load.rows_accepted} 行，隔离 {load.rows_quarantined} 行，版本 {load.version}"
            else:
                message = load.error or load.status
            reporter.finish(s, ok=ok, message=message, error=None if ok else load.error)
    except Exception as exc:
        log.exception("could not record a background load", extra={"job_id": job_id})
        with maker.begin() as s:
            reporter.finish(s, ok=False, message="归集失败", error=f"{type(exc).__name__}: {exc}")
            load = s.get(IngestLoad, plan.load_id)
            if load is not None and load.status in (LoadStatus.QUEUED.value, LoadStatus.RUNNING.value):
                load.status = LoadStatus.FAILED.value
                load.error = f"{type(exc).__name__}: {exc}"
                load.finished_at = utcnow()
    finally:
        if done is not None:
            done.discard()
        if plan.cleanup is not None:
            plan.cleanup()


# --- actions: loading -----------------------------------------------------------------------------


@action("resource_load")
def resource_load(
    ctx: Context,
    ref: str,
    source: str | Path | dict[str, Any],
    *,
    mode: str = "replace",
    connector: str = "file",
    filename: str | None = None,
    format: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    background: bool = False,
    cleanup: Callable[[], None] | None = None,
) -> IngestLoad:
    """Load a file (or, with ``connector="database"|"http"``, a one-off pull config) into a resource.

    Returns the load record: ``succeeded`` with the new version, ``rejected`` when no row passed
    (no version written), ``failed`` with the error; ``queued`` with a ``job_id`` when
    ``background``. Rows failing the catalog's checks are in quarantine either way.

    ``replace`` makes the accepted rows the whole resource; ``merge`` replaces or adds rows by the
    catalog's primary key, whole rows: a column the input lacks becomes empty in merged rows.
    """
    resource = get_resource(ctx.session, ref)
    with _explain_refusal(ctx, resource, "向该资源归集数据"):
        ctx.authorize("resource_load", resource)
    _loadable(resource)
    _check_mode(mode, resource)
    schema = _schema(ctx, resource)
    checksum_path: Path | None = None
    if connector == "file":
        if not isinstance(source, str | Path):
            raise Invalid("文件归集的 source 应为文件路径", details={"field": "source"})
        path = Path(source)
        name = filename or path.name
        checksum_path = path

        def open_input() -> InputData:
            return open_file(path, filename=filename, format=format, sheet=sheet, encoding=encoding)

    elif connector in ("database", "http"):
        if not isinstance(source, dict):
            raise Invalid("数据库或接口归集的 source 应为连接配置", details={"field": "source"})
        validate_config(connector, source, "full", None)
        _not_our_store(ctx, connector, source)
        pull = build_pull(connector, source, incremental="full", cursor_column=None, watermark=None)
        name = filename or (pull.describe() if hasattr(pull, "describe") else str(source.get("url")))
        open_input = pull.open
    else:
        raise Invalid(
            f"未知的归集方式 connector={connector!r}，应为 file、database 或 http", details={"field": "connector"}
        )
    load = _new_load(ctx, resource, mode=mode, connector=connector, source=name)
    plan = LoadPlan(
        load_id=load.id,
        schema=schema,
        mode=mode,
        connector=connector,
        source=name,
        open_input=open_input,
        lineage=_lineage(ctx, load, resource),
        settings=ctx.settings,
        checksum_path=checksum_path,
        cleanup=cleanup,
    )
    return _execute(ctx, plan, load, background=background)


def load_public(load: IngestLoad) -> LoadPublic:
    return LoadPublic.model_validate(load)


@action("load_list")
def load_list(
    ctx: Context,
    *,
    ref: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> LoadPage:
    limit, offset = _page(limit, offset)
    conditions = []
    if ref:
        resource = get_resource(ctx.session, ref)
        ctx.authorize("load_list", resource)
        conditions.append(IngestLoad.resource_id == resource.id)
    else:
        ctx.authorize("load_list")
        if not _sees_all(ctx, "load_list"):
            conditions.append(IngestLoad.dept_id == ctx.actor.dept_id)
    if status:
        conditions.append(IngestLoad.status == status)
    total = ctx.session.scalar(select(func.count()).select_from(IngestLoad).where(*conditions)) or 0
    rows = ctx.session.scalars(
        select(IngestLoad)
        .where(*conditions)
        .order_by(IngestLoad.started_at.desc(), IngestLoad.id)
        .limit(limit)
        .offset(offset)
    )
    return LoadPage(total=total, items=[load_public(r) for r in rows])


def _get_load(session: Session, load_id: str) -> IngestLoad:
    load = session.get(IngestLoad, load_id)
    if load is None:
        raise NotFound(f"归集记录 {load_id} 不存在", details={"load_id": load_id})
    return load


@action("load_show")
def load_show(ctx: Context, load_id: str) -> IngestLoad:
    load = _get_load(ctx.session, load_id)
    ctx.authorize("load_show", load)
    return load


# --- actions: quarantine --------------------------------------------------------------------------


@action("quarantine_list")
def quarantine_list(
    ctx: Context,
    ref: str | None = None,
    *,
    load_id: str | None = None,
    status: str | None = QuarantineStatus.OPEN.value,
    field: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> QuarantinePage:
    """Quarantined rows of a resource or of one load, oldest load first, in input order; ``field`` and
    ``kind`` narrow them to one group of :func:`quarantine_summary`."""
    limit, offset = _page(limit, offset)
    if not ref and not load_id:
        raise Invalid("请指定资源或归集记录", details={"field": "ref"})
    conditions = []
    if load_id:
        load = _get_load(ctx.session, load_id)
        target: Any = load
        conditions.append(QuarantineRow.load_id == load.id)
        key = load.resource_key
    else:
        assert ref is not None
        target = get_resource(ctx.session, ref)
        conditions.append(QuarantineRow.resource_id == target.id)
        key = target.key
    with _explain_refusal(ctx, target, "查看隔离区数据"):
        ctx.authorize("quarantine_list", target)
    if status:
        conditions.append(QuarantineRow.status == status)
    if field:
        conditions.append(QuarantineRow.field == field)
    if kind:
        conditions.append(QuarantineRow.problem_kind == kind)
    total = ctx.session.scalar(select(func.count()).select_from(QuarantineRow).where(*conditions)) or 0
    rows = list(
        ctx.session.scalars(
            select(QuarantineRow)
            .join(IngestLoad, IngestLoad.id == QuarantineRow.load_id)
            .where(*conditions)
            .order_by(IngestLoad.started_at, QuarantineRow.load_id, QuarantineRow.row_number, QuarantineRow.id)
            .limit(limit)
            .offset(offset)
        )
    )
    # Quarantined rows are the department's data as sent (ID numbers and all): reading them is audited.
    record_ctx(
        ctx,
        AuditEntry(
            "quarantine_list",
            resource_type="resource",
            resource_id=key,
            row_count=len(rows),
            details={"load_id": load_id, "status": status, "offset": offset},
        ),
    )
    return QuarantinePage(total=total, items=[QuarantinePublic.model_validate(r) for r in rows])


@action("quarantine_summary")
def quarantine_summary(
    ctx: Context, ref: str, *, status: str | None = QuarantineStatus.OPEN.value
) -> list[QuarantineGroup]:
    """A resource's quarantined rows grouped by field and kind of problem (the check that failed, not
    the value), the largest group first: a steward fixes one kind of mistake at a time, at its source,
    rather than row by row. Counts and one example reason, no row values beyond it."""
    resource = get_resource(ctx.session, ref)
    with _explain_refusal(ctx, resource, "查看隔离区数据"):
        ctx.authorize("quarantine_summary", resource)
    conditions = [QuarantineRow.resource_id == resource.id]
    if status:
        conditions.append(QuarantineRow.status == status)
    rows = ctx.session.execute(
        select(
            QuarantineRow.field,
            QuarantineRow.problem_kind.label("kind"),
            func.min(QuarantineRow.reason).label("example"),
            func.count().label("rows"),
            func.count(func.distinct(QuarantineRow.load_id)).label("loads"),
            func.min(QuarantineRow.row_number).label("first_row_number"),
            func.max(IngestLoad.started_at).label("last_load_at"),
        )
        .join(IngestLoad, IngestLoad.id == QuarantineRow.load_id)
        .where(*conditions)
        .group_by(QuarantineRow.field, QuarantineRow.problem_kind)
        .order_by(func.count().desc(), QuarantineRow.field, QuarantineRow.problem_kind)
    )
    return [QuarantineGroup.model_validate(r, from_attributes=True) for r in rows]


@action("quarantine_resubmit")
def quarantine_resubmit(
    ctx: Context, ref: str, corrections: list[Correction] | list[dict[str, Any]], *, background: bool = False
) -> IngestLoad:
    """Re-check quarantined rows with corrected values; the good ones are merged as a new version.

    Each correction names a quarantined row and the values to change (by field name or 中文名称);
    the row's other values are kept. Rows still failing stay in quarantine with their new reasons.
    Resources with a primary key are merged by it; others get the rows appended.
    """
    resource = get_resource(ctx.session, ref)
    with _explain_refusal(ctx, resource, "修正并重新提交隔离数据"):
        ctx.authorize("quarantine_resubmit", resource)
    _loadable(resource)
    fixes = [c if isinstance(c, Correction) else Correction.model_validate(c) for c in corrections]
    if not fixes:
        raise Invalid("没有要重新提交的行", details={"field": "rows"})
    ids = [c.id for c in fixes]
    if len(set(ids)) != len(ids):
        raise Invalid("同一隔离行提交了多次", details={"field": "rows"})
    found = {
        q.id: q
        # FOR UPDATE: two people resubmitting the same row must not both merge it (PostgreSQL; SQLite
        # already serialises write transactions).
        for q in ctx.session.scalars(
            select(QuarantineRow)
            .where(QuarantineRow.id.in_(ids), QuarantineRow.resource_id == resource.id)
            .with_for_update()
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"资源 {resource.key} 的隔离区中没有这些行：{'、'.join(missing)}", details={"missing": missing})
    resolved = [i for i in ids if found[i].status != QuarantineStatus.OPEN.value]
    if resolved:
        raise Conflict(
            f"这些隔离行已处理过（已写入版本 {found[resolved[0]].resolved_version}）：{'、'.join(resolved)}",
            details={"resolved": resolved},
        )
    schema = _schema(ctx, resource)
    names = [f.name for f in schema.fields]
    rows: list[dict[str, str | None]] = []
    problems: list[str] = []
    for fix in fixes:
        row: dict[str, str | None] = dict.fromkeys(names)
        for col, value in (found[fix.id].raw or {}).items():
            target = schema.resolve(col)
            if target is not None:
                row[target] = cell_text(value)
        for col, value in fix.values.items():
            target = schema.resolve(col)
            if target is None:
                problems.append(col)
                continue
            row[target] = cell_text(value)
        rows.append(row)
    if problems:
        raise Invalid(
            f"资源 {resource.key} 没有这些字段：{'、'.join(sorted(set(problems)))}", details={"unknown": problems}
        )
    batch = pa.RecordBatch.from_pydict(
        {n: pa.array([r[n] for r in rows], pa.string()) for n in names},
    )
    mode = "merge" if resource.primary_key else "append"
    load = _new_load(ctx, resource, mode=mode, connector="resubmit", source="隔离区修正")
    plan = LoadPlan(
        load_id=load.id,
        schema=schema,
        mode=mode,
        connector="resubmit",
        source="隔离区修正",
        open_input=lambda: InputData(iter([batch]), names, info={"format": "resubmit", "rows": len(rows)}),
        lineage={**_lineage(ctx, load, resource), "quarantine_ids": ids},
        settings=ctx.settings,
        resubmit={i: fix.id for i, fix in enumerate(fixes, start=1)},
    )
    return _execute(ctx, plan, load, background=background)


# --- actions: versions and time travel ------------------------------------------------------------


@action("version_list")
def version_list(ctx: Context, ref: str) -> list[VersionPublic]:
    """Every lake version of a resource with its lineage, newest first."""
    resource = get_resource(ctx.session, ref)
    ctx.authorize("version_list", resource)
    lake = lake_for(ctx.settings)
    current = lake.current(resource.key)
    out = []
    for info in reversed(lake.versions(resource.key)):
        out.append(
            VersionPublic(
                version=info.version,
                mode=info.mode,
                parent=info.parent,
                rows=info.rows,
                checksum=info.checksum,
                created_at=info.created_at,
                current=current is not None and info.version == current.version,
                lineage=info.lineage,
                primary_key=info.primary_key,
                schema=info.schema,
            )
        )
    return out


def _read_rows(settings: Settings, key: str, version: int | None, limit: int, offset: int) -> RowsPage:
    lake = lake_for(settings)
    info = lake.version(key, version) if version is not None else lake.current(key)
    if info is None:
        raise NotFound(f"资源 {key} 还没有归集过数据", details={"resource": key})
    files = [str(p) for p in lake.files(key, info.version)]
    with duckdb.connect() as con:
        rel = con.read_parquet(files).limit(limit, offset)
        fn = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
        table = fn()
    return RowsPage(
        resource_key=key,
        version=info.version,
        total=info.rows,
        offset=offset,
        columns=[c["name"] for c in info.schema],
        rows=[jsonable_row(r) for r in table.to_pylist()],
    )


@action("version_read")
def version_read(ctx: Context, ref: str, version: int, *, limit: int = 100, offset: int = 0) -> RowsPage:
    """Rows of any retained version (time travel), paged."""
    resource = get_resource(ctx.session, ref)
    with _explain_refusal(ctx, resource, "读取该资源的数据"):
        ctx.authorize("version_read", resource)
    limit, offset = _page(limit, offset)
    page = _read_rows(ctx.settings, resource.key, version, limit, offset)
    record_ctx(
        ctx,
        AuditEntry(
            "version_read",
            resource_type="resource",
            resource_id=resource.key,
            fields=page.columns,
            row_count=len(page.rows),
            details={"version": page.version, "offset": offset},
        ),
    )
    return page


@action("resource_preview")
def resource_preview(ctx: Context, ref: str, *, version: int | None = None, limit: int = 20) -> RowsPage:
    """The first rows of the current version (or of ``version``)."""
    resource = get_resource(ctx.session, ref)
    with _explain_refusal(ctx, resource, "预览该资源的数据"):
        ctx.authorize("resource_preview", resource)
    limit, _ = _page(limit, 0)
    page = _read_rows(ctx.settings, resource.key, version, min(limit, 100), 0)
    record_ctx(
        ctx,
        AuditEntry(
            "resource_preview",
            resource_type="resource",
            resource_id=resource.key,
            fields=page.columns,
            row_count=len(page.rows),
            details={"version": page.version},
        ),
    )
    return page


@action("version_prune")
def version_prune(ctx: Context, ref: str, *, keep_last: int = 5, keep_days: float | None = None) -> list[int]:
    """Apply the retention policy: keep the newest ``keep_last`` (and any younger than ``keep_days``)."""
    resource = get_resource(ctx.session, ref)
    with _explain_refusal(ctx, resource, "清理该资源的历史版本"):
        ctx.authorize("version_prune", resource)
    removed = lake_for(ctx.settings).prune(resource.key, keep_last=keep_last, keep_days=keep_days)
    record_ctx(
        ctx,
        AuditEntry(
            "version_prune",
            resource_type="resource",
            resource_id=resource.key,
            details={"removed": removed, "keep_last": keep_last, "keep_days": keep_days},
        ),
    )
    return removed


# --- actions: pull sources ------------------------------------------------------------------------


def source_public(source: IngestSource, resource_key: str) -> SourcePublic:
    data = {c.key: getattr(source, c.key) for c in IngestSource.__table__.columns}
    data["config"] = public_config(source.kind, source.config or {})
    return SourcePublic.model_validate({**data, "resource_key": resource_key})


def _get_source(session: Session, ref: str) -> IngestSource:
    src = session.scalar(select(IngestSource).where((IngestSource.id == ref) | (IngestSource.name == ref)))
    if src is None:
        raise NotFound(f"数据源 {ref} 不存在", details={"source": ref})
    return src


@action("source_create")
def source_create(ctx: Context, data: SourceCreate) -> IngestSource:
    """Store a pull (database or HTTP API) for a resource, optionally on a cron schedule (UTC)."""
    resource = get_resource(ctx.session, data.resource)
    with _explain_refusal(ctx, resource, "为该资源配置数据源"):
        ctx.authorize("source_create", resource)
    _loadable(resource)
    if ctx.session.scalar(select(IngestSource.id).where(IngestSource.name == data.name)):
        raise Conflict(f"数据源名称 {data.name} 已存在", details={"field": "name"})
    validate_config(data.kind, data.config, data.incremental, data.cursor_column)
    _not_our_store(ctx, data.kind, data.config)
    mode = data.mode or ("replace" if data.incremental == "full" else "merge")
    _check_mode(mode, resource)
    if data.incremental != "full" and mode != "merge":
        raise Invalid("增量拉取只能按主键合并（merge）：全量替换会丢掉上次之前的数据", details={"field": "mode"})
    cron = jobs.validate_cron(data.cron) if data.cron else None
    src = IngestSource(
        name=data.name,
        resource_id=resource.id,
        dept_id=resource.dept_id,
        kind=data.kind,
        config=data.config,
        mode=mode,
        incremental=data.incremental,
        cursor_column=data.cursor_column,
        cron=cron,
        enabled=data.enabled,
        next_run_at=jobs.next_run(cron, utcnow()) if cron else None,
        created_by=ctx.actor.label(),
    )
    ctx.session.add(src)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "source_create",
            resource_type="resource",
            resource_id=resource.key,
            details={"source": src.name, "kind": src.kind, "cron": cron, "incremental": src.incremental},
        ),
    )
    return src


@action("source_list")
def source_list(ctx: Context, *, ref: str | None = None) -> list[SourcePublic]:
    conditions = []
    if ref:
        resource = get_resource(ctx.session, ref)
        ctx.authorize("source_list", resource)
        conditions.append(IngestSource.resource_id == resource.id)
    else:
        ctx.authorize("source_list")
        if not _sees_all(ctx, "source_list"):
            conditions.append(IngestSource.dept_id == ctx.actor.dept_id)
    rows = ctx.session.execute(
        select(IngestSource, Resource.key)
        .join(Resource, Resource.id == IngestSource.resource_id)
        .where(*conditions)
        .order_by(IngestSource.name)
    ).all()
    return [source_public(s, key) for s, key in rows]


@action("source_run")
def source_run(ctx: Context, ref: str, *, background: bool = False, now: dt.datetime | None = None) -> IngestLoad:
    """Pull a stored source now; incremental pulls continue from the stored watermark."""
    src = _get_source(ctx.session, ref)
    resource = ctx.session.get(Resource, src.resource_id)
    assert resource is not None
    resource = get_resource(ctx.session, resource.id)
    with _explain_refusal(ctx, resource, "运行该资源的数据源"):
        ctx.authorize("source_run", resource)
    _loadable(resource)
    _check_mode(src.mode, resource)
    pull = build_pull(
        src.kind,
        src.config or {},
        incremental=src.incremental,
        cursor_column=src.cursor_column,
        watermark=src.watermark,
    )
    if src.cron:
        src.next_run_at = jobs.next_run(src.cron, now or utcnow())
    load = _new_load(ctx, resource, mode=src.mode, connector=src.kind, source=src.name, source_id=src.id)
    plan = LoadPlan(
        load_id=load.id,
        schema=_schema(ctx, resource),
        mode=src.mode,
        connector=src.kind,
        source=src.name,
        open_input=pull.open,
        lineage={
            **_lineage(ctx, load, resource),
            "pull": {"kind": src.kind, "incremental": src.incremental, "since": src.watermark},
        },
        settings=ctx.settings,
        source_id=src.id,
    )
    return _execute(ctx, plan, load, background=background)


# --- actions: jobs --------------------------------------------------------------------------------


@action("job_show")
def job_show(ctx: Context, job_id: str) -> IngestJob:
    job = ctx.session.get(IngestJob, job_id)
    if job is None:
        raise NotFound(f"任务 {job_id} 不存在", details={"job_id": job_id})
    ctx.authorize("job_show", job)
    return job
