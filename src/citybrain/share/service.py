"""共享交换: requests, approvals, grants and demands.

无条件共享 resources are granted at once; 有条件共享 ones need the source department's steward and,
for 重要/核心 data, the chief data officer as well; 不予共享 ones are refused at request time with
the catalog's stated basis. An approver may narrow anything (fields, rows, period, modes) and lifts
masking only for the fields they name. Data access itself lives in :mod:`citybrain.share.access`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.auth.models import ApiToken, User
from citybrain.auth.rules import Role
from citybrain.auth.service import issue_token
from citybrain.catalog.models import Grade, Resource, ShareType
from citybrain.catalog.service import get_resource
from citybrain.db import utcnow
from citybrain.errors import Conflict, Invalid, NotAuthorized, NotFound
from citybrain.masking import FieldInfo, MaskSpec, effective_plan
from citybrain.org.models import Department
from citybrain.org.service import get_department
from citybrain.share.models import (
    AccessMode,
    AnyGrant,
    DemandStatus,
    GrantStatus,
    RequestStatus,
    ShareApproval,
    ShareDemand,
    ShareGrant,
    ShareRequest,
)
from citybrain.share.schemas import (
    ApprovalIn,
    ApprovalPublic,
    DemandAnswer,
    DemandCreate,
    DemandPublic,
    GrantPublic,
    RowCondition,
    ShareRequestCreate,
    ShareRequestPublic,
    TokenIssued,
)

#: calls per minute a grant allows unless the approver sets another figure
DEFAULT_RATE_LIMIT = 60
#: the one scope a grant's token carries: it can read that grant's data and nothing else
ACCESS_SCOPE = "share:access"
_OVERSEERS = frozenset({Role.ADMIN, Role.CDO, Role.SECURITY})
_HIGH_GRADES = {Grade.IMPORTANT.value, Grade.CORE.value}


# -- helpers ---------------------------------------------------------------------------------------


def field_infos(resource: Resource) -> dict[str, FieldInfo]:
    """What the masking policy needs per field; the element is the field's data element standard."""
    return {
        f.name: FieldInfo(f.name, int(f.sensitivity or 1), f.standard.name if f.standard else None)
        for f in resource.fields
    }


def _dept_names(session: Session) -> dict[str, str]:
    return {d.id: d.name for d in session.scalars(select(Department))}


def _check_fields(resource: Resource, names: list[str], what: str) -> None:
    known = {f.name for f in resource.fields}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise Invalid(
            f"资源 {resource.key} 没有这些{what}：{'、'.join(unknown)}",
            details={"field": what, "unknown": unknown, "known": sorted(known)},
        )


def _conditions(raw: list[Any]) -> list[RowCondition]:
    return [c if isinstance(c, RowCondition) else RowCondition.model_validate(c) for c in raw]


def _dump_conditions(conds: list[RowCondition]) -> list[dict[str, Any]]:
    return [c.model_dump() for c in conds]


def _condition_within(narrow: RowCondition, wide: RowCondition) -> bool:
    """Every row ``narrow`` admits is admitted by ``wide`` (both on the same field)."""
    if wide.op == "in":
        return narrow.op == "in" and set(narrow.values) <= set(wide.values)
    return all(any(v.startswith(p) for p in wide.values) for v in narrow.values)


def _narrowing_problems(asked: list[RowCondition], approved: list[RowCondition]) -> list[str]:
    """Why ``approved`` is not at least as narrow as ``asked`` (empty when it is).

    Conditions are ANDed, so each asked condition must be implied by some approved one on its field."""
    problems = []
    for wide in asked:
        if not any(n.field == wide.field and _condition_within(n, wide) for n in approved):
            problems.append(f"字段 {wide.field} 的行范围不能比申请的更宽")
    return problems


