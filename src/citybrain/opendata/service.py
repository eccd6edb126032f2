"""公共数据开放: publishing open datasets from catalog resources, approval in open-catalog batches,
public reading (rows, downloads), 有条件开放 applications with personal keys, apps and metrics.

Publishing is a two-person act: the source department's steward prepares a dataset (which fields,
how each is desensitised, licence, topic, description) and submits it in an 开放目录批次; only the
chief data officer's approval of the batch makes it public. What is served is always the dataset's
field whitelist with its masking, re-checked against the catalog's current sensitivity on every
read (``query.served_fields``), so no path — API, download, portal — can show more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.auth.models import ApiToken, User
from citybrain.auth.rules import Role
from citybrain.auth.service import issue_token
from citybrain.catalog.models import OpenType, Resource, ResourceField
from citybrain.catalog.service import get_resource
from citybrain.db import utcnow
from citybrain.errors import Conflict, Invalid, NotAuthenticated, NotAuthorized, NotFound, RateLimited, parse
from citybrain.lake.store import Lake, VersionInfo
from citybrain.masking import FieldInfo, MaskSpec, default_spec
from citybrain.masking.policy import SensitivityLevel
from citybrain.opendata import query as q
from citybrain.opendata import search
from citybrain.opendata.models import (
    ApplicationStatus,
    BatchStatus,
    DatasetStatus,
    OpenApp,
    OpenApplication,
    OpenCatalogBatch,
    OpenDataset,
    OpenDatasetTag,
    OpenUsage,
)
from citybrain.opendata.schemas import (
    LICENCES,
    TERMS_VERSION,
    ApplicationCreate,
    ApplicationDecision,
    AppRegister,
    DatasetPrepare,
    DatasetUpdate,
    FieldChoice,
)
from citybrain.org.models import Department

OPENABLE = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)
#: rows one anonymous datastore_search call may return (CKAN's default cap is 32,000; phones need far fewer)
PUBLIC_MAX_ROWS = 1000
#: rows above which XLSX downloads are refused in favour of CSV
XLSX_MAX_ROWS = 200_000
_TZ = ZoneInfo("Asia/Shanghai")

_lakes: dict[Path, Lake] = {}


def lake_for(ctx: Context) -> Lake:
    """One Lake per directory: opening one walks every resource to recover interrupted writes."""
    path = Path(ctx.settings.lake_dir).resolve()
    if path not in _lakes:
        _lakes[path] = Lake(path)
    return _lakes[path]


def pseudonym_key(ctx: Context) -> bytes:
    return ctx.settings.secret("open_pseudonym")


# -- lookups ---------------------------------------------------------------------------------------


def get_dataset(session: Session, ref: str) -> OpenDataset:
    ds = session.scalar(select(OpenDataset).where((OpenDataset.name == ref) | (OpenDataset.id == ref)))
    if ds is None:
        raise NotFound(f"开放数据集 {ref} 不存在", details={"dataset": ref})
    return ds


def dataset_resource(session: Session, ds: OpenDataset) -> Resource:
    res = session.scalar(
        select(Resource)
        .options(selectinload(Resource.fields).selectinload(ResourceField.standard))
        .where(Resource.id == ds.resource_id)
    )
    if res is None:  # pragma: no cover - the foreign key prevents it
        raise NotFound(f"数据集 {ds.name} 的来源资源不存在")
    return res


def openable_reason(resource: Resource) -> str | None:
    """None when the resource may be published, else why not (shown to the steward)."""
    if resource.status != "active":
        return f"资源 {resource.name} 已停用，不能开放"
    if resource.open_type not in OPENABLE:
        basis = f"（依据：{resource.open_basis}）" if resource.open_basis else ""
        return (
            f"资源 {resource.name} 的开放属性为“{resource.open_type}”{basis}，只有无条件开放或有条件开放的资源才能发布"
        )
    return None


# -- preparing -------------------------------------------------------------------------------------


def _catalog_info(f: ResourceField) -> FieldInfo:
    return FieldInfo(name=f.name, level=f.sensitivity, element=f.standard.name if f.standard else None)


def build_fields(
    resource: Resource, choices: list[FieldChoice] | None, version: VersionInfo, previous: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The published field list: catalog order, each with its masking.

    Defaults: every field present in the data, masked as the policy says for its level; 高敏感
    (level 4) fields are never published. A 敏感 (level 3) field may get another masking but never
    none. Choices name fields to leave out (``include=False``) or mask differently."""
    present = {c["name"] for c in version.schema}
    by_name = {c.name: c for c in choices or []}
    known = {f.name for f in resource.fields}
    problems: list[dict[str, str]] = []
    for name in by_name:
        if name not in known:
            problems.append({"field": name, "problem": "资源中没有该字段"})
        elif name not in present and by_name[name].include:
            problems.append({"field": name, "problem": "当前数据版本中没有该字段"})
    before = {f["name"]: f for f in previous} if previous is not None else None
    out: list[dict[str, Any]] = []
    for f in resource.fields:
        if f.name not in present:
            continue
        choice = by_name.get(f.name)
        if choice is None and before is not None and f.name not in before:
            continue  # an update keeps fields left out before out
        if choice is not None and not choice.include:
            continue
        info = _catalog_info(f)
        level = info.effective_level
        if level >= SensitivityLevel.HIGHLY_SENSITIVE:
            if choice is not None:
                problems.append({"field": f.name, "problem": "4 级高敏感字段不得开放"})
            continue
        mask: MaskSpec | None
        if choice is not None and choice.mask:
            try:
                mask = MaskSpec.from_dict(choice.mask)
            except Invalid as exc:
                problems.append({"field": f.name, "problem": exc.message})
                continue
        elif choice is not None and choice.plain:
            mask = None
        elif before is not None and f.name in before:
            prev = before[f.name].get("mask")
            mask = MaskSpec.from_dict(prev) if prev else None
        else:
            mask = default_spec(info)
        if level >= SensitivityLevel.SENSITIVE and mask is None:
            problems.append({"field": f.name, "problem": "3 级敏感字段必须脱敏后才能开放"})
            continue
        if mask is not None and mask.method == "suppress":
            continue  # an all-null column tells nobody anything; leave it out
        out.append(
            {
                "name": f.name,
                "title": f.title,
                "data_type": f.data_type,
                "description": f.description,
                "sensitivity": int(level),
                "mask": mask.to_dict() if mask else None,
            }
        )
    if problems:
        summary = "；".join(f"{p['field']}：{p['problem']}" for p in problems)
        raise Invalid(f"开放字段设置有误：{summary}", details={"problems": problems})
    if not out:
        raise Invalid("没有可开放的字段", details={"resource": resource.key})
    return out


