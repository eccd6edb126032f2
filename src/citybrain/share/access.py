"""Data access through a grant: lookup, paged query, verification (数据核验) and bulk export.

Every call goes through :class:`_Guard`, which

* resolves the grant (for a grant token: the token's own grant, and only that one),
* asks the policy (the actor's department must be the grant's consumer),
* refuses a suspended, revoked or expired grant, a mode the grant lacks, and calls over its rate
  limit — all checked against the database on each call, so a change takes effect on the next one,
* audits the call — who, department, token id (never its secret), resource, fields, row count,
  purpose, result — refused calls included: the refusal is written in a transaction of its own
  after the call's one is rolled back, so it survives the error.

Only granted fields are selected and the grant's row scope is always ANDed into the SQL; values are
bound as parameters, never spliced in. Masking is applied to the Arrow result with the vectorised
methods of :mod:`citybrain.masking`.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import pyarrow as pa
from sqlalchemy import bindparam, insert, select

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, append, record, record_ctx
from citybrain.auth.actor import Actor
from citybrain.auth.models import ApiToken
from citybrain.catalog.models import Resource
from citybrain.db import Database, Direct, new_id, utcnow
from citybrain.errors import CityBrainError, Invalid, NotAuthorized, NotFound, RateLimited
from citybrain.lake.store import Lake
from citybrain.masking import METHODS, MaskSpec, apply_mask, mask_batches, mask_record
from citybrain.settings import Settings
from citybrain.share import anomalies, lookup, usage
from citybrain.share.models import AccessMode, AnyGrant, ExportStatus, GrantRow, ShareCall, ShareExport, ShareGrant
from citybrain.share.schemas import ExportIn, ExportPublic, QueryIn, RowCondition, VerifyIn
from citybrain.share.service import grant_usable_reason
from citybrain.waiting import may_wait

log = logging.getLogger("citybrain.share")

#: rows per batch when an export streams from DuckDB through masking to the file
EXPORT_BATCH_ROWS = 50_000
#: an export whose heartbeat is older than this is reported failed (its worker died)
EXPORT_STALE = timedelta(minutes=5)
#: the master key for 假名化 lives under home/keys like every platform secret
MASKING_KEY = "masking"


# built once: these run on every call
_G = ShareGrant.__table__
_GRANT_AND_RESOURCE = Direct(
    select(*[_G.c[name] for name in GrantRow.grant_columns()], Resource.__table__.c.status)
    .outerjoin_from(_G, Resource.__table__, Resource.__table__.c.id == _G.c.resource_id)
    .where(_G.c.id == bindparam("grant"))
)
_INSERT_CALL = Direct(insert(ShareCall.__table__))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Guard:
    """One access call: its checks, its audit entry and its usage row."""

    def __init__(self, ctx: Context, name: str, mode: AccessMode) -> None:
        self.ctx = ctx
        self.name = name
        self.mode = mode
        self.grant: AnyGrant | None = None
        self.fields: list[str] | None = None
        self.version: int | None = None

    # -- before --------------------------------------------------------------------------------
    def find(self, grant_id: str | None) -> GrantRow | None:
        """The grant named, or the token's own grant for ``None``/``-``; None when there is none."""
        ctx = self.ctx
        bound = self._token_grant_id()
        if grant_id in (None, "", "-", "current"):
            grant_id = bound
        if not grant_id:
            return None
        # no FOR UPDATE: it would order the grant's row lock before the audit chain's lock while a
        # revocation takes them the other way round; concurrent calls may overshoot the limit by a few.
        # The grant with its resource's status in one statement, on the driver: the call only reads it
        found = _GRANT_AND_RESOURCE.rows(ctx.session, {"grant": grant_id})
        grant = self.grant = GrantRow(*found[0]) if found else None
        return grant

    def _token_grant_id(self) -> str | None:
        if not self.ctx.actor.token_id:
            return None
        # the token that authenticated this call, as actor_from_token left it: no second query
        used = self.ctx.session.info.get("auth_token")
        if used is not None and used.id == self.ctx.actor.token_id:
            return used.grant_id
        token = self.ctx.session.get(ApiToken, self.ctx.actor.token_id)
        return token.grant_id if token else None

    def check(self, grant: AnyGrant | None) -> AnyGrant:
        """Everything but the policy (the action asks it itself, before calling this)."""
        ctx = self.ctx
        if grant is None:
            raise NotFound("共享授权不存在（或未指明授权）", details={"mode": self.mode.value})
        if ctx.actor.token_id:
            bound = self._token_grant_id()
            if bound is None:
                raise NotAuthorized("访问共享数据须使用授权绑定的令牌（在授权页面签发）", details={"grant": grant.id})
            if bound != grant.id:
                raise NotAuthorized("该令牌只能访问其绑定的授权", details={"grant": grant.id})
        reason = grant_usable_reason(grant)
        if reason:
            code = "grant_" + ("expired" if grant.status == "active" else grant.status)
            raise NotAuthorized(reason, details={"grant": grant.id, "status": grant.status}, code=code)
        if self.mode.value not in grant.modes:
            names = {"lookup": "按主键查询", "query": "条件查询", "export": "批量导出", "verify": "数据核验"}
            raise NotAuthorized(
                f"该授权不允许{names[self.mode.value]}", details={"grant": grant.id, "modes": grant.modes}
            )
        if isinstance(grant, GrantRow):
            resource_status = grant.resource_status
        else:
            resource = ctx.session.get(Resource, grant.resource_id)
            resource_status = resource.status if resource else None
        if resource_status != "active":
            raise NotAuthorized("数据资源已停用，授权不可用", details={"grant": grant.id})
        used = usage.recent_calls(ctx.session, grant.id, utcnow())
        if used >= grant.rate_limit:
            raise RateLimited(
                f"调用过于频繁：该授权每分钟最多 {grant.rate_limit} 次，请稍后再试",
                details={"grant": grant.id, "limit_per_minute": grant.rate_limit, "retry_after": 60},
            )
        return grant

    def granted_fields(self, wanted: list[str] | None) -> list[str]:
        grant = self.grant
        assert grant is not None
        if wanted is None:
            self.fields = list(grant.fields)
            return self.fields
        outside = [f for f in wanted if f not in grant.fields]
        if outside:
            raise NotAuthorized(
                f"字段不在授权范围内：{'、'.join(outside)}", details={"fields": outside, "granted": grant.fields}
            )
        self.fields = list(dict.fromkeys(wanted))
        return self.fields

    def release(self) -> None:
        """End the checks' transaction before the data is read.

        On SQLite every transaction takes the write lock when it begins (``BEGIN IMMEDIATE``): held
        over the DuckDB read and the masking, it would make every call wait for every other. The
        checks are done; the usage row and the audit entry go in the next transaction, which commits
        before the answer leaves."""
        self.ctx.session.commit()

    # -- after ---------------------------------------------------------------------------------
    def _entry(self, result: str, rows: int | None, details: dict[str, Any]) -> AuditEntry:
        grant = self.grant
        return AuditEntry(
            self.name,
            result=result,
            resource_type="resource",
            resource_id=grant.resource_key if grant else None,
            fields=self.fields,
            row_count=rows,
            purpose=grant.purpose[:500] if grant else None,
            details={
                "grant": grant.id if grant else None,
                "mode": self.mode.value,
                "consumer_dept": self.ctx.actor.dept_id,
                "version": self.version,
                **details,
            },
        )

    def finish(self, rows: int, hit: bool | None = None, **details: Any) -> str:
        """Count the call, audit it, and look for anomalies; returns the usage row's id."""
        ctx, grant = self.ctx, self.grant
        assert grant is not None
        now = utcnow()
        call = {
            "id": new_id(),
            "grant_id": grant.id,
            "resource_key": grant.resource_key,
            "dept_id": grant.dept_id,
            "consumer_dept_id": grant.consumer_dept_id,
            "mode": self.mode.value,
            "rows": rows,
            "hit": hit,
            "at": now,
        }
        entry, mode = self._entry("ok", rows, details), self.mode

        def write(ctx: Context) -> None:
            # a plain INSERT on the driver: nothing reads the row back in this call, and a unit-of-work
            # flush costs several times the statement
            _INSERT_CALL.execute(ctx.session, call)
            # the baseline's days and the day before them: what the volume check reads
            usage.count_call(ctx.session, grant.id, now, rows, ctx.settings.share_volume_baseline_days + 1)
            append(ctx.session, ctx.actor, entry, ip=ctx.ip, request_id=ctx.request_id)
            anomalies.after_call(ctx, grant, mode, hit=hit, rows=rows)

        # nothing in this call reads these back: the web layer may commit them with other calls' writes
        ctx.write_last(write)
        return str(call["id"])

    def deny(self, exc: CityBrainError) -> NoReturn:
        grant = self.grant
        snapshot = {
            "grant_id": grant.id if grant else None,
            "resource_key": grant.resource_key if grant else None,
            "purpose": grant.purpose if grant else None,
        }
        self.ctx.session.rollback()
        entry = AuditEntry(
            self.name,
            result="denied",
            resource_type="resource",
            resource_id=snapshot["resource_key"],
            fields=self.fields,
            row_count=0,
            purpose=(snapshot["purpose"] or "")[:500] or None,
            details={
                "grant": snapshot["grant_id"],
                "mode": self.mode.value,
                "consumer_dept": self.ctx.actor.dept_id,
                "code": exc.code,
                "reason": exc.message,
            },
        )
        try:
            record_ctx(self.ctx, entry)
            self.ctx.session.commit()
        except Exception:  # auditing a refusal must not hide the refusal itself
            log.exception("could not audit a refused share call")
            self.ctx.session.rollback()
        raise exc


