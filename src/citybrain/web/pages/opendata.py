"""Steward console for open data: prepare an open dataset (开放数据集) from a resource version.

The form only collects choices; every check (开放属性, which fields may be shown, which masking a
敏感 field needs, the name, the version) is ``open_dataset_prepare``'s, the same action the API and
CLI call, so the page shows the action's own Chinese reason when it refuses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from citybrain.auth.rules import Role
from citybrain.catalog import service as catalog
from citybrain.catalog.schemas import ResourcePublic, SearchQuery
from citybrain.errors import CityBrainError, NotAuthenticated, NotAuthorized, NotFound, parse
from citybrain.masking import FieldInfo, default_spec
from citybrain.opendata import query as q
from citybrain.opendata import service
from citybrain.opendata.schemas import LICENCES, DatasetPrepare
from citybrain.web.deps import Ctx
from citybrain.web.i18n import register, translate
from citybrain.web.pages.catalog import RESOURCE_PANELS
from citybrain.web.pages.portal import PORTAL, page

router = APIRouter(include_in_schema=False)
PREPARE = f"{PORTAL}/prepare"

#: masking choices offered per field: form value -> (message key, MaskSpec as a dict, the data types it
#: suits). "default" and "plain" are not masks: the policy default for the field's level, and no masking
#: (levels 1–2 only). A text method on a number or a date would fail when the data is read, so it is not offered.
_TEXT = ("string",)
_DATES = ("date", "datetime")
MASK_CHOICES: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "name": ("od.mask.name", {"method": "name", "params": {}}, _TEXT),
    "mask_3_4": ("od.mask.mask_3_4", {"method": "mask", "params": {"keep_first": 3, "keep_last": 4}}, _TEXT),
    "mask_1_1": ("od.mask.mask_1_1", {"method": "mask", "params": {"keep_first": 1, "keep_last": 1}}, _TEXT),
    "email": ("od.mask.email", {"method": "email", "params": {}}, _TEXT),
    "address": ("od.mask.address", {"method": "address", "params": {}}, _TEXT),
    "pseudonym": ("od.mask.pseudonym", {"method": "pseudonym", "params": {}}, _TEXT),
    "date_month": ("od.mask.date_month", {"method": "date", "params": {"granularity": "month"}}, _DATES),
    "date_year": ("od.mask.date_year", {"method": "date", "params": {"granularity": "year"}}, _DATES),
}

register(
    {
        "od.title": {"zh": "准备开放数据集", "en": "Prepare an open dataset"},
        "od.help": {
            "zh": "从本部门的目录资源生成开放数据集草稿，选择开放字段及其脱敏方式；"
            "草稿在“开放目录审核”中提交首席数据官批准后才对公众开放。",
            "en": "Make a draft open dataset from one of your department's resources; it goes public only "
            "after the chief data officer approves it in an open-catalog batch.",
        },
        "od.resource": {"zh": "目录资源", "en": "Catalog resource"},
        "od.choose": {"zh": "选择资源", "en": "Choose"},
        "od.open_type": {"zh": "开放属性", "en": "Openness"},
        "od.no_resources": {"zh": "本部门没有可选的目录资源", "en": "Your department has no resources"},
        "od.name": {
            "zh": "数据集标识（小写字母、数字、- 或 _）",
            "en": "Dataset id (lowercase letters, digits, - or _)",
        },
        "od.ds_title": {"zh": "数据集名称", "en": "Title"},
        "od.title_en": {"zh": "英文名称", "en": "English title"},
        "od.description": {"zh": "数据集简介", "en": "Description"},
        "od.licence": {"zh": "许可协议", "en": "Licence"},
        "od.topic": {"zh": "主题", "en": "Topic"},
        "od.tags": {"zh": "标签（用逗号分隔）", "en": "Tags (comma separated)"},
        "od.version": {"zh": "数据版本", "en": "Data version"},
        "od.follow": {"zh": "随资源新版本自动更新", "en": "Follow new versions of the resource"},
        "od.pin": {"zh": "固定在所选版本", "en": "Stay on the chosen version"},
        "od.pin_version": {"zh": "固定的版本", "en": "Pinned version"},
        "od.no_data": {"zh": "该资源尚未归集数据", "en": "No data has been loaded for this resource"},
        "od.version_row": {"zh": "第 {v} 版，{n} 行，{d}", "en": "version {v}, {n} rows, {d}"},
        "od.fields": {"zh": "开放字段与脱敏", "en": "Fields and masking"},
        "od.f.include": {"zh": "开放", "en": "Publish"},
        "od.f.level": {"zh": "敏感级别", "en": "Sensitivity"},
        "od.f.mask": {"zh": "脱敏方式", "en": "Masking"},
        "od.f.never": {"zh": "4 级高敏感，不得开放", "en": "Level 4, never published"},
        "od.f.absent": {"zh": "当前数据版本中没有该字段", "en": "Not in the current data"},
        "od.mask.default": {"zh": "按策略默认：{m}", "en": "Policy default: {m}"},
        "od.mask.none": {"zh": "不脱敏", "en": "none"},
        "od.mask.plain": {"zh": "不脱敏（原样开放）", "en": "No masking"},
        "od.mask.name": {"zh": "姓名遮蔽（张**）", "en": "Name masking"},
        "od.mask.mask_3_4": {"zh": "遮蔽，保留前 3 位、后 4 位", "en": "Mask, keep first 3 and last 4"},
        "od.mask.mask_1_1": {"zh": "遮蔽，保留首尾各 1 位", "en": "Mask, keep first and last"},
        "od.mask.email": {"zh": "邮箱遮蔽", "en": "E-mail masking"},
        "od.mask.date_month": {"zh": "日期泛化到月", "en": "Date to the month"},
        "od.mask.date_year": {"zh": "日期泛化到年", "en": "Date to the year"},
        "od.mask.address": {"zh": "地址泛化到区县", "en": "Address to the district"},
        "od.mask.pseudonym": {"zh": "假名化（不可逆标识）", "en": "Pseudonym"},
        "od.submit": {"zh": "生成开放数据集草稿", "en": "Create the draft"},
        "od.done": {
            "zh": "已生成开放数据集草稿 {n}，请在下方提交首席数据官审核",
            "en": "Draft {n} created; submit it for approval below",
        },
        "od.panel": {"zh": "公共数据开放", "en": "Open data"},
    }
)


def _t(ctx: Ctx, key: str, **kwargs: object) -> str:
    return translate(key, ctx.lang, **kwargs)


def _login_redirect(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


def _field_rows(ctx: Ctx, resource: ResourcePublic, present: set[str] | None) -> list[dict[str, Any]]:
    """One row per catalog field: its level, the policy's default masking, and whether it may be offered."""
    rows = []
    for f in resource.fields:
        info = FieldInfo(name=f.name, level=f.sensitivity, element=f.standard)
        level = int(info.effective_level)
        default = default_spec(info)
        rows.append(
            {
                "name": f.name,
                "title": f.title,
                "level": level,
                "never": level >= 4,
                "absent": present is not None and f.name not in present,
                "default_label": q.describe_mask(default) or _t(ctx, "od.mask.none"),
                # a 敏感 field must stay masked: the form does not offer what the action would refuse
                "plain_allowed": level < 3,
                "choices": [(v, key) for v, (key, _spec, types) in MASK_CHOICES.items() if f.data_type in types],
            }
        )
    return rows