def _mask_problems(mask: dict[str, dict[str, Any]], terms: dict[str, Any]) -> list[str]:
    """An approver may choose another masking for a granted field (a pseudonym instead of stars),
    never lift it this way: lifting is ``unmask``, which only works for fields the requester named."""
    problems = []
    for name, raw in mask.items():
        if name not in terms["fields"]:
            problems.append(f"字段 {name} 不在批准的字段中，不能指定脱敏方法")
            continue
        if name in (terms.get("unmask") or []):
            problems.append(f"字段 {name} 已解除脱敏，不能再指定脱敏方法")
            continue
        try:
            MaskSpec.from_dict(raw)
        except (Invalid, TypeError, ValueError, KeyError) as exc:
            problems.append(f"字段 {name} 的脱敏方法无效：{getattr(exc, 'message', exc)}")
    return problems


def _terms_of(req: ShareRequest) -> dict[str, Any]:
    """The terms approved so far: the request's own until an approver narrows them."""
    return dict(req.terms) if req.terms else {}


def request_public(session: Session, req: ShareRequest, names: dict[str, str] | None = None) -> ShareRequestPublic:
    names = names if names is not None else _dept_names(session)
    resource = session.get(Resource, req.resource_id)
    approvals = session.scalars(
        select(ShareApproval).where(ShareApproval.request_id == req.id).order_by(ShareApproval.at)
    )
    out = ShareRequestPublic.model_validate(req)
    return out.model_copy(
        update={
            "resource_name": resource.name if resource else None,
            "dept_name": names.get(req.dept_id),
            "consumer_dept_name": names.get(req.consumer_dept_id),
            "approvals": [ApprovalPublic.model_validate(a) for a in approvals],
        }
    )


def grant_usable_reason(grant: AnyGrant, now: datetime | None = None) -> str | None:
    """None when the grant may be used right now, else why not (Chinese)."""
    now = now or utcnow()
    if grant.status == GrantStatus.REVOKED:
        return f"授权已撤销：{grant.reason or ''}".rstrip("：")
    if grant.status == GrantStatus.SUSPENDED:
        return f"授权已暂停：{grant.reason or ''}".rstrip("：")
    if grant.expires_at <= now:
        return f"授权已于 {grant.expires_at.isoformat(timespec='seconds')} 到期"
    return None


def grant_public(session: Session, grant: ShareGrant, names: dict[str, str] | None = None) -> GrantPublic:
    names = names if names is not None else _dept_names(session)
    resource = session.get(Resource, grant.resource_id)
    out = GrantPublic.model_validate(grant)
    return out.model_copy(
        update={
            "resource_name": resource.name if resource else None,
            "dept_name": names.get(grant.dept_id),
            "consumer_dept_name": names.get(grant.consumer_dept_id),
            "usable": grant_usable_reason(grant) is None,
        }
    )


def get_request(session: Session, request_id: str) -> ShareRequest:
    req = session.get(ShareRequest, request_id)
    if req is None:
        raise NotFound(f"共享申请 {request_id} 不存在", details={"request": request_id})
    return req


def get_grant(session: Session, grant_id: str) -> ShareGrant:
    grant = session.get(ShareGrant, grant_id)
    if grant is None:
        raise NotFound(f"共享授权 {grant_id} 不存在", details={"grant": grant_id})
    return grant


def _record_approval(
    ctx: Context, req: ShareRequest, stage: str, decision: str, terms: dict[str, Any], comment: str | None
) -> None:
    ctx.session.add(
        ShareApproval(
            request_id=req.id,
            stage=stage,
            decision=decision,
            decided_by=ctx.actor.user_id,
            decided_by_name=ctx.actor.label(),
            terms=terms,
            comment=comment or None,
        )
    )