# -- reading the lake ------------------------------------------------------------------------------


def _lake(ctx: Context) -> Lake:
    return lookup.lake(ctx.settings)


def _where(grant: AnyGrant, filters: dict[str, Any], columns: set[str]) -> tuple[str, list[Any]]:
    """The grant's row scope AND the caller's equality filters, as SQL with ``?`` parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for raw in grant.row_filter:
        cond = RowCondition.model_validate(raw)
        if cond.field not in columns:
            # the scope cannot be applied, so no row may leave
            raise NotAuthorized(
                f"数据中缺少行范围字段 {cond.field}，无法按授权范围提供数据", details={"field": cond.field}
            )
        col = f"CAST({_ident(cond.field)} AS VARCHAR)"
        if cond.op == "in":
            clauses.append(f"{col} IN ({', '.join('?' for _ in cond.values)})")
        else:
            clauses.append("(" + " OR ".join(f"starts_with({col}, ?)" for _ in cond.values) + ")")
        params.extend(cond.values)
    for name, value in filters.items():
        if name not in grant.fields:
            raise NotAuthorized(f"字段 {name} 不在授权范围内，不能作为查询条件", details={"field": name})
        if name not in columns:
            raise Invalid(f"数据中没有字段 {name}", details={"field": name})
        values = value if isinstance(value, list) else [value]
        if not values:
            raise Invalid(f"字段 {name} 的查询条件为空", details={"field": name})
        clauses.append(f"CAST({_ident(name)} AS VARCHAR) IN ({', '.join('?' for _ in values)})")
        params.extend(str(v) for v in values)
    return (" AND ".join(clauses) or "TRUE"), params


class _Source:
    """One lake version of the grant's resource, opened in DuckDB."""

    def __init__(self, ctx: Context, grant: AnyGrant, version: int | None) -> None:
        lake = _lake(ctx)
        self.info = lake.current(grant.resource_key) if version is None else lake.version(grant.resource_key, version)
        if self.info is None:
            raise NotFound(f"资源 {grant.resource_key} 尚无数据", details={"resource": grant.resource_key})
        self.files = [str(p) for p in lake.parts(self.info)]
        self.columns = {c["name"] for c in self.info.schema}
        pk = self.info.primary_key
        if not pk:
            resource = ctx.session.get(Resource, grant.resource_id)
            pk = list(resource.primary_key or []) if resource else []
        self.pk = [c for c in pk if c in self.columns]
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        # opened on first use: a lookup through the key index never needs DuckDB
        if self._con is None:
            self._con = lookup.cursor()
        return self._con

    def select(self, fields: list[str]) -> list[str]:
        return [f for f in fields if f in self.columns]

    def sql(self, query: str, params: list[Any]) -> Any:
        try:
            return self.con.sql(query, params=[self.files, *params])
        except duckdb.Error as exc:
            raise Invalid(f"查询条件无效：{exc}", details={}) from exc

    def close(self) -> None:
        if self._con is not None:
            self._con.close()


