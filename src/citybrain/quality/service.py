"""Governance operations: rules per resource, runs on lake versions, scores, and the feedback loop.

A run (``quality_run``) evaluates the resource's rules (:mod:`citybrain.quality.binding`) on one lake
version with DuckDB, stores per-rule results, failing rows and GB/T 36344 scores, and then hands the
failures to :mod:`citybrain.quality.tickets`, which opens 整改工单 for the source department and closes
those whose records now pass. The load service calls :func:`after_load` after each new version.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import ibis
from sqlalchemy import delete, func, select

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.auth.actor import SYSTEM
from citybrain.auth.rules import Role
from citybrain.catalog.models import Resource
from citybrain.catalog.service import get_resource
from citybrain.errors import CityBrainError, Conflict, Invalid, NotFound
from citybrain.lake.store import Lake, VersionInfo
from citybrain.quality import metrics as _metrics  # noqa: F401  (the league and metrics actions register here)
from citybrain.quality import objections as _objections
from citybrain.quality import tickets
from citybrain.quality.binding import BoundRule, code_list_values, other_source, references, rules_for_resource
from citybrain.quality.engine import DuckDBBackend, RuleResult, RunResult, run_rules
from citybrain.quality.models import (
    ObjectionStatus,
    QualityFailure,
    QualityObjection,
    QualityRuleResult,
    QualityRuleSpec,
    QualityRun,
    QualityTicket,
    TicketStatus,
    department_names,
)
from citybrain.quality.rules import CodeListRule, CompareRule, RowRule, rule_from_dict
from citybrain.quality.schemas import (
    DIMENSION_LABELS,
    FailurePublic,
    QualityReport,
    RuleIn,
    RulePublic,
    RuleResultPublic,
    RunPublic,
    SourceRef,
    TrendPoint,
)
from citybrain.quality.scores import score

log = logging.getLogger("citybrain.quality")

#: failing rows kept per rule and run (counts are always exact); tickets track at most these records
FAILURE_CAP = 1000
#: failing rows per rule shown on a quality page
SAMPLES_SHOWN = 20
#: runs per resource whose failing rows are kept; older runs keep their counts and scores only
KEEP_FAILURE_RUNS = 10
#: key column made for a composite primary key
COMPOSITE_KEY = "__pk"


def lake_for(ctx: Context) -> Lake:
    return Lake(ctx.settings.lake_dir)


# -- rules ---------------------------------------------------------------------------------------


def _rule_public(b: BoundRule) -> RulePublic:
    r = b.rule
    dim = str(r.dimension)
    return RulePublic(
        id=r.id,
        kind=r.kind,
        dimension=dim,
        dimension_label=DIMENSION_LABELS.get(dim, dim),
        severity=str(r.severity),
        origin=b.origin,
        columns=list(r.columns),
        description=r.description,
        spec=r.to_dict(),
    )


@action("rule_list")
def rule_list(ctx: Context, ref: str) -> list[RulePublic]:
    """Every rule a run of the resource evaluates: derived from the catalog, then the stewards' own."""
    resource = get_resource(ctx.session, ref)
    ctx.authorize("rule_list", resource)
    return [_rule_public(b) for b in rules_for_resource(ctx.session, resource, lake_for(ctx))]


@action("rule_create")
def rule_create(ctx: Context, ref: str, data: RuleIn) -> RulePublic:
    resource = get_resource(ctx.session, ref)
    ctx.authorize("rule_create", resource)
    rule = rule_from_dict(data.spec)
    columns = {f.name for f in resource.fields}
    unknown = sorted(c for c in rule.columns if c not in columns)
    if unknown:
        raise Invalid(
            f"资源 {resource.key} 没有字段：{'、'.join(unknown)}", details={"field": "spec", "unknown": unknown}
        )
    if isinstance(rule, CodeListRule) and rule.code_list and code_list_values(ctx.session, rule.code_list) is None:
        raise Invalid(
            f"代码表 {rule.code_list} 不存在：可用 GB/T 2260 或带代码表的数据元标准名称", details={"field": "code_list"}
        )
    other = other_source(rule)
    if other:
        # a rule may read another resource only if its author may see that resource's catalog entry
        ctx.authorize("rule_list", get_resource(ctx.session, other))
    exists = ctx.session.scalar(
        select(QualityRuleSpec.id).where(QualityRuleSpec.resource_id == resource.id, QualityRuleSpec.rule_id == rule.id)
    )
    if exists:
        raise Conflict(f"资源 {resource.key} 已有规则 {rule.id}", details={"rule": rule.id})
    ctx.session.add(
        QualityRuleSpec(resource_id=resource.id, rule_id=rule.id, spec=rule.to_dict(), created_by=ctx.actor.label())
    )
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry("rule_create", resource_type="resource", resource_id=resource.key, details={"rule": rule.to_dict()}),
    )
    return _rule_public(BoundRule(rule, "steward"))