def _make_grant(ctx: Context, req: ShareRequest, resource: Resource, terms: dict[str, Any]) -> ShareGrant:
    infos = field_infos(resource)
    fields = list(terms["fields"])
    unmask = set(terms.get("unmask") or [])
    overrides = {k: MaskSpec.from_dict(v) for k, v in (terms.get("mask") or {}).items() if k in fields}
    plan = effective_plan([infos[f] for f in fields], unmask, overrides=overrides)
    grant = ShareGrant(
        request_id=req.id,
        resource_id=resource.id,
        resource_key=resource.key,
        dept_id=resource.dept_id,
        consumer_dept_id=req.consumer_dept_id,
        consumer_user_id=req.requester_id,
        fields=fields,
        row_filter=list(terms.get("row_filter") or []),
        modes=list(terms["modes"]),
        masking={name: spec.to_dict() for name, spec in plan.items()},
        unmasked=sorted(unmask),
        purpose=req.purpose,
        expected_volume=req.expected_volume,
        rate_limit=int(terms.get("rate_limit") or DEFAULT_RATE_LIMIT),
        status=GrantStatus.ACTIVE.value,
        expires_at=utcnow() + timedelta(days=int(terms["days"])),
    )
    ctx.session.add(grant)
    ctx.session.flush()
    req.status = RequestStatus.GRANTED.value
    req.grant_id = grant.id
    req.decided_at = utcnow()
    record_ctx(
        ctx,
        AuditEntry(
            "grant_create",
            resource_type="share_grant",
            resource_id=grant.id,
            fields=fields,
            purpose=req.purpose,
            details={
                "request": req.id,
                "resource": resource.key,
                "consumer_dept": req.consumer_dept_id,
                "row_filter": grant.row_filter,
                "masked": sorted(grant.masking),
                "unmasked": grant.unmasked,
                "expires_at": grant.expires_at.isoformat(),
            },
        ),
    )
    return grant


# -- requests --------------------------------------------------------------------------------------


@action("share_request_create")
def share_request_create(ctx: Context, data: ShareRequestCreate) -> ShareRequestPublic:
    """File a request; 无条件共享 is granted at once, 不予共享 refused at once, the rest queued for approval."""
    ctx.authorize("share_request_create")
    resource = get_resource(ctx.session, data.resource)
    if not ctx.actor.dept_id:
        raise Invalid("只有部门工作人员可以申请共享数据", details={"field": "dept"})
    if resource.status != "active":
        raise Invalid(f"资源 {resource.key} 已停用，不能申请", details={"resource": resource.key})
    if resource.dept_id == ctx.actor.dept_id:
        raise Invalid("本部门的数据资源无需申请共享", details={"resource": resource.key})
    _check_fields(resource, data.fields, "字段")
    conds = data.row_filter
    _check_fields(resource, [c.field for c in conds], "行范围字段")
    if resource.share_type == ShareType.CONDITIONAL and len(data.legal_basis.strip()) < 2:
        raise Invalid("有条件共享的资源须说明共享依据（legal_basis）", details={"field": "legal_basis"})
    terms = {
        "fields": data.fields,
        "row_filter": _dump_conditions(conds),
        "modes": [m.value for m in data.modes],
        "unmask": [],
        "days": data.days,
        "rate_limit": DEFAULT_RATE_LIMIT,
    }
    req = ShareRequest(
        resource_id=resource.id,
        resource_key=resource.key,
        dept_id=resource.dept_id,
        consumer_dept_id=ctx.actor.dept_id,
        requester_id=ctx.actor.user_id or "system",
        requester_name=ctx.actor.label(),
        fields=data.fields,
        row_filter=_dump_conditions(conds),
        modes=[m.value for m in data.modes],
        unmask=data.unmask,
        purpose=data.purpose,
        legal_basis=data.legal_basis,
        days=data.days,
        expected_volume=data.expected_volume,
        grade=resource.grade,
        share_type=resource.share_type,
        status=RequestStatus.PENDING_STEWARD.value,
        terms=terms,
    )
    ctx.session.add(req)
    ctx.session.flush()
    outcome = "pending"
    if resource.share_type == ShareType.NONE:
        req.status = RequestStatus.REFUSED.value
        req.reason = f"该资源不予共享：{resource.share_basis or '来源部门未说明依据'}"
        req.decided_at = utcnow()
        _record_approval(ctx, req, "auto", "refuse", {}, req.reason)
        outcome = "refused"
    elif resource.share_type == ShareType.UNCONDITIONAL and not data.unmask:
        # unconditional data is granted at once, with the default masking; lifting masking is a
        # decision only the source department can take, so such a request waits for it
        _record_approval(ctx, req, "auto", "approve", terms, "无条件共享，自动授权")
        _make_grant(ctx, req, resource, terms)
        outcome = "granted"
    record_ctx(
        ctx,
        AuditEntry(
            "share_request_create",
            result="denied" if outcome == "refused" else "ok",
            resource_type="share_request",
            resource_id=req.id,
            fields=data.fields,
            purpose=data.purpose,
            details={"resource": resource.key, "outcome": outcome, "share_type": resource.share_type},
        ),
    )
    ctx.session.flush()
    return request_public(ctx.session, req)