def _dept(session: Session, dept_id: str) -> Department:
    dept = session.get(Department, dept_id)
    assert dept is not None
    return dept


def _reindex(session: Session, ds: OpenDataset, resource: Resource) -> None:
    dept = _dept(session, ds.dept_id)
    pieces = [
        ds.title,
        ds.title_en or "",
        ds.name,
        ds.description,
        ds.topic or "",
        dept.name,
        dept.code,
        resource.key,
        resource.document_number or "",
        *ds.tags,
    ]
    for f in ds.fields:
        pieces += [f["name"], f.get("title") or "", f.get("description") or ""]
    ds.search_text = " | ".join(p for p in pieces if p).lower()
    session.execute(delete(OpenDatasetTag).where(OpenDatasetTag.dataset_id == ds.id))
    for tag in dict.fromkeys(t.strip()[:64] for t in ds.tags if t.strip()):
        session.add(OpenDatasetTag(dataset_id=ds.id, tag=tag))


def _apply_version(ds: OpenDataset, info: VersionInfo) -> None:
    ds.version = info.version
    ds.rows = info.rows
    ds.data_updated_at = datetime.fromisoformat(info.created_at)


def _pick_version(lake: Lake, resource: Resource, version: int | None) -> VersionInfo:
    try:
        info = lake.current(resource.key) if version is None else lake.version(resource.key, version)
    except NotFound:
        info = None
    if info is None:
        what = "尚未归集数据" if version is None else f"没有数据版本 {version}"
        raise Conflict(f"资源 {resource.name} {what}，不能开放", details={"resource": resource.key})
    return info


def _audit(ctx: Context, name: str, ds: OpenDataset, **details: Any) -> None:
    record_ctx(ctx, AuditEntry(name, resource_type="open_dataset", resource_id=ds.name, details=details))


@action("open_dataset_prepare")
def open_dataset_prepare(ctx: Context, data: DatasetPrepare) -> OpenDataset:
    resource = get_resource(ctx.session, data.resource)
    ctx.authorize("open_dataset_prepare", resource)
    reason = openable_reason(resource)
    if reason:
        raise Conflict(reason, details={"resource": resource.key, "open_type": resource.open_type})
    info = _pick_version(lake_for(ctx), resource, data.version)
    name = data.name or resource.key.replace("_", "-")
    if ctx.session.scalar(select(OpenDataset.id).where(OpenDataset.name == name)):
        raise Conflict(f"数据集标识 {name} 已被使用", details={"field": "name"})
    ds = OpenDataset(
        name=name,
        title=data.title or resource.name,
        title_en=data.title_en or resource.name_en,
        description=data.description if data.description is not None else resource.description,
        resource_id=resource.id,
        resource_key=resource.key,
        dept_id=resource.dept_id,
        open_type=resource.open_type,
        topic=data.topic or resource.topic,
        update_frequency=resource.update_frequency,
        licence=data.licence,
        tags=list(data.tags if data.tags is not None else resource.tags),
        fields=build_fields(resource, data.fields, info, None),
        follow_latest=data.follow_latest,
        status=DatasetStatus.DRAFT,
        created_by=ctx.actor.label(),
    )
    _apply_version(ds, info)
    ctx.session.add(ds)
    ctx.session.flush()
    _reindex(ctx.session, ds, resource)
    ctx.session.flush()
    _audit(
        ctx,
        "open_dataset_prepare",
        ds,
        resource=resource.key,
        version=info.version,
        follow_latest=ds.follow_latest,
        fields={f["name"]: (f["mask"] or {}).get("method") for f in ds.fields},
    )
    return ds


