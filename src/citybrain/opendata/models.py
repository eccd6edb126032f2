"""Open-data tables: open datasets, open-catalog batches, 有条件开放 applications, apps and usage counters."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.db import Base, IdMixin, TimestampMixin, utcnow


class DatasetStatus(StrEnum):
    DRAFT = "draft"  # 草稿：数据管理员编制中
    PENDING = "pending"  # 待审核：已列入开放目录批次
    PUBLISHED = "published"  # 已开放
    WITHDRAWN = "withdrawn"  # 已撤回


class BatchStatus(StrEnum):
    SUBMITTED = "submitted"  # 待首席数据官审核
    APPROVED = "approved"
    REJECTED = "rejected"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    REVOKED = "revoked"


class OpenDataset(IdMixin, TimestampMixin, Base):
    """开放数据集: what the public sees of one catalog resource — chosen fields, masked as decided."""

    __tablename__ = "open_dataset"
    #: the search index's freshness stamp (count and newest change of the published datasets) reads only this
    __table_args__ = (Index("ix_open_dataset_status_updated_at", "status", "updated_at"),)

    #: CKAN package name: lower-case letters, digits, "-" and "_"; stable once published
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    dept_id: Mapped[str] = mapped_column(ForeignKey("department.id"), index=True)
    open_type: Mapped[str] = mapped_column(String(8), index=True)
    topic: Mapped[str | None] = mapped_column(String(64), index=True)
    update_frequency: Mapped[str] = mapped_column(String(8), index=True)
    licence: Mapped[str] = mapped_column(String(64))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    #: [{"name", "title", "data_type", "mask": MaskSpec.to_dict() | None}] — only these columns are served
    fields: Mapped[list[Any]] = mapped_column(default=list)
    #: True: serve the resource's current lake version; False: stay on ``version``
    follow_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int | None] = mapped_column(Integer)
    data_updated_at: Mapped[datetime | None] = mapped_column()
    rows: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=DatasetStatus.DRAFT, index=True)
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)
    published_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(String(64))
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0)
    #: denormalised, lower-cased text for Chinese full-text search
    search_text: Mapped[str] = mapped_column(Text, default="")


class OpenDatasetTag(Base):
    """One row per dataset tag, so tag facets and ``tags:`` filters are an indexed GROUP BY."""

    __tablename__ = "open_dataset_tag"

    dataset_id: Mapped[str] = mapped_column(ForeignKey("open_dataset.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class OpenCatalogBatch(IdMixin, Base):
    """开放目录批次: datasets submitted together; the chief data officer approves or rejects the batch."""

    __tablename__ = "open_catalog_batch"

    title: Mapped[str] = mapped_column(String(200))
    dept_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.SUBMITTED, index=True)
    dataset_ids: Mapped[list[Any]] = mapped_column(default=list)
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)


class OpenApplication(IdMixin, Base):
    """有条件开放申请: who wants a conditional dataset, why, and the source department's answer."""

    __tablename__ = "open_application"

    dataset_id: Mapped[str] = mapped_column(ForeignKey("open_dataset.id"), index=True)
    #: the dataset's source department, who decides
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    applicant_kind: Mapped[str] = mapped_column(String(16))  # person | company
    organization: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    purpose: Mapped[str] = mapped_column(Text)
    intended_use: Mapped[str] = mapped_column(Text)
    terms_version: Mapped[str] = mapped_column(String(16))
    terms_accepted_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)
    token_id: Mapped[str | None] = mapped_column(String(32), index=True)
    daily_calls: Mapped[int] = mapped_column(Integer, default=1000)
    max_rows: Mapped[int] = mapped_column(Integer, default=1000)
    expires_at: Mapped[datetime | None] = mapped_column()


class OpenApp(IdMixin, Base):
    """开放数据应用: a service built on open data, with the datasets it uses."""

    __tablename__ = "open_app"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(500))
    developer: Mapped[str] = mapped_column(String(200))
    dataset_ids: Mapped[list[Any]] = mapped_column(default=list)
    registered_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpenUsage(Base):
    """Daily counters per dataset and credential: downloads, API calls, page views (for metrics and limits)."""

    __tablename__ = "open_usage"
    __table_args__ = (UniqueConstraint("dataset_id", "token_id", "day", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(String(32), index=True)
    #: "" when not made with a personal key (NULLs would not be unique on PostgreSQL)
    token_id: Mapped[str] = mapped_column(String(32), default="")
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # download | api | view
    count: Mapped[int] = mapped_column(Integer, default=0)