def _is_party(ctx: Context, item: Any) -> bool:
    return (
        ctx.actor.kind == "system"
        or bool(ctx.actor.roles & _OVERSEERS)
        or ctx.actor.dept_id
        in (
            item.consumer_dept_id,
            item.dept_id,
        )
    )


@action("share_request_list")
def share_request_list(
    ctx: Context, *, box: str = "all", status: str | None = None, limit: int = 200
) -> list[ShareRequestPublic]:
    """``box``: ``mine`` (my department's requests), ``inbox`` (waiting for my decision), ``all``
    (every request I may see: overseers see all, others those of their department either side)."""
    ctx.authorize("share_request_list")
    q = select(ShareRequest).order_by(ShareRequest.created_at.desc()).limit(min(limit, 1000))
    actor = ctx.actor
    if box == "mine":
        q = q.where(ShareRequest.consumer_dept_id == actor.dept_id)
    elif box == "inbox":
        stages = []
        if actor.kind == "system" or actor.has_role(Role.ADMIN, Role.CDO):
            stages.append(ShareRequest.status == RequestStatus.PENDING_CDO.value)
        if actor.kind == "system" or actor.has_role(Role.ADMIN):
            stages.append(ShareRequest.status == RequestStatus.PENDING_STEWARD.value)
        elif actor.has_role(Role.STEWARD):
            stages.append(
                (ShareRequest.status == RequestStatus.PENDING_STEWARD.value) & (ShareRequest.dept_id == actor.dept_id)
            )
        if not stages:
            return []
        q = q.where(or_(*stages))
        if actor.user_id:
            q = q.where(ShareRequest.requester_id != actor.user_id)
    elif box == "all":
        if not (actor.kind == "system" or actor.roles & _OVERSEERS):
            q = q.where(or_(ShareRequest.consumer_dept_id == actor.dept_id, ShareRequest.dept_id == actor.dept_id))
    else:
        raise Invalid("box 只能是 mine、inbox 或 all", details={"field": "box"})
    if status:
        q = q.where(ShareRequest.status == status)
    names = _dept_names(ctx.session)
    return [request_public(ctx.session, r, names) for r in ctx.session.scalars(q)]


@action("share_request_show")
def share_request_show(ctx: Context, request_id: str) -> ShareRequestPublic:
    req = get_request(ctx.session, request_id)
    ctx.authorize("share_request_show", req)
    return request_public(ctx.session, req)


def _stage_for(ctx: Context, req: ShareRequest) -> str:
    """Which approval stage the actor decides at, or NotAuthorized / Conflict."""
    actor = ctx.actor
    if req.status == RequestStatus.PENDING_STEWARD:
        if (
            actor.kind == "system"
            or actor.has_role(Role.ADMIN)
            or (actor.has_role(Role.STEWARD) and actor.dept_id == req.dept_id)
        ):
            return "steward"
        raise NotAuthorized("该申请待来源部门数据管理员审核", details={"stage": "steward"})
    if req.status == RequestStatus.PENDING_CDO:
        if actor.kind == "system" or actor.has_role(Role.ADMIN, Role.CDO):
            return "cdo"
        raise NotAuthorized("该申请涉及重要/核心数据，待首席数据官审批", details={"stage": "cdo"})
    raise Conflict(f"该申请已处理（{req.status}），不能再审批", details={"status": req.status})