@action("open_dataset_update")
def open_dataset_update(ctx: Context, ref: str, data: DatasetUpdate) -> OpenDataset:
    ds = get_dataset(ctx.session, ref)
    ctx.authorize("open_dataset_update", ds)
    resource = dataset_resource(ctx.session, ds)
    changes = data.model_dump(exclude_unset=True, exclude={"fields", "version", "follow_latest"})
    for key, value in changes.items():
        if value is not None:
            setattr(ds, key, value)
    if data.follow_latest is not None or data.version is not None:
        ds.follow_latest = bool(data.follow_latest) if data.follow_latest is not None else ds.follow_latest
        info = _pick_version(lake_for(ctx), resource, None if ds.follow_latest else data.version or ds.version)
        _apply_version(ds, info)
        changes["follow_latest"] = ds.follow_latest
        changes["version"] = ds.version
    if data.fields is not None:
        info = q.resolve_version(lake_for(ctx), ds)
        new_fields = build_fields(resource, data.fields, info, ds.fields)
        if ds.status in (DatasetStatus.PUBLISHED, DatasetStatus.PENDING):
            # approval covered exactly what is shown; showing more (a new field, a lighter mask) needs a new one
            old = {f["name"]: f.get("mask") for f in ds.fields}
            wider = [f["name"] for f in new_fields if f["name"] not in old or old[f["name"]] != f.get("mask")]
            if wider:
                raise Conflict(
                    f"已提交或已开放的数据集只能减少开放字段；修改 {'、'.join(wider)} 须撤回后重新提交审核",
                    details={"fields": wider},
                )
        ds.fields = new_fields
        changes["fields"] = {f["name"]: (f["mask"] or {}).get("method") for f in new_fields}
    ds.updated_at = utcnow()
    _reindex(ctx.session, ds, resource)
    ctx.session.flush()
    _audit(ctx, "open_dataset_update", ds, changes=changes)
    return ds


@action("open_dataset_withdraw")
def open_dataset_withdraw(ctx: Context, ref: str, reason: str) -> OpenDataset:
    ds = get_dataset(ctx.session, ref)
    ctx.authorize("open_dataset_withdraw", ds)
    if not reason.strip():
        raise Invalid("撤回开放数据集必须说明原因", details={"field": "reason"})
    if ds.status == DatasetStatus.WITHDRAWN:
        return ds
    ds.status = DatasetStatus.WITHDRAWN
    ds.updated_at = utcnow()
    _audit(ctx, "open_dataset_withdraw", ds, reason=reason)
    return ds


def refresh(ctx: Context, ds: OpenDataset) -> bool:
    """Bring a following dataset's version facts up to date with the lake; True when they changed."""
    if not ds.follow_latest:
        return False
    info = lake_for(ctx).current(ds.resource_key)
    if info is None or info.version == ds.version:
        return False
    _apply_version(ds, info)
    ds.updated_at = utcnow()
    return True


@action("open_dataset_sync")
def open_dataset_sync(ctx: Context, dept: str | None = None) -> list[str]:
    """Pick up new lake versions for every following dataset (run after loads, or from cron)."""
    ctx.authorize("open_dataset_sync", {"dept_id": dept} if dept else None)
    stmt = select(OpenDataset).where(OpenDataset.follow_latest.is_(True))
    if dept:
        stmt = stmt.where(OpenDataset.dept_id == dept)
    elif ctx.actor.roles & {Role.STEWARD} and not ctx.actor.roles & {Role.ADMIN, Role.CDO}:
        stmt = stmt.where(OpenDataset.dept_id == ctx.actor.dept_id)
    changed = [ds.name for ds in ctx.session.scalars(stmt) if refresh(ctx, ds)]
    if changed:
        record_ctx(ctx, AuditEntry("open_dataset_sync", resource_type="open_dataset", details={"changed": changed}))
    return changed


# -- open-catalog batches --------------------------------------------------------------------------


@action("open_batch_submit")
def open_batch_submit(ctx: Context, title: str, datasets: list[str]) -> OpenCatalogBatch:
    ctx.authorize("open_batch_submit")
    if not title.strip():
        raise Invalid("请填写批次名称", details={"field": "title"})
    if not datasets:
        raise Invalid("批次中至少要有一个数据集", details={"field": "datasets"})
    items = [get_dataset(ctx.session, ref) for ref in dict.fromkeys(datasets)]
    problems = []
    for ds in items:
        ctx.authorize("open_batch_submit", ds)
        if ds.status not in (DatasetStatus.DRAFT, DatasetStatus.WITHDRAWN):
            problems.append({"dataset": ds.name, "status": ds.status})
    if problems:
        raise Conflict(
            "只有草稿或已撤回的数据集可以提交：" + "、".join(p["dataset"] for p in problems),
            details={"problems": problems},
        )
    depts = {ds.dept_id for ds in items}
    batch = OpenCatalogBatch(
        title=title.strip(),
        dept_id=depts.pop() if len(depts) == 1 else None,
        dataset_ids=[ds.id for ds in items],
        submitted_by=ctx.actor.label(),
        status=BatchStatus.SUBMITTED,
    )
    ctx.session.add(batch)
    ctx.session.flush()
    for ds in items:
        ds.status = DatasetStatus.PENDING
        ds.batch_id = batch.id
    record_ctx(
        ctx,
        AuditEntry(
            "open_batch_submit",
            resource_type="open_batch",
            resource_id=batch.id,
            details={"title": batch.title, "datasets": [ds.name for ds in items]},
        ),
    )
    return batch


def get_batch(session: Session, batch_id: str) -> OpenCatalogBatch:
    batch = session.get(OpenCatalogBatch, batch_id)
    if batch is None:
        raise NotFound(f"开放目录批次 {batch_id} 不存在", details={"batch": batch_id})
    return batch


def batch_datasets(session: Session, batch: OpenCatalogBatch) -> list[OpenDataset]:
    rows = {ds.id: ds for ds in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(batch.dataset_ids)))}
    return [rows[i] for i in batch.dataset_ids if i in rows]