@functools.lru_cache(maxsize=1024)
def _specs(masking: str) -> tuple[tuple[str, MaskSpec], ...]:
    # a grant's masking, checked once per distinct rule set rather than on every call
    return tuple((name, MaskSpec.from_dict(spec)) for name, spec in json.loads(masking).items())


def _plan(ctx: Context, grant: AnyGrant, columns: list[str]) -> tuple[dict[str, MaskSpec], bytes | None]:
    specs = _specs(json.dumps(grant.masking, sort_keys=True, ensure_ascii=False))
    plan = {name: spec for name, spec in specs if name in columns}
    keyed = any(METHODS[s.method].needs_key for s in plan.values())
    return plan, (ctx.settings.secret(MASKING_KEY) if keyed else None)


def _masked(ctx: Context, grant: AnyGrant, table: pa.Table) -> pa.Table:
    plan, key = _plan(ctx, grant, table.column_names)
    return apply_mask(table, plan, consumer_id=grant.consumer_dept_id, key=key)


def _masked_record(ctx: Context, grant: AnyGrant, schema: pa.Schema, record: dict[str, Any]) -> dict[str, Any]:
    plan, key = _plan(ctx, grant, list(record))
    types = {f.name: f.type for f in schema}
    return mask_record(record, plan, types, consumer_id=grant.consumer_dept_id, key=key)