@action("share_request_approve")
def share_request_approve(ctx: Context, request_id: str, data: ApprovalIn | None = None) -> ShareRequestPublic:
    """Approve in full or in part. The narrowed terms carry to the next stage; the last stage grants."""
    req = get_request(ctx.session, request_id)
    ctx.authorize("share_request_approve", req)
    data = data or ApprovalIn()
    stage = _stage_for(ctx, req)
    resource = get_resource(ctx.session, req.resource_id)
    current = _terms_of(req)
    problems: list[str] = []
    terms = dict(current)
    if data.fields is not None:
        extra = sorted(set(data.fields) - set(current["fields"]))
        if extra:
            problems.append(f"不能批准申请之外的字段：{'、'.join(extra)}")
        if not data.fields:
            problems.append("至少批准一个字段；不同意请使用拒绝")
        terms["fields"] = [f for f in current["fields"] if f in data.fields]
    if data.row_filter is not None:
        _check_fields(resource, [c.field for c in data.row_filter], "行范围字段")
        problems += _narrowing_problems(_conditions(current["row_filter"]), data.row_filter)
        terms["row_filter"] = _dump_conditions(data.row_filter)
    if data.days is not None:
        if data.days > current["days"]:
            problems.append(f"批准期限不能长于申请的 {current['days']} 天")
        terms["days"] = min(data.days, current["days"])
    if data.modes is not None:
        extra = sorted({m.value for m in data.modes} - set(current["modes"]))
        if extra:
            problems.append(f"不能批准申请之外的使用方式：{'、'.join(extra)}")
        terms["modes"] = [m for m in current["modes"] if m in {x.value for x in data.modes}]
        if not terms["modes"]:
            problems.append("至少批准一种使用方式")
    # masking is lifted only where this approver says so; at the CDO stage the steward's choice stands
    # unless the CDO names a (smaller) set
    allowed_unmask = set(req.unmask) if stage == "steward" else set(current.get("unmask") or [])
    if data.unmask is not None:
        extra = sorted(set(data.unmask) - allowed_unmask)
        if extra:
            problems.append(f"只能对申请解除脱敏的字段解除脱敏：{'、'.join(extra)}")
        terms["unmask"] = sorted(set(data.unmask) & allowed_unmask)
    elif stage == "steward":
        terms["unmask"] = []
    terms["unmask"] = [f for f in terms["unmask"] if f in terms["fields"]]
    if data.rate_limit is not None:
        terms["rate_limit"] = data.rate_limit
    if data.mask is not None:
        problems += _mask_problems(data.mask, terms)
        terms["mask"] = {**(current.get("mask") or {}), **data.mask}
    terms["mask"] = {k: v for k, v in (terms.get("mask") or {}).items() if k in terms["fields"]}
    if problems:
        raise Invalid("批准条件有误：" + "；".join(problems), details={"problems": problems})
    req.terms = terms
    _record_approval(ctx, req, stage, "approve", terms, data.comment)
    if stage == "steward" and req.grade in _HIGH_GRADES:
        req.status = RequestStatus.PENDING_CDO.value
        outcome = "pending_cdo"
    else:
        _make_grant(ctx, req, resource, terms)
        outcome = "granted"
    partial = {k: v for k, v in terms.items() if current.get(k) != v}
    record_ctx(
        ctx,
        AuditEntry(
            "share_request_approve",
            resource_type="share_request",
            resource_id=req.id,
            fields=terms["fields"],
            details={"stage": stage, "outcome": outcome, "narrowed": partial, "resource": req.resource_key},
        ),
    )
    ctx.session.flush()
    return request_public(ctx.session, req)


