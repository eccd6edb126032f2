"""Console pages of aggregation (归集): a resource's loads and versions with an upload form, one load
with its progress and quarantined rows, and the quarantine grouped by field and kind with a form
to correct rows and resubmit them. Every page calls the same actions as the API and CLI."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from citybrain.actions import Context
from citybrain.catalog.service import get_resource
from citybrain.errors import CityBrainError
from citybrain.ingest import service
from citybrain.ingest.models import IngestJob, QuarantineRow
from citybrain.web.api.ingest import load_upload
from citybrain.web.deps import Ctx, request_lang
from citybrain.web.i18n import register, translate
from citybrain.web.pages.catalog import RESOURCE_PANELS
from citybrain.web.pages.common import render

router = APIRouter(include_in_schema=False)

register(
    {
        "ing.title": {"zh": "数据归集", "en": "Aggregation"},
        "ing.upload": {"zh": "上传数据文件", "en": "Upload a data file"},
        "ing.upload.help": {
            "zh": "支持 CSV（UTF-8、带 BOM 的 UTF-8、GB18030 自动识别）、Excel（含表头上方的标题行）、JSON/NDJSON、"
            "Parquet。未通过目录校验的行进入隔离区，其余行写入新版本。",
            "en": "CSV (UTF-8, UTF-8 with BOM or GB18030, detected), Excel (title rows above the header are "
            "skipped), JSON/NDJSON, Parquet. Rows failing the catalog's checks go to quarantine; the rest "
            "become a new version.",
        },
        "ing.file": {"zh": "文件", "en": "File"},
        "ing.mode": {"zh": "归集方式", "en": "Mode"},
        "ing.mode.replace": {"zh": "全量替换", "en": "Replace everything"},
        "ing.mode.merge": {"zh": "按主键合并（增量）", "en": "Merge by primary key"},
        "ing.sheet": {"zh": "工作表（Excel，可选）", "en": "Sheet (Excel, optional)"},
        "ing.encoding": {"zh": "文件编码", "en": "Encoding"},
        "ing.encoding.auto": {"zh": "自动识别", "en": "Detect"},
        "ing.submit": {"zh": "上传并归集", "en": "Upload and load"},
        "ing.no_file": {"zh": "请选择要上传的文件", "en": "Choose a file to upload"},
        "ing.loads": {"zh": "归集记录", "en": "Loads"},
        "ing.load": {"zh": "归集记录", "en": "Load"},
        "ing.versions": {"zh": "数据版本", "en": "Versions"},
        "ing.version": {"zh": "版本", "en": "Version"},
        "ing.current": {"zh": "当前", "en": "current"},
        "ing.rows": {"zh": "行数", "en": "Rows"},
        "ing.read": {"zh": "读取", "en": "Read"},
        "ing.accepted": {"zh": "入湖", "en": "Accepted"},
        "ing.quarantined": {"zh": "隔离", "en": "Quarantined"},
        "ing.status": {"zh": "状态", "en": "Status"},
        "ing.source": {"zh": "来源", "en": "Source"},
        "ing.connector": {"zh": "接入方式", "en": "Connector"},
        "ing.who": {"zh": "操作人", "en": "By"},
        "ing.started": {"zh": "开始时间", "en": "Started"},
        "ing.finished": {"zh": "结束时间", "en": "Finished"},
        "ing.checksum": {"zh": "校验和（SHA-256）", "en": "Checksum (SHA-256)"},
        "ing.error": {"zh": "错误", "en": "Error"},
        "ing.progress": {"zh": "进度", "en": "Progress"},
        "ing.refresh": {"zh": "刷新查看进度", "en": "Refresh for progress"},
        "ing.none": {"zh": "暂无", "en": "None"},
        "ing.quarantine": {"zh": "隔离区", "en": "Quarantine"},
        "ing.quarantine.open": {"zh": "待处理隔离行", "en": "Open quarantined rows"},
        "ing.groups": {"zh": "按字段和问题类型分类", "en": "By field and kind of problem"},
        "ing.kind": {"zh": "问题类型", "en": "Kind of problem"},
        "ing.example": {"zh": "示例", "en": "Example"},
        "ing.field": {"zh": "字段", "en": "Field"},
        "ing.reason": {"zh": "原因", "en": "Reason"},
        "ing.loads_n": {"zh": "涉及归集次数", "en": "Loads"},
        "ing.row_number": {"zh": "行号", "en": "Row"},
        "ing.show_rows": {"zh": "查看并修正", "en": "Review and fix"},
        "ing.all_groups": {"zh": "全部分类", "en": "All groups"},
        "ing.fix": {"zh": "修正后重新提交", "en": "Correct and resubmit"},
        "ing.fix.help": {
            "zh": "修改出错字段的值后重新提交：通过校验的行按主键合并为新版本，仍不通过的行留在隔离区并给出新的原因。"
            "数据源头的错误请同时在部门业务系统中更正。",
            "en": "Correct the failing values and resubmit: rows that now pass are merged as a new version; rows "
            "still failing stay with their new reasons. Fix the source system too.",
        },
        "ing.resubmitted": {
            "zh": "已重新提交：{accepted} 行入湖（版本 v{version}），{quarantined} 行仍未通过",
            "en": "Resubmitted: {accepted} rows accepted (v{version}), {quarantined} still failing",
        },
        "ing.resubmitted.none": {
            "zh": "已重新提交：没有行通过校验，{quarantined} 行仍在隔离区",
            "en": "Resubmitted: no row passed; {quarantined} remain in quarantine",
        },
        "ing.other_values": {"zh": "其他字段", "en": "Other values"},
        "ing.panel.link": {"zh": "归集与隔离区", "en": "Loads and quarantine"},
        "ing.panel.never": {"zh": "尚未归集数据", "en": "No data loaded yet"},
        "ing.panel.latest": {"zh": "当前版本", "en": "Current version"},
        "ing.page": {"zh": "第 {page} 页，共 {total} 行", "en": "Page {page}, {total} rows"},
        "ing.prev": {"zh": "上一页", "en": "Previous"},
        "ing.next": {"zh": "下一页", "en": "Next"},
        "ing.status.succeeded": {"zh": "成功", "en": "Succeeded"},
        "ing.status.rejected": {"zh": "全部隔离", "en": "All rows quarantined"},
        "ing.status.failed": {"zh": "失败", "en": "Failed"},
        "ing.status.queued": {"zh": "排队中", "en": "Queued"},
        "ing.status.running": {"zh": "进行中", "en": "Running"},
    }
)

PAGE_SIZE = 20


def _page(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _resource_page(
    ctx: Context, request: Request, ref: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    resource = get_resource(ctx.session, ref)
    loads = service.load_list(ctx, ref=ref, limit=PAGE_SIZE)
    versions = service.version_list(ctx, ref) if ctx.allowed("version_list", resource) else []
    groups = service.quarantine_summary(ctx, ref) if ctx.allowed("quarantine_summary", resource) else None
    return render(
        request,
        "ingest/resource.html",
        {
            "r": resource,
            "loads": loads,
            "versions": versions,
            "groups": groups,
            "can_load": ctx.allowed("resource_load", resource),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/catalog/{ref}/ingest")
def resource_ingest_page(ctx: Ctx, request: Request, ref: str) -> Response:
    return _resource_page(ctx, request, ref)


@router.post("/catalog/{ref}/ingest")
async def resource_ingest_upload(
    ctx: Ctx,
    request: Request,
    ref: str,
    file: Annotated[UploadFile | None, File()] = None,
    mode: Annotated[str, Form()] = "replace",
    sheet: Annotated[str, Form()] = "",
    encoding: Annotated[str, Form()] = "",
) -> Response:
    if file is None or not file.filename:
        ctx.authorize("resource_load", get_resource(ctx.session, ref))
        return _resource_page(ctx, request, ref, error=translate("ing.no_file", request_lang(request)), status_code=422)
    try:
        load = load_upload(ctx, ref, file, mode=mode, sheet=sheet or None, encoding=encoding or None)
    except CityBrainError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        ctx.session.rollback()
        return _resource_page(ctx, request, ref, error=exc.message, status_code=422)
    # a load that failed is still recorded: its page says why
    return RedirectResponse(f"/ingest/loads/{quote(load.id)}", status_code=303)


@router.get("/ingest/loads/{load_id}")
def load_page(ctx: Ctx, request: Request, load_id: str, page: str | None = None) -> Response:
    load = service.load_show(ctx, load_id)
    # the session already holds the job after the check, so the action reads it without a query
    job = (
        service.job_show(ctx, load.job_id)
        if load.job_id and ctx.allowed("job_show", ctx.session.get(IngestJob, load.job_id))
        else None
    )
    number = _page(page)
    rows = None
    if load.rows_quarantined and ctx.allowed("quarantine_list", get_resource(ctx.session, load.resource_key)):
        rows = service.quarantine_list(
            ctx, load_id=load_id, status=None, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
    pages = max(1, -(-rows.total // PAGE_SIZE)) if rows else 1
    return render(request, "ingest/load.html", {"load": load, "job": job, "rows": rows, "page": number, "pages": pages})


def _quarantine_page(
    ctx: Context,
    request: Request,
    ref: str,
    *,
    field: str | None,
    kind: str | None,
    page: int,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    resource = get_resource(ctx.session, ref)
    groups = service.quarantine_summary(ctx, ref)
    rows = service.quarantine_list(
        ctx, ref, field=field or None, kind=kind or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    labels = {f.name: f"{f.title}（{f.name}）" if f.title else f.name for f in resource.fields}
    here = {k: v for k, v in (("field", field), ("kind", kind)) if v}
    return render(
        request,
        "ingest/quarantine.html",
        {
            "r": resource,
            "groups": groups,
            "rows": rows,
            "field": field or "",
            "kind": kind or "",
            "page": page,
            "pages": max(1, -(-rows.total // PAGE_SIZE)),
            "query": urlencode(here),
            "labels": labels,
            "can_fix": ctx.allowed("quarantine_resubmit", resource),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/catalog/{ref}/quarantine")
def quarantine_page(
    ctx: Ctx, request: Request, ref: str, field: str | None = None, kind: str | None = None, page: str | None = None
) -> Response:
    return _quarantine_page(ctx, request, ref, field=field, kind=kind, page=_page(page))


@router.post("/catalog/{ref}/quarantine/resubmit")
async def quarantine_resubmit(ctx: Ctx, request: Request, ref: str) -> Response:
    """The form sends ``row`` (one per corrected row) and ``value:<row id>:<field>`` for each edited value;
    a value left as it was is not sent as a correction."""
    form = await request.form()
    chosen = [str(v) for v in form.getlist("row")]
    originals = {q.id: q for q in _rows(ctx, chosen)}
    corrections = []
    for row_id in chosen:
        prefix = f"value:{row_id}:"
        raw = originals[row_id].raw if row_id in originals else {}
        values = {
            key[len(prefix) :]: str(value)
            for key, value in form.multi_items()
            if key.startswith(prefix) and str(value) != _text(raw.get(key[len(prefix) :]))
        }
        corrections.append({"id": row_id, "values": values})
    field, kind = str(form.get("field") or ""), str(form.get("kind") or "")
    try:
        load = service.quarantine_resubmit(ctx, ref, corrections)
    except CityBrainError as exc:
        if exc.http_status in (401, 403):
            raise
        ctx.session.rollback()
        return _quarantine_page(ctx, request, ref, field=field, kind=kind, page=1, error=exc.message, status_code=422)
    lang = request_lang(request)
    key = "ing.resubmitted" if load.version else "ing.resubmitted.none"
    notice = translate(key, lang, accepted=load.rows_accepted, quarantined=load.rows_quarantined, version=load.version)
    return _quarantine_page(ctx, request, ref, field=field, kind=kind, page=1, notice=notice)


def _rows(ctx: Context, ids: list[str]) -> list[QuarantineRow]:
    from sqlalchemy import select

    if not ids:
        return []
    # only to tell edited values from unchanged ones; the action checks ownership and rights itself
    return list(ctx.session.scalars(select(QuarantineRow).where(QuarantineRow.id.in_(ids))))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _panel(ctx: Context, resource: Any) -> dict[str, Any] | None:
    """A 数据归集 panel on the catalog page: the current version, the last load, open quarantine."""
    if not ctx.allowed("load_list", resource):
        return None
    zh = ctx.lang != "en"
    page = service.load_list(ctx, ref=resource.key, limit=1)
    link = f'<a href="/catalog/{escape(resource.key)}/ingest">{"归集与隔离区" if zh else "Loads and quarantine"}</a>'
    title = "数据归集" if zh else "Aggregation"
    if not page.items:
        return {"title": title, "html": Markup(f"<p>{'尚未归集数据' if zh else 'No data loaded yet'}。{link}</p>")}
    last = page.items[0]
    parts = [
        f'<div class="kpi">{"归集次数" if zh else "Loads"}<b>{page.total}</b></div>',
        f'<div class="kpi">{"最近一次入湖/隔离" if zh else "Last accepted/quarantined"}'
        f"<b>{last.rows_accepted}/{last.rows_quarantined}</b></div>",
    ]
    if ctx.allowed("quarantine_summary", resource):
        open_rows = sum(g.rows for g in service.quarantine_summary(ctx, resource.key))
        parts.append(f'<div class="kpi">{"待处理隔离行" if zh else "Open quarantined rows"}<b>{open_rows}</b></div>')
    return {"title": title, "html": Markup(f'<div class="kpis">{"".join(parts)}</div><p>{link}</p>')}


if _panel not in RESOURCE_PANELS:
    RESOURCE_PANELS.append(_panel)