def _select_list(columns: list[str]) -> str:
    return ", ".join(_ident(c) for c in columns)


# -- actions ---------------------------------------------------------------------------------------


def _by_key(
    ctx: Context, grant: AnyGrant, src: _Source, cols: list[str], key: dict[str, str]
) -> tuple[list[dict[str, Any]], pa.Schema]:
    """The row with this key within the grant's rows (zero or one), and the columns' Arrow types,
    through the version's key index when it has one, else by scanning its Parquet files."""
    index = lookup.key_index(ctx.settings, src.info, src.pk)
    if index is not None:
        # the same scope SQL as the scan's, on the same text forms of the values: the same rows pass
        scope, params = _where(grant, {}, src.columns)
        try:
            return index.rows(cols, scope, params, lookup.key_value([key[c] for c in src.pk])), index.schema
        except lookup.IndexClosed:
            pass  # this version's files are still there: scan them
        except sqlite3.Error as exc:
            raise Invalid(f"查询条件无效：{exc}", details={}) from exc
    may_wait("a scan of the version's Parquet files")  # milliseconds to seconds: not on the event loop
    where, params = _where(grant, key, src.columns)
    scan = src.sql(f"SELECT {_select_list(cols)} FROM read_parquet(?) WHERE {where} LIMIT 2", params)
    table = scan.to_arrow_table()
    return table.to_pylist(), table.schema


