"""Recording audit events in the same transaction as the change they describe."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from citybrain.audit.models import AuditEvent
from citybrain.auth.actor import Actor
from citybrain.db import Direct, utcnow

#: any constant works; it names the lock that serialises appends to the chain on PostgreSQL
_PG_LOCK_KEY = 72450001


@dataclass(frozen=True)
class AuditEntry:
    """One named event: what happened, to what, for whom, with what result."""

    action: str
    result: str = "ok"
    resource_type: str | None = None
    resource_id: str | None = None
    fields: list[str] | None = None
    row_count: int | None = None
    purpose: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


#: the columns the hash covers (everything but the hashes themselves)
CHAINED_COLUMNS = (
    "seq",
    "at",
    "action",
    "result",
    "actor_kind",
    "user_id",
    "username",
    "dept_id",
    "token_id",
    "resource_type",
    "resource_id",
    "fields",
    "row_count",
    "purpose",
    "ip",
    "request_id",
    "details",
)


def chain_payload(event: AuditEvent) -> dict[str, Any]:
    """The columns covered by the hash, as stored."""
    return {name: getattr(event, name) for name in CHAINED_COLUMNS}


def append(
    session: Session,
    actor: Actor,
    entry: AuditEntry,
    *,
    ip: str | None = None,
    request_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Append ``entry`` to the chain inside the caller's transaction; the row as written.

    For the share calls, which append on every call and never read the entry back; anything else
    uses :func:`record`."""
    from citybrain.audit.chain import GENESIS, entry_hash

    # whatever the transaction still has to write goes first, so that it is not written under the lock
    session.flush()
    last = _lock_chain_head(session)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    values = {
        "seq": seq,
        "at": at or utcnow(),
        "action": entry.action,
        "result": entry.result,
        "actor_kind": actor.kind,
        "user_id": actor.user_id,
        "username": actor.username,
        "dept_id": actor.dept_id,
        "token_id": actor.token_id,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "fields": entry.fields,
        "row_count": entry.row_count,
        "purpose": entry.purpose,
        "ip": ip,
        "request_id": request_id,
        "details": entry.details or None,
    }
    payload = {name: values[name] for name in CHAINED_COLUMNS}  # what verification will hash
    row = {**payload, "prev_hash": prev, "hash": entry_hash(prev, payload)}
    # a plain INSERT rather than a unit-of-work flush: the row is known in full, and every microsecond
    # here is spent holding the chain's lock
    _INSERT.execute(session, row)
    return row


def record(
    session: Session,
    actor: Actor,
    entry: AuditEntry,
    *,
    ip: str | None = None,
    request_id: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append ``entry`` to the chain inside the caller's transaction; the session's copy of the row."""
    event = AuditEvent(**append(session, actor, entry, ip=ip, request_id=request_id, at=at))
    # the object becomes the session's copy of that row, as if it had been loaded
    make_transient_to_detached(event)
    session.add(event)
    return event


# run on the driver's cursor (see Direct): every audited call appends, holding the chain's lock
_INSERT = Direct(insert(AuditEvent.__table__))
_HEAD = Direct(text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"))

#: the lock, then the chain head, in one round trip: two statements of one simple query, each with its
#: own snapshot, so the head is read after the lock is granted and is the committed one
_PG_LOCK_AND_HEAD = (
    f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY}); SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
)


def _lock_chain_head(session: Session) -> tuple[int, str] | None:
    """Serialise appends to the chain and read its head (seq, hash); held until the transaction ends.

    SQLite needs no lock: its writers are serialised at BEGIN IMMEDIATE (see ``citybrain.db``)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        rows = _HEAD.rows(session, {})
        return (int(rows[0][0]), str(rows[0][1])) if rows else None
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.execute(_PG_LOCK_AND_HEAD)
        cursor.nextset()
        head = cursor.fetchone()
    return (head[0], head[1]) if head is not None else None


def record_ctx(ctx: Any, entry: AuditEntry) -> AuditEvent:
    """Shorthand for actions: record with the context's actor and request facts."""
    return record(ctx.session, ctx.actor, entry, ip=ctx.ip, request_id=ctx.request_id)


# -- reading, verifying, exporting -----------------------------------------------------------------

from collections.abc import Iterator  # noqa: E402

from citybrain.actions import Context, action  # noqa: E402


def _events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    """Stream the log in seq order with constant memory (keyset pagination)."""
    last = 0
    while True:
        rows = list(
            session.scalars(select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch))
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


@action("audit_list")
def audit_list(
    ctx: Context,
    *,
    action_name: str | None = None,
    user: str | None = None,
    resource_id: str | None = None,
    result: str | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AuditEvent]:
    ctx.authorize("audit_list")
    q = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(min(limit, 1000))
    if action_name:
        q = q.where(AuditEvent.action == action_name)
    if user:
        q = q.where(AuditEvent.username == user)
    if resource_id:
        q = q.where(AuditEvent.resource_id == resource_id)
    if result:
        q = q.where(AuditEvent.result == result)
    if before_seq:
        q = q.where(AuditEvent.seq < before_seq)
    return list(ctx.session.scalars(q))


@action("audit_verify")
def audit_verify(ctx: Context) -> dict[str, Any]:
    """Recompute the SM3 chain; report every edited, deleted, inserted or reordered entry."""
    ctx.authorize("audit_verify")
    from citybrain.audit.chain import verify

    count = 0

    def entries() -> Iterator[tuple[int, dict[str, Any], str, str]]:
        nonlocal count
        for e in _events(ctx.session):
            count += 1
            yield e.seq, chain_payload(e), e.prev_hash, e.hash

    problems = verify(entries(), first_seq=1)
    return {"ok": not problems, "entries": count, "problems": [p.to_dict() for p in problems]}


@action("audit_export")
def audit_export(ctx: Context) -> Iterator[str]:
    """JSON lines of every entry with its hashes, for auditors to verify independently."""
    ctx.authorize("audit_export")
    import json

    record_ctx(ctx, AuditEntry("audit_export", resource_type="audit"))

    def lines() -> Iterator[str]:
        for e in _events(ctx.session):
            yield (
                json.dumps(
                    {**chain_payload(e), "prev_hash": e.prev_hash, "hash": e.hash}, ensure_ascii=False, default=str
                )
                + "\n"
            )

    return lines()