def _form_page(
    ctx: Ctx, request: Request, form: dict[str, Any], status_code: int = 200, error: str | None = None
) -> Response:
    if not ctx.allowed("open_dataset_prepare"):
        raise NotAuthorized("只有数据提供部门的数据管理员可以准备开放数据集")
    # a steward prepares from the own department's resources; an administrator from any
    scope = None if ctx.actor.kind == "system" or ctx.actor.roles & {Role.ADMIN} else ctx.actor.dept_id
    resources = catalog.resource_search(ctx, SearchQuery(dept=scope, limit=500), facets=False).items
    resources = [r for r in resources if ctx.allowed("open_dataset_prepare", r)]
    chosen = None
    versions: list[Any] = []
    fields: list[dict[str, Any]] = []
    key = form.get("resource") or ""
    if key:
        try:
            chosen = catalog.resource_show(ctx, key)
        except NotFound as exc:
            error = error or exc.message
    if chosen is not None:
        versions = list(reversed(service.lake_for(ctx).versions(chosen.key)))
        present = {c["name"] for c in versions[0].schema} if versions else None
        fields = _field_rows(ctx, chosen, present)
    return page(
        ctx,
        request,
        "prepare.html",
        {
            "resources": resources,
            "chosen": chosen,
            "versions": versions,
            "fields": fields,
            "licences": LICENCES,
            "form": form,
            "error": error,
        },
        status_code=status_code,
    )


