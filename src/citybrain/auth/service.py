"""Identity operations: users, logins, sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record, record_ctx
from citybrain.auth import policy
from citybrain.auth.actor import ANONYMOUS, Actor
from citybrain.auth.models import ApiToken, User, UserSession
from citybrain.auth.passwords import hash_password, needs_rehash, verify_password
from citybrain.auth.rules import Role
from citybrain.auth.schemas import TokenCreate, UserCreate, UserUpdate
from citybrain.db import Direct, utcnow
from citybrain.errors import Conflict, Invalid, NotAuthenticated, NotFound
from citybrain.org.service import get_department

TOKEN_PREFIX = "cbt_"


def actor_for_user(user: User, *, scopes: frozenset[str] | None = None, token_id: str | None = None) -> Actor:
    return _actor(user.id, user.username, user.dept_id, user.roles, user.divisions, scopes, token_id)


def _actor(
    user_id: str,
    username: str,
    dept_id: str | None,
    roles: list[Any],
    divisions: list[Any] | None,
    scopes: frozenset[str] | None,
    token_id: str | None,
) -> Actor:
    return Actor(
        kind="token" if token_id else "user",
        user_id=user_id,
        username=username,
        dept_id=dept_id,
        roles=frozenset(Role(r) for r in roles),
        scopes=scopes,
        token_id=token_id,
        divisions=frozenset(divisions or ()),
    )


# -- users ---------------------------------------------------------------------------------------


@action("user_create")
def user_create(ctx: Context, data: UserCreate) -> User:
    ctx.authorize("user_create")
    return _user_create(ctx, data)


def _user_create(ctx: Context, data: UserCreate) -> User:
    if ctx.session.scalar(select(User.id).where(User.username == data.username)):
        raise Conflict(f"用户名 {data.username} 已存在", details={"field": "username"})
    dept_id = get_department(ctx, data.dept).id if data.dept else None
    staff_roles = set(data.roles) - {Role.PUBLIC}
    if staff_roles and dept_id is None:
        raise Invalid("工作人员必须属于一个部门", details={"field": "dept"})
    user = User(
        username=data.username,
        display_name=data.display_name,
        dept_id=dept_id,
        password_hash=hash_password(data.password),
        roles=[r.value for r in data.roles],
        divisions=data.divisions,
        email=data.email,
        phone=data.phone,
    )
    ctx.session.add(user)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "user_create",
            resource_type="user",
            resource_id=user.id,
            details={"username": user.username, "roles": user.roles},
        ),
    )
    return user


@action("public_user_register")
def public_user_register(ctx: Context, data: UserCreate) -> User:
    """Citizens and companies register themselves on the portal; they get the public role only."""
    ctx.authorize("public_user_register")
    return _user_create(ctx, data.model_copy(update={"roles": [Role.PUBLIC], "dept": None}))


@action("user_list")
def user_list(ctx: Context, dept: str | None = None) -> list[User]:
    ctx.authorize("user_list")
    q = select(User).order_by(User.username)
    if dept:
        q = q.where(User.dept_id == get_department(ctx, dept).id)
    return list(ctx.session.scalars(q))


def get_user(ctx: Context, ref: str) -> User:
    user = ctx.session.scalar(select(User).where((User.id == ref) | (User.username == ref)))
    if user is None:
        raise NotFound(f"用户 {ref} 不存在")
    return user


@action("user_show")
def user_show(ctx: Context, ref: str) -> User:
    ctx.authorize("user_show")
    return get_user(ctx, ref)


@action("user_show_self")
def user_show_self(ctx: Context) -> User:
    ctx.authorize("user_show_self")
    return get_user(ctx, ctx.actor.user_id or "")


@action("user_update")
def user_update(ctx: Context, ref: str, data: UserUpdate) -> User:
    ctx.authorize("user_update")
    user = get_user(ctx, ref)
    changes = data.model_dump(exclude_unset=True)
    if "roles" in changes:
        changes["roles"] = [Role(r).value for r in changes["roles"]]
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("is_active") is False:
        _revoke_all(ctx, user)
    ctx.session.flush()
    record_ctx(ctx, AuditEntry("user_update", resource_type="user", resource_id=user.id, details=changes))
    return user


@action("user_password_set")
def user_password_set(ctx: Context, ref: str, password: str) -> None:
    ctx.authorize("user_password_set")
    if len(password) < 8:
        raise Invalid("密码至少 8 位", details={"field": "password"})
    user = get_user(ctx, ref)
    user.password_hash = hash_password(password)
    _revoke_all(ctx, user)
    record_ctx(ctx, AuditEntry("user_password_set", resource_type="user", resource_id=user.id))


def _revoke_all(ctx: Context, user: User) -> None:
    now = utcnow()
    for s in ctx.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ):
        s.revoked_at = now


# -- sessions ------------------------------------------------------------------------------------


@action("session_login")
def session_login(ctx: Context, username: str, password: str) -> tuple[User, UserSession]:
    """Check a password and open a web session. Failures are audited and say nothing about which part was wrong."""
    ctx.authorize("session_login")
    user = ctx.session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        record(
            ctx.session,
            ANONYMOUS,
            AuditEntry("session_login", result="denied", resource_type="user", details={"username": username}),
            ip=ctx.ip,
        )
        raise NotAuthenticated("用户名或密码错误")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    now = utcnow()
    user.last_login_at = now
    login = UserSession(user_id=user.id, expires_at=now + timedelta(seconds=ctx.settings.session_max_age), ip=ctx.ip)
    ctx.session.add(login)
    ctx.session.flush()
    record(
        ctx.session,
        actor_for_user(user),
        AuditEntry("session_login", resource_type="user", resource_id=user.id),
        ip=ctx.ip,
    )
    return user, login


@action("session_logout")
def session_logout(ctx: Context, session_id: str) -> None:
    ctx.authorize("session_logout")
    login = ctx.session.get(UserSession, session_id)
    if login and login.user_id == ctx.actor.user_id and login.revoked_at is None:
        login.revoked_at = utcnow()
        record_ctx(ctx, AuditEntry("session_logout", resource_type="user", resource_id=login.user_id))


def actor_from_session(ctx_session: object, session_id: str) -> Actor | None:
    from sqlalchemy.orm import Session

    assert isinstance(ctx_session, Session)
    login = ctx_session.get(UserSession, session_id)
    if login is None or login.revoked_at is not None or login.expires_at <= utcnow():
        return None
    user = ctx_session.get(User, login.user_id)
    if user is None or not user.is_active:
        return None
    return actor_for_user(user)


# -- API tokens ----------------------------------------------------------------------------------


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    ctx: Context, user: User, name: str, scopes: list[str], days: int | None, grant_id: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token row and return it with the secret (shown once). Callers authorize first."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=_hash_token(secret),
        scopes=sorted(set(scopes)),
        grant_id=grant_id,
        expires_at=utcnow() + timedelta(days=days or ctx.settings.token_default_days),
    )
    ctx.session.add(token)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "token_create",
            resource_type="token",
            resource_id=token.id,
            details={"name": name, "scopes": token.scopes, "owner": user.username, "grant_id": grant_id},
        ),
    )
    return token, secret


@action("token_create")
def token_create(ctx: Context, data: TokenCreate) -> tuple[ApiToken, str]:
    ctx.authorize("token_create")
    user = get_user(ctx, ctx.actor.user_id or "")
    allowed_scopes = policy.scopes_for_roles(frozenset(Role(r) for r in user.roles))
    wider = sorted(set(data.scopes) - allowed_scopes)
    if wider:
        raise Invalid(
            f"令牌权限范围不能超出本人角色：{', '.join(wider)}",
            details={"field": "scopes", "not_allowed": wider, "allowed": sorted(allowed_scopes)},
        )
    return issue_token(ctx, user, data.name, data.scopes, data.days)


@action("token_list")
def token_list(ctx: Context) -> list[ApiToken]:
    ctx.authorize("token_list")
    return list(
        ctx.session.scalars(
            select(ApiToken).where(ApiToken.user_id == ctx.actor.user_id).order_by(ApiToken.created_at.desc())
        )
    )


@action("token_revoke")
def token_revoke(ctx: Context, token_id: str) -> ApiToken:
    token = ctx.session.get(ApiToken, token_id)
    ctx.authorize("token_revoke", token)
    if token is None:
        raise NotFound(f"令牌 {token_id} 不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_ctx(ctx, AuditEntry("token_revoke", resource_type="token", resource_id=token.id))
    return token


@dataclass(frozen=True)
class TokenUse:
    """The token that authenticated a call, as far as the call needs it (kept in ``session.info``)."""

    id: str
    grant_id: str | None
    last_used_at: datetime | None


def touch_token(session: Session, token: TokenUse, now: datetime | None = None) -> None:
    """Note that the token was used (``last_used_at``), at most once a minute: it is advisory, and
    once a minute keeps hot paths write-free."""
    now = now or utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        _TOUCH.execute(session, {"id": token.id, "now": now})


_T, _U = ApiToken.__table__.c, User.__table__.c
# the token and its user in one query, run on the driver (see Direct): this runs before every API call
_TOKEN_AND_USER = Direct(
    select(
        _T.id, _T.prefix, _T.scopes, _T.grant_id, _T.expires_at, _T.revoked_at, _T.last_used_at,
        _U.id, _U.username, _U.dept_id, _U.roles, _U.divisions, _U.is_active,
    )
    .join_from(ApiToken.__table__, User.__table__, _U.id == _T.user_id)
    .where(_T.token_hash == bindparam("hash"))
)  # fmt: skip
_TOUCH = Direct(update(ApiToken.__table__).where(_T.id == bindparam("id")).values(last_used_at=bindparam("now")))


def actor_from_token(session: Session, secret: str, *, touch: bool = True) -> Actor:
    """Resolve a bearer token; raise NotAuthenticated with the reason when it cannot be used.

    ``touch=False`` leaves noting the token's use to the caller (:func:`touch_token`), for a
    transaction that must not write."""
    found = _TOKEN_AND_USER.rows(session, {"hash": _hash_token(secret)})
    if not found:
        raise NotAuthenticated("令牌无效")
    token_id, prefix, scopes, grant_id, expires_at, revoked_at, last_used_at = found[0][:7]
    user_id, username, dept_id, roles, divisions, is_active = found[0][7:]
    now = utcnow()
    if revoked_at is not None:
        raise NotAuthenticated("令牌已吊销", details={"token": prefix})
    if expires_at <= now:
        raise NotAuthenticated("令牌已过期", details={"token": prefix, "expired_at": expires_at.isoformat()})
    if not is_active:
        raise NotAuthenticated("令牌所属用户已停用")
    token = TokenUse(token_id, grant_id, last_used_at)
    if touch:
        touch_token(session, token, now)
    # what the call's checks ask of the token again (its grant) is read from here, not queried
    session.info["auth_token"] = token
    return _actor(user_id, username, dept_id, roles, divisions, frozenset(scopes), token_id)