@action("rule_delete")
def rule_delete(ctx: Context, ref: str, rule_id: str) -> None:
    resource = get_resource(ctx.session, ref)
    ctx.authorize("rule_delete", resource)
    spec = ctx.session.scalar(
        select(QualityRuleSpec).where(QualityRuleSpec.resource_id == resource.id, QualityRuleSpec.rule_id == rule_id)
    )
    if spec is None:
        raise NotFound(
            f"资源 {resource.key} 没有自定义规则 {rule_id}（由目录派生的规则随目录修改）", details={"rule": rule_id}
        )
    ctx.session.delete(spec)
    ctx.session.flush()
    record_ctx(
        ctx, AuditEntry("rule_delete", resource_type="resource", resource_id=resource.key, details={"rule": rule_id})
    )


# -- runs ----------------------------------------------------------------------------------------


def _parse_ts(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _version_info(lake: Lake, resource: Resource, version: int | None) -> VersionInfo:
    if version is not None:
        return lake.version(resource.key, version)
    info = lake.current(resource.key)
    if info is None:
        raise NotFound(f"数据湖中没有资源 {resource.key} 的数据，无法评估质量", details={"resource": resource.key})
    return info


def _usable(
    ctx: Context, bound: list[BoundRule], columns: set[str], lake: Lake
) -> tuple[list[BoundRule], list[dict[str, Any]]]:
    """Rules this version can be checked against; the rest are reported, not failed."""
    usable, skipped = [], []
    for b in bound:
        r = b.rule
        missing = sorted(set(r.columns) - columns)
        if missing:
            skipped.append({"rule": r.id, "reason": f"本版本缺少字段：{'、'.join(missing)}"})
            continue
        if isinstance(r, CodeListRule) and r.code_list and code_list_values(ctx.session, r.code_list) is None:
            skipped.append({"rule": r.id, "reason": f"代码表 {r.code_list} 不存在"})
            continue
        other = other_source(r)
        if other:
            info = lake.current(other)
            names = {c["name"] for c in info.schema} if info else set()
            wanted = set(r.right_key + r.right_compare) if isinstance(r, CompareRule) else {r.ref_column}  # type: ignore[attr-defined]
            if info is None or not wanted <= names:
                skipped.append({"rule": r.id, "reason": f"关联数据源 {other} 不可用"})
                continue
        usable.append(b)
    return usable, skipped


class Evaluation:
    """One evaluated version: the engine's result and what the ticket loop needs to ask it again."""

    def __init__(self, ctx: Context, resource: Resource, info: VersionInfo, bound: list[BoundRule]) -> None:
        self.lake = lake_for(ctx)
        self.resource = resource
        self.info = info
        self.bound = bound
        self.backend = DuckDBBackend()
        table = self.backend.load([str(p) for p in self.lake.files(resource.key, info.version)])
        pk = [c for c in (resource.primary_key or [])]
        columns = set(table.columns)
        self.key: str | None = None
        if len(pk) == 1 and pk[0] in columns:
            self.key = pk[0]
        elif pk and set(pk) <= columns:
            expr = table[pk[0]].cast("string")
            for c in pk[1:]:
                expr = expr.concat("|", table[c].cast("string"))
            table = table.mutate(**{COMPOSITE_KEY: expr})
            self.key = COMPOSITE_KEY
        self.table = table
        self.refs = references(ctx.session, self.lake, bound)
        self.result: RunResult | None = None

    def run(self, now: datetime) -> RunResult:
        current = self.lake.current(self.resource.key)
        last_loaded = _parse_ts(current.created_at) if current else None
        self.result = run_rules(
            self.table,
            [b.rule for b in self.bound],
            backend=self.backend,
            key=self.key,
            refs=self.refs,
            sample_size=FAILURE_CAP,
            last_loaded_at=last_loaded,
            now=now,
        )
        return self.result

    def has_rows(self, rule_id: str) -> bool:
        """Whether a rule's failures are records (row rules, 比对), not a resource-level verdict."""
        rule = next(b.rule for b in self.bound if b.rule.id == rule_id)
        return isinstance(rule, RowRule | CompareRule)

    def failing_among(self, rule_result: RuleResult, pairs: set[tuple[str, str]]) -> set[tuple[str | None, str]]:
        """Which of the (key, field) ``pairs`` (a ticket's open records) fail one rule in this version.

        The run's samples are exact when the rule failed no more rows than were kept; past that cap
        the records the samples cannot vouch for are checked again on their own (a semi-join on their
        keys), so settling a ticket costs its own size, not the table's failures.
        """
        found = {(s.key, s.column) for s in rule_result.samples}
        if rule_result.failed <= len(rule_result.samples) or not pairs or self.key is None:
            return found
        # samples are the first failing records in key order: a key before the last sampled one that is not
        # among them passes; only keys from the last sampled one on are unknown
        last = max((s.key for s in rule_result.samples if s.key is not None), default="")
        keys = {k for k, f in pairs if k > last or (k == last and (k, f) not in found)}
        if not keys:
            return found
        rule = next(b.rule for b in self.bound if b.rule.id == rule_result.rule_id)
        subset = self._only(keys)
        width = max(len(rule.columns), 1)
        again = run_rules(
            subset, [rule], backend=self.backend, key=self.key, refs=self.refs, sample_size=len(keys) * width
        )
        return found | {(s.key, s.column) for s in again.results[0].samples}

    def present(self, keys: set[str]) -> set[str]:
        """Which of ``keys`` are records of this version (an absent one was removed, not fixed)."""
        if not keys or self.key is None:
            return set(keys)
        only = self._only(keys)
        expr = only.select(k=only[self.key].cast("string")).distinct()
        return {k for k in self.backend.to_arrow(expr)["k"].to_pylist() if k is not None}

    def _only(self, keys: set[str]) -> Any:
        """The records with these keys: a semi-join on a small table (an IN list of a thousand literals
        compiles to SQL DuckDB plans ten times slower)."""
        assert self.key is not None
        wanted = ibis.memtable({"__k": sorted(keys)}, schema={"__k": "string"})
        t = self.table
        return t.semi_join(wanted, t[self.key].cast("string") == wanted["__k"])


def _execute(ctx: Context, resource: Resource, version: int | None, *, created_by: str | None = None) -> QualityRun:
    started = time.perf_counter()
    lake = lake_for(ctx)
    info = _version_info(lake, resource, version)
    bound, skipped = _usable(
        ctx, rules_for_resource(ctx.session, resource, lake), {c["name"] for c in info.schema}, lake
    )
    now = datetime.now(UTC)
    ev = Evaluation(ctx, resource, info, bound)
    result = ev.run(now)
    quality = score(result)
    run = QualityRun(
        resource_id=resource.id,
        resource_key=resource.key,
        dept_id=resource.dept_id,
        version=info.version,
        rows=result.rows,
        overall=quality.overall,
        dimensions={str(d): s for d, s in quality.dimensions.items()},
        skipped=skipped,
        created_by=created_by or ctx.actor.label(),
        created_at=now,
    )
    ctx.session.add(run)
    ctx.session.flush()
    by_id = {b.rule.id: b for b in bound}
    for r in result.results:
        b = by_id[r.rule_id]
        ctx.session.add(
            QualityRuleResult(
                run_id=run.id,
                rule_id=r.rule_id,
                kind=r.kind,
                dimension=str(r.dimension),
                severity=str(r.severity),
                origin=b.origin,
                description=b.rule.description,
                columns=list(r.columns),
                checked=r.checked,
                failed=r.failed,
                note=r.note,
                info=dict(b.info),
            )
        )
        for s in r.samples:
            ctx.session.add(
                QualityFailure(
                    run_id=run.id,
                    resource_id=resource.id,
                    version=info.version,
                    rule_id=r.rule_id,
                    key=s.key,
                    field=s.column,
                    value=s.value,
                    related=[list(p) for p in s.related],
                )
            )
    ctx.session.flush()
    _prune_failures(ctx, resource)
    # two runs of one resource must not both open a ticket for the same rule: on PostgreSQL the second
    # waits here for the first to commit, then sees its tickets (SQLite already serialises writers).
    # NO KEY UPDATE, since both runs already hold KEY SHARE on the row through their foreign keys.
    ctx.session.execute(select(Resource.id).where(Resource.id == resource.id).with_for_update(key_share=True))
    opened, closed = tickets.sync_after_run(ctx, resource, run, ev)
    run.tickets_opened, run.tickets_closed = opened, closed
    run.elapsed_s = round(time.perf_counter() - started, 3)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "quality_run",
            resource_type="resource",
            resource_id=resource.key,
            row_count=result.rows,
            details={
                "version": info.version,
                "overall": quality.overall,
                "tickets_opened": opened,
                "tickets_closed": closed,
            },
        ),
    )
    return run