@router.get(PREPARE)
def prepare_form(ctx: Ctx, request: Request) -> Response:
    if not ctx.actor.is_authenticated:
        return _login_redirect(str(request.url.path))
    return _form_page(ctx, request, {"resource": request.query_params.get("resource", ""), "follow": "latest"})


def _choices(form: Any, data_types: dict[str, str]) -> list[dict[str, Any]]:
    """Per-field choices for the action: left out, the policy default, unmasked, or a named masking."""
    out: list[dict[str, Any]] = []
    included = set(form.getlist("include"))
    for name in data_types:
        if name not in included:
            out.append({"name": name, "include": False})
            continue
        mask = str(form.get(f"mask.{name}") or "default")
        if mask == "plain":
            out.append({"name": name, "plain": True})
        elif mask in MASK_CHOICES and data_types.get(name) in MASK_CHOICES[mask][2]:
            out.append({"name": name, "mask": MASK_CHOICES[mask][1]})
        # "default" (or a masking that does not suit the type): no choice, so the action applies the policy default
    return out


@router.post(PREPARE)
async def prepare_submit(ctx: Ctx, request: Request) -> Response:
    if not ctx.actor.is_authenticated:
        return _login_redirect(PREPARE)
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "include" and not k.startswith("mask.")}
    values["include"] = [str(v) for v in form.getlist("include")]
    values["masks"] = {k[5:]: str(v) for k, v in form.items() if k.startswith("mask.")}
    try:
        resource = catalog.resource_show(ctx, values.get("resource", ""))
        # what is not ticked is not published: every catalog field gets a choice, so nothing slips in by default
        pinned = values.get("follow") == "pinned"
        data = {
            "resource": resource.key,
            "name": values.get("name") or None,
            "title": values.get("title") or None,
            "title_en": values.get("title_en") or None,
            "description": values.get("description") or None,
            "licence": values.get("licence") or "cc-by-4.0",
            "topic": values.get("topic") or None,
            "tags": [t.strip() for t in values.get("tags", "").replace("，", ",").split(",") if t.strip()] or None,
            "fields": _choices(form, {f.name: f.data_type for f in resource.fields}),
            "follow_latest": not pinned,
            "version": int(values["version"]) if pinned and values.get("version", "").isdigit() else None,
        }
        ds = service.open_dataset_prepare(ctx, parse(DatasetPrepare, data))
    except CityBrainError as exc:
        ctx.session.rollback()
        if isinstance(exc, NotAuthenticated | NotAuthorized):
            raise
        return _form_page(ctx, request, values, 422, exc.message)
    return RedirectResponse(f"{PORTAL}/batches?prepared={ds.name}", status_code=303)


def _resource_panel(ctx: Any, resource: Any) -> dict[str, Any] | None:
    """A 准备开放 link on the catalog page of a resource its steward may publish."""
    if not ctx.actor.is_authenticated or not ctx.allowed("open_dataset_prepare", resource):
        return None
    if resource.open_type not in service.OPENABLE:
        return None
    lang = getattr(ctx, "lang", "zh")
    html = Markup('<a class="button" id="open-prepare" href="{}?resource={}">{}</a>').format(
        PREPARE, escape(resource.key), translate("od.title", lang)
    )
    return {"title": translate("od.panel", lang), "html": html}


if _resource_panel not in RESOURCE_PANELS:
    RESOURCE_PANELS.append(_resource_panel)
