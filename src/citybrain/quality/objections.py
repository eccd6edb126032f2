"""数据异议 (data objections): a data consumer disputes specific records, with evidence.

An objection on a field that is a copy of another department's data element (一数一源) goes to the
authoritative source of that element, not to the department holding the copy: fixing the copy alone
would leave the source wrong and the copy overwritten at the next sync. The receiving stewards uphold it
(the fix comes as a new version of their resource, which marks the objection fixed) or reject it,
with a reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import or_, select

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.auth.rules import Role
from citybrain.catalog.models import AuthoritativeSource, Resource, ResourceField
from citybrain.catalog.service import get_resource
from citybrain.errors import Conflict, Invalid, NotFound
from citybrain.quality.models import (
    OBJECTION_TRANSITIONS,
    ObjectionStatus,
    QualityObjection,
    can_move,
    department_names,
)
from citybrain.quality.permissions import is_overseer
from citybrain.quality.schemas import ObjectionCreate, ObjectionPublic


def _public(obj: QualityObjection, names: dict[str, str]) -> ObjectionPublic:
    data = {c.key: getattr(obj, c.key) for c in QualityObjection.__table__.columns}
    data["dept_name"] = names.get(obj.dept_id)
    return ObjectionPublic.model_validate(data)


def get_objection(ctx: Context, ref: str) -> QualityObjection:
    obj = ctx.session.scalar(
        select(QualityObjection).where((QualityObjection.id == ref) | (QualityObjection.number == ref))
    )
    if obj is None:
        raise NotFound(f"数据异议 {ref} 不存在", details={"objection": ref})
    return obj


def route(ctx: Context, resource: Resource, field: str | None) -> tuple[Resource, str | None]:
    """The authoritative resource and field for a disputed field of ``resource``."""
    if field is None:
        return resource, None
    f = next((x for x in resource.fields if x.name == field), None)
    if f is None:
        raise Invalid(f"资源 {resource.key} 没有字段 {field}", details={"field": "field", "value": field})
    if f.role == "copy" and f.element:
        auth = ctx.session.get(AuthoritativeSource, f.element)
        if auth is not None and auth.resource_id != resource.id:
            target = get_resource(ctx.session, auth.resource_id)
            target_field = ctx.session.get(ResourceField, auth.field_id)
            return target, target_field.name if target_field else field
    return resource, field


def unknown_keys(ctx: Context, resource: Resource, keys: list[str]) -> list[str]:
    """Keys that are not records of the resource's current version (only checked for a one-column key)."""
    import ibis

    from citybrain.lake.store import Lake
    from citybrain.quality.engine import DuckDBBackend

    pk = list(resource.primary_key or [])
    lake = Lake(ctx.settings.lake_dir)
    if len(pk) != 1 or lake.current(resource.key) is None:
        return []
    backend = DuckDBBackend()
    t = backend.load([str(p) for p in lake.files(resource.key)])
    if pk[0] not in t.columns:
        return []
    wanted = ibis.memtable({"k": sorted(set(keys))}, schema={"k": "string"})
    found = wanted.semi_join(t, wanted["k"] == t[pk[0]].cast("string"))
    known = set(backend.to_arrow(found)["k"].to_pylist())
    return [k for k in keys if k not in known]


@action("objection_create")
def objection_create(ctx: Context, ref: str, data: ObjectionCreate) -> ObjectionPublic:
    """Raise an objection on records of ``ref``; it is routed to the authoritative source department."""
    resource = get_resource(ctx.session, ref)
    ctx.authorize("objection_create", resource)
    target, target_field = route(ctx, resource, data.field)
    missing = unknown_keys(ctx, resource, data.keys)
    if missing:
        raise Invalid(
            f"资源 {resource.key} 的当前版本中没有这些记录：{'、'.join(missing[:10])}",
            details={"field": "keys", "unknown": missing},
        )
    now = datetime.now(UTC)
    obj = QualityObjection(
        number=f"YY-{now:%Y%m%d}-{uuid.uuid4().hex[:6].upper()}",
        resource_id=resource.id,
        resource_key=resource.key,
        target_resource_id=target.id,
        target_resource_key=target.key,
        dept_id=target.dept_id,
        field=data.field,
        target_field=target_field,
        keys=list(data.keys),
        description=data.description,
        evidence=data.evidence,
        status=ObjectionStatus.OPEN,
        raised_by=ctx.actor.label(),
        raised_by_id=ctx.actor.user_id,
        raised_by_dept_id=ctx.actor.dept_id,
        created_at=now,
    )
    ctx.session.add(obj)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "objection_create",
            resource_type="quality_objection",
            resource_id=obj.number,
            row_count=len(obj.keys),
            details={"resource": resource.key, "routed_to": target.key, "dept_id": target.dept_id},
        ),
    )
    return _public(obj, department_names(ctx.session))