@action("share_index_build")
def share_index_build(ctx: Context, resource_key: str) -> dict[str, Any]:
    """Build the key index of the resource's current version now (after a large load, before the
    first lookup would start it in the background); waits for a build already running."""
    resource = ctx.session.scalar(select(Resource).where(Resource.key == resource_key))
    ctx.authorize("share_index_build", resource)
    if resource is None:
        raise NotFound(f"数据资源 {resource_key} 不存在", details={"resource": resource_key})
    info = lookup.prepare_lookup(ctx.settings, resource_key)
    record_ctx(
        ctx,
        AuditEntry(
            "share_index_build",
            resource_type="resource",
            resource_id=resource_key,
            row_count=info.get("rows"),
            details={"version": info.get("version"), "built": bool(info.get("index"))},
        ),
    )
    out = {"resource": resource_key, **info, "index": bool(info.get("index"))}
    if not out["index"]:
        out["reason"] = _no_index_reason(info)
    return out


def _no_index_reason(info: dict[str, Any]) -> str:
    rows = info.get("rows")
    if rows is None:
        return "资源尚无数据或没有主键，不建键索引"
    if rows < lookup.INDEX_MIN_ROWS:
        return f"共 {rows} 行，少于 {lookup.INDEX_MIN_ROWS} 行：按键查询直接读 Parquet 只需两三毫秒，不建键索引"
    return "含无法由文本精确还原的字段类型（如时间、列表），不建键索引，按键查询扫描 Parquet"


@action("share_lookup")
def share_lookup(
    ctx: Context, grant_id: str | None, key: str | dict[str, Any], *, version: int | None = None
) -> dict[str, Any]:
    """One record by primary key, within the grant's fields and rows. A key outside the grant's rows
    reads as not found, exactly like a missing one."""
    guard = _Guard(ctx, "share_lookup", AccessMode.LOOKUP)
    try:
        grant = guard.find(grant_id)
        ctx.authorize("share_lookup", grant)
        grant = guard.check(grant)
        fields = guard.granted_fields(None)
        src = _Source(ctx, grant, version)
        guard.version = src.info.version
        try:
            if not src.pk:
                raise Invalid(f"资源 {grant.resource_key} 没有主键，不能按主键查询", details={})
            values = key if isinstance(key, dict) else {src.pk[0]: key} if len(src.pk) == 1 else None
            if values is None or set(values) != set(src.pk):
                raise Invalid(f"请按主键 {'、'.join(src.pk)} 查询", details={"primary_key": src.pk})
            not_granted = [k for k in src.pk if k not in grant.fields]
            if not_granted:
                raise NotAuthorized(
                    f"主键字段 {'、'.join(not_granted)} 不在授权范围内，不能按主键查询", details={"fields": not_granted}
                )
            cols = src.select(fields)
            guard.release()
            found, schema = _by_key(ctx, grant, src, cols, {k: str(v) for k, v in values.items()})
        finally:
            src.close()
        row = _masked_record(ctx, grant, schema, found[0]) if found else None
    except CityBrainError as exc:
        guard.deny(exc)
    if row is None:
        # a miss is a call like any other (key enumeration shows as many of them): count it, keep it
        guard.finish(0, hit=False)
        ctx.session.commit()
        raise NotFound("未找到该记录（或不在授权范围内）", details={"grant": grant.id})
    guard.finish(1, hit=True)
    return {"grant": grant.id, "resource": grant.resource_key, "version": guard.version, "record": row}


@action("share_query")
def share_query(ctx: Context, grant_id: str | None, data: QueryIn | None = None) -> dict[str, Any]:
    """Filtered, paged rows (ordered by primary key, so pages are stable on one version)."""
    data = data or QueryIn()
    guard = _Guard(ctx, "share_query", AccessMode.QUERY)
    try:
        grant = guard.find(grant_id)
        ctx.authorize("share_query", grant)
        grant = guard.check(grant)
        fields = guard.granted_fields(data.fields)
        src = _Source(ctx, grant, data.version)
        guard.version = src.info.version
        try:
            where, params = _where(grant, data.filters, src.columns)
            cols = src.select(fields)
            order = f" ORDER BY {_select_list(src.pk)}" if src.pk else ""
            total = src.sql(f"SELECT count(*) FROM read_parquet(?) WHERE {where}", params).fetchall()[0][0]
            table = src.sql(
                f"SELECT {_select_list(cols)} FROM read_parquet(?) WHERE {where}{order} LIMIT ? OFFSET ?",
                [*params, data.limit, data.offset],
            ).to_arrow_table()
        finally:
            src.close()
        rows = _masked(ctx, grant, table).to_pylist()
    except CityBrainError as exc:
        guard.deny(exc)
    guard.finish(len(rows), filters=sorted(data.filters), offset=data.offset)
    return {
        "grant": grant.id,
        "resource": grant.resource_key,
        "version": guard.version,
        "total": int(total),
        "limit": data.limit,
        "offset": data.offset,
        "fields": cols,
        "masked": sorted(set(grant.masking) & set(cols)),
        "rows": rows,
    }


