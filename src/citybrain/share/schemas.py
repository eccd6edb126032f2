"""Inputs and outputs of the sharing exchange."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from citybrain.share.models import AccessMode

#: longest period one request may ask for (3 years), and the default
MAX_DAYS = 3 * 366
DEFAULT_DAYS = 365


class RowCondition(BaseModel):
    """One row-scope condition: ``field`` equals one of ``values`` (in) or starts with one (prefix).

    A division-code scope is ``{"field": "division_code", "op": "prefix", "values": ["320402"]}``:
    the district and every street and community under it."""

    field: str = Field(min_length=1, max_length=64)
    op: Literal["in", "prefix"] = "in"
    values: list[str] = Field(min_length=1, max_length=1000)

    @field_validator("values")
    @classmethod
    def _non_empty(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("行范围条件的取值不能为空")
        return sorted(set(cleaned))


class ShareRequestCreate(BaseModel):
    resource: str = Field(description="resource key, id or OID")
    fields: list[str] = Field(min_length=1, description="data items asked for")
    purpose: str = Field(min_length=4, max_length=500, description="用途")
    legal_basis: str = Field(default="", max_length=1000, description="共享依据（法律法规、政策文件、业务职责）")
    row_filter: list[RowCondition] = Field(default_factory=list, description="row scope; empty = all rows")
    modes: list[AccessMode] = Field(
        default_factory=lambda: [AccessMode.LOOKUP, AccessMode.QUERY, AccessMode.EXPORT],
        min_length=1,
        description="access kinds: lookup, query, export, verify",
    )
    unmask: list[str] = Field(default_factory=list, description="fields asked to be shown without masking")
    days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="period asked for, in days")
    expected_volume: int | None = Field(default=None, ge=0, description="expected rows per day")

    @model_validator(mode="after")
    def _consistent(self) -> ShareRequestCreate:
        self.fields = list(dict.fromkeys(self.fields))
        self.modes = list(dict.fromkeys(self.modes))
        missing = sorted(set(self.unmask) - set(self.fields))
        if missing:
            raise ValueError(f"申请解除脱敏的字段必须在申请字段中：{'、'.join(missing)}")
        return self


class ApprovalIn(BaseModel):
    """An approver's decision. Anything left out keeps the terms asked for — except masking: it is
    lifted only for the fields listed in ``unmask``."""

    fields: list[str] | None = Field(default=None, description="a subset of the fields asked for")
    row_filter: list[RowCondition] | None = Field(default=None, description="a narrower row scope")
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS, description="a shorter period")
    modes: list[AccessMode] | None = None
    unmask: list[str] | None = Field(default=None, description="fields shown unmasked (of those asked)")
    rate_limit: int | None = Field(default=None, ge=1, le=6000, description="calls per minute")
    mask: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="masking chosen instead of the default for some fields, "
        'e.g. {"citizen_id": {"method": "pseudonym"}}',
    )
    comment: str = Field(default="", max_length=1000)


class RefuseIn(BaseModel):
    reason: str = Field(min_length=2, max_length=1000)


class ApprovalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage: str
    decision: str
    decided_by_name: str | None
    terms: dict[str, Any]
    comment: str | None
    at: datetime


class ShareRequestPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    resource_key: str
    resource_name: str | None = None
    dept_id: str
    dept_name: str | None = None
    consumer_dept_id: str
    consumer_dept_name: str | None = None
    requester_name: str | None
    fields: list[str]
    row_filter: list[dict[str, Any]]
    modes: list[str]
    unmask: list[str]
    purpose: str
    legal_basis: str
    days: int
    expected_volume: int | None
    grade: str
    share_type: str
    status: str
    terms: dict[str, Any]
    reason: str | None
    grant_id: str | None
    created_at: datetime
    decided_at: datetime | None
    approvals: list[ApprovalPublic] = Field(default_factory=list)


class GrantPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str | None
    resource_key: str
    resource_name: str | None = None
    dept_id: str
    dept_name: str | None = None
    consumer_dept_id: str
    consumer_dept_name: str | None = None
    fields: list[str]
    row_filter: list[dict[str, Any]]
    modes: list[str]
    masking: dict[str, Any]
    unmasked: list[str]
    purpose: str
    rate_limit: int
    status: str
    usable: bool = False
    token_id: str | None
    expires_at: datetime
    created_at: datetime
    changed_at: datetime | None
    reason: str | None


class TokenIssued(BaseModel):
    grant_id: str
    token_id: str
    prefix: str
    expires_at: datetime
    token: str = Field(description="shown once; only its hash is kept")


class DemandCreate(BaseModel):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=4000)
    purpose: str = Field(default="", max_length=1000)
    dept: str | None = Field(default=None, description="source department, when the requester knows it")


class DemandAnswer(BaseModel):
    outcome: Literal["supplied", "refused"]
    resource: str | None = Field(default=None, description="the resource that supplies the data")
    reason: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> DemandAnswer:
        if self.outcome == "supplied" and not self.resource:
            raise ValueError("答复为已提供时须指明数据资源（resource）")
        if self.outcome == "refused" and len(self.reason.strip()) < 2:
            raise ValueError("拒绝需求必须说明原因（reason）")
        return self


class DemandPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    description: str
    purpose: str
    consumer_dept_id: str
    dept_id: str | None
    routing: dict[str, Any]
    status: str
    resource_key: str | None
    reason: str | None
    created_at: datetime
    answered_at: datetime | None
    answered_by: str | None


class QueryIn(BaseModel):
    """A filtered, paged query. ``filters`` maps a granted field to a value or a list of values."""

    filters: dict[str, str | int | float | list[str | int | float]] = Field(default_factory=dict)
    fields: list[str] | None = Field(default=None, description="a subset of the granted fields")
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    version: int | None = Field(default=None, ge=1, description="pinned lake version; default the latest")


class LookupIn(BaseModel):
    """Lookup by primary key in a body, so that identifiers stay out of URLs and access logs."""

    key: str | dict[str, str | int] = Field(description="the key value, or {column: value} for a composite key")
    version: int | None = Field(default=None, ge=1)


class VerifyIn(BaseModel):
    """数据核验: does a row with exactly these values exist? Answers yes or no, nothing else."""

    record: dict[str, str | int | float] = Field(min_length=1)
    version: int | None = Field(default=None, ge=1)


class ExportIn(BaseModel):
    format: Literal["csv", "parquet"] = "csv"
    filters: dict[str, str | int | float | list[str | int | float]] = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=1)


class ExportPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    grant_id: str
    resource_key: str
    format: str
    status: str
    rows_total: int | None
    rows_done: int
    progress: float = 0.0
    error: str | None
    version: int | None
    created_at: datetime
    finished_at: datetime | None


class AlertPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    grant_id: str
    resource_key: str
    dept_id: str
    consumer_dept_id: str
    message: str
    details: dict[str, Any]
    status: str
    at: datetime
