"""一网统管 tables: the five-level grid, the 部件 registry, cases, their source reports and timeline.

For the 考核 (KPI) queries, a case row carries everything needed without joins:

- stage timestamps (first time reached): ``reported_at``, ``accepted_at``, ``registered_at``,
  ``dispatched_at``, ``signed_at``, ``disposed_at``, ``feedback_at``, ``verified_at``, ``revisited_at``,
  ``closed_at``, ``evaluated_at`` (and ``rejected_at`` for 不立案);
- stage deadlines: ``dispatch_due_at`` (立案+派遣, from 上报), ``dispose_due_at`` (处置, from 派遣;
  extended by an approved 延期), ``verify_due_at`` (核查, from 反馈), ``accept_due_at`` (热线受理);
  ``due_at`` is the deadline of the stage the case is in now (NULL when no clock runs);
- on-time flags, NULL until the stage is reached: ``registered_on_time`` (按时立案),
  ``dispatched_on_time``, ``disposed_on_time`` (按期处置), ``closed_on_time`` (按期结案: closed with
  its disposal on time);
- counters: ``dispatch_count``, ``return_count`` (回退), ``rework_count`` (返工, 核查不通过),
  ``redo_count`` (热线重办), ``extension_count`` (approved 延期), ``reclassify_count``, ``report_count``
  (source reports merged into the case); ``self_disposed`` (自行处置: handled on the spot by the grid
  worker who reported it, never dispatched); ``dispatch_accurate`` is False once the case was returned
  (准确派遣率 = cases dispatched with ``dispatch_accurate`` / cases dispatched);
- ``overdue`` (ever past a deadline) and ``supervision_level`` (times it entered 督办);
- dimensions: ``grid_id``, ``community_code``, ``street_code``, ``district_code``, ``assignee_dept_id``,
  ``source`` (hotline / patrol / open311 / iot / video), ``kind`` + ``code``, ``area_class``;
- ``satisfaction`` (热线回访: 满意 / 不满意) and ``evaluation`` (评价: 满意 / 基本满意 / 不满意).

Examples: 结案率 = count(closed_at) / count(registered_at); 按期结案率 = count(closed_on_time) /
count(registered_at); 返工率 = count(rework_count > 0) / count(disposed_at or rework_count > 0).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.db import Base, IdMixin, utcnow


class GridArea(Base):
    """One boundary of the five-level space (市 / 区县 / 街道 / 社区 / 单元网格) with its polygon.

    Unit grids (level ``grid``, 15-character ID per GB/T 47678.3) have a grid worker (网格员) and an
    area class (A/B 城区, C 农村) that selects the time limits.
    """

    __tablename__ = "case_grid"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16), index=True)  # city | district | street | community | grid
    parent_code: Mapped[str | None] = mapped_column(String(15), index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12))
    area_class: Mapped[str | None] = mapped_column(String(1))
    #: GeoJSON geometry (Polygon or MultiPolygon, CGCS2000 lon/lat)
    geometry: Mapped[dict[str, Any]] = mapped_column()
    #: bounding box, kept as columns so the map can select grids in view without parsing geometry
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    worker_user_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Component(Base):
    """部件 registry (GB/T 47678.5): one 管理部件 with its 17-digit 部件标识码 (GLBJBSM)."""

    __tablename__ = "case_component"

    ident: Mapped[str] = mapped_column(String(17), primary_key=True)  # GLBJBSM
    code: Mapped[str] = mapped_column(String(5), index=True)  # 大类 + 小类
    edition: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    owner_dept_id: Mapped[str] = mapped_column(ForeignKey("department.id"), index=True)
    owner_uscc: Mapped[str] = mapped_column(String(18))  # ZGBMDM 主管部门信用代码
    grid_id: Mapped[str | None] = mapped_column(String(15), index=True)  # SZDYWGBSM
    status: Mapped[str] = mapped_column(String(8), default="完好")  # GLBJZT 完好/破损/丢失/废弃/移除
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # CSRQ
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)  # BGRQ

    @property
    def dept_id(self) -> str:
        return self.owner_dept_id


class RoutingRule(IdMixin, Base):
    """Category × area → department (主管部门 / 权属单位).

    ``code``: a 5-digit code, a 大类 wildcard ``06*`` or ``*``; ``area_prefix``: a division code the
    case's grid must start with (``320402`` = 天宁区), empty for the whole city. The most specific
    rule wins (exact code > 大类 > *, then the longer area prefix, then the lower ``priority``).
    """

    __tablename__ = "case_routing_rule"

    kind: Mapped[str] = mapped_column(String(4), default="*")  # 部件 | 事项 | *
    code: Mapped[str] = mapped_column(String(5), default="*")
    area_prefix: Mapped[str] = mapped_column(String(15), default="")
    dept_id: Mapped[str] = mapped_column(ForeignKey("department.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(IdMixin, Base):
    """案件: one problem in the city, however many reports were merged into it (see module doc)."""

    __tablename__ = "city_case"

    #: public number for Open311 (service_request_id) and the status page
    request_id: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(4))  # 部件 | 事项
    code: Mapped[str | None] = mapped_column(String(5), index=True)
    edition: Mapped[str] = mapped_column(String(32))
    code_name: Mapped[str | None] = mapped_column(String(128))
    classify_confidence: Mapped[float | None] = mapped_column(Float)
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    component_id: Mapped[str | None] = mapped_column(String(17), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(256))
    geocoded_from: Mapped[str | None] = mapped_column(String(128))  # gazetteer name when no coordinates
    grid_id: Mapped[str | None] = mapped_column(String(15), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    street_code: Mapped[str | None] = mapped_column(String(9), index=True)
    district_code: Mapped[str | None] = mapped_column(String(6), index=True)
    area_class: Mapped[str] = mapped_column(String(1), default="B")
    urgency: Mapped[str] = mapped_column(String(8), default="normal")  # normal | urgent
    source: Mapped[str] = mapped_column(String(8), index=True)  # hotline | patrol | open311 | iot | video
    state: Mapped[str] = mapped_column(String(16), index=True)
    # -- assignment --
    level: Mapped[str] = mapped_column(String(16), default="city")  # city | district | street | community | grid
    assignee_division: Mapped[str | None] = mapped_column(String(15))
    assignee_dept_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"), index=True)
    assignee_user_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: targets that returned the case ("dept:<id>", "locality"), so a reroute does not send it back
    returned_by: Mapped[list[Any]] = mapped_column(default=list)
    # -- stage times (first reached) --
    reported_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column()
    registered_at: Mapped[datetime | None] = mapped_column()
    rejected_at: Mapped[datetime | None] = mapped_column()
    dispatched_at: Mapped[datetime | None] = mapped_column()
    dispose_started_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    hung_at: Mapped[datetime | None] = mapped_column()
    disposed_at: Mapped[datetime | None] = mapped_column()
    feedback_at: Mapped[datetime | None] = mapped_column()
    verified_at: Mapped[datetime | None] = mapped_column()
    revisited_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    evaluated_at: Mapped[datetime | None] = mapped_column()
    # -- deadlines and timers --
    accept_due_at: Mapped[datetime | None] = mapped_column()
    dispatch_due_at: Mapped[datetime | None] = mapped_column()
    dispose_due_at: Mapped[datetime | None] = mapped_column()
    verify_due_at: Mapped[datetime | None] = mapped_column()
    stage: Mapped[str | None] = mapped_column(String(16))  # accept | dispatch | dispose | verify
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    timer_state: Mapped[str | None] = mapped_column(String(16))  # on_time | due_soon | overdue
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_on_time: Mapped[bool | None] = mapped_column(Boolean)
    dispatched_on_time: Mapped[bool | None] = mapped_column(Boolean)
    disposed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    extension_pending_days: Mapped[float | None] = mapped_column(Float)
    # -- supervision (督办) --
    supervision_level: Mapped[int] = mapped_column(Integer, default=0)
    supervised_at: Mapped[datetime | None] = mapped_column()
    #: "<stage>:<due_soon|overdue>" last escalated by the sweep, so one deadline escalates once per state
    supervision_mark: Mapped[str | None] = mapped_column(String(32))
    #: division code one level above the assignee that the case was escalated to
    supervise_division: Mapped[str | None] = mapped_column(String(15))
    # -- counters and outcome --
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    dispatch_accurate: Mapped[bool | None] = mapped_column(Boolean)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    redo_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    reclassify_count: Mapped[int] = mapped_column(Integer, default=0)
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    #: 自行处置: reported by a grid worker who handled it on the spot (never dispatched)
    self_disposed: Mapped[bool] = mapped_column(Boolean, default=False)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    disposal_note: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[str | None] = mapped_column(String(8))
    evaluation: Mapped[str | None] = mapped_column(String(8))
    evaluation_score: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: optimistic lock: every UPDATE checks and bumps it; a stale writer gets Conflict
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def dept_id(self) -> str | None:
        # the department a case "belongs" to for own-department rules is the one it is assigned to
        return self.assignee_dept_id


class CaseEvent(IdMixin, Base):
    """案件时间轴: every transition, reclassification, reroute, merge and 督办, with who and why."""

    __tablename__ = "city_case_event"

    case_id: Mapped[str] = mapped_column(ForeignKey("city_case.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    actor_name: Mapped[str | None] = mapped_column(String(64))
    actor_dept_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "seq"),)


class Report(IdMixin, Base):
    """One source report (12345 工单, 巡查上报, 随手拍, IoT / 视频 AI alarm), attached to its case."""

    __tablename__ = "city_case_report"

    case_id: Mapped[str] = mapped_column(ForeignKey("city_case.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    #: the channel's own id (热线工单号, device alarm id): the same report sent twice is taken once
    external_id: Mapped[str | None] = mapped_column(String(64))
    #: Open311 token for this report (tokens/{id} → service_request_id)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str | None] = mapped_column(String(4))
    code: Mapped[str | None] = mapped_column(String(5))
    text: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(256))
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    reporter_email: Mapped[str | None] = mapped_column(String(200))
    reporter_user_id: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None] = mapped_column()
    merged: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "external_id"),)


class Attachment(IdMixin, Base):
    """A photo or file of a report or of a disposal, stored under ``settings.home / "attachments"``."""

    __tablename__ = "city_case_attachment"

    case_id: Mapped[str] = mapped_column(ForeignKey("city_case.id"), index=True)
    report_id: Mapped[str | None] = mapped_column(ForeignKey("city_case_report.id"))
    event_id: Mapped[str | None] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))  # relative to the attachments directory
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(IdMixin, Base):
    """In-app notice to a user, a department or everyone working in a division."""

    __tablename__ = "city_case_notification"

    case_id: Mapped[str | None] = mapped_column(ForeignKey("city_case.id"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    dept_id: Mapped[str | None] = mapped_column(String(32), index=True)
    division_code: Mapped[str | None] = mapped_column(String(15), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    message: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()


class Outbox(IdMixin, Base):
    """Outbound webhook deliveries, written in the case's transaction and sent after commit."""

    __tablename__ = "city_case_outbox"

    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(8), default="pending", index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
