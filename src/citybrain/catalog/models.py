"""Catalog tables: data element standards (数据元标准), resources (数据资源) and their fields."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from citybrain.db import Base, IdMixin, TimestampMixin, utcnow


class Category(StrEnum):
    BASE = "基础库"
    THEME = "主题库"
    DEPARTMENT = "部门库"


class BaseLibrary(StrEnum):
    POPULATION = "人口"
    LEGAL_ENTITY = "法人"
    CREDIT = "信用"
    LICENSE = "电子证照"
    SPATIAL = "空间地理"


class ShareType(StrEnum):
    UNCONDITIONAL = "无条件共享"
    CONDITIONAL = "有条件共享"
    NONE = "不予共享"


class OpenType(StrEnum):
    UNCONDITIONAL = "无条件开放"
    CONDITIONAL = "有条件开放"
    NONE = "不予开放"


class Grade(StrEnum):
    """Data grade per GB/T 43697-2024."""

    GENERAL = "一般"
    IMPORTANT = "重要"
    CORE = "核心"


class Frequency(StrEnum):
    REALTIME = "实时"
    DAILY = "每日"
    WEEKLY = "每周"
    MONTHLY = "每月"
    QUARTERLY = "每季度"
    YEARLY = "每年"
    IRREGULAR = "不定期"


#: how long data may go without a load before it is stale (for timeliness rules), in days
FREQUENCY_DAYS: dict[Frequency, int | None] = {
    Frequency.REALTIME: 1,
    Frequency.DAILY: 1,
    Frequency.WEEKLY: 7,
    Frequency.MONTHLY: 31,
    Frequency.QUARTERLY: 92,
    Frequency.YEARLY: 366,
    Frequency.IRREGULAR: None,
}


class DataType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


class FieldRole(StrEnum):
    """一数一源: a field is the authoritative source of its data element, or a copy of it."""

    AUTHORITATIVE = "authoritative"
    COPY = "copy"


class DataStandard(IdMixin, TimestampMixin, Base):
    """数据元标准: what a value means, its format, and the check that validates it."""

    __tablename__ = "data_standard"

    name: Mapped[str] = mapped_column(String(64), unique=True)  # code name, e.g. citizen_id
    title: Mapped[str] = mapped_column(String(64))  # 中文名称, e.g. 公民身份号码
    title_en: Mapped[str | None] = mapped_column(String(100))
    definition: Mapped[str] = mapped_column(Text, default="")
    data_type: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str | None] = mapped_column(String(200))
    min_length: Mapped[int | None] = mapped_column(Integer)
    max_length: Mapped[int | None] = mapped_column(Integer)
    #: [{"code": "1", "name": "男"}, ...] for enumerated elements
    code_list: Mapped[list[Any] | None] = mapped_column()
    #: name of the check in citybrain.standards.checks.CHECKS (check digits and the like)
    check: Mapped[str | None] = mapped_column(String(32))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    reference: Mapped[str | None] = mapped_column(String(100))  # e.g. GB 11643-1999
    sensitivity: Mapped[int] = mapped_column(Integer, default=1)  # default field sensitivity 1..4
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class Resource(IdMixin, TimestampMixin, Base):
    """数据资源: one catalog entry, owned by its source department."""

    __tablename__ = "resource"

    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable code name; the lake folder
    oid: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    dept_id: Mapped[str] = mapped_column(ForeignKey("department.id"), index=True)
    category: Mapped[str] = mapped_column(String(8))
    base_library: Mapped[str | None] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(64))
    update_frequency: Mapped[str] = mapped_column(String(8))
    share_type: Mapped[str] = mapped_column(String(8))
    share_basis: Mapped[str | None] = mapped_column(Text)
    open_type: Mapped[str] = mapped_column(String(8))
    open_basis: Mapped[str | None] = mapped_column(Text)
    grade: Mapped[str] = mapped_column(String(4))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    primary_key: Mapped[list[Any]] = mapped_column(default=list)
    document_number: Mapped[str | None] = mapped_column(String(64))  # 文号 of the source document, if any
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | retired
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(32))
    #: denormalised text for catalog search: names, fields, standards and their aliases, tags
    search_text: Mapped[str] = mapped_column(Text, default="")

    fields: Mapped[list[ResourceField]] = relationship(
        back_populates="resource", order_by="ResourceField.position", cascade="all, delete-orphan"
    )


class ResourceField(IdMixin, Base):
    """A data item (信息项) of a resource, bound to a data element standard."""

    __tablename__ = "resource_field"
    __table_args__ = (UniqueConstraint("resource_id", "name"),)

    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    standard_id: Mapped[str | None] = mapped_column(ForeignKey("data_standard.id"))
    data_type: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitivity: Mapped[int] = mapped_column(Integer, default=1)
    #: data element identity for 一数一源, e.g. "法人.legal_representative"
    element: Mapped[str | None] = mapped_column(String(100), index=True)
    role: Mapped[str | None] = mapped_column(String(16))  # FieldRole or None

    resource: Mapped[Resource] = relationship(back_populates="fields")
    standard: Mapped[DataStandard | None] = relationship()


class AuthoritativeSource(Base):
    """一数一源: the one field (and so the one department) that is authoritative for a data element."""

    __tablename__ = "authoritative_source"

    element: Mapped[str] = mapped_column(String(100), primary_key=True)
    field_id: Mapped[str] = mapped_column(ForeignKey("resource_field.id", ondelete="CASCADE"))
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"))
    dept_id: Mapped[str] = mapped_column(ForeignKey("department.id"))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class OidAllocation(Base):
    """Every OID ever issued; never deleted, so no OID is reused."""

    __tablename__ = "oid_allocation"

    oid: Mapped[str] = mapped_column(String(100), primary_key=True)
    dept_oid_code: Mapped[int] = mapped_column(Integer, index=True)
    item: Mapped[int] = mapped_column(Integer)
    resource_id: Mapped[str] = mapped_column(String(32))
    allocated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("dept_oid_code", "item"),)


class CatalogChange(IdMixin, Base):
    """History of a catalog entry: who changed what, when (变更记录)."""

    __tablename__ = "catalog_change"

    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(16))  # create | update | retire | import
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    diff: Mapped[dict[str, Any]] = mapped_column(default=dict)