@action("open_batch_list")
def open_batch_list(ctx: Context, status: str | None = None) -> list[OpenCatalogBatch]:
    ctx.authorize("open_batch_list")
    stmt = select(OpenCatalogBatch).order_by(OpenCatalogBatch.submitted_at.desc())
    if status:
        stmt = stmt.where(OpenCatalogBatch.status == status)
    if not (ctx.actor.kind == "system" or ctx.actor.roles & {Role.ADMIN, Role.CDO, Role.SECURITY}):
        stmt = stmt.where(OpenCatalogBatch.dept_id == ctx.actor.dept_id)
    return list(ctx.session.scalars(stmt))


@action("open_batch_approve")
def open_batch_approve(ctx: Context, batch_id: str, note: str = "") -> OpenCatalogBatch:
    ctx.authorize("open_batch_approve")
    batch = get_batch(ctx.session, batch_id)
    if batch.status != BatchStatus.SUBMITTED:
        raise Conflict(
            f"该批次已{'批准' if batch.status == BatchStatus.APPROVED else '退回'}", details={"status": batch.status}
        )
    items = batch_datasets(ctx.session, batch)
    # the catalog may have changed since submission: publish nothing rather than something no longer openable
    problems = []
    for ds in items:
        reason = openable_reason(dataset_resource(ctx.session, ds))
        if reason:
            problems.append({"dataset": ds.name, "reason": reason})
    if problems:
        raise Conflict(
            "批次中有不能开放的数据集：" + "；".join(p["reason"] for p in problems), details={"problems": problems}
        )
    now = utcnow()
    for ds in items:
        refresh(ctx, ds)
        ds.status = DatasetStatus.PUBLISHED
        ds.published_at = ds.published_at or now
        ds.updated_at = now
    batch.status = BatchStatus.APPROVED
    batch.decided_by = ctx.actor.label()
    batch.decided_at = now
    batch.reason = note or None
    record_ctx(
        ctx,
        AuditEntry(
            "open_batch_approve",
            resource_type="open_batch",
            resource_id=batch.id,
            details={"datasets": [ds.name for ds in items], "note": note},
        ),
    )
    return batch


@action("open_batch_reject")
def open_batch_reject(ctx: Context, batch_id: str, reason: str) -> OpenCatalogBatch:
    ctx.authorize("open_batch_reject")
    if not reason.strip():
        raise Invalid("退回批次必须说明原因", details={"field": "reason"})
    batch = get_batch(ctx.session, batch_id)
    if batch.status != BatchStatus.SUBMITTED:
        raise Conflict("该批次已处理", details={"status": batch.status})
    for ds in batch_datasets(ctx.session, batch):
        ds.status = DatasetStatus.DRAFT
        ds.batch_id = None
    batch.status = BatchStatus.REJECTED
    batch.decided_by = ctx.actor.label()
    batch.decided_at = utcnow()
    batch.reason = reason
    record_ctx(
        ctx,
        AuditEntry("open_batch_reject", resource_type="open_batch", resource_id=batch.id, details={"reason": reason}),
    )
    return batch


# -- reading ---------------------------------------------------------------------------------------


@action("open_dataset_search")
def open_dataset_search(ctx: Context, query: search.Query) -> search.SearchResult:
    ctx.authorize("open_dataset_search")
    query.rows = max(0, min(int(query.rows), 1000))
    query.start = max(0, int(query.start))
    return search.search(ctx.session, query)


@action("open_dataset_show")
def open_dataset_show(ctx: Context, ref: str) -> OpenDataset:
    ds = get_dataset(ctx.session, ref)
    ctx.authorize("open_dataset_show", ds)
    if ds.status == DatasetStatus.PUBLISHED:
        refresh(ctx, ds)
    return ds


def _day() -> date:
    return datetime.now(_TZ).date()


def count_usage(ctx: Context, ds: OpenDataset, kind: str, token_id: str | None = None) -> None:
    """Add one to the day's counter (an upsert, so concurrent requests never lose a count)."""
    dialect = ctx.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(OpenUsage).values(dataset_id=ds.id, token_id=token_id or "", day=_day(), kind=kind, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["dataset_id", "token_id", "day", "kind"], set_={"count": OpenUsage.count + 1}
    )
    ctx.session.execute(stmt)
    column = {"download": OpenDataset.downloads, "api": OpenDataset.api_calls, "view": OpenDataset.views}[kind]
    ctx.session.execute(update(OpenDataset).where(OpenDataset.id == ds.id).values({column: column + 1}))


def _calls_today(ctx: Context, ds: OpenDataset, token_id: str) -> int:
    return (
        ctx.session.scalar(
            select(func.coalesce(func.sum(OpenUsage.count), 0)).where(
                OpenUsage.dataset_id == ds.id,
                OpenUsage.token_id == token_id,
                OpenUsage.day == _day(),
                OpenUsage.kind.in_(("api", "download")),
            )
        )
        or 0
    )


