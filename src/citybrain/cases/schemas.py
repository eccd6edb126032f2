"""Input and output shapes of the case actions (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Channel = Literal["hotline", "patrol", "open311", "iot", "video"]
KindName = Literal["部件", "事项"]
Urgency = Literal["normal", "urgent"]
LevelName = Literal["city", "district", "street", "community", "grid"]


class ReportIn(BaseModel):
    """One report from any channel. Without coordinates the address is looked up in the gazetteer;
    without a code the category is suggested from the text (low confidence → a person decides)."""

    channel: Channel
    text: str = Field(min_length=2, max_length=4000, description="问题描述")
    title: str | None = Field(default=None, max_length=200)
    kind: KindName | None = None
    code: str | None = Field(default=None, pattern=r"^\d{5}$", description="GB/T 47678.5 代码")
    component_id: str | None = Field(default=None, pattern=r"^\d{16,17}$", description="部件标识码")
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    address: str | None = Field(default=None, max_length=256)
    urgency: Urgency = "normal"
    external_id: str | None = Field(default=None, max_length=64, description="渠道自身编号（热线工单号、告警编号）")
    reporter_name: str | None = Field(default=None, max_length=64)
    reporter_phone: str | None = Field(default=None, max_length=32)
    reporter_email: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] | None = None
    reported_at: datetime | None = Field(default=None, description="渠道记录的上报时间（带时区）")

    @model_validator(mode="after")
    def _where(self) -> ReportIn:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("经度 lon 与纬度 lat 须同时提供")
        if self.lon is None and not self.address:
            raise ValueError("须提供坐标 lon/lat 或地址 address")
        if self.code is not None and self.kind is None:
            self.kind = "部件" if self.component_id else "事项"
        if self.reported_at is not None and self.reported_at.tzinfo is None:
            raise ValueError("上报时间 reported_at 须带时区")
        return self


class HotlineTicketIn(BaseModel):
    """A 12345 工单 pushed by the hotline system."""

    ticket_no: str = Field(min_length=1, max_length=64, description="热线工单号")
    content: str = Field(min_length=2, max_length=4000, description="诉求内容")
    address: str | None = Field(default=None, max_length=256)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    caller_name: str | None = Field(default=None, max_length=64)
    caller_phone: str | None = Field(default=None, max_length=32)
    code: str | None = Field(default=None, pattern=r"^\d{5}$")
    kind: KindName | None = None
    urgency: Urgency = "normal"
    received_at: datetime | None = None


class PatrolIn(BaseModel):
    """A grid worker's 巡查上报 (photos come as files alongside)."""

    text: str = Field(min_length=2, max_length=4000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    address: str | None = Field(default=None, max_length=256)
    kind: KindName | None = None
    code: str | None = Field(default=None, pattern=r"^\d{5}$")
    component_id: str | None = Field(default=None, pattern=r"^\d{16,17}$")
    urgency: Urgency = "normal"
    #: 自行处置: the worker already handled it on the spot; the case goes straight to 核查
    self_disposed: bool = False
    disposal_note: str | None = Field(default=None, max_length=2000, description="当场处置情况")

    @model_validator(mode="after")
    def _self_disposal(self) -> PatrolIn:
        if self.self_disposed and self.code is None and self.component_id is None:
            raise ValueError("自行处置的巡查上报须填写事项代码 code 或部件标识码 component_id")
        if self.self_disposed and not (self.disposal_note or "").strip():
            raise ValueError("自行处置须填写处置情况 disposal_note")
        return self


class AlarmIn(BaseModel):
    """An IoT alarm or a video-AI detection (webhook body)."""

    channel: Literal["iot", "video"]
    alarm_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)
    kind: KindName = "事项"
    code: str = Field(pattern=r"^\d{5}$")
    text: str = Field(default="", max_length=2000)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    component_id: str | None = Field(default=None, pattern=r"^\d{16,17}$")
    confidence: float | None = Field(default=None, ge=0, le=1)
    urgency: Urgency = "normal"
    detected_at: datetime | None = None


class Photo(BaseModel):
    filename: str
    content_type: str
    data: bytes


class DispatchIn(BaseModel):
    """Empty: route by the rules. ``level``: down the locality chain. ``dept``: across to a department."""

    level: LevelName | None = None
    dept: str | None = Field(default=None, description="部门 id、代码或统一社会信用代码")
    user: str | None = Field(default=None, description="用户名或 id（同级指定处置人）")
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one(self) -> DispatchIn:
        if self.level is not None and self.dept is not None:
            raise ValueError("level 与 dept 只能二选一")
        return self


class ReasonIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="原因")


class OptionalReasonIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class ExtendRequestIn(BaseModel):
    days: float = Field(gt=0, le=60, description="申请延长的工作日数")
    reason: str = Field(min_length=2, max_length=500)


class ExtendDecideIn(BaseModel):
    approve: bool
    reason: str | None = Field(default=None, max_length=500)