def _prune_failures(ctx: Context, resource: Resource) -> None:
    """Failing rows are the bulk of what runs store; tickets hold their own copy of the records."""
    old = select(QualityRun.id).where(QualityRun.resource_id == resource.id).order_by(QualityRun.created_at.desc())
    stale = list(ctx.session.scalars(old.offset(KEEP_FAILURE_RUNS)))
    if stale:
        ctx.session.execute(delete(QualityFailure).where(QualityFailure.run_id.in_(stale)))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def standing_run(ctx: Context, resource: Resource, version: int, *, now: datetime | None = None) -> QualityRun | None:
    """The stored run of ``resource`` v``version`` whose results a new run would repeat, else None.

    A lake version never changes, so a run's verdicts stand while nothing else they depend on has:

    - it is still the resource's latest run (a later run of another version moved the tickets on);
    - the rule set: the catalog entry and the data standards that derive rules, and the stewards' own
      rules, unchanged since (same usable and skipped rule ids, nothing edited after the run);
    - every other resource a referential or 比对 rule reads, and every code list, unchanged since;
    - the clock: a timeliness verdict must be the same now, and a ``not_future`` date range must have had
      no failures (a date after the run's day may be in the past by now; none failing stays none).

    Callers that would re-check a version already checked after its load use this to reuse the stored
    results and tickets instead of running the rules again.
    """
    from citybrain.catalog.models import DataStandard
    from citybrain.quality.rules import DateRangeRule, TimelinessRule

    last = ctx.session.scalar(
        select(QualityRun).where(QualityRun.resource_id == resource.id).order_by(QualityRun.created_at.desc()).limit(1)
    )
    if last is None or last.version != int(version):
        return None
    at = _aware(last.created_at)
    if resource.updated_at and _aware(resource.updated_at) > at:
        return None
    edited = ctx.session.scalar(
        select(func.max(QualityRuleSpec.created_at)).where(QualityRuleSpec.resource_id == resource.id)
    )
    standards = ctx.session.scalar(select(func.max(DataStandard.updated_at)))
    if (edited and _aware(edited) > at) or (standards and _aware(standards) > at):
        return None
    lake = lake_for(ctx)
    info = _version_info(lake, resource, int(version))
    bound, skipped = _usable(
        ctx, rules_for_resource(ctx.session, resource, lake), {c["name"] for c in info.schema}, lake
    )
    results = {r.rule_id: r for r in last.results}
    if {b.rule.id for b in bound} != set(results) or sorted(x["rule"] for x in skipped) != sorted(
        x["rule"] for x in last.skipped or []
    ):
        return None
    now = now or datetime.now(UTC)
    current = lake.current(resource.key)
    last_loaded = _parse_ts(current.created_at) if current else None
    for b in bound:
        rule = b.rule
        other = other_source(rule)
        if other:
            ref = lake.current(other)
            if ref is None or _parse_ts(ref.created_at) > at:
                return None
        if isinstance(rule, TimelinessRule) and bool(results[rule.id].failed) != rule.is_stale(last_loaded, now):
            return None
        if isinstance(rule, DateRangeRule) and rule.not_future and results[rule.id].failed:
            return None
    return last