def access(ctx: Context, ds: OpenDataset) -> OpenApplication | None:
    """Who may read a dataset's rows: anyone for 无条件开放; for 有条件开放 the holder of an approved
    application (by its personal key, or logged in), the source department and overseers.
    Returns the application whose limits apply, if any."""
    if ds.status != DatasetStatus.PUBLISHED:
        if ctx.actor.kind == "system" or ctx.actor.dept_id == ds.dept_id or ctx.actor.roles & {Role.ADMIN, Role.CDO}:
            return None
        raise NotFound(f"开放数据集 {ds.name} 不存在", details={"dataset": ds.name})
    resource = ctx.session.get(Resource, ds.resource_id)
    if resource is None or openable_reason(resource):
        raise NotAuthorized("该数据集的来源资源已调整为不予开放，暂停提供数据", details={"dataset": ds.name})
    if ds.open_type != OpenType.CONDITIONAL:
        return None
    actor = ctx.actor
    if (
        actor.kind == "system"
        or actor.roles & {Role.ADMIN, Role.CDO}
        or (actor.dept_id == ds.dept_id and actor.roles & {Role.STEWARD, Role.CONSUMER})
    ):
        return None
    if not actor.is_authenticated:
        raise NotAuthenticated(
            "该数据集为有条件开放：请登录并申请，获批后使用个人密钥访问", details={"dataset": ds.name}
        )
    stmt = select(OpenApplication).where(
        OpenApplication.dataset_id == ds.id, OpenApplication.status == ApplicationStatus.APPROVED
    )
    stmt = stmt.where(
        OpenApplication.token_id == actor.token_id if actor.token_id else OpenApplication.user_id == actor.user_id
    )
    app = ctx.session.scalars(stmt).first()
    if app is None:
        raise NotAuthorized(
            "该数据集为有条件开放：您没有获批的申请，或使用的不是该申请的个人密钥", details={"dataset": ds.name}
        )
    if app.expires_at is not None and app.expires_at <= utcnow():
        raise NotAuthorized("您对该数据集的使用授权已到期，请重新申请", details={"dataset": ds.name})
    return app


def _limit_calls(ctx: Context, ds: OpenDataset, app: OpenApplication | None) -> None:
    if app is None or not ctx.actor.token_id:
        return
    used = _calls_today(ctx, ds, ctx.actor.token_id)
    if used >= app.daily_calls:
        raise RateLimited(
            f"已达到今日调用上限（{app.daily_calls} 次），请明日再试", details={"limit": app.daily_calls, "used": used}
        )


@action("open_dataset_rows")
def open_dataset_rows(
    ctx: Context,
    ref: str,
    *,
    filters: dict[str, Any] | None = None,
    text: str | dict[str, Any] | None = None,
    fields: list[str] | None = None,
    sort: str | None = None,
    limit: int = 100,
    offset: int = 0,
    total: bool = True,
    count: bool = True,
) -> q.RowsResult:
    """Masked rows of an open dataset (CKAN datastore_search, the portal preview)."""
    ds = get_dataset(ctx.session, ref)
    ctx.authorize("open_dataset_rows", ds)
    app = access(ctx, ds)
    cap = app.max_rows if app is not None else PUBLIC_MAX_ROWS
    if limit < 0 or offset < 0:
        raise Invalid("limit 和 offset 不能为负数", details={"limit": limit, "offset": offset})
    if limit > cap:
        raise Invalid(f"每次最多返回 {cap} 行，请分页获取", details={"limit": limit, "max": cap})
    _limit_calls(ctx, ds, app)
    resource = dataset_resource(ctx.session, ds)
    result = q.query_rows(
        lake_for(ctx),
        ds,
        resource,
        key=pseudonym_key(ctx),
        filters=filters,
        q=text,
        fields=fields,
        sort=sort,
        limit=limit,
        offset=offset,
        total=total,
    )
    if count:
        count_usage(ctx, ds, "api", ctx.actor.token_id)
        record_ctx(
            ctx,
            AuditEntry(
                "open_dataset_rows",
                resource_type="open_dataset",
                resource_id=ds.name,
                fields=[f.name for f in result.fields],
                row_count=len(result.records),
                details={"version": result.version.version, "application": app.id if app else None},
            ),
        )
    return result


@dataclass
class Download:
    dataset: OpenDataset
    fields: list[q.ServedField]
    version: VersionInfo
    batches: Callable[[], Iterator[pa.RecordBatch]]


@action("open_dataset_download")
def open_dataset_download(ctx: Context, ref: str, fmt: str) -> Download:
    ds = get_dataset(ctx.session, ref)
    ctx.authorize("open_dataset_download", ds)
    if fmt not in ("csv", "xlsx", "json"):
        raise Invalid(f"不支持的下载格式 {fmt}，可选 csv、xlsx、json", details={"format": fmt})
    app = access(ctx, ds)
    _limit_calls(ctx, ds, app)
    lake = lake_for(ctx)
    version = q.resolve_version(lake, ds)
    if app is not None and version.rows > app.max_rows * 1000:
        raise Invalid("数据量超出您的授权范围，请使用接口分页获取", details={"rows": version.rows})
    if fmt == "xlsx" and version.rows > XLSX_MAX_ROWS:
        # an Excel workbook is built in memory; past this size CSV streams and Excel still opens it
        raise Invalid(
            f"数据共 {version.rows:,} 行，超过 Excel 下载上限 {XLSX_MAX_ROWS:,} 行，请下载 CSV",
            details={"rows": version.rows, "max_rows": XLSX_MAX_ROWS},
        )
    served = q.served_fields(ds, dataset_resource(ctx.session, ds), version)
    key = pseudonym_key(ctx)
    count_usage(ctx, ds, "download", ctx.actor.token_id)
    record_ctx(
        ctx,
        AuditEntry(
            "open_dataset_download",
            resource_type="open_dataset",
            resource_id=ds.name,
            fields=[f.name for f in served],
            row_count=version.rows,
            details={"format": fmt, "version": version.version, "application": app.id if app else None},
        ),
    )
    return Download(ds, served, version, lambda: q.stream_batches(lake, version, served, key))