@action("share_request_refuse")
def share_request_refuse(ctx: Context, request_id: str, reason: str) -> ShareRequestPublic:
    req = get_request(ctx.session, request_id)
    ctx.authorize("share_request_refuse", req)
    if len((reason or "").strip()) < 2:
        raise Invalid("拒绝申请必须说明原因", details={"field": "reason"})
    stage = _stage_for(ctx, req)
    req.status = RequestStatus.REFUSED.value
    req.reason = reason.strip()
    req.decided_at = utcnow()
    _record_approval(ctx, req, stage, "refuse", {}, req.reason)
    record_ctx(
        ctx,
        AuditEntry(
            "share_request_refuse",
            resource_type="share_request",
            resource_id=req.id,
            details={"stage": stage, "reason": req.reason, "resource": req.resource_key},
        ),
    )
    ctx.session.flush()
    return request_public(ctx.session, req)


# -- grants ----------------------------------------------------------------------------------------


@action("grant_list")
def grant_list(ctx: Context, *, box: str = "all", status: str | None = None) -> list[GrantPublic]:
    """``mine``: grants my department holds; ``source``: grants on my department's data; ``all``."""
    ctx.authorize("grant_list")
    q = select(ShareGrant).order_by(ShareGrant.created_at.desc())
    actor = ctx.actor
    if box == "mine":
        q = q.where(ShareGrant.consumer_dept_id == actor.dept_id)
    elif box == "source":
        q = q.where(ShareGrant.dept_id == actor.dept_id)
    elif box == "all":
        if not (actor.kind == "system" or actor.roles & _OVERSEERS):
            q = q.where(or_(ShareGrant.consumer_dept_id == actor.dept_id, ShareGrant.dept_id == actor.dept_id))
    else:
        raise Invalid("box 只能是 mine、source 或 all", details={"field": "box"})
    if status:
        q = q.where(ShareGrant.status == status)
    names = _dept_names(ctx.session)
    return [grant_public(ctx.session, g, names) for g in ctx.session.scalars(q)]


@action("grant_show")
def grant_show(ctx: Context, grant_id: str) -> GrantPublic:
    grant = get_grant(ctx.session, grant_id)
    ctx.authorize("grant_show", grant)
    return grant_public(ctx.session, grant)