@action("share_verify")
def share_verify(ctx: Context, grant_id: str | None, data: VerifyIn) -> dict[str, Any]:
    """数据核验: does a record with exactly these values exist within the grant? Yes or no, no data.

    Values are compared before masking (masking is for what leaves; nothing leaves here)."""
    guard = _Guard(ctx, "share_verify", AccessMode.VERIFY)
    try:
        grant = guard.find(grant_id)
        ctx.authorize("share_verify", grant)
        grant = guard.check(grant)
        guard.granted_fields(sorted(data.record))
        src = _Source(ctx, grant, data.version)
        guard.version = src.info.version
        try:
            where, params = _where(grant, {k: str(v) for k, v in data.record.items()}, src.columns)
            guard.release()
            n = src.sql(f"SELECT count(*) FROM (SELECT 1 FROM read_parquet(?) WHERE {where} LIMIT 1)", params)
            match = bool(n.fetchall()[0][0])
        finally:
            src.close()
    except CityBrainError as exc:
        guard.deny(exc)
    guard.finish(0, hit=match, match=match)
    return {"grant": grant.id, "resource": grant.resource_key, "version": guard.version, "match": match}


# -- exports ---------------------------------------------------------------------------------------


def export_public(export: ShareExport) -> ExportPublic:
    out = ExportPublic.model_validate(export)
    status, error = export.status, export.error
    now = utcnow()
    if status == ExportStatus.RUNNING and export.heartbeat_at and now - export.heartbeat_at > EXPORT_STALE:
        # the worker died: say so instead of showing "running" for ever
        status, error = ExportStatus.FAILED.value, "导出任务中断（超过 5 分钟无进展），请重新发起"
    elif status == ExportStatus.QUEUED and now - export.created_at > EXPORT_STALE:
        status, error = ExportStatus.FAILED.value, "导出任务未能启动，请重新发起"
    progress = 1.0 if status == ExportStatus.SUCCEEDED else 0.0
    if export.rows_total and status != ExportStatus.SUCCEEDED:
        progress = min(export.rows_done / export.rows_total, 1.0)
    return out.model_copy(update={"status": status, "error": error, "progress": round(progress, 4)})


def exports_dir(settings: Settings) -> Path:
    path = settings.home / "share" / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@action("share_export_start")
def share_export_start(ctx: Context, grant_id: str | None, data: ExportIn | None = None) -> ExportPublic:
    """Queue a bulk export; :func:`run_export` does the work (a background task of the web app)."""
    data = data or ExportIn()
    guard = _Guard(ctx, "share_export_start", AccessMode.EXPORT)
    try:
        grant = guard.find(grant_id)
        ctx.authorize("share_export_start", grant)
        grant = guard.check(grant)
        fields = guard.granted_fields(None)
        src = _Source(ctx, grant, data.version)
        guard.version = src.info.version
        try:
            _where(grant, data.filters, src.columns)  # refuse bad filters now, not in the background
        finally:
            src.close()
    except CityBrainError as exc:
        guard.deny(exc)
    call_id = guard.finish(0, format=data.format, filters=sorted(data.filters))
    export = ShareExport(
        grant_id=grant.id,
        resource_key=grant.resource_key,
        consumer_dept_id=grant.consumer_dept_id,
        requested_by=ctx.actor.user_id or "system",
        requested_by_name=ctx.actor.label(),
        token_id=ctx.actor.token_id,
        call_id=call_id,
        format=data.format,
        filters={"filters": data.filters, "fields": fields},
        version=guard.version,
        status=ExportStatus.QUEUED.value,
    )
    ctx.session.add(export)
    ctx.session.flush()
    anomalies.after_export_start(ctx, grant, export)
    return export_public(export)