def version_history(ctx: Context, ds: OpenDataset) -> list[VersionInfo]:
    """The lake versions the public has been (or is) served, newest first."""
    versions = lake_for(ctx).versions(ds.resource_key)
    if not ds.follow_latest and ds.version is not None:
        versions = [v for v in versions if v.version <= ds.version]
    return list(reversed(versions))


@action("open_org_list")
def open_org_list(ctx: Context) -> list[tuple[Department, int]]:
    """Departments with published datasets, and how many (from the search index)."""
    ctx.authorize("open_org_list")
    counts = search.summary(ctx.session).per_dept
    depts = {d.id: d for d in ctx.session.scalars(select(Department).where(Department.id.in_(list(counts))))}
    rows = [(depts[i], n) for i, n in counts.items() if i in depts]
    return sorted(rows, key=lambda r: (-r[1], r[0].code))


# -- 有条件开放 applications ------------------------------------------------------------------------


def _applicant(ctx: Context) -> User:
    user = ctx.session.get(User, ctx.actor.user_id) if ctx.actor.user_id else None
    if user is None:
        raise NotAuthenticated("请先注册并登录后再申请")
    return user


@action("open_application_create")
def open_application_create(ctx: Context, data: ApplicationCreate) -> OpenApplication:
    ctx.authorize("open_application_create")
    user = _applicant(ctx)
    ds = get_dataset(ctx.session, data.dataset)
    if ds.status != DatasetStatus.PUBLISHED:
        raise NotFound(f"开放数据集 {data.dataset} 不存在")
    if ds.open_type != OpenType.CONDITIONAL:
        raise Invalid("该数据集为无条件开放，无需申请即可使用", details={"dataset": ds.name})
    if not data.accept_terms:
        raise Invalid("请阅读并同意《开放数据使用条款》", details={"field": "accept_terms"})
    if data.applicant_kind == "company":
        from citybrain.standards.checks import check_uscc

        problems = []
        if not (data.organization or "").strip():
            problems.append({"field": "organization", "message": "请填写单位名称"})
        reason = check_uscc(data.uscc or "") if data.uscc else "请填写统一社会信用代码"
        if reason:
            problems.append({"field": "uscc", "message": reason})
        if problems:
            raise Invalid("申请信息有误：" + "；".join(p["message"] for p in problems), details=problems)
    open_ = ctx.session.scalar(
        select(OpenApplication.id).where(
            OpenApplication.dataset_id == ds.id,
            OpenApplication.user_id == user.id,
            OpenApplication.status.in_((ApplicationStatus.PENDING, ApplicationStatus.APPROVED)),
        )
    )
    if open_:
        raise Conflict("您已申请过该数据集（待审核或已获批）", details={"application": open_})
    app = OpenApplication(
        dataset_id=ds.id,
        dept_id=ds.dept_id,
        user_id=user.id,
        applicant_kind=data.applicant_kind,
        organization=(data.organization or "").strip() or None,
        uscc=data.uscc or None,
        purpose=data.purpose.strip(),
        intended_use=data.intended_use.strip(),
        terms_version=TERMS_VERSION,
        terms_accepted_at=utcnow(),
        status=ApplicationStatus.PENDING,
    )
    ctx.session.add(app)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "open_application_create",
            resource_type="open_application",
            resource_id=app.id,
            purpose=app.purpose,
            details={"dataset": ds.name, "kind": app.applicant_kind, "terms": TERMS_VERSION},
        ),
    )
    return app


def get_application(session: Session, app_id: str) -> OpenApplication:
    app = session.get(OpenApplication, app_id)
    if app is None:
        raise NotFound(f"申请 {app_id} 不存在", details={"application": app_id})
    return app


@action("open_application_list")
def open_application_list(ctx: Context, *, review: bool = False, status: str | None = None) -> list[OpenApplication]:
    """``review``: the applications the actor's department decides; otherwise the actor's own."""
    ctx.authorize("open_application_list")
    stmt = select(OpenApplication).order_by(OpenApplication.created_at.desc())
    if review:
        if not (ctx.actor.kind == "system" or ctx.actor.roles & {Role.ADMIN, Role.STEWARD, Role.CDO}):
            raise NotAuthorized("只有数据提供部门的数据管理员可以审核申请")
        if not (ctx.actor.kind == "system" or ctx.actor.roles & {Role.ADMIN, Role.CDO}):
            stmt = stmt.where(OpenApplication.dept_id == ctx.actor.dept_id)
    else:
        stmt = stmt.where(OpenApplication.user_id == ctx.actor.user_id)
    if status:
        stmt = stmt.where(OpenApplication.status == status)
    return list(ctx.session.scalars(stmt))


@action("open_application_show")
def open_application_show(ctx: Context, app_id: str) -> OpenApplication:
    app = get_application(ctx.session, app_id)
    ctx.authorize("open_application_show", app)
    return app


