"""Tables of the yearly 工业企业效益综合评价 cycle.

A :class:`Cycle` is one 评价年度 moving through 数据采集 → 数据核对 → 评价分类 → 结果通报 (every move in
:class:`Transition`). During 数据核对 towns and firms confirm or object (:class:`Confirmation`,
:class:`Objection`); codes in department data that are invalid or join no registered firm are listed per
source department (:class:`DataException`). Each :class:`Run` records the parameter version and the lake
version of every input it read, with one :class:`Result` row per firm; the 领导小组's T list and 调档
decisions are :class:`Decision` rows with their reasons. The published D list feeds the 危污乱散低
clear-out register (:class:`Clearout`). Firm portal accounts are bound to a 统一社会信用代码 in
:class:`FirmAccount`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.db import Base, IdMixin, utcnow


class Cycle(IdMixin, Base):
    __tablename__ = "eff_cycle"

    year: Mapped[int] = mapped_column(Integer, unique=True)
    params_version: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    #: 数据核对 deadline: no reply by then counts as acceptance (逾期视为认可)
    check_deadline: Mapped[date | None] = mapped_column(Date)
    collecting_at: Mapped[datetime] = mapped_column(default=utcnow)
    checking_at: Mapped[datetime | None] = mapped_column()
    evaluating_at: Mapped[datetime | None] = mapped_column()
    published_at: Mapped[datetime | None] = mapped_column()
    #: lake versions frozen when 数据核对 opened: what towns and firms were shown
    check_versions: Mapped[dict[str, Any] | None] = mapped_column()
    #: the run the 领导小组 confirmed; 结果通报 publishes it
    confirmed_run_id: Mapped[str | None] = mapped_column(String(32))
    confirmed_at: Mapped[datetime | None] = mapped_column()
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transition(IdMixin, Base):
    __tablename__ = "eff_transition"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("eff_cycle.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(500))
    by: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class DataException(IdMixin, Base):
    """A code in a department's data that is invalid (GB 32100) or matches no registered firm."""

    __tablename__ = "eff_exception"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("eff_cycle.id", ondelete="CASCADE"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64), index=True)
    dept_id: Mapped[str | None] = mapped_column(String(32), index=True)
    data_version: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(64))
    #: invalid | unmatched
    problem: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer, default=1)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Objection(IdMixin, Base):
    """An objection to the data used for a firm, raised in 数据核对.

    Kept here because the deadline and 逾期视为认可 belong to the cycle; an objection naming a resource is
    routed to the department that supplied it (``dept_id``) and, with the quality service installed,
    raised there as a 数据异议 (``quality_objection_id``), whose decision settles this row.
    """

    __tablename__ = "eff_objection"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("eff_cycle.id", ondelete="CASCADE"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    town_code: Mapped[str | None] = mapped_column(String(12), index=True)
    resource_key: Mapped[str | None] = mapped_column(String(64))
    field: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    #: the source department that answers: the disputed resource's; None = the 领导小组 office
    dept_id: Mapped[str | None] = mapped_column(String(32), index=True)
    quality_objection_id: Mapped[str | None] = mapped_column(String(32))
    quality_number: Mapped[str | None] = mapped_column(String(32))
    #: open | accepted | rejected
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    raised_by: Mapped[str | None] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[str | None] = mapped_column(String(64))
    replied_at: Mapped[datetime | None] = mapped_column()


class Confirmation(IdMixin, Base):
    """A firm's (or its town's) explicit confirmation of its data."""

    __tablename__ = "eff_confirmation"
    __table_args__ = (UniqueConstraint("cycle_id", "uscc"),)

    cycle_id: Mapped[str] = mapped_column(ForeignKey("eff_cycle.id", ondelete="CASCADE"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    by: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(IdMixin, Base):
    __tablename__ = "eff_run"

    cycle_id: Mapped[str] = mapped_column(ForeignKey("eff_cycle.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    params_version: Mapped[str] = mapped_column(String(32))
    params_fingerprint: Mapped[str] = mapped_column(String(32))
    #: resource key → lake version read
    data_versions: Mapped[dict[str, Any]] = mapped_column()
    #: the 领导小组 decisions applied (ids), so a re-run can be compared like for like
    decisions: Mapped[list[Any]] = mapped_column(default=list)
    #: SHA-256 of the result document: same data + params + decisions → same checksum
    checksum: Mapped[str] = mapped_column(String(64))
    firm_count: Mapped[int] = mapped_column(Integer)
    class_counts: Mapped[dict[str, Any]] = mapped_column()
    baselines: Mapped[dict[str, Any]] = mapped_column()
    excluded_count: Mapped[int] = mapped_column(Integer, default=0)
    results_version: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Result(IdMixin, Base):
    __tablename__ = "eff_result"
    __table_args__ = (UniqueConstraint("run_id", "uscc"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("eff_run.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(64))
    town_code: Mapped[str | None] = mapped_column(String(12), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    firm_type: Mapped[str] = mapped_column(String(32))
    area_mu: Mapped[float] = mapped_column(Float)
    tax_paid: Mapped[float] = mapped_column(Float)
    total_score: Mapped[float] = mapped_column(Float)
    score_class: Mapped[str] = mapped_column(String(1))
    cls: Mapped[str] = mapped_column("class", String(1), index=True)
    override_rule: Mapped[str | None] = mapped_column(String(32))
    breakdown: Mapped[str] = mapped_column(Text)


class Decision(IdMixin, Base):
    """A 领导小组 decision: confirm / reject a T candidate, or a 调档 4 adjustment, with its reason."""

    __tablename__ = "eff_decision"
    __table_args__ = (UniqueConstraint("cycle_id", "kind", "uscc"),)

    cycle_id: Mapped[str] = mapped_column(ForeignKey("eff_cycle.id", ondelete="CASCADE"), index=True)
    #: t_confirm | t_reject | adjust
    kind: Mapped[str] = mapped_column(String(16))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    new_class: Mapped[str | None] = mapped_column(String(1))
    #: 科技领军 | 重点培育 for adjustments
    basis: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Clearout(IdMixin, Base):
    """危污乱散低 clear-out register (溧政办发〔2023〕20号): D firms handed over at 结果通报."""

    __tablename__ = "eff_clearout"
    __table_args__ = (UniqueConstraint("year", "uscc"),)

    year: Mapped[int] = mapped_column(Integer, index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(64))
    town_code: Mapped[str | None] = mapped_column(String(12), index=True)
    area_mu: Mapped[float] = mapped_column(Float)
    #: 待整治 | 整治中 | 已提升 | 已腾退
    status: Mapped[str] = mapped_column(String(16), default="待整治")
    note: Mapped[str | None] = mapped_column(String(500))
    run_id: Mapped[str] = mapped_column(String(32))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FirmAccount(IdMixin, Base):
    """A portal (public) user acting for one firm: it sees only that firm's data and results."""

    __tablename__ = "eff_firm_account"

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    bound_by: Mapped[str | None] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)