def _get_export(ctx: Context, export_id: str) -> tuple[ShareExport | None, ShareGrant | None]:
    export = ctx.session.get(ShareExport, export_id)
    grant = ctx.session.get(ShareGrant, export.grant_id) if export else None
    return export, grant


@action("share_export_show")
def share_export_show(ctx: Context, export_id: str) -> ExportPublic:
    export, grant = _get_export(ctx, export_id)
    ctx.authorize("share_export_show", grant)
    if export is None:
        raise NotFound(f"导出任务 {export_id} 不存在")
    return export_public(export)


@action("share_export_download")
def share_export_download(ctx: Context, export_id: str) -> tuple[Path, str, str]:
    """The finished file: (path, media type, file name). The grant must still be usable: a revoked
    grant's export cannot be fetched afterwards."""
    guard = _Guard(ctx, "share_export_download", AccessMode.EXPORT)
    try:
        export, grant = _get_export(ctx, export_id)
        guard.grant = grant
        ctx.authorize("share_export_download", grant)
        if export is None:
            raise NotFound(f"导出任务 {export_id} 不存在")
        grant = guard.check(grant)
        guard.fields = list(export.filters.get("fields") or [])
        guard.version = export.version
        if export.status != ExportStatus.SUCCEEDED or not export.path or not Path(export.path).is_file():
            raise Invalid(f"导出任务尚未完成（{export_public(export).status}）", details={"export": export.id})
    except CityBrainError as exc:
        guard.deny(exc)
    guard.finish(0, export=export.id, exported_rows=export.rows_done)
    media = "text/csv; charset=utf-8" if export.format == "csv" else "application/vnd.apache.parquet"
    return Path(export.path), media, f"{export.resource_key}-{export.id[-8:]}.{export.format}"


def _actor_of(export: ShareExport, grant: ShareGrant) -> Actor:
    return Actor(
        kind="token" if export.token_id else "user",
        user_id=export.requested_by,
        username=export.requested_by_name,
        dept_id=grant.consumer_dept_id,
        token_id=export.token_id,
    )