@action("open_application_decide")
def open_application_decide(ctx: Context, app_id: str, decision: ApplicationDecision) -> OpenApplication:
    app = get_application(ctx.session, app_id)
    ctx.authorize("open_application_decide", app)
    if app.status != ApplicationStatus.PENDING:
        raise Conflict("该申请已处理", details={"status": app.status})
    if not decision.approve and not decision.reason.strip():
        raise Invalid("不予批准时必须说明理由", details={"field": "reason"})
    app.decided_by = ctx.actor.label()
    app.decided_at = utcnow()
    app.reason = decision.reason.strip() or None
    if decision.approve:
        app.status = ApplicationStatus.APPROVED
        app.daily_calls = decision.daily_calls
        app.max_rows = decision.max_rows
        app.expires_at = utcnow() + timedelta(days=decision.days)
    else:
        app.status = ApplicationStatus.REFUSED
    record_ctx(
        ctx,
        AuditEntry(
            "open_application_approve" if decision.approve else "open_application_refuse",
            resource_type="open_application",
            resource_id=app.id,
            details={
                "reason": app.reason,
                "daily_calls": app.daily_calls,
                "max_rows": app.max_rows,
                "expires_at": app.expires_at.isoformat() if app.expires_at else None,
            },
        ),
    )
    return app


@action("open_application_key")
def open_application_key(ctx: Context, app_id: str) -> tuple[OpenApplication, str]:
    """The applicant collects the personal key of an approved application; a new key revokes the old one.

    The key is issued to the applicant, never through the reviewing steward, so nobody else ever sees it."""
    app = get_application(ctx.session, app_id)
    ctx.authorize("open_application_key", app)
    if app.user_id != ctx.actor.user_id:
        raise NotAuthorized("只有申请人本人可以领取个人密钥")
    if app.status != ApplicationStatus.APPROVED:
        raise Conflict("申请尚未获批，不能领取密钥", details={"status": app.status})
    user = _applicant(ctx)
    if app.token_id:
        old = ctx.session.get(ApiToken, app.token_id)
        if old is not None and old.revoked_at is None:
            old.revoked_at = utcnow()
    ds = ctx.session.get(OpenDataset, app.dataset_id)
    days = max(1, ((app.expires_at or utcnow() + timedelta(days=365)) - utcnow()).days)
    token, secret = issue_token(ctx, user, f"开放数据密钥：{ds.name if ds else app.dataset_id}", ["open:read"], days)
    app.token_id = token.id
    record_ctx(
        ctx,
        AuditEntry(
            "open_application_key",
            resource_type="open_application",
            resource_id=app.id,
            details={"token": token.prefix},
        ),
    )
    return app, secret


@action("open_application_revoke")
def open_application_revoke(ctx: Context, app_id: str, reason: str) -> OpenApplication:
    app = get_application(ctx.session, app_id)
    ctx.authorize("open_application_revoke", app)
    if not reason.strip():
        raise Invalid("终止授权必须说明原因", details={"field": "reason"})
    if app.status != ApplicationStatus.APPROVED:
        raise Conflict("只有已获批的申请可以终止", details={"status": app.status})
    app.status = ApplicationStatus.REVOKED
    app.reason = reason
    if app.token_id:
        token = ctx.session.get(ApiToken, app.token_id)
        if token is not None and token.revoked_at is None:
            token.revoked_at = utcnow()
    record_ctx(
        ctx,
        AuditEntry(
            "open_application_revoke", resource_type="open_application", resource_id=app.id, details={"reason": reason}
        ),
    )
    return app


# -- 开放数据应用 --------------------------------------------------------------------------------------


@action("open_app_register")
def open_app_register(ctx: Context, data: AppRegister) -> OpenApp:
    ctx.authorize("open_app_register")
    ids = []
    for ref in dict.fromkeys(data.datasets):
        ds = get_dataset(ctx.session, ref)
        if ds.status != DatasetStatus.PUBLISHED:
            raise NotFound(f"开放数据集 {ref} 不存在")
        ids.append(ds.id)
    app = OpenApp(
        name=data.name.strip(),
        description=data.description.strip(),
        url=data.url,
        developer=data.developer.strip(),
        dataset_ids=ids,
        registered_by=ctx.actor.user_id,
    )
    ctx.session.add(app)
    ctx.session.flush()
    record_ctx(
        ctx, AuditEntry("open_app_register", resource_type="open_app", resource_id=app.id, details={"name": app.name})
    )
    return app


@action("open_app_list")
def open_app_list(ctx: Context, dataset: str | None = None) -> list[tuple[OpenApp, list[OpenDataset]]]:
    ctx.authorize("open_app_list")
    apps = list(ctx.session.scalars(select(OpenApp).order_by(OpenApp.created_at.desc())))
    ids = {i for a in apps for i in a.dataset_ids}
    by_id = {
        d.id: d
        for d in ctx.session.scalars(
            select(OpenDataset).where(OpenDataset.id.in_(ids), OpenDataset.status == DatasetStatus.PUBLISHED)
        )
    }
    out = [(a, [by_id[i] for i in a.dataset_ids if i in by_id]) for a in apps]
    if dataset:
        out = [(a, used) for a, used in out if any(d.name == dataset or d.id == dataset for d in used)]
    return out


# -- metrics ---------------------------------------------------------------------------------------