def _revoke_token(ctx: Context, grant: ShareGrant) -> None:
    now = utcnow()
    for token in ctx.session.scalars(
        select(ApiToken).where(ApiToken.grant_id == grant.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = now


def _change_status(ctx: Context, grant: ShareGrant, status: GrantStatus, reason: str, name: str) -> GrantPublic:
    grant.status = status.value
    grant.reason = reason or None
    grant.changed_at = utcnow()
    if status == GrantStatus.REVOKED:
        _revoke_token(ctx, grant)
    record_ctx(
        ctx,
        AuditEntry(
            name,
            resource_type="share_grant",
            resource_id=grant.id,
            details={"reason": reason, "resource": grant.resource_key, "consumer_dept": grant.consumer_dept_id},
        ),
    )
    ctx.session.flush()
    return grant_public(ctx.session, grant)


@action("grant_suspend")
def grant_suspend(ctx: Context, grant_id: str, reason: str) -> GrantPublic:
    grant = get_grant(ctx.session, grant_id)
    ctx.authorize("grant_suspend", grant)
    if len((reason or "").strip()) < 2:
        raise Invalid("暂停授权必须说明原因", details={"field": "reason"})
    if grant.status != GrantStatus.ACTIVE:
        raise Conflict(f"只有有效的授权才能暂停（当前：{grant.status}）", details={"status": grant.status})
    return _change_status(ctx, grant, GrantStatus.SUSPENDED, reason.strip(), "grant_suspend")


@action("grant_resume")
def grant_resume(ctx: Context, grant_id: str, comment: str = "") -> GrantPublic:
    grant = get_grant(ctx.session, grant_id)
    ctx.authorize("grant_resume", grant)
    if grant.status != GrantStatus.SUSPENDED:
        raise Conflict(f"只有已暂停的授权才能恢复（当前：{grant.status}）", details={"status": grant.status})
    return _change_status(ctx, grant, GrantStatus.ACTIVE, comment.strip(), "grant_resume")


@action("grant_revoke")
def grant_revoke(ctx: Context, grant_id: str, reason: str) -> GrantPublic:
    """Revoke for good: the grant's token is revoked too, so the very next call fails to authenticate."""
    grant = get_grant(ctx.session, grant_id)
    ctx.authorize("grant_revoke", grant)
    if len((reason or "").strip()) < 2:
        raise Invalid("撤销授权必须说明原因", details={"field": "reason"})
    if grant.status == GrantStatus.REVOKED:
        raise Conflict("授权已撤销", details={"status": grant.status})
    return _change_status(ctx, grant, GrantStatus.REVOKED, reason.strip(), "grant_revoke")


@action("grant_token_issue")
def grant_token_issue(ctx: Context, grant_id: str) -> TokenIssued:
    """Issue (or rotate) the grant's API token: scope ``share:access``, bound to this grant, expiring
    with it. The secret is returned once; issuing again revokes the previous token."""
    grant = get_grant(ctx.session, grant_id)
    ctx.authorize("grant_token_issue", grant)
    if ctx.actor.kind != "user" or not ctx.actor.user_id:
        raise NotAuthorized("授权令牌只能由数据使用部门的工作人员登录后签发", details={"actor": ctx.actor.kind})
    reason = grant_usable_reason(grant)
    if reason:
        raise Conflict(f"不能为不可用的授权签发令牌：{reason}", details={"grant": grant.id})
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None:
        raise NotFound("用户不存在")
    _revoke_token(ctx, grant)
    days = max(1, math.ceil((grant.expires_at - utcnow()).total_seconds() / 86400))
    token, secret = issue_token(ctx, user, f"共享授权 {grant.resource_key}", [ACCESS_SCOPE], days, grant_id=grant.id)
    token.expires_at = grant.expires_at
    grant.token_id = token.id
    ctx.session.flush()
    return TokenIssued(
        grant_id=grant.id, token_id=token.id, prefix=token.prefix, expires_at=token.expires_at, token=secret
    )


# -- demands ---------------------------------------------------------------------------------------

#: bigrams too common in Chinese administrative names to say anything about a department
_STOP_GRAMS = {"常州", "州市", "数据", "信息", "管理", "部门", "市局", "服务", "中心", "系统", "需要", "相关"}
_SUFFIXES = re.compile(r"(委员会|管理局|办公室|局|委|办|中心)$")


def _grams(text: str) -> set[str]:
    chars = re.sub(r"[\s\W_]+", "", text.lower())
    return {chars[i : i + 2] for i in range(len(chars) - 1)} - _STOP_GRAMS


def route_demand(session: Session, text: str) -> dict[str, Any]:
    """Score every department by how much of its name and its resources' names the demand mentions."""
    wanted = _grams(text)
    scores: dict[str, dict[str, Any]] = {}
    for dept in session.scalars(select(Department)):
        core = _SUFFIXES.sub("", dept.name.removeprefix("常州市"))
        hits = sorted(_grams(core) & wanted)
        scores[dept.id] = {"dept_id": dept.id, "dept": dept.name, "score": 2 * len(hits), "matched": hits}
    for res in session.scalars(select(Resource).where(Resource.status == "active")):
        hits = _grams(res.name) & wanted
        tags = {t for t in (res.tags or []) if t and t in text}
        entry = scores.get(res.dept_id)
        if entry is None or not (hits or tags):
            continue
        gain = len(hits) + 2 * len(tags)
        if gain > entry.get("resource_score", 0):
            entry["score"] += gain - entry.get("resource_score", 0)
            entry["resource_score"] = gain
            entry["resource"] = res.key
    ranked = sorted((s for s in scores.values() if s["score"] > 0), key=lambda s: (-s["score"], s["dept"]))
    return {"candidates": ranked[:3], "dept_id": ranked[0]["dept_id"] if ranked else None}


@action("demand_create")
def demand_create(ctx: Context, data: DemandCreate) -> DemandPublic:
    """Ask for data the catalog lacks; it is routed to the most likely source department."""
    ctx.authorize("demand_create")
    if not ctx.actor.dept_id:
        raise Invalid("只有部门工作人员可以提出数据需求", details={"field": "dept"})
    if data.dept:
        dept = get_department(ctx, data.dept)
        routing: dict[str, Any] = {"dept_id": dept.id, "candidates": [], "by": "requester"}
    else:
        routing = {**route_demand(ctx.session, f"{data.title} {data.description}"), "by": "keywords"}
    demand = ShareDemand(
        title=data.title,
        description=data.description,
        purpose=data.purpose,
        consumer_dept_id=ctx.actor.dept_id,
        requester_id=ctx.actor.user_id or "system",
        dept_id=routing["dept_id"],
        routing=routing,
        status=DemandStatus.OPEN.value,
    )
    ctx.session.add(demand)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "demand_create",
            resource_type="share_demand",
            resource_id=demand.id,
            purpose=data.purpose or None,
            details={"title": data.title, "routed_to": demand.dept_id},
        ),
    )
    return DemandPublic.model_validate(demand)