@action("objection_list")
def objection_list(
    ctx: Context, *, status: str | None = None, direction: str | None = None, limit: int = 200
) -> list[ObjectionPublic]:
    """Objections the actor's department received (``direction="received"``), raised (``"raised"``), or
    both; overseers see all."""
    ctx.authorize("objection_list")
    q = select(QualityObjection)
    actor = ctx.actor
    if not is_overseer(actor):
        received = QualityObjection.dept_id == actor.dept_id
        raised = QualityObjection.raised_by_dept_id == actor.dept_id
        if Role.STEWARD not in actor.roles:
            # a data consumer follows what they raised themselves; receiving is the stewards' job
            raised = QualityObjection.raised_by_id == actor.user_id
            received = raised
        q = q.where(received if direction == "received" else raised if direction == "raised" else or_(received, raised))
    elif direction == "received" and actor.dept_id:
        q = q.where(QualityObjection.dept_id == actor.dept_id)
    if status:
        if status not in {s.value for s in ObjectionStatus}:
            raise Invalid(f"异议状态无效：{status}", details={"allowed": [s.value for s in ObjectionStatus]})
        q = q.where(QualityObjection.status == status)
    names = department_names(ctx.session)
    rows = ctx.session.scalars(q.order_by(QualityObjection.created_at.desc(), QualityObjection.number).limit(limit))
    return [_public(o, names) for o in rows]


@action("objection_show")
def objection_show(ctx: Context, ref: str) -> ObjectionPublic:
    obj = get_objection(ctx, ref)
    ctx.authorize("objection_show", obj)
    return _public(obj, department_names(ctx.session))


def _decide(ctx: Context, obj: QualityObjection, status: ObjectionStatus, reason: str) -> ObjectionPublic:
    if not can_move(OBJECTION_TRANSITIONS, obj.status, status):
        raise Conflict(f"异议 {obj.number} 已处理（{obj.status}）", details={"status": obj.status})
    obj.status = status
    obj.decided_by = ctx.actor.label()
    obj.decided_at = datetime.now(UTC)
    obj.decision_reason = reason.strip() or None
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            f"objection_{'uphold' if status == ObjectionStatus.UPHELD else 'reject'}",
            resource_type="quality_objection",
            resource_id=obj.number,
            details={"reason": obj.decision_reason},
        ),
    )
    return _public(obj, department_names(ctx.session))


@action("objection_uphold")
def objection_uphold(ctx: Context, ref: str, reason: str = "") -> ObjectionPublic:
    """异议成立: the source department will correct the records in a new version."""
    obj = get_objection(ctx, ref)
    ctx.authorize("objection_uphold", obj)
    return _decide(ctx, obj, ObjectionStatus.UPHELD, reason or "")


@action("objection_reject")
def objection_reject(ctx: Context, ref: str, reason: str) -> ObjectionPublic:
    """异议不成立: the records stand; the reason is required and shown to whoever raised it."""
    obj = get_objection(ctx, ref)
    ctx.authorize("objection_reject", obj)
    if not (reason or "").strip():
        raise Invalid("驳回数据异议必须说明理由", details={"field": "reason"})
    return _decide(ctx, obj, ObjectionStatus.REJECTED, reason)


def mark_fixed(ctx: Context, resource: Resource, version: int) -> int:
    """A new version of ``resource`` was loaded: upheld objections routed to it are fixed by it."""
    upheld = list(
        ctx.session.scalars(
            select(QualityObjection).where(
                QualityObjection.target_resource_id == resource.id, QualityObjection.status == ObjectionStatus.UPHELD
            )
        )
    )
    for obj in upheld:
        assert can_move(OBJECTION_TRANSITIONS, obj.status, ObjectionStatus.FIXED)
        obj.status = ObjectionStatus.FIXED
        obj.fixed_version = version
        record_ctx(
            ctx,
            AuditEntry(
                "objection_fixed",
                resource_type="quality_objection",
                resource_id=obj.number,
                details={"version": version},
            ),
        )
    ctx.session.flush()
    return len(upheld)