@action("quality_run")
def quality_run(ctx: Context, ref: str, version: int | None = None) -> RunPublic:
    """Run the resource's rules on a lake version (default: the current one) and update its tickets."""
    resource = get_resource(ctx.session, ref)
    ctx.authorize("quality_run", resource)
    return run_public(ctx, _execute(ctx, resource, version), resource)


def after_load(ctx: Context, resource: Resource | str, version: int) -> RunPublic | None:
    """Hook for the load service, called after each new lake version of ``resource``.

    Runs the quality rules on ``version``, which opens and closes 整改工单, and marks upheld objections
    on the resource as fixed by this version. It runs as the platform, not as the loader: the loop is
    the platform's duty, and a loader's token scoped to loading alone must not switch it off; the run
    records who loaded. Governance must not undo a load either: any failure is logged, rolled back to
    a savepoint, and None is returned.
    """
    res = resource if isinstance(resource, Resource) else get_resource(ctx.session, resource)
    platform = Context(
        session=ctx.session, actor=SYSTEM, settings=ctx.settings, ip=ctx.ip, request_id=ctx.request_id, lang=ctx.lang
    )
    try:
        with ctx.session.begin_nested():
            platform.authorize("quality_run", res)
            _objections.mark_fixed(platform, res, version)
            run = _execute(platform, res, version, created_by=f"{ctx.actor.label()}（入湖后自动评估）")
            return run_public(platform, run, res)
    except Exception as exc:
        level = logging.WARNING if isinstance(exc, CityBrainError) else logging.ERROR
        log.log(
            level,
            "quality run after load failed",
            extra={"resource": res.key, "version": version, "error": str(exc)},
            exc_info=not isinstance(exc, CityBrainError),
        )
        return None


