"""Input and output shapes of the governance actions (API, console and CLI share them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

DIMENSION_LABELS = {
    "completeness": "完整性",
    "accuracy": "准确性",
    "consistency": "一致性",
    "timeliness": "及时性",
    "uniqueness": "唯一性",
}
SEVERITY_LABELS = {"high": "高", "medium": "中", "low": "低"}
TICKET_STATUS_LABELS = {"open": "待整改", "closed": "已整改", "rejected": "已驳回"}
OBJECTION_STATUS_LABELS = {"open": "待处理", "upheld": "异议成立", "fixed": "已更正", "rejected": "异议不成立"}


class RuleIn(BaseModel):
    """A steward's rule in its JSON form, e.g. ``{"kind": "pattern", "id": "phone_fmt", "column": ..., ...}``."""

    spec: dict[str, Any]


class RulePublic(BaseModel):
    id: str
    kind: str
    dimension: str
    dimension_label: str
    severity: str
    origin: str  # catalog | steward
    columns: list[str]
    description: str
    spec: dict[str, Any]


class FailurePublic(BaseModel):
    key: str | None
    field: str
    value: str | None
    related: list[list[Any]] = Field(default_factory=list)


class SourceRef(BaseModel):
    """One side of a 比对: a resource and its department."""

    key: str
    name: str
    dept_id: str
    dept_name: str | None = None


class RuleResultPublic(BaseModel):
    rule_id: str
    kind: str
    dimension: str
    dimension_label: str
    severity: str
    origin: str
    description: str
    columns: list[str]
    checked: int
    failed: int
    failed_rate: float
    note: str = ""
    samples: list[FailurePublic] = Field(default_factory=list)
    #: for 比对: this source, the other one and which is authoritative (一数一源)
    this_source: SourceRef | None = None
    other_source: SourceRef | None = None
    authoritative: SourceRef | None = None


class RunPublic(BaseModel):
    id: str
    resource_key: str
    dept_id: str
    version: int
    rows: int
    overall: float | None
    dimensions: dict[str, float]
    skipped: list[dict[str, Any]]
    tickets_opened: int
    tickets_closed: int
    created_at: datetime
    created_by: str | None
    results: list[RuleResultPublic] = Field(default_factory=list)


class TrendPoint(BaseModel):
    run_id: str
    version: int
    overall: float | None
    dimensions: dict[str, float]
    created_at: datetime


class QualityReport(BaseModel):
    resource_key: str
    resource_name: str
    dept_id: str
    dept_name: str | None
    run: RunPublic | None
    trend: list[TrendPoint]
    open_tickets: int
    open_objections: int


class TicketItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    key: str | None
    field: str
    value: str | None
    related: list[Any]
    status: str
    fixed_version: int | None


class TicketPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    number: str
    resource_key: str
    dept_id: str
    dept_name: str | None = None
    rule_id: str
    kind: str
    dimension: str
    severity: str
    title: str
    status: str
    opened_version: int
    last_version: int
    failed: int
    due_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    closed_version: int | None
    rejected_at: datetime | None
    rejected_by: str | None
    reject_reason: str | None
    escalated_at: datetime | None
    overdue: bool = False
    items_open: int = 0
    items_total: int = 0


class TicketDetail(TicketPublic):
    items: list[TicketItemPublic] = Field(default_factory=list)


class RejectIn(BaseModel):
    reason: str


class ObjectionCreate(BaseModel):
    keys: list[str] = Field(min_length=1, max_length=1000, description="disputed record keys (primary key values)")
    field: str | None = Field(default=None, description="the disputed field, if one")
    description: str = Field(min_length=1, max_length=4000)
    evidence: str = Field(min_length=1, max_length=4000, description="依据: document number, certificate, etc.")

    @field_validator("description", "evidence")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("不能为空")
        return value.strip()

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: list[str]) -> list[str]:
        keys = [k.strip() for k in value if k and k.strip()]
        if not keys:
            raise ValueError("至少指定一条记录")
        return list(dict.fromkeys(keys))


class DecisionIn(BaseModel):
    reason: str = ""


class ObjectionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    number: str
    resource_key: str
    target_resource_key: str
    dept_id: str
    dept_name: str | None = None
    field: str | None
    target_field: str | None
    keys: list[str]
    description: str
    evidence: str
    status: str
    raised_by: str | None
    raised_by_dept_id: str | None
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    fixed_version: int | None


class DeptMetrics(BaseModel):
    dept_id: str
    dept_code: str
    dept_name: str
    resources: int = 0
    score: float | None = None
    tickets: int = 0
    tickets_open: int = 0
    tickets_closed: int = 0
    tickets_rejected: int = 0
    tickets_overdue: int = 0
    tickets_escalated: int = 0
    problem_records: int = 0
    rectified_records: int = 0
    #: 问题数据整改率: rectified problem records / problem records (rejected tickets left out)
    rectification_rate: float | None = None
    #: average hours from a ticket's opening to its closure
    avg_rectify_hours: float | None = None
    objections: int = 0
    objections_upheld: int = 0
    objections_rejected: int = 0
    objections_open: int = 0