@action("demand_list")
def demand_list(ctx: Context, *, box: str = "all", status: str | None = None) -> list[DemandPublic]:
    """``mine``: my department's demands; ``inbox``: routed to my department; ``all``."""
    ctx.authorize("demand_list")
    q = select(ShareDemand).order_by(ShareDemand.created_at.desc())
    actor = ctx.actor
    if box == "mine":
        q = q.where(ShareDemand.consumer_dept_id == actor.dept_id)
    elif box == "inbox":
        if actor.kind == "system" or actor.has_role(Role.ADMIN, Role.CDO):
            q = q.where(or_(ShareDemand.dept_id == actor.dept_id, ShareDemand.dept_id.is_(None)))
        else:
            q = q.where(ShareDemand.dept_id == actor.dept_id)
    elif box == "all":
        if not (actor.kind == "system" or actor.roles & _OVERSEERS):
            q = q.where(or_(ShareDemand.consumer_dept_id == actor.dept_id, ShareDemand.dept_id == actor.dept_id))
    else:
        raise Invalid("box 只能是 mine、inbox 或 all", details={"field": "box"})
    if status:
        q = q.where(ShareDemand.status == status)
    return [DemandPublic.model_validate(d) for d in ctx.session.scalars(q)]


@action("demand_answer")
def demand_answer(ctx: Context, demand_id: str, data: DemandAnswer) -> DemandPublic:
    demand = ctx.session.get(ShareDemand, demand_id)
    if demand is None:
        raise NotFound(f"数据需求 {demand_id} 不存在")
    # an unrouted demand belongs to nobody yet: only the CDO or an administrator may answer it
    ctx.authorize("demand_answer", demand if demand.dept_id else {"dept_id": "-"})
    if demand.status != DemandStatus.OPEN:
        raise Conflict(f"该需求已答复（{demand.status}）", details={"status": demand.status})
    if data.outcome == "supplied":
        resource = get_resource(ctx.session, data.resource or "")
        if resource.status != "active":
            raise Invalid(f"资源 {resource.key} 已停用", details={"resource": resource.key})
        demand.resource_id = resource.id
        demand.resource_key = resource.key
        demand.status = DemandStatus.SUPPLIED.value
    else:
        demand.status = DemandStatus.REFUSED.value
    demand.reason = data.reason.strip() or None
    demand.answered_at = utcnow()
    demand.answered_by = ctx.actor.label()
    record_ctx(
        ctx,
        AuditEntry(
            "demand_answer",
            resource_type="share_demand",
            resource_id=demand.id,
            details={"outcome": data.outcome, "resource": demand.resource_key, "reason": demand.reason},
        ),
    )
    ctx.session.flush()
    return DemandPublic.model_validate(demand)


# the access, monitoring and metrics actions register themselves on import
from citybrain.share import access, anomalies, metrics  # noqa: E402

__all__ = ["AccessMode", "access", "anomalies", "metrics"]
