"""Aggregation input and output shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class LoadPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    resource_key: str
    mode: str
    connector: str
    source: str
    source_id: str | None
    status: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    version: int | None
    checksum: str | None
    source_checksum: str | None
    resource_revision: int
    info: dict[str, Any]
    error: str | None
    error_details: dict[str, Any] | None
    job_id: str | None
    created_by: str | None
    started_at: datetime
    finished_at: datetime | None


class LoadPage(BaseModel):
    total: int
    items: list[LoadPublic]


class QuarantinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    load_id: str
    row_number: int
    field: str | None
    reason: str
    problem_kind: str | None
    problems: list[dict[str, Any]]
    raw: dict[str, Any]
    status: str
    resolved_version: int | None
    resolved_load_id: str | None
    resolved_by: str | None
    resolved_at: datetime | None


class QuarantinePage(BaseModel):
    total: int
    items: list[QuarantinePublic]


class QuarantineGroup(BaseModel):
    """Quarantined rows that failed the same check on the same field, across loads."""

    field: str | None
    kind: str | None
    #: one of the group's reasons, with its value (e.g. ``成立日期：不是有效的日期：2020-02-31``)
    example: str
    rows: int
    loads: int
    first_row_number: int
    last_load_at: datetime


class Correction(BaseModel):
    """Corrected values for one quarantined row, by field name (or 中文名称); other values are kept."""

    id: str
    values: dict[str, Any] = Field(default_factory=dict)


class ResubmitIn(BaseModel):
    rows: list[Correction] = Field(min_length=1)


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    resource: str = Field(description="resource key, id or OID")
    kind: Literal["database", "http"]
    config: dict[str, Any]
    mode: Literal["replace", "merge"] | None = Field(
        default=None, description="default: merge for incremental pulls, replace for full ones"
    )
    incremental: Literal["full", "key", "watermark"] = "full"
    cursor_column: str | None = None
    cron: str | None = Field(default=None, description="five-field cron expression, in UTC")
    enabled: bool = True


class SourcePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    resource_key: str
    kind: str
    config: dict[str, Any]
    mode: str
    incremental: str
    cursor_column: str | None
    watermark: dict[str, Any] | None
    cron: str | None
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_load_id: str | None
    created_by: str | None


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str
    load_id: str | None
    status: str
    progress: float
    message: str
    error: str | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class VersionPublic(BaseModel):
    version: int
    mode: str
    parent: int | None
    rows: int
    checksum: str
    created_at: str
    current: bool
    lineage: dict[str, Any]
    primary_key: list[str] | None
    schema_: list[dict[str, str]] = Field(alias="schema", serialization_alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class RowsPage(BaseModel):
    resource_key: str
    version: int
    total: int
    offset: int
    columns: list[str]
    rows: list[dict[str, Any]]


class PruneIn(BaseModel):
    keep_last: int = Field(default=5, ge=1)
    keep_days: float | None = Field(default=None, ge=0)
