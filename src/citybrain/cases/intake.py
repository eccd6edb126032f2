"""信息收集 (intake): reports from every channel become cases, or join the case they duplicate.

Channels: 12345 热线 (``hotline``), 巡查上报 (``patrol``), 市民随手拍 (``open311``), IoT / 视频 AI alarms
(``iot`` / ``video``). Whatever the channel, a report goes through the same steps:

1. the same channel report (热线工单号, alarm id) sent twice is taken once;
2. where: coordinates as given, else the address (or the text) looked up in the gazetteer; the point
   then gives the unit grid and its community, street and district;
3. what: the 部件 of a given 部件标识码, else the given code, else the classifier's suggestion with its
   confidence — below the threshold the case waits in the 人工分类 queue (``needs_human``);
4. merge: an open case of the same category within ``merge_distance_m`` and ``merge_window_hours``
   takes the report (every source report stays attached, ``report_count`` goes up), so ten calls about
   one overflowing bin are one case, dispatched once;
5. otherwise a new case in 上报 with its 立案派遣 clock (and the hotline's 受理 clock) running.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from citybrain.actions import Context, action
from citybrain.cases import classify
from citybrain.cases.codes import load_codes
from citybrain.cases.config import get_config
from citybrain.cases.enums import FINAL_STATES, HOTLINE, CaseAction, CaseState
from citybrain.cases.models import Attachment, Case, Component, Report
from citybrain.cases.routing import space
from citybrain.cases.schemas import AlarmIn, HotlineTicketIn, IntakeResult, PatrolIn, Photo, ReportIn
from citybrain.cases.timelimits import Stage
from citybrain.cases.workflow import add_event, audit, insert_new, refresh_timer, stage_deadline, transition
from citybrain.db import new_id, utcnow
from citybrain.errors import Invalid, NotFound, parse

_TZ = ZoneInfo("Asia/Shanghai")
_M_PER_DEG_LAT = 110_940.0
_M_PER_DEG_LON = 111_320.0
MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


# ---- where --------------------------------------------------------------------------------------


@dataclass
class Located:
    lon: float | None
    lat: float | None
    geocoded_from: str | None = None
    geocode_confidence: float | None = None
    grid_id: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    district_code: str | None = None
    area_class: str | None = None
    boundary_distance_m: float | None = None
    component: Component | None = None

    def codes(self) -> dict[str, str | None]:
        return {
            "grid_id": self.grid_id,
            "community_code": self.community_code,
            "street_code": self.street_code,
            "district_code": self.district_code,
        }


def locate(session: Any, data: ReportIn) -> Located:
    """Point and grid of a report (see the module doc, step 2)."""
    component = None
    if data.component_id:
        component = session.get(Component, data.component_id)
        if component is None:
            raise NotFound(f"部件 {data.component_id} 未登记", details={"field": "component_id"})
    city = space(session)
    found = Located(data.lon, data.lat, component=component)
    if found.lon is None and component is not None and component.lon is not None:
        found.lon, found.lat = component.lon, component.lat
    if found.lon is None:
        hit = city.gazetteer.lookup(data.address or "") or city.gazetteer.lookup(data.text)
        if hit is not None:
            found.lon, found.lat = hit.lon, hit.lat
            found.geocoded_from, found.geocode_confidence = hit.matched_name, hit.confidence
    if found.lon is not None and found.lat is not None and city.index is not None:
        grid = city.index.locate(found.lon, found.lat)
        if grid is not None:
            found.grid_id, found.community_code = grid.grid_id, grid.community_code
            found.street_code, found.district_code = grid.street_code, grid.district_code
            found.area_class, found.boundary_distance_m = grid.area_class, grid.boundary_distance_m
    return found


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    # equirectangular: exact enough over the few hundred metres a merge looks at
    kx = _M_PER_DEG_LON * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * _M_PER_DEG_LAT)


# ---- what ---------------------------------------------------------------------------------------

_CLASSIFIER: classify.CaseClassifier | None = None
_CLASSIFIER_LOCK = threading.Lock()


def classifier(home: Path) -> classify.CaseClassifier:
    """The 事项 classifier, trained once per process (cached on disk under ``home/models``)."""
    global _CLASSIFIER
    with _CLASSIFIER_LOCK:
        if _CLASSIFIER is None:
            _CLASSIFIER = classify.load_classifier(home / "models")
        return _CLASSIFIER


@dataclass
class Category:
    kind: str
    code: str | None
    name: str | None
    confidence: float | None
    needs_human: bool
    suggestions: list[dict[str, Any]]


def categorise(ctx: Context, data: ReportIn, where: Located, alarm_confidence: float | None = None) -> Category:
    book = load_codes()
    threshold = get_config().classify_threshold
    if where.component is not None:
        entry = book.get("部件", where.component.code)
        return Category("部件", entry.code, entry.name, None, False, [])
    if data.code is not None:
        kind = data.kind or "事项"
        entry = book.get(kind, data.code)
        low = alarm_confidence is not None and alarm_confidence < threshold
        return Category(kind, entry.code, entry.name, alarm_confidence, low, [])
    suggestions = classifier(ctx.settings.home).suggest(data.text, 3)
    top = suggestions[0] if suggestions else None
    return Category(
        "事项",
        top.code if top else None,
        top.name if top else None,
        top.confidence if top else None,
        classify.needs_human(suggestions, threshold),
        [{"code": s.code, "name": s.name, "confidence": s.confidence} for s in suggestions],
    )


# ---- merge --------------------------------------------------------------------------------------


_CASE = Case.__table__.c
#: open cases of a category near a point, reported since a moment: built once (building and keying the
#: statement cost more than running it), and only the columns the choice needs — almost every intake
#: finds nothing, and the one case chosen is then loaded by key
_DUPLICATE_CANDIDATES = select(_CASE.id, _CASE.lon, _CASE.lat, _CASE.reported_at).where(
    _CASE.kind == bindparam("kind"),
    _CASE.code == bindparam("code"),
    _CASE.state.not_in(sorted(s.value for s in FINAL_STATES)),
    _CASE.reported_at >= bindparam("since"),
    _CASE.lon.between(bindparam("west"), bindparam("east")),
    _CASE.lat.between(bindparam("south"), bindparam("north")),
)


def find_duplicate(session: Any, category: Category, where: Located, at: datetime) -> Case | None:
    """The open case this report repeats (same category, near, recent), nearest first."""
    cfg = get_config()
    if category.code is None or category.needs_human or where.lon is None or where.lat is None:
        return None
    if cfg.merge_distance_m <= 0 or cfg.merge_window_hours <= 0:
        return None
    dlat = cfg.merge_distance_m / _M_PER_DEG_LAT
    dlon = cfg.merge_distance_m / (_M_PER_DEG_LON * max(math.cos(math.radians(where.lat)), 0.01))
    session.flush()  # a plain statement does not autoflush, and cases of this unit of work count too
    rows = session.execute(
        _DUPLICATE_CANDIDATES,
        {
            "kind": category.kind,
            "code": category.code,
            "since": at - timedelta(hours=cfg.merge_window_hours),
            "west": where.lon - dlon,
            "east": where.lon + dlon,
            "south": where.lat - dlat,
            "north": where.lat + dlat,
        },
    )
    near = [
        (distance_m(where.lon, where.lat, lon, lat), reported, case_id)
        for case_id, lon, lat, reported in rows
        if lon is not None and lat is not None
    ]
    near = [item for item in near if item[0] <= cfg.merge_distance_m]
    if not near:
        return None
    best = min(near, key=lambda item: (item[0], item[1]))
    return session.get(Case, best[2])


# ---- the intake itself --------------------------------------------------------------------------


def _request_number(at: datetime) -> str:
    # date first so numbers sort and read by day; random tail so parallel intakes never collide
    return f"{at.astimezone(_TZ):%Y%m%d}{secrets.randbelow(10**8):08d}"


_REPORT = Report.__table__.c
#: the key only (built once, like the duplicate search): a resend is rare, and its row is then loaded by key
_RESENT = select(_REPORT.id).where(
    _REPORT.channel == bindparam("channel"), _REPORT.external_id == bindparam("external_id")
)


def _existing(session: Any, data: ReportIn) -> Report | None:
    if not data.external_id:
        return None
    session.flush()  # as find_duplicate: reports of this unit of work count too
    found = session.scalar(_RESENT, {"channel": data.channel, "external_id": data.external_id})
    return session.get(Report, found) if found is not None else None


def _result(case: Case, report: Report, merged: bool) -> IntakeResult:
    return IntakeResult(
        case_id=case.id,
        request_id=case.request_id,
        token=report.token,
        merged=merged,
        state=case.state,
        needs_human=case.needs_human,
    )


def save_photo(ctx: Context, case: Case, photo: Photo, report_id: str | None = None) -> Attachment:
    ext = PHOTO_TYPES.get(photo.content_type)
    if ext is None:
        raise Invalid(f"照片格式不支持：{photo.content_type}（支持 JPEG、PNG、WebP）", details={"field": "photos"})
    if len(photo.data) > MAX_PHOTO_BYTES:
        raise Invalid("照片不能超过 10 MB", details={"field": "photos", "size": len(photo.data)})
    digest = hashlib.sha256(photo.data).hexdigest()
    relative = Path(case.id) / f"{digest}{ext}"
    target = ctx.settings.home / "attachments" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(photo.data)
    row = Attachment(
        case_id=case.id,
        report_id=report_id,
        filename=Path(photo.filename).name[:200] or f"photo{ext}",
        content_type=photo.content_type,
        size=len(photo.data),
        sha256=digest,
        path=str(relative),
        uploaded_by=ctx.actor.username or ctx.actor.kind,
    )
    ctx.session.add(row)
    return row


def intake(
    ctx: Context,
    data: ReportIn,
    where: Located,
    *,
    audit_name: str,
    photos: Sequence[Photo] = (),
    alarm_confidence: float | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """Steps 3–5 of the module doc, after the caller located the report and asked the policy."""
    session = ctx.session
    repeat = _existing(session, data)
    if repeat is not None:
        found = session.get(Case, repeat.case_id)
        assert found is not None
        return _result(found, repeat, repeat.merged)
    now = now or utcnow()
    at = data.reported_at or now
    category = categorise(ctx, data, where, alarm_confidence)
    report = Report(
        # the id now, not at flush: the timeline and audit entries name it, and they are written together
        id=new_id(),
        channel=data.channel,
        external_id=data.external_id,
        token=secrets.token_hex(16),
        kind=category.kind,
        code=category.code,
        text=data.text,
        lon=where.lon,
        lat=where.lat,
        address=data.address,
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        reporter_email=data.reporter_email,
        reporter_user_id=ctx.actor.user_id,
        payload=data.payload,
        received_at=at,
    )
    duplicate = find_duplicate(session, category, where, at)
    if duplicate is not None:
        report.case_id = duplicate.id
        report.merged = True
        duplicate.report_count += 1
        if data.urgency == "urgent" and duplicate.urgency != "urgent" and duplicate.dispatched_at is None:
            # a later caller saying it is urgent makes it urgent, while the dispatch clock still matters
            duplicate.urgency = "urgent"
            duplicate.dispatch_due_at = stage_deadline(duplicate, Stage.DISPATCH, duplicate.reported_at)
            refresh_timer(duplicate, now)
        session.add(report)
        if photos:
            session.flush()  # a photo row refers to its report's
            for photo in photos:
                save_photo(ctx, duplicate, photo, report.id)
        add_event(
            ctx,
            duplicate,
            "merge",
            reason=f"{_CHANNEL_LABELS.get(data.channel, data.channel)}重复上报，已合并",
            details={"report_id": report.id, "channel": data.channel, "report_count": duplicate.report_count},
            at=now,
        )
        session.flush()
        audit(ctx, audit_name, duplicate, merged=True, report_id=report.id, channel=data.channel)
        return _result(duplicate, report, True)

    case = Case(
        request_id=_request_number(at),
        kind=category.kind,
        code=category.code,
        edition=load_codes().edition,
        code_name=category.name,
        classify_confidence=category.confidence,
        needs_human=category.needs_human or where.grid_id is None,
        component_id=where.component.ident if where.component is not None else None,
        title=(data.title or data.text)[:200] if data.title else _title(data.text, category.name),
        description=data.text,
        lon=where.lon,
        lat=where.lat,
        address=data.address or where.geocoded_from,
        geocoded_from=where.geocoded_from,
        area_class=where.area_class or "B",
        urgency=data.urgency,
        source=data.channel,
        state=CaseState.REPORTED.value,
        reported_at=at,
        returned_by=[],
        **where.codes(),
    )
    case.dispatch_due_at = stage_deadline(case, Stage.DISPATCH, at)
    if case.source == HOTLINE:
        case.accept_due_at = stage_deadline(case, Stage.ACCEPT, at)
    refresh_timer(case, now)
    # the case row first, then the report's: they refer to it, as the timeline and photo rows (flushed with
    # the audit entry) refer to both
    insert_new(session, case)
    report.case_id = case.id
    insert_new(session, report)
    for photo in photos:
        save_photo(ctx, case, photo, report.id)
    details: dict[str, Any] = {"report_id": report.id, "channel": data.channel}
    if category.suggestions:
        details["suggestions"] = category.suggestions
    if where.geocoded_from:
        details["geocoded_from"] = where.geocoded_from
        details["geocode_confidence"] = where.geocode_confidence
    if where.boundary_distance_m is not None:
        details["boundary_distance_m"] = round(where.boundary_distance_m, 1)
    reason = None
    if where.grid_id is None:
        reason = "未能确定所属网格，请人工定位"
    elif category.needs_human:
        reason = f"分类置信度低（{category.confidence or 0:.2f}），请人工确认事项"
    add_event(ctx, case, "report", to_state=case.state, reason=reason, details=details, at=now, first=True)
    session.flush()
    audit(ctx, audit_name, case, channel=data.channel, code=case.code, needs_human=case.needs_human)
    return _result(case, report, False)


_CHANNEL_LABELS = {
    "hotline": "12345 热线",
    "patrol": "巡查",
    "open311": "随手拍",
    "iot": "物联感知",
    "video": "视频识别",
}


def _title(text: str, name: str | None) -> str:
    head = text.strip().splitlines()[0] if text.strip() else ""
    return (f"{name}：{head}" if name else head)[:60]


# ---- actions ------------------------------------------------------------------------------------


@action("case_report")
def case_report(
    ctx: Context, data: ReportIn, *, photos: Sequence[Photo] = (), now: datetime | None = None
) -> IntakeResult:
    """A report from any channel entered by the centre (坐席 / 网格员)."""
    where = locate(ctx.session, data)
    ctx.authorize("case_report", where.codes())
    return intake(ctx, data, where, audit_name="case_report", photos=photos, now=now)


@action("case_hotline_create")
def case_hotline_create(ctx: Context, data: HotlineTicketIn, *, now: datetime | None = None) -> IntakeResult:
    """A 12345 工单 pushed by the hotline system (the 工单号 makes a resend harmless)."""
    ctx.authorize("case_hotline_create")
    report = parse(
        ReportIn,
        {
            "channel": "hotline",
            "text": data.content,
            "address": data.address,
            "lon": data.lon,
            "lat": data.lat,
            "code": data.code,
            "kind": data.kind,
            "urgency": data.urgency,
            "external_id": data.ticket_no,
            "reporter_name": data.caller_name,
            "reporter_phone": data.caller_phone,
            "reported_at": data.received_at,
        },
    )
    return intake(ctx, report, locate(ctx.session, report), audit_name="case_hotline_create", now=now)


@action("case_patrol_report")
def case_patrol_report(
    ctx: Context, data: PatrolIn, *, photos: Sequence[Photo] = (), now: datetime | None = None
) -> IntakeResult:
    """A grid worker's 巡查上报, in the worker's own divisions.

    With ``self_disposed`` (自行处置) the worker says the problem is already handled on the spot: the new
    case is 受理、立案 and 处置 at once, assigned to the worker, and waits for the centre's 核查 — it is
    never dispatched. A report that merges into an existing case only joins it (that case keeps its course).
    """
    fields = data.model_dump(exclude={"self_disposed", "disposal_note"})
    report = parse(ReportIn, {**fields, "channel": "patrol", "reporter_name": ctx.actor.username})
    where = locate(ctx.session, report)
    ctx.authorize("case_patrol_report", where.codes())
    if data.self_disposed and where.grid_id is None:
        raise Invalid("自行处置的案件须位于某个单元网格内，请提供准确位置", details={"field": "lon"})
    result = intake(ctx, report, where, audit_name="case_patrol_report", photos=photos, now=now)
    if not data.self_disposed or result.merged:
        return result
    case = ctx.session.get(Case, result.case_id)
    assert case is not None
    moment = now or utcnow()
    case.self_disposed = True
    case.needs_human = False
    case.level, case.assignee_division, case.assignee_user_id = "grid", case.grid_id, ctx.actor.user_id
    transition(
        ctx, case, CaseAction.SELF_DISPOSE, audit_name="case_self_dispose", params={"note": data.disposal_note},
        reason=data.disposal_note, now=moment,
    )  # fmt: skip
    return result.model_copy(update={"state": case.state, "needs_human": False})


@action("case_webhook_intake")
def case_webhook_intake(ctx: Context, data: AlarmIn, *, now: datetime | None = None) -> IntakeResult:
    """An IoT alarm or a video-AI detection; the same alarm id twice is one report."""
    ctx.authorize("case_webhook_intake")
    report = parse(
        ReportIn,
        {
            "channel": data.channel,
            "text": data.text or f"设备 {data.device_id} 告警",
            "kind": data.kind,
            "code": data.code,
            "component_id": data.component_id,
            "lon": data.lon,
            "lat": data.lat,
            "urgency": data.urgency,
            "external_id": data.alarm_id,
            "payload": {"device_id": data.device_id, "confidence": data.confidence},
            "reported_at": data.detected_at,
        },
    )
    return intake(
        ctx,
        report,
        locate(ctx.session, report),
        audit_name="case_webhook_intake",
        alarm_confidence=data.confidence,
        now=now,
    )