# -- reports -------------------------------------------------------------------------------------


#: who may read failing values unmasked besides the source department (security reviews them too)
_RAW_VIEWERS = {Role.ADMIN, Role.CDO, Role.SECURITY}


def _can_see_raw(ctx: Context, resource: Resource) -> bool:
    actor = ctx.actor
    return actor.kind == "system" or bool(actor.roles & _RAW_VIEWERS) or actor.dept_id == resource.dept_id


def mask(value: str | None) -> str | None:
    """Hide the middle of a sensitive value (身份证 → 320402********1234) for viewers outside its department."""
    if value is None or len(value) <= 1:
        return value
    if len(value) <= 3:
        return value[0] + "*" * (len(value) - 1)
    head, tail = (6, 4) if len(value) >= 15 else (1, 1)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def _masker(ctx: Context, resource: Resource) -> Any:
    if _can_see_raw(ctx, resource):
        return lambda _field, v: v
    sensitive = {f.name for f in resource.fields if f.sensitivity >= 3}
    return lambda field, v: mask(v) if field in sensitive else v


def _source(key: str | None, ctx: Context, names: dict[str, str]) -> SourceRef | None:
    if not key:
        return None
    res = ctx.session.scalar(select(Resource).where(Resource.key == key))
    if res is None:
        return SourceRef(key=key, name=key, dept_id="")
    return SourceRef(key=res.key, name=res.name, dept_id=res.dept_id, dept_name=names.get(res.dept_id))