class DisposeIn(BaseModel):
    note: str = Field(min_length=2, max_length=4000, description="处置情况")


class VerifyIn(BaseModel):
    passed: bool
    note: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _why(self) -> VerifyIn:
        if not self.passed and not self.note:
            raise ValueError("核查不通过须写明原因 note")
        return self


class RevisitIn(BaseModel):
    satisfied: bool
    note: str | None = Field(default=None, max_length=1000)


class EvaluateIn(BaseModel):
    evaluation: Literal["满意", "基本满意", "不满意"]
    score: int | None = Field(default=None, ge=0, le=100)
    note: str | None = Field(default=None, max_length=1000)


class ReclassifyIn(BaseModel):
    kind: KindName
    code: str = Field(pattern=r"^\d{5}$")
    reason: str = Field(min_length=2, max_length=500)
    component_id: str | None = Field(default=None, pattern=r"^\d{16,17}$")


class CaseQuery(BaseModel):
    state: str | None = None
    source: str | None = None
    kind: str | None = None
    code: str | None = None
    district: str | None = None
    street: str | None = None
    grid: str | None = None
    dept: str | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    needs_human: bool | None = None
    open_only: bool = False
    mine: bool = Field(default=False, description="只看派给我、本部门或本辖区层级的待办")
    q: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class CasePublic(BaseModel):
    """A case as staff see it in lists."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    kind: str
    code: str | None
    code_name: str | None
    edition: str
    title: str
    description: str
    lon: float | None
    lat: float | None
    address: str | None
    grid_id: str | None
    community_code: str | None
    street_code: str | None
    district_code: str | None
    area_class: str
    urgency: str
    source: str
    state: str
    level: str
    assignee_division: str | None
    assignee_dept_id: str | None
    assignee_user_id: str | None
    needs_human: bool
    classify_confidence: float | None
    component_id: str | None
    reported_at: datetime
    dispatched_at: datetime | None
    disposed_at: datetime | None
    closed_at: datetime | None
    stage: str | None
    due_at: datetime | None
    timer_state: str | None
    overdue: bool
    supervision_level: int
    report_count: int
    rework_count: int
    return_count: int
    self_disposed: bool = False
    satisfaction: str | None
    evaluation: str | None
    version: int


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    action: str
    from_state: str | None
    to_state: str | None
    actor_name: str | None
    reason: str | None
    details: dict[str, Any] | None
    at: datetime


class ReportPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    channel: str
    external_id: str | None
    text: str
    lon: float | None
    lat: float | None
    address: str | None
    reporter_name: str | None
    reporter_phone: str | None
    merged: bool
    received_at: datetime


class AttachmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    report_id: str | None
    filename: str
    content_type: str
    size: int
    at: datetime


class CaseDetail(CasePublic):
    events: list[EventPublic]
    reports: list[ReportPublic]
    attachments: list[AttachmentPublic]
    allowed_actions: list[str]
    neighbours: list[str]
    boundary_distance_m: float | None
    remaining_seconds: float | None


class ComponentCreate(BaseModel):
    code: str = Field(pattern=r"^\d{5}$", description="部件代码")
    owner_dept: str = Field(description="权属/主管部门 id、代码或统一社会信用代码")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    ident: str | None = Field(default=None, pattern=r"^\d{17}$", description="部件标识码；空则自动编号")
    status: Literal["完好", "破损", "丢失", "废弃", "移除"] = "完好"
    address: str | None = Field(default=None, max_length=256)


class ComponentUpdate(BaseModel):
    status: Literal["完好", "破损", "丢失", "废弃", "移除"] | None = None
    owner_dept: str | None = None
    address: str | None = None


class ComponentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ident: str
    code: str
    edition: str
    name: str
    owner_dept_id: str
    owner_uscc: str
    grid_id: str | None
    status: str
    lon: float | None
    lat: float | None
    address: str | None
    updated_at: datetime


class RoutingRuleIn(BaseModel):
    kind: Literal["部件", "事项", "*"] = "*"
    code: str = Field(default="*", pattern=r"^(\*|\d{2}\*|\d{5})$")
    area_prefix: str = Field(default="", pattern=r"^\d{0,15}$")
    dept: str
    priority: int = Field(default=100, ge=0, le=10000)
    active: bool = True
    note: str | None = Field(default=None, max_length=200)


class RoutingRulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    code: str
    area_prefix: str
    dept_id: str
    priority: int
    active: bool
    note: str | None


class GridPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    area_class: str | None
    worker_user_id: str | None


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    case_id: str | None
    kind: str
    message: str
    created_at: datetime
    read_at: datetime | None


class IntakeResult(BaseModel):
    case_id: str
    request_id: str
    token: str
    merged: bool
    state: str
    needs_human: bool

    @field_validator("state")
    @classmethod
    def _str(cls, value: str) -> str:
        return str(value)
