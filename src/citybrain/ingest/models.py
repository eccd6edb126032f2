"""Aggregation (归集) tables: loads, quarantined rows, pull sources and background jobs.

The data itself lives in the lake (:mod:`citybrain.lake`); these tables hold what the lake does
not: who loaded what and with which outcome, the rows that failed the catalog's checks, where
scheduled pulls come from, and the progress of loads running in the background.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.db import Base, IdMixin, utcnow


class LoadStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    #: a lake version was written (some rows may be in quarantine)
    SUCCEEDED = "succeeded"
    #: every row failed the checks: no version was written, all rows are in quarantine
    REJECTED = "rejected"
    #: the load could not be done at all (unreadable file, unknown columns, lake error)
    FAILED = "failed"


class QuarantineStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IngestSource(IdMixin, Base):
    """A stored pull (database table/query or HTTP JSON API) feeding one resource, optionally on a cron."""

    __tablename__ = "ingest_source"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # database | http
    #: connector settings (URL, table or query, paging…), see citybrain.ingest.connectors
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mode: Mapped[str] = mapped_column(String(16), default="replace")  # replace | merge
    #: full | key | watermark
    incremental: Mapped[str] = mapped_column(String(16), default="full")
    #: the column an incremental pull compares against its stored state
    cursor_column: Mapped[str | None] = mapped_column(String(100))
    #: {"type": ..., "value": ...}: the highest key / updated_at seen by the last successful pull
    watermark: Mapped[dict[str, Any] | None] = mapped_column()
    cron: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None] = mapped_column()
    last_load_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IngestLoad(IdMixin, Base):
    """One load of a resource: its outcome, counts and the lake version it produced."""

    __tablename__ = "ingest_load"

    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    resource_key: Mapped[str] = mapped_column(String(64))
    #: the resource's (source) department, for own-department rules
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # replace | merge
    connector: Mapped[str] = mapped_column(String(16))  # file | database | http | resubmit
    source: Mapped[str] = mapped_column(String(500))  # file name, source name, or "quarantine"
    source_id: Mapped[str | None] = mapped_column(ForeignKey("ingest_source.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=LoadStatus.RUNNING.value, index=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int | None] = mapped_column(Integer)
    checksum: Mapped[str | None] = mapped_column(String(80))
    source_checksum: Mapped[str | None] = mapped_column(String(80))
    resource_revision: Mapped[int] = mapped_column(Integer)
    #: format, encoding, header row… as the reader understood the input
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[dict[str, Any] | None] = mapped_column()
    job_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[str | None] = mapped_column(String(32))
    created_by_dept_id: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()


class QuarantineRow(IdMixin, Base):
    """A row that failed the catalog's checks, kept whole so it can be fixed and resubmitted."""

    __tablename__ = "ingest_quarantine"
    __table_args__ = (Index("ix_ingest_quarantine_group", "resource_id", "status", "field", "problem_kind"),)

    load_id: Mapped[str] = mapped_column(ForeignKey("ingest_load.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    #: 1-based position among the data rows of the input (the header is not counted)
    row_number: Mapped[int] = mapped_column(Integer)
    #: the first failing field and its reason; ``problems`` lists every one
    field: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    #: the check that failed, without the value (:func:`citybrain.ingest.checks.problem_kind`): what the
    #: quarantine is grouped by
    problem_kind: Mapped[str | None] = mapped_column(String(200))
    problems: Mapped[list[Any]] = mapped_column(default=list)
    #: the row as read, column names as in the input
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=QuarantineStatus.OPEN.value, index=True)
    resolved_version: Mapped[int | None] = mapped_column(Integer)
    resolved_load_id: Mapped[str | None] = mapped_column(String(32))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column()


class IngestJob(IdMixin, Base):
    """A load running in the background; polled for status and percentage."""

    __tablename__ = "ingest_job"

    kind: Mapped[str] = mapped_column(String(16), default="load")
    load_id: Mapped[str | None] = mapped_column(String(32), index=True)
    dept_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