def run_public(ctx: Context, run: QualityRun, resource: Resource, *, samples: int = SAMPLES_SHOWN) -> RunPublic:
    names = department_names(ctx.session)
    hide = _masker(ctx, resource)
    key_fields = list(resource.primary_key or [])
    key_field = key_fields[0] if len(key_fields) == 1 else None
    failures: dict[str, list[QualityFailure]] = {}
    for f in ctx.session.scalars(
        select(QualityFailure).where(QualityFailure.run_id == run.id).order_by(QualityFailure.key)
    ):
        bucket = failures.setdefault(f.rule_id, [])
        if len(bucket) < samples:
            bucket.append(f)
    this = SourceRef(
        key=resource.key, name=resource.name, dept_id=resource.dept_id, dept_name=names.get(resource.dept_id)
    )
    results = []
    for r in ctx.session.scalars(
        select(QualityRuleResult).where(QualityRuleResult.run_id == run.id).order_by(QualityRuleResult.rule_id)
    ):
        rows = [
            FailurePublic(
                key=hide(key_field, f.key) if key_field else f.key,
                field=f.field,
                value=hide(f.field, f.value),
                related=[[name, hide(name.split(".")[-1], v)] for name, v in f.related],
            )
            for f in failures.get(r.rule_id, [])
        ]
        is_compare = r.kind == "compare"
        results.append(
            RuleResultPublic(
                rule_id=r.rule_id,
                kind=r.kind,
                dimension=r.dimension,
                dimension_label=DIMENSION_LABELS.get(r.dimension, r.dimension),
                severity=r.severity,
                origin=r.origin,
                description=r.description,
                columns=list(r.columns),
                checked=r.checked,
                failed=r.failed,
                failed_rate=round(r.failed / r.checked, 4) if r.checked else 0.0,
                note=r.note,
                samples=rows,
                this_source=this if is_compare else None,
                other_source=_source(r.info.get("other"), ctx, names) if is_compare else None,
                authoritative=_source(r.info.get("authoritative"), ctx, names) if is_compare else None,
            )
        )
    return RunPublic(
        id=run.id,
        resource_key=run.resource_key,
        dept_id=run.dept_id,
        version=run.version,
        rows=run.rows,
        overall=run.overall,
        dimensions=dict(run.dimensions),
        skipped=list(run.skipped),
        tickets_opened=run.tickets_opened,
        tickets_closed=run.tickets_closed,
        created_at=run.created_at,
        created_by=run.created_by,
        results=results,
    )


@action("quality_show")
def quality_show(ctx: Context, ref: str, version: int | None = None) -> QualityReport:
    """Scores of the latest run (or of the latest run of ``version``), the trend over versions, and the
    failing samples per rule, with both sources named for 比对 conflicts."""
    resource = get_resource(ctx.session, ref)
    ctx.authorize("quality_show", resource)
    q = select(QualityRun).where(QualityRun.resource_id == resource.id)
    if version is not None:
        q = q.where(QualityRun.version == version)
    latest = ctx.session.scalar(q.order_by(QualityRun.created_at.desc(), QualityRun.version.desc()).limit(1))
    if version is not None and latest is None:
        raise NotFound(f"资源 {resource.key} 的版本 {version} 尚未评估", details={"version": version})
    # one point per version: its latest run
    trend: dict[int, QualityRun] = {}
    for run in ctx.session.scalars(
        select(QualityRun).where(QualityRun.resource_id == resource.id).order_by(QualityRun.created_at)
    ):
        trend[run.version] = run
    names = department_names(ctx.session)
    open_tickets = ctx.session.scalar(
        select(func.count())
        .select_from(QualityTicket)
        .where(QualityTicket.resource_id == resource.id, QualityTicket.status == TicketStatus.OPEN)
    )
    open_objections = ctx.session.scalar(
        select(func.count())
        .select_from(QualityObjection)
        .where(
            QualityObjection.target_resource_id == resource.id,
            QualityObjection.status.in_([ObjectionStatus.OPEN, ObjectionStatus.UPHELD]),
        )
    )
    return QualityReport(
        resource_key=resource.key,
        resource_name=resource.name,
        dept_id=resource.dept_id,
        dept_name=names.get(resource.dept_id),
        run=run_public(ctx, latest, resource) if latest else None,
        trend=[
            TrendPoint(
                run_id=r.id, version=v, overall=r.overall, dimensions=dict(r.dimensions), created_at=r.created_at
            )
            for v, r in sorted(trend.items())
        ],
        open_tickets=open_tickets or 0,
        open_objections=open_objections or 0,
    )
