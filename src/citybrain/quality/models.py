"""Governance (治理) tables: steward rules, runs and their per-rule results and failing rows,
rectification tickets (整改工单) with the records they cover, and data objections (数据异议).

The data itself stays in the lake; these tables hold what a run found on one lake version and the
lifecycle of the work it created for the source department.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from citybrain.db import Base, IdMixin, utcnow


class TicketStatus(StrEnum):
    OPEN = "open"  # 待整改
    CLOSED = "closed"  # 已整改 (closed by a run on a corrected version)
    REJECTED = "rejected"  # 已驳回 (the source department disputes it, with a reason)


class ItemStatus(StrEnum):
    OPEN = "open"
    FIXED = "fixed"  # the record is still there and now passes the rule
    REMOVED = "removed"  # the record is no longer in the resource


class ObjectionStatus(StrEnum):
    OPEN = "open"  # 待处理
    UPHELD = "upheld"  # 异议成立, to be fixed by a new version
    FIXED = "fixed"  # upheld and a new version of the source was loaded since
    REJECTED = "rejected"  # 异议不成立, with a reason


#: the only moves a ticket or an objection can make; anything else is a Conflict
TICKET_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.CLOSED, TicketStatus.REJECTED}),
    TicketStatus.CLOSED: frozenset(),
    TicketStatus.REJECTED: frozenset(),
}
OBJECTION_TRANSITIONS: dict[ObjectionStatus, frozenset[ObjectionStatus]] = {
    ObjectionStatus.OPEN: frozenset({ObjectionStatus.UPHELD, ObjectionStatus.REJECTED}),
    ObjectionStatus.UPHELD: frozenset({ObjectionStatus.FIXED}),
    ObjectionStatus.FIXED: frozenset(),
    ObjectionStatus.REJECTED: frozenset(),
}


def department_names(session: Session) -> dict[str, str]:
    """Department names by id, for labelling tickets, objections and 比对 sources."""
    from citybrain.org.models import Department

    return {d.id: d.name for d in session.scalars(select(Department))}


def can_move(table: dict[Any, frozenset[Any]], current: str, new: str) -> bool:
    return new in table.get(current, frozenset())  # type: ignore[call-overload]


class QualityRuleSpec(IdMixin, Base):
    """A rule a steward added to one resource, on top of those derived from the catalog."""

    __tablename__ = "quality_rule"
    __table_args__ = (UniqueConstraint("resource_id", "rule_id"),)

    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    #: the rule's JSON form (citybrain.quality.rules.Rule.to_dict)
    spec: Mapped[dict[str, Any]] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QualityRun(IdMixin, Base):
    """One run of a resource's rules on one lake version, with its GB/T 36344 scores."""

    __tablename__ = "quality_run"

    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    overall: Mapped[float | None] = mapped_column(Float)
    #: {"completeness": 98.5, ...}: only dimensions some rule checked
    dimensions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: rules not evaluated and why (a column missing from this version, a reference not loaded)
    skipped: Mapped[list[Any]] = mapped_column(default=list)
    tickets_opened: Mapped[int] = mapped_column(Integer, default=0)
    tickets_closed: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    results: Mapped[list[QualityRuleResult]] = relationship(
        back_populates="run", order_by="QualityRuleResult.rule_id", cascade="all, delete-orphan"
    )


class QualityRuleResult(IdMixin, Base):
    """One rule's outcome in a run."""

    __tablename__ = "quality_rule_result"

    run_id: Mapped[str] = mapped_column(ForeignKey("quality_run.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    dimension: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(16))  # catalog | steward
    description: Mapped[str] = mapped_column(Text, default="")
    columns: Mapped[list[Any]] = mapped_column(default=list)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    #: for 比对: {"other": key, "other_name", "other_dept", "authoritative_dept", ...}
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)

    run: Mapped[QualityRun] = relationship(back_populates="results")


class QualityFailure(IdMixin, Base):
    """A failing row of one rule in one run (capped per rule; the count is in the result)."""

    __tablename__ = "quality_failure"

    run_id: Mapped[str] = mapped_column(ForeignKey("quality_run.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rule_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(Text)  # composite keys can be long
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    #: the other columns the rule read; for 比对 the other source's value under "{source}.{column}"
    related: Mapped[list[Any]] = mapped_column(default=list)


class QualityTicket(IdMixin, Base):
    """整改工单: one rule's failures on one resource, sent to the source department's stewards."""

    __tablename__ = "quality_ticket"

    number: Mapped[str] = mapped_column(String(32), unique=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    #: the department that must rectify: the resource's source department
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    dimension: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.OPEN, index=True)
    opened_run_id: Mapped[str] = mapped_column(String(32))
    opened_version: Mapped[int] = mapped_column(Integer)
    last_run_id: Mapped[str] = mapped_column(String(32))
    last_version: Mapped[int] = mapped_column(Integer)
    #: failing rows when last checked (may exceed the items kept)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_version: Mapped[int | None] = mapped_column(Integer)
    rejected_at: Mapped[datetime | None] = mapped_column()
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column()

    items: Mapped[list[QualityTicketItem]] = relationship(
        back_populates="ticket", order_by="QualityTicketItem.key", cascade="all, delete-orphan"
    )


class QualityTicketItem(IdMixin, Base):
    """One problem record of a ticket and whether a later version rectified it."""

    __tablename__ = "quality_ticket_item"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("quality_ticket.id", ondelete="CASCADE"), index=True)
    key: Mapped[str | None] = mapped_column(Text)  # composite keys can be long
    field: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    related: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.OPEN)
    fixed_version: Mapped[int | None] = mapped_column(Integer)
    fixed_at: Mapped[datetime | None] = mapped_column()

    ticket: Mapped[QualityTicket] = relationship(back_populates="items")


class QualityObjection(IdMixin, Base):
    """数据异议: a data consumer disputes specific records; routed to the authoritative source."""

    __tablename__ = "quality_objection"

    number: Mapped[str] = mapped_column(String(32), unique=True)
    #: the resource the consumer was using
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    #: where it was routed: the authoritative resource for the disputed field (一数一源) and its department
    target_resource_id: Mapped[str] = mapped_column(String(32), index=True)
    target_resource_key: Mapped[str] = mapped_column(String(64))
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    field: Mapped[str | None] = mapped_column(String(64))
    target_field: Mapped[str | None] = mapped_column(String(64))
    keys: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ObjectionStatus.OPEN, index=True)
    raised_by: Mapped[str | None] = mapped_column(String(64))
    raised_by_id: Mapped[str | None] = mapped_column(String(32))
    raised_by_dept_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_reason: Mapped[str | None] = mapped_column(Text)
    fixed_version: Mapped[int | None] = mapped_column(Integer)