def _metrics(session: Session, *, exact: bool = True) -> dict[str, Any]:
    """The headline figures. ``exact=False`` takes the usage counters from the search index, which
    may lag by a few minutes (the portal's home page); the metrics page and the API count them now."""
    openable = set(
        session.scalars(select(Resource.id).where(Resource.status == "active", Resource.open_type.in_(OPENABLE)))
    )
    totals = search.summary(session)
    opened = len(totals.resource_ids & openable)
    if exact:
        downloads, api_calls, views = session.execute(
            select(
                func.coalesce(func.sum(OpenDataset.downloads), 0),
                func.coalesce(func.sum(OpenDataset.api_calls), 0),
                func.coalesce(func.sum(OpenDataset.views), 0),
            ).where(OpenDataset.status == DatasetStatus.PUBLISHED)
        ).one()
    else:
        downloads, api_calls, views = totals.downloads, totals.api_calls, totals.views
    approved = (
        session.scalar(
            select(func.count())
            .select_from(OpenApplication)
            .where(OpenApplication.status.in_((ApplicationStatus.APPROVED, ApplicationStatus.REVOKED)))
        )
        or 0
    )
    apps = session.scalar(select(func.count()).select_from(OpenApp)) or 0
    return {
        # 公共信息资源社会开放率 = 已开放的资源 / 应开放（无条件开放 + 有条件开放）的资源
        "open_rate": round(opened / len(openable), 4) if openable else 0.0,
        "resources_should_open": len(openable),
        "resources_opened": opened,
        "datasets": sum(totals.per_dept.values()),
        "departments": len(totals.per_dept),
        "rows": totals.rows,
        "downloads": int(downloads),
        "api_calls": int(api_calls),
        "views": int(views),
        "applications_approved": int(approved),
        "apps": int(apps),
    }


@action("open_metrics_show")
def open_metrics_show(ctx: Context, *, exact: bool = True) -> dict[str, Any]:
    ctx.authorize("open_metrics_show")
    return _metrics(ctx.session, exact=exact)


@action("open_metrics_detail")
def open_metrics_detail(ctx: Context, days: int = 30) -> dict[str, Any]:
    """For the chief data officer: the headline figures, per department, the queue, and daily usage."""
    ctx.authorize("open_metrics_detail")
    out = _metrics(ctx.session)
    per_dept: dict[str, dict[str, Any]] = {}
    for dept in ctx.session.scalars(select(Department).order_by(Department.code)):
        per_dept[dept.id] = {
            "code": dept.code,
            "name": dept.name,
            "should": 0,
            "opened": 0,
            "downloads": 0,
            "api_calls": 0,
        }
    for dept_id, n in ctx.session.execute(
        select(Resource.dept_id, func.count())
        .where(Resource.status == "active", Resource.open_type.in_(OPENABLE))
        .group_by(Resource.dept_id)
    ):
        per_dept[dept_id]["should"] = int(n)
    for dept_id, n, dl, api in ctx.session.execute(
        select(
            OpenDataset.dept_id,
            func.count(func.distinct(OpenDataset.resource_id)),
            func.sum(OpenDataset.downloads),
            func.sum(OpenDataset.api_calls),
        )
        .where(OpenDataset.status == DatasetStatus.PUBLISHED)
        .group_by(OpenDataset.dept_id)
    ):
        per_dept[dept_id].update(opened=int(n), downloads=int(dl or 0), api_calls=int(api or 0))
    for row in per_dept.values():
        row["open_rate"] = round(min(row["opened"], row["should"]) / row["should"], 4) if row["should"] else None
    out["per_department"] = [r for r in per_dept.values() if r["should"] or r["opened"]]
    since = _day() - timedelta(days=days)
    daily: dict[str, dict[str, int]] = {}
    for day, kind, n in ctx.session.execute(
        select(OpenUsage.day, OpenUsage.kind, func.sum(OpenUsage.count))
        .where(OpenUsage.day >= since)
        .group_by(OpenUsage.day, OpenUsage.kind)
        .order_by(OpenUsage.day)
    ):
        daily.setdefault(day.isoformat(), {})[kind] = int(n)
    out["daily"] = daily
    out["batches_pending"] = (
        ctx.session.scalar(
            select(func.count()).select_from(OpenCatalogBatch).where(OpenCatalogBatch.status == BatchStatus.SUBMITTED)
        )
        or 0
    )
    out["applications_pending"] = (
        ctx.session.scalar(
            select(func.count()).select_from(OpenApplication).where(OpenApplication.status == ApplicationStatus.PENDING)
        )
        or 0
    )
    return out


# -- demo ------------------------------------------------------------------------------------------


def publish_demo(ctx: Context) -> list[str]:
    """Publish every openable demo resource that has data, in one approved batch (idempotent).

    The demo builder registers the gazette tables as 无条件开放 and loads them; this is the step
    that opens them on the portal. Runs as whoever ``ctx`` is (the system identity in the demo)."""
    taken = set(ctx.session.scalars(select(OpenDataset.resource_id)))
    lake = lake_for(ctx)
    names: list[str] = []
    for resource in ctx.session.scalars(
        select(Resource).where(Resource.status == "active", Resource.open_type.in_(OPENABLE)).order_by(Resource.key)
    ):
        if resource.id in taken or lake.current(resource.key) is None:
            continue
        ds = open_dataset_prepare(ctx, parse(DatasetPrepare, {"resource": resource.key}))
        names.append(ds.name)
    if names:
        batch = open_batch_submit(ctx, "演示城市开放目录（首批）", names)
        open_batch_approve(ctx, batch.id, note="演示数据")
    return names


def licence_info(licence: str) -> tuple[str, str]:
    return LICENCES.get(licence, (licence, ""))


def now_utc() -> datetime:
    return datetime.now(UTC)