def _write_csv(path: Path, batches: Iterator[pa.RecordBatch], columns: list[str], progress: Any) -> int:
    """Arrow's vectorised CSV writer; a UTF-8 BOM first so spreadsheet software shows Chinese."""
    import pyarrow.csv as pacsv

    done = 0
    with open(path, "wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        writer = None
        try:
            for batch in batches:
                if writer is None:
                    writer = pacsv.CSVWriter(fh, batch.schema)
                writer.write_batch(batch)
                done += batch.num_rows
                progress(done)
            if writer is None:
                fh.write((",".join(f'"{c}"' for c in columns) + "\n").encode())
        finally:
            if writer is not None:
                writer.close()
    return done


def _write_parquet(path: Path, batches: Iterator[pa.RecordBatch], schema: pa.Schema | None, progress: Any) -> int:
    import pyarrow.parquet as pq

    done = 0
    writer = None
    try:
        for batch in batches:
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            writer.write_batch(batch)
            done += batch.num_rows
            progress(done)
        if writer is None and schema is not None:
            writer = pq.ParquetWriter(path, schema, compression="zstd")
    finally:
        if writer is not None:
            writer.close()
    return done


def run_export(db: Database, settings: Settings, export_id: str) -> ExportPublic:
    """Do one export: stream the granted rows through masking into a file, with progress.

    Runs outside any request (a background task, the CLI). The grant is checked again when the
    work starts, so an export queued before a revocation produces nothing."""
    with db.session() as session:
        export = session.get(ShareExport, export_id)
        if export is None:
            raise NotFound(f"导出任务 {export_id} 不存在")
        grant = session.get(ShareGrant, export.grant_id)
        if export.status != ExportStatus.QUEUED or grant is None:
            return export_public(export)
        export.status = ExportStatus.RUNNING.value
        export.heartbeat_at = utcnow()
    path = exports_dir(settings) / f"{export.id}.{export.format}"
    actor = _actor_of(export, grant)
    try:
        with db.session() as session:
            ctx = Context(session=session, actor=actor, settings=settings)
            grant = session.get(ShareGrant, export.grant_id)
            assert grant is not None
            reason = grant_usable_reason(grant)
            if reason:
                raise NotAuthorized(reason)
            src = _Source(ctx, grant, export.version)
            fields = src.select(list(export.filters.get("fields") or grant.fields))
            fields = [f for f in fields if f in grant.fields]
            where, params = _where(grant, export.filters.get("filters") or {}, src.columns)
            total = src.sql(f"SELECT count(*) FROM read_parquet(?) WHERE {where}", params).fetchall()[0][0]
            order = f" ORDER BY {_select_list(src.pk)}" if src.pk else ""
            rel = src.sql(f"SELECT {_select_list(fields)} FROM read_parquet(?) WHERE {where}{order}", params)
            reader = rel.to_arrow_reader(EXPORT_BATCH_ROWS)
            plan, key = _plan(ctx, grant, fields)
            batches = mask_batches(reader, plan, consumer_id=grant.consumer_dept_id, key=key)
            consumer = grant.consumer_dept_id
        _progress(db, export.id, rows_total=int(total))

        def progress(done: int) -> None:
            _progress(db, export.id, rows_done=done)

        tmp = path.with_suffix(".part")
        try:
            if export.format == "csv":
                rows = _write_csv(tmp, batches, fields, progress)
            else:
                rows = _write_parquet(tmp, batches, reader.schema, progress)
            tmp.replace(path)
        finally:
            src.close()
            tmp.unlink(missing_ok=True)
    except Exception as exc:
        message = exc.message if isinstance(exc, CityBrainError) else f"导出失败：{type(exc).__name__}"
        if not isinstance(exc, CityBrainError):
            log.exception("share export failed", extra={"export": export_id})
        with db.session() as session:
            export = session.get(ShareExport, export_id)
            assert export is not None
            export.status = ExportStatus.FAILED.value
            export.error = message
            export.finished_at = utcnow()
            record(
                session,
                actor,
                AuditEntry(
                    "share_export_run",
                    result="error",
                    resource_type="resource",
                    resource_id=export.resource_key,
                    details={"export": export.id, "grant": export.grant_id, "reason": message},
                ),
            )
            return export_public(export)
    with db.session() as session:
        export = session.get(ShareExport, export_id)
        grant = session.get(ShareGrant, export.grant_id) if export else None
        assert export is not None and grant is not None
        export.status = ExportStatus.SUCCEEDED.value
        export.rows_done = rows
        export.path = str(path)
        export.finished_at = utcnow()
        if export.call_id:
            call = session.get(ShareCall, export.call_id)
            if call is not None:
                call.rows = rows
        usage.add_rows(session, grant.id, utcnow(), rows)
        record(
            session,
            actor,
            AuditEntry(
                "share_export_run",
                resource_type="resource",
                resource_id=export.resource_key,
                fields=fields,
                row_count=rows,
                purpose=grant.purpose[:500],
                details={"export": export.id, "grant": grant.id, "consumer_dept": consumer, "format": export.format},
            ),
        )
        ctx = Context(session=session, actor=actor, settings=settings)
        anomalies.after_call(ctx, grant, AccessMode.EXPORT)
        return export_public(export)


def _progress(db: Database, export_id: str, *, rows_total: int | None = None, rows_done: int | None = None) -> None:
    with db.session() as session:
        export = session.get(ShareExport, export_id)
        if export is None:
            return
        if rows_total is not None:
            export.rows_total = rows_total
        if rows_done is not None:
            export.rows_done = rows_done
        export.heartbeat_at = utcnow()
