"""Sharing tables: requests and their approvals, grants, demands, calls, exports and alerts.

``dept_id`` on every table is the *source* department (the one that owns the data), so the
platform's own-department rules let that department's steward act on them; the consumer side is
``consumer_dept_id``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.db import Base, IdMixin, utcnow


class RequestStatus(StrEnum):
    PENDING_STEWARD = "pending_steward"  # 待来源部门审核
    PENDING_CDO = "pending_cdo"  # 待首席数据官审批 (重要/核心数据)
    GRANTED = "granted"
    REFUSED = "refused"


class GrantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class DemandStatus(StrEnum):
    OPEN = "open"
    SUPPLIED = "supplied"
    REFUSED = "refused"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AccessMode(StrEnum):
    LOOKUP = "lookup"  # 按主键查询
    QUERY = "query"  # 条件查询、分页
    EXPORT = "export"  # 批量导出
    VERIFY = "verify"  # 数据核验: yes/no, no data returned


class ShareRequest(IdMixin, Base):
    """共享申请: what a consumer department asks for, and the terms finally approved."""

    __tablename__ = "share_request"

    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    #: source department (owner of the resource)
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    consumer_dept_id: Mapped[str] = mapped_column(String(32), index=True)
    requester_id: Mapped[str] = mapped_column(String(32), index=True)
    requester_name: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[list[Any]] = mapped_column(default=list)
    #: [{"field", "op": "in" | "prefix", "values": [...]}]; empty = every row
    row_filter: Mapped[list[Any]] = mapped_column(default=list)
    modes: Mapped[list[Any]] = mapped_column(default=list)
    #: fields asked to be shown unmasked (only an approver can lift masking)
    unmask: Mapped[list[Any]] = mapped_column(default=list)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    days: Mapped[int] = mapped_column(Integer)
    expected_volume: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(4))
    share_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: terms as narrowed by the approvers so far (same keys as the request's own)
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column()


class ShareApproval(IdMixin, Base):
    """One approver's decision on a request (来源部门审核, 首席数据官审批)."""

    __tablename__ = "share_approval"

    request_id: Mapped[str] = mapped_column(ForeignKey("share_request.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # steward | cdo | auto
    decision: Mapped[str] = mapped_column(String(16))  # approve | refuse
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_by_name: Mapped[str | None] = mapped_column(String(64))
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ShareGrant(IdMixin, Base):
    """授权: exactly what one consumer department may read of one resource, until when, how often."""

    __tablename__ = "share_grant"

    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    consumer_dept_id: Mapped[str] = mapped_column(String(32), index=True)
    consumer_user_id: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[Any]] = mapped_column(default=list)
    row_filter: Mapped[list[Any]] = mapped_column(default=list)
    modes: Mapped[list[Any]] = mapped_column(default=list)
    #: field → MaskSpec dict for every granted field that is not shown as is
    masking: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unmasked: Mapped[list[Any]] = mapped_column(default=list)
    purpose: Mapped[str] = mapped_column(Text)
    expected_volume: Mapped[int | None] = mapped_column(Integer)
    rate_limit: Mapped[int] = mapped_column(Integer)  # calls per minute
    status: Mapped[str] = mapped_column(String(16), index=True)
    token_id: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class GrantRow:
    """A grant as one access call reads it: the grant's columns and its resource's status, fetched in
    one statement on the driver (see ``citybrain.share.access``). Read-only: a change to a grant goes
    through :class:`ShareGrant`."""

    id: str
    request_id: str | None
    resource_id: str
    resource_key: str
    dept_id: str
    consumer_dept_id: str
    consumer_user_id: str
    fields: list[Any]
    row_filter: list[Any]
    modes: list[Any]
    masking: dict[str, Any]
    unmasked: list[Any]
    purpose: str
    expected_volume: int | None
    rate_limit: int
    status: str
    token_id: str | None
    expires_at: datetime
    created_at: datetime
    changed_at: datetime | None
    reason: str | None
    #: None when the resource no longer exists
    resource_status: str | None

    @classmethod
    def grant_columns(cls) -> list[str]:
        """The :class:`ShareGrant` columns, in this record's order."""
        return [f.name for f in fields(cls) if f.name != "resource_status"]


#: what the checks, the masking and the audit of an access call read a grant from
AnyGrant = ShareGrant | GrantRow


class ShareDemand(IdMixin, Base):
    """需求清单: data a department needs that the catalog does not list, routed to a likely source."""

    __tablename__ = "share_demand"

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    consumer_dept_id: Mapped[str] = mapped_column(String(32), index=True)
    requester_id: Mapped[str] = mapped_column(String(32))
    #: routed source department (None when no department matched: the CDO routes it by hand)
    dept_id: Mapped[str | None] = mapped_column(String(32), index=True)
    routing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(32))
    resource_key: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()
    answered_by: Mapped[str | None] = mapped_column(String(64))


class ShareCall(IdMixin, Base):
    """One access call against a grant: the basis of rate limits, usage, metrics and anomalies."""

    __tablename__ = "share_call"
    __table_args__ = (Index("ix_share_call_grant_at", "grant_id", "at"),)

    grant_id: Mapped[str] = mapped_column(String(32))
    resource_key: Mapped[str] = mapped_column(String(64), index=True)
    dept_id: Mapped[str] = mapped_column(String(32))
    consumer_dept_id: Mapped[str] = mapped_column(String(32), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    #: lookups and verifications: did the key / record match a row
    hit: Mapped[bool | None] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ShareUsageMinute(Base):
    """Calls and rows per grant per clock minute, kept for the volume baseline's days: what the rate
    limit (two rows) and the volume check (a day's or a baseline's rows) read, instead of counting a
    busy grant's :class:`ShareCall` rows (thousands a minute, hundreds of thousands a day)."""

    __tablename__ = "share_usage_minute"
    # the rows are read by primary key range only: on SQLite the table is that B-tree itself
    __table_args__ = {"sqlite_with_rowid": False}

    grant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: minutes since the Unix epoch (UTC)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)


class ShareExport(IdMixin, Base):
    """A bulk export running in the background; ``heartbeat_at`` shows it is alive."""

    __tablename__ = "share_export"

    grant_id: Mapped[str] = mapped_column(String(32), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    consumer_dept_id: Mapped[str] = mapped_column(String(32), index=True)
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_by_name: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[str | None] = mapped_column(String(32))
    #: the call row counted for rate limits and volume; its row count is filled in when the job ends
    call_id: Mapped[str | None] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class ShareAlert(IdMixin, Base):
    """异常告警 for the source steward and the security officers."""

    __tablename__ = "share_alert"

    kind: Mapped[str] = mapped_column(String(32), index=True)  # volume_jump | off_hours_export | key_enumeration
    grant_id: Mapped[str] = mapped_column(String(32), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    consumer_dept_id: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | acknowledged
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
