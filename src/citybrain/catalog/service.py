"""Catalog operations: data element standards and data resources (一数一源一标准)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session, selectinload

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.catalog import search
from citybrain.catalog.builtin_standards import BUILTIN_STANDARDS
from citybrain.catalog.models import (
    AuthoritativeSource,
    CatalogChange,
    DataStandard,
    FieldRole,
    OidAllocation,
    Resource,
    ResourceField,
)
from citybrain.catalog.oid import resource_oid
from citybrain.catalog.permissions import visible_filter
from citybrain.catalog.schemas import (
    ChangePublic,
    FieldIn,
    FieldPublic,
    ResourceBase,
    ResourceCreate,
    ResourcePublic,
    ResourceUpdate,
    SearchQuery,
    SearchResult,
    StandardCreate,
    StandardUpdate,
)
from citybrain.errors import Conflict, Invalid, NotFound, parse
from citybrain.org.models import Department
from citybrain.org.service import get_department
from citybrain.standards.checks import CHECKS

# -- standards -----------------------------------------------------------------------------------


def install_builtin_standards(session: Session) -> int:
    """Create the shipped standards that are missing; returns how many were added."""
    existing = set(session.scalars(select(DataStandard.name)))
    added = 0
    for spec in BUILTIN_STANDARDS:
        if spec["name"] not in existing:
            session.add(DataStandard(builtin=True, **StandardCreate(**spec).model_dump(mode="json")))
            added += 1
    session.flush()
    return added


def get_standard(session: Session, name_or_id: str) -> DataStandard:
    std = session.scalar(
        select(DataStandard).where((DataStandard.name == name_or_id) | (DataStandard.id == name_or_id))
    )
    if std is None:
        raise NotFound(f"数据元标准 {name_or_id} 不存在", details={"standard": name_or_id})
    return std


@action("standard_list")
def standard_list(ctx: Context) -> list[DataStandard]:
    ctx.authorize("standard_list")
    return list(ctx.session.scalars(select(DataStandard).order_by(DataStandard.builtin.desc(), DataStandard.name)))


@action("standard_show")
def standard_show(ctx: Context, name: str) -> DataStandard:
    ctx.authorize("standard_show")
    return get_standard(ctx.session, name)


@action("standard_create")
def standard_create(ctx: Context, data: StandardCreate) -> DataStandard:
    ctx.authorize("standard_create")
    if ctx.session.scalar(select(DataStandard.id).where(DataStandard.name == data.name)):
        raise Conflict(f"数据元标准 {data.name} 已存在", details={"field": "name"})
    if data.check and data.check not in CHECKS:
        raise Invalid(f"未知的校验规则 {data.check}", details={"field": "check", "known": sorted(CHECKS)})
    std = DataStandard(**data.model_dump(mode="json"))
    ctx.session.add(std)
    ctx.session.flush()
    record_ctx(ctx, AuditEntry("standard_create", resource_type="standard", resource_id=std.name))
    return std


@action("standard_update")
def standard_update(ctx: Context, name: str, data: StandardUpdate) -> DataStandard:
    ctx.authorize("standard_update")
    std = get_standard(ctx.session, name)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for key, value in changes.items():
        setattr(std, key, value)
    ctx.session.flush()
    record_ctx(ctx, AuditEntry("standard_update", resource_type="standard", resource_id=std.name, details=changes))
    return std


# -- resources -----------------------------------------------------------------------------------


def get_resource(session: Session, ref: str) -> Resource:
    """A resource by id, key or OID."""
    res = session.scalar(
        select(Resource)
        .options(selectinload(Resource.fields).selectinload(ResourceField.standard))
        .where((Resource.id == ref) | (Resource.key == ref) | (Resource.oid == ref))
    )
    if res is None:
        raise NotFound(f"数据资源 {ref} 不存在", details={"resource": ref})
    return res


def to_public(resource: Resource, dept: Department | None = None) -> ResourcePublic:
    fields = [
        FieldPublic(
            name=f.name,
            title=f.title,
            description=f.description,
            data_type=f.data_type,
            required=f.required,
            sensitivity=f.sensitivity,
            element=f.element,
            role=f.role,
            standard=f.standard.name if f.standard else None,
            standard_title=f.standard.title if f.standard else None,
            is_primary_key=f.name in (resource.primary_key or []),
        )
        for f in resource.fields
    ]
    columns = {c.key: getattr(resource, c.key) for c in Resource.__table__.columns}
    out = ResourcePublic.model_validate({**columns, "fields": fields})
    if dept is not None:
        out = out.model_copy(update={"dept_code": dept.code, "dept_name": dept.name})
    return out


def _build_fields(
    ctx: Context, resource: Resource, specs: list[FieldIn], primary_key: list[str]
) -> list[ResourceField]:
    problems: list[dict[str, Any]] = []
    built: list[ResourceField] = []
    for pos, spec in enumerate(specs):
        std = None
        if spec.standard:
            std = ctx.session.scalar(select(DataStandard).where(DataStandard.name == spec.standard))
            if std is None:
                problems.append({"field": spec.name, "problem": f"未知的数据元标准 {spec.standard}"})
                continue
        element, role = spec.element, spec.role
        if resource.base_library and spec.name not in primary_key and element is None:
            # in a base library every non-key item is a data element with exactly one source
            element = f"{resource.base_library}.{spec.name}"
        if element and role is None:
            role = FieldRole.AUTHORITATIVE if resource.base_library else FieldRole.COPY
        built.append(
            ResourceField(
                position=pos,
                name=spec.name,
                title=spec.title,
                description=spec.description,
                standard_id=std.id if std else None,
                standard=std,
                data_type=(spec.data_type or (std.data_type if std else "string")),
                required=spec.required or spec.name in primary_key,
                sensitivity=spec.sensitivity or (std.sensitivity if std else 1),
                element=element,
                role=role.value if role else None,
            )
        )
    if problems:
        summary = "；".join(f"字段 {p['field']}：{p['problem']}" for p in problems)
        raise Invalid(f"字段定义有误：{summary}", details={"problems": problems})
    return built


def _claim_elements(ctx: Context, resource: Resource) -> None:
    """Enforce 一数一源: one authoritative source per data element; copies must reference one."""
    conflicts: list[dict[str, Any]] = []
    orphans: list[str] = []
    for f in resource.fields:
        if not f.element:
            continue
        existing = ctx.session.get(AuthoritativeSource, f.element)
        if f.role == FieldRole.AUTHORITATIVE:
            if existing is None:
                ctx.session.add(
                    AuthoritativeSource(
                        element=f.element, field_id=f.id, resource_id=resource.id, dept_id=resource.dept_id
                    )
                )
            elif existing.resource_id != resource.id:
                owner = ctx.session.get(Department, existing.dept_id)
                owner_res = ctx.session.get(Resource, existing.resource_id)
                conflicts.append(
                    {
                        "element": f.element,
                        "field": f.name,
                        "source_dept": owner.name if owner else None,
                        "source_resource": owner_res.key if owner_res else None,
                    }
                )
            elif existing.field_id != f.id:
                existing.field_id = f.id
        elif f.role == FieldRole.COPY and existing is None:
            orphans.append(f.element)
    if conflicts:
        first = conflicts[0]
        raise Conflict(
            f"违反“一数一源”：数据元 {first['element']} 的权威来源已是 {first['source_dept']}"
            f"（资源 {first['source_resource']}）；其他部门只能登记引用该来源的副本（role=copy）",
            details={"conflicts": conflicts},
        )
    if orphans:
        raise Invalid(f"数据元 {', '.join(orphans)} 尚无权威来源，不能登记为副本", details={"elements": orphans})


def _standards_index(session: Session) -> dict[str, tuple[str, list[str]]]:
    return {s.id: (s.title, list(s.aliases or [])) for s in session.scalars(select(DataStandard))}


def _reindex(ctx: Context, resource: Resource) -> None:
    dept = ctx.session.get(Department, resource.dept_id)
    resource.search_text = search.build_search_text(resource, dept.name if dept else "", _standards_index(ctx.session))


def _snapshot(resource: Resource) -> dict[str, Any]:
    return to_public(resource).model_dump(mode="json", exclude={"created_at", "updated_at", "revision"})


def _bump_revision(ctx: Context, resource: Resource, seen: int) -> None:
    """Compare-and-set the revision, so two editors cannot both win (optimistic locking)."""
    done = ctx.session.execute(
        update(Resource).where(Resource.id == resource.id, Resource.revision == seen).values(revision=seen + 1)
    ).rowcount
    if done != 1:
        raise Conflict(f"资源 {resource.key} 已被他人修改，请刷新后重试", details={"resource": resource.key})
    ctx.session.refresh(resource, ["revision"])


def _log_change(ctx: Context, resource: Resource, change: str, diff: dict[str, Any]) -> None:
    ctx.session.add(
        CatalogChange(
            resource_id=resource.id, revision=resource.revision, change=change, changed_by=ctx.actor.label(), diff=diff
        )
    )
    record_ctx(
        ctx,
        AuditEntry(
            f"resource_{change}",
            resource_type="resource",
            resource_id=resource.key,
            details={"revision": resource.revision},
        ),
    )


def _allocate_oid(ctx: Context, dept: Department, resource_id: str) -> str:
    item = (
        ctx.session.scalar(select(func.max(OidAllocation.item)).where(OidAllocation.dept_oid_code == dept.oid_code))
        or 0
    ) + 1
    oid = resource_oid(ctx.settings.oid_arc, dept.oid_code, item)
    ctx.session.add(OidAllocation(oid=oid, dept_oid_code=dept.oid_code, item=item, resource_id=resource_id))
    return oid


@action("resource_create")
def resource_create(ctx: Context, data: ResourceCreate, *, change: str = "create") -> Resource:
    dept = get_department(ctx, data.dept)
    ctx.authorize("resource_create", {"dept_id": dept.id})
    return _resource_create(ctx, data, dept, change=change)


def _resource_create(ctx: Context, data: ResourceCreate, dept: Department, *, change: str = "create") -> Resource:
    if ctx.session.scalar(select(Resource.id).where(Resource.key == data.key)):
        raise Conflict(f"资源代码 {data.key} 已存在", details={"field": "key"})
    values = data.model_dump(mode="json", exclude={"dept", "fields"})
    resource = Resource(**values, dept_id=dept.id, created_by=ctx.actor.user_id, oid="pending")
    resource.fields = _build_fields(ctx, resource, data.fields, data.primary_key)
    ctx.session.add(resource)
    ctx.session.flush()
    resource.oid = _allocate_oid(ctx, dept, resource.id)
    _claim_elements(ctx, resource)
    _reindex(ctx, resource)
    ctx.session.flush()
    _log_change(ctx, resource, change, _snapshot(resource))
    return resource


def _field_spec(f: ResourceField) -> FieldIn:
    return FieldIn(
        name=f.name,
        title=f.title,
        description=f.description,
        standard=f.standard.name if f.standard else None,
        data_type=f.data_type,
        required=f.required,
        sensitivity=f.sensitivity,
        element=f.element,
        role=f.role,
    )


@action("resource_update")
def resource_update(ctx: Context, ref: str, data: ResourceUpdate) -> Resource:
    resource = get_resource(ctx.session, ref)
    ctx.authorize("resource_update", resource)
    if data.revision != resource.revision:
        raise Conflict(
            f"资源已被他人修改（当前版本 {resource.revision}，提交的版本 {data.revision}），请刷新后重试",
            details={"current_revision": resource.revision},
        )
    before = _snapshot(resource)
    changes = data.model_dump(exclude_unset=True, mode="json", exclude={"revision", "fields"})
    specs = data.fields if data.fields is not None else [_field_spec(f) for f in resource.fields]
    # validate the entry as a whole, as if created anew, so an update cannot break a rule a create enforces
    parse(
        ResourceCreate,
        {
            **{k: getattr(resource, k) for k in ResourceBase.model_fields},
            **changes,
            "key": resource.key,
            "dept": resource.dept_id,
            "fields": [s.model_dump() for s in specs],
            "primary_key": changes.get("primary_key", resource.primary_key),
        },
    )
    for key, value in changes.items():
        setattr(resource, key, value)
    if data.fields is not None or data.primary_key is not None:
        old_ids = {f.id for f in resource.fields}
        for src in ctx.session.scalars(select(AuthoritativeSource).where(AuthoritativeSource.field_id.in_(old_ids))):
            ctx.session.delete(src)
        resource.fields = _build_fields(ctx, resource, specs, resource.primary_key)
        ctx.session.flush()
        _claim_elements(ctx, resource)
    _reindex(ctx, resource)
    ctx.session.flush()
    _bump_revision(ctx, resource, data.revision)
    after = _snapshot(resource)
    diff = {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}
    _log_change(ctx, resource, "update", diff)
    return resource


@action("resource_retire")
def resource_retire(ctx: Context, ref: str, reason: str) -> Resource:
    resource = get_resource(ctx.session, ref)
    ctx.authorize("resource_retire", resource)
    if not reason.strip():
        raise Invalid("停用资源必须说明原因", details={"field": "reason"})
    resource.status = "retired"
    _bump_revision(ctx, resource, resource.revision)
    for src in ctx.session.scalars(select(AuthoritativeSource).where(AuthoritativeSource.resource_id == resource.id)):
        ctx.session.delete(src)
    ctx.session.flush()
    _log_change(ctx, resource, "retire", {"status": ["active", "retired"], "reason": reason})
    return resource


@action("resource_show")
def resource_show(ctx: Context, ref: str) -> ResourcePublic:
    resource = get_resource(ctx.session, ref)
    ctx.authorize("resource_show", resource)
    return to_public(resource, ctx.session.get(Department, resource.dept_id))


@action("resource_history")
def resource_history(ctx: Context, ref: str) -> list[ChangePublic]:
    resource = get_resource(ctx.session, ref)
    ctx.authorize("resource_history", resource)
    rows = ctx.session.scalars(
        select(CatalogChange)
        .where(CatalogChange.resource_id == resource.id)
        .order_by(CatalogChange.changed_at.desc(), CatalogChange.revision.desc())
    )
    return [ChangePublic.model_validate(r) for r in rows]


_FACETS = {
    "dept": Resource.dept_id,
    "category": Resource.category,
    "share_type": Resource.share_type,
    "open_type": Resource.open_type,
    "grade": Resource.grade,
    "topic": Resource.topic,
    "base_library": Resource.base_library,
}


@action("resource_search")
def resource_search(ctx: Context, query: SearchQuery, *, facets: bool = True) -> SearchResult:
    ctx.authorize("resource_search")
    conditions = [visible_filter(ctx.actor)]
    if not query.include_retired:
        conditions.append(Resource.status == "active")
    text_cond = search.text_filter(query.q)
    if text_cond is not None:
        conditions.append(text_cond)
    if query.dept:
        conditions.append(Resource.dept_id == get_department(ctx, query.dept).id)
    for attr in ("category", "base_library", "share_type", "open_type", "grade", "topic"):
        value = getattr(query, attr)
        if value:
            conditions.append(getattr(Resource, attr) == (value.value if hasattr(value, "value") else value))
    if query.tag:
        conditions.append(Resource.search_text.like(f"%{query.tag.lower()}%"))
    # One pass over the matching rows yields the total, every facet count and the order. The text
    # condition is a scan; running it again for the count and for each of seven facets made a search
    # nine scans long (about 300 ms at 10,000 entries instead of 40).
    facet_columns = list(_FACETS.values())
    order = [Resource.updated_at.desc(), Resource.key]
    if query.q.strip():
        first = query.q.split()[0].lower()
        order.insert(0, case((func.lower(Resource.name).like(f"%{first}%"), 0), else_=1))  # name matches first
    # the database sorts; Python only counts (no per-row datetime conversion for thousands of matches)
    matches = ctx.session.execute(select(Resource.id, *facet_columns).where(*conditions).order_by(*order)).all()
    page_ids = [r.id for r in matches[query.offset : query.offset + query.limit]]
    loaded = {
        r.id: r
        for r in ctx.session.scalars(
            select(Resource)
            .options(selectinload(Resource.fields).selectinload(ResourceField.standard))
            .where(Resource.id.in_(page_ids))
        )
    }
    depts = {d.id: d for d in ctx.session.scalars(select(Department))}
    items = [to_public(loaded[i], depts.get(loaded[i].dept_id)) for i in page_ids if i in loaded]
    result = SearchResult(total=len(matches), items=items)
    if facets:
        for offset, name in enumerate(_FACETS, start=1):
            counts = Counter(row[offset] for row in matches if row[offset] is not None)
            result.facets[name] = {
                (depts[k].name if name == "dept" and k in depts else str(k)): n for k, n in counts.items()
            }
    return result
