"""公共数据开放平台 portal: server-rendered pages for the public, Chinese first, English available.

Everything is plain HTML with one stylesheet; charts are inline SVG drawn here; nothing is fetched
from elsewhere, so the portal works offline and stays light on a phone. Pages call only actions.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from citybrain.auth import service as auth
from citybrain.auth.rules import Role
from citybrain.auth.schemas import UserCreate
from citybrain.errors import CityBrainError, NotAuthenticated, NotAuthorized, NotFound, parse
from citybrain.opendata import charts, ckan, search, service
from citybrain.opendata import query as q
from citybrain.opendata.models import DatasetStatus, OpenDataset
from citybrain.opendata.schemas import LICENCES, TERMS_TEXT, ApplicationCreate, ApplicationDecision, AppRegister
from citybrain.org.models import Department
from citybrain.web.deps import Ctx
from citybrain.web.i18n import register
from citybrain.web.pages.common import render

router = APIRouter(include_in_schema=False)
PORTAL = "/portal"
PAGE = 20

register(
    {
        "portal.name": {"zh": "公共数据开放平台", "en": "Open Data Portal"},
        "portal.tagline": {"zh": "常州市公共数据开放平台", "en": "Changzhou open data"},
        "portal.home": {"zh": "首页", "en": "Home"},
        "portal.datasets": {"zh": "数据集", "en": "Datasets"},
        "portal.departments": {"zh": "开放部门", "en": "Departments"},
        "portal.apps": {"zh": "开放数据应用", "en": "Apps"},
        "portal.metrics": {"zh": "开放指标", "en": "Metrics"},
        "portal.account": {"zh": "我的申请", "en": "My applications"},
        "portal.review": {"zh": "申请审核", "en": "Review applications"},
        "portal.register": {"zh": "注册", "en": "Register"},
        "portal.search_label": {"zh": "搜索开放数据", "en": "Search open data"},
        "portal.search_hint": {"zh": "如：公交、政策文件、营商环境", "en": "e.g. 公交, 政策文件"},
        "portal.count": {"zh": "共 {n} 个数据集", "en": "{n} datasets"},
        "portal.none": {"zh": "没有找到符合条件的数据集", "en": "No datasets match"},
        "portal.recent": {"zh": "最近更新", "en": "Recently updated"},
        "portal.popular": {"zh": "热门数据", "en": "Popular"},
        "portal.topics": {"zh": "主题", "en": "Topics"},
        "portal.sort": {"zh": "排序", "en": "Sort by"},
        "portal.sort.relevance": {"zh": "相关度", "en": "Relevance"},
        "portal.sort.modified": {"zh": "最近更新", "en": "Last updated"},
        "portal.sort.downloads": {"zh": "下载量", "en": "Downloads"},
        "portal.sort.name": {"zh": "名称", "en": "Name"},
        "portal.facet.organization": {"zh": "提供部门", "en": "Department"},
        "portal.facet.groups": {"zh": "主题", "en": "Topic"},
        "portal.facet.res_format": {"zh": "格式", "en": "Format"},
        "portal.facet.open_type": {"zh": "开放属性", "en": "Openness"},
        "portal.facet.update_frequency": {"zh": "更新频率", "en": "Update frequency"},
        "portal.clear": {"zh": "清除筛选", "en": "Clear filters"},
        "portal.updated": {"zh": "数据更新于", "en": "Data updated"},
        "portal.published": {"zh": "开放时间", "en": "Published"},
        "portal.version": {"zh": "数据版本", "en": "Version"},
        "portal.follow": {"zh": "随资源自动更新", "en": "follows new versions"},
        "portal.pinned": {"zh": "固定版本", "en": "pinned"},
        "portal.rows": {"zh": "{n} 行", "en": "{n} rows"},
        "portal.licence": {"zh": "许可协议", "en": "Licence"},
        "portal.dictionary": {"zh": "数据字典", "en": "Data dictionary"},
        "portal.masking": {"zh": "脱敏处理", "en": "Masking"},
        "portal.preview": {"zh": "数据预览（前 10 行）", "en": "Preview (first 10 rows)"},
        "portal.charts": {"zh": "数据概览", "en": "Charts"},
        "portal.histogram": {"zh": "{f} 分布", "en": "Distribution of {f}"},
        "portal.timeline": {"zh": "按{p}统计的 {f}", "en": "{f} by {p}"},
        "portal.year": {"zh": "年", "en": "year"},
        "portal.month": {"zh": "月", "en": "month"},
        "portal.downloads": {"zh": "下载", "en": "Download"},
        "portal.api": {"zh": "接口调用", "en": "API"},
        "portal.api_help": {
            "zh": "兼容 CKAN Action API，可用 ckanapi 等工具直接调用：",
            "en": "CKAN Action API compatible; works with ckanapi and other CKAN clients:",
        },
        "portal.history": {"zh": "版本历史", "en": "Version history"},
        "portal.conditional": {
            "zh": "该数据集为有条件开放：元数据公开，数据需申请获批后使用个人密钥获取。",
            "en": "Conditionally open: metadata is public, data needs an approved application and a personal key.",
        },
        "portal.apply": {"zh": "申请使用", "en": "Apply for access"},
        "portal.apply_login": {"zh": "登录后申请", "en": "Log in to apply"},
        "portal.used_by": {"zh": "使用该数据的应用", "en": "Apps using this dataset"},
        "portal.dcat": {"zh": "元数据（DCAT-AP）", "en": "Metadata (DCAT-AP)"},
        "portal.views": {"zh": "浏览 {n}", "en": "{n} views"},
        "portal.download_count": {"zh": "下载 {n}", "en": "{n} downloads"},
        "portal.field": {"zh": "字段", "en": "Field"},
        "portal.title": {"zh": "中文名称", "en": "Title"},
        "portal.type": {"zh": "类型", "en": "Type"},
        "portal.dept_datasets": {"zh": "{n} 个开放数据集", "en": "{n} open datasets"},
        "portal.open_rate": {"zh": "公共信息资源社会开放率", "en": "Share of openable resources published"},
        "portal.m.datasets": {"zh": "开放数据集", "en": "Open datasets"},
        "portal.m.departments": {"zh": "开放部门", "en": "Departments"},
        "portal.m.rows": {"zh": "开放数据量（行）", "en": "Rows published"},
        "portal.m.downloads": {"zh": "下载次数", "en": "Downloads"},
        "portal.m.api_calls": {"zh": "接口调用次数", "en": "API calls"},
        "portal.m.applications": {"zh": "获批申请", "en": "Applications approved"},
        "portal.m.apps": {"zh": "开放数据应用", "en": "Apps registered"},
        "portal.m.should": {"zh": "应开放资源", "en": "Resources to open"},
        "portal.m.opened": {"zh": "已开放资源", "en": "Resources opened"},
        "portal.m.per_dept": {"zh": "各部门开放情况", "en": "By department"},
        "portal.m.daily": {"zh": "近 30 天使用量", "en": "Usage, last 30 days"},
        "portal.m.pending": {
            "zh": "待审批：开放目录批次 {b} 个，有条件开放申请 {a} 个",
            "en": "Pending: {b} batches, {a} applications",
        },
        "portal.app.name": {"zh": "应用名称", "en": "App name"},
        "portal.app.developer": {"zh": "开发者（单位或个人）", "en": "Developer"},
        "portal.app.url": {"zh": "应用地址", "en": "URL"},
        "portal.app.description": {"zh": "应用简介", "en": "Description"},
        "portal.app.datasets": {"zh": "使用的数据集（可多选）", "en": "Datasets used"},
        "portal.app.submit": {"zh": "登记应用", "en": "Register the app"},
        "portal.app.new": {"zh": "登记开放数据应用", "en": "Register an app"},
        "portal.app.none": {"zh": "尚无登记的应用", "en": "No apps yet"},
        "portal.app.done": {"zh": "应用已登记", "en": "App registered"},
        "portal.reg.title": {"zh": "注册公众账号", "en": "Create a public account"},
        "portal.reg.help": {
            "zh": "个人或企业注册后可申请有条件开放数据、登记开放数据应用。",
            "en": "Register to apply for conditionally open data and to list your apps.",
        },
        "portal.reg.username": {"zh": "用户名（字母、数字）", "en": "Username (letters, digits)"},
        "portal.reg.display": {"zh": "姓名或单位名称", "en": "Name or organisation"},
        "portal.reg.password": {"zh": "密码（至少 8 位）", "en": "Password (8+ characters)"},
        "portal.reg.email": {"zh": "电子邮箱", "en": "Email"},
        "portal.reg.phone": {"zh": "手机号码", "en": "Mobile"},
        "portal.reg.submit": {"zh": "注册", "en": "Register"},
        "portal.ap.title": {"zh": "申请使用：{t}", "en": "Apply for: {t}"},
        "portal.ap.kind": {"zh": "申请人类型", "en": "Applicant"},
        "portal.ap.person": {"zh": "个人", "en": "Person"},
        "portal.ap.company": {"zh": "企业或其他组织", "en": "Company or organisation"},
        "portal.ap.org": {"zh": "单位名称（企业填写）", "en": "Organisation (companies)"},
        "portal.ap.uscc": {"zh": "统一社会信用代码（企业填写）", "en": "Unified social credit code (companies)"},
        "portal.ap.purpose": {"zh": "申请用途", "en": "Purpose"},
        "portal.ap.use": {"zh": "预期使用场景与成果", "en": "Intended use"},
        "portal.ap.terms": {"zh": "开放数据使用条款", "en": "Terms of use"},
        "portal.ap.accept": {"zh": "我已阅读并同意上述使用条款", "en": "I accept the terms of use"},
        "portal.ap.submit": {"zh": "提交申请", "en": "Submit"},
        "portal.ap.done": {
            "zh": "申请已提交，等待数据提供部门审核",
            "en": "Submitted; the source department will decide",
        },
        "portal.ac.status": {"zh": "状态", "en": "Status"},
        "portal.ac.key": {"zh": "领取个人密钥", "en": "Get my API key"},
        "portal.ac.key_shown": {
            "zh": "您的个人密钥（只显示这一次，请妥善保存；在请求头 Authorization 中携带）：",
            "en": "Your personal key (shown once; send it in the Authorization header):",
        },
        "portal.ac.limits": {
            "zh": "每日 {c} 次，每次最多 {r} 行，有效期至 {d}",
            "en": "{c} calls a day, {r} rows a call, until {d}",
        },
        "portal.ac.none": {"zh": "您还没有提交过申请", "en": "You have not applied yet"},
        "portal.st.pending": {"zh": "待审核", "en": "Pending"},
        "portal.st.approved": {"zh": "已批准", "en": "Approved"},
        "portal.st.refused": {"zh": "未批准", "en": "Refused"},
        "portal.st.revoked": {"zh": "已终止", "en": "Revoked"},
        "portal.rv.approve": {"zh": "批准", "en": "Approve"},
        "portal.rv.refuse": {"zh": "不予批准", "en": "Refuse"},
        "portal.rv.reason": {"zh": "理由（不予批准时必填）", "en": "Reason (required to refuse)"},
        "portal.rv.calls": {"zh": "每日调用上限", "en": "Daily call limit"},
        "portal.rv.rows": {"zh": "每次最多行数", "en": "Rows per call"},
        "portal.rv.none": {"zh": "没有待审核的申请", "en": "Nothing to review"},
        "portal.rv.applicant": {"zh": "申请人", "en": "Applicant"},
        "portal.all": {"zh": "全部", "en": "All"},
        "portal.batches": {"zh": "开放目录审核", "en": "Open-catalog batches"},
        "portal.prepare": {"zh": "准备开放", "en": "Prepare a dataset"},
        "portal.b.drafts": {"zh": "本部门待提交的数据集", "en": "Drafts of your department"},
        "portal.b.title": {"zh": "批次名称", "en": "Batch title"},
        "portal.b.submit": {"zh": "提交首席数据官审核", "en": "Submit for approval"},
        "portal.b.pending": {"zh": "待审核批次", "en": "Batches awaiting approval"},
        "portal.b.decided": {"zh": "已处理批次", "en": "Decided batches"},
        "portal.b.approve": {"zh": "批准开放", "en": "Approve"},
        "portal.b.reject": {"zh": "退回", "en": "Send back"},
        "portal.b.reason": {"zh": "退回原因 / 审核意见", "en": "Reason / note"},
        "portal.b.none": {"zh": "暂无", "en": "None"},
        "portal.b.fields": {"zh": "开放字段", "en": "Published fields"},
        "portal.b.by": {"zh": "提交人", "en": "Submitted by"},
        "portal.st.submitted": {"zh": "待审核", "en": "Submitted"},
        "portal.st.rejected": {"zh": "已退回", "en": "Sent back"},
    }
)


def _nav(ctx: Ctx) -> list[tuple[str, str]]:
    items = [
        (PORTAL, "portal.home"),
        (f"{PORTAL}/datasets", "portal.datasets"),
        (f"{PORTAL}/departments", "portal.departments"),
        (f"{PORTAL}/apps", "portal.apps"),
        (f"{PORTAL}/metrics", "portal.metrics"),
    ]
    if ctx.actor.is_authenticated:
        items.append((f"{PORTAL}/account", "portal.account"))
    if ctx.allowed("open_application_decide"):
        items.append((f"{PORTAL}/review", "portal.review"))
    if ctx.actor.is_authenticated and ctx.allowed("open_dataset_prepare"):
        items.append((f"{PORTAL}/prepare", "portal.prepare"))
    if ctx.actor.is_authenticated and ctx.allowed("open_batch_list"):
        items.append((f"{PORTAL}/batches", "portal.batches"))
    return items


def page(ctx: Ctx, request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    path = request.url.path
    current = max((p for p, _ in _nav(ctx) if path == p or path.startswith(p + "/")), key=len, default=None)
    return render(
        request,
        f"portal/{template}",
        {"portal_nav": _nav(ctx), "portal_current": current, **context},
        status_code=status_code,
    )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _page_number(raw: str | None) -> int:
    try:
        return max(int(raw or 1), 1)
    except ValueError:
        return 1


def _depts(ctx: Ctx) -> dict[str, Department]:
    return {d.id: d for d, _ in service.open_org_list(ctx)}


# -- home and search -------------------------------------------------------------------------------


@router.get(PORTAL, name="portal_home")
def home(ctx: Ctx, request: Request) -> Response:
    metrics = service.open_metrics_show(ctx, exact=False)
    recent = service.open_dataset_search(
        ctx, search.Query(rows=6, sort="metadata_modified desc", facet_fields=["groups"])
    )
    popular = service.open_dataset_search(ctx, search.Query(rows=6, sort="downloads desc, views_recent desc"))
    return page(
        ctx,
        request,
        "home.html",
        {
            "metrics": metrics,
            "recent": recent,
            "popular": popular,
            "topics": recent.facets.get("groups", {}),
            "orgs": service.open_org_list(ctx)[:12],
        },
    )


FILTERS = {
    "organization": "organization",
    "topic": "groups",
    "format": "res_format",
    "open_type": "open_type",
    "update_frequency": "update_frequency",
}
SORTS = {
    "": "score desc, metadata_modified desc",
    "modified": "metadata_modified desc",
    "downloads": "downloads desc",
    "name": "title_string asc",
}


@router.get(f"{PORTAL}/datasets")
def dataset_search(ctx: Ctx, request: Request) -> Response:
    params = request.query_params
    number = _page_number(params.get("page"))
    filters = {facet: [params[p]] for p, facet in FILTERS.items() if params.get(p)}
    sort = params.get("sort", "")
    query = search.Query(
        q=params.get("q", ""),
        rows=PAGE,
        start=(number - 1) * PAGE,
        sort=SORTS.get(sort, SORTS[""]),
        facet_fields=list(FILTERS.values()),
        filters=filters,
    )
    result = service.open_dataset_search(ctx, query)
    return page(
        ctx,
        request,
        "search.html",
        {
            "q": query.q,
            "result": result,
            "page": number,
            "pages": max((result.count + PAGE - 1) // PAGE, 1),
            "filters": FILTERS,
            "chosen": {p: params.get(p) for p in FILTERS if params.get(p)},
            "sort": sort,
            "sorts": SORTS,
            "dept_names": {d.code: d.name for d in result.depts.values()},
        },
    )


@router.get(f"{PORTAL}/topics/{{topic}}")
def topic_page(topic: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"{PORTAL}/datasets?topic={quote(topic)}", status_code=303)


# -- dataset page ----------------------------------------------------------------------------------


def _api_examples(request: Request, ds: OpenDataset) -> list[str]:
    base = _base(request)
    key = ' -H "Authorization: <您的个人密钥>"' if ds.open_type == "有条件开放" else ""
    return [
        f"curl '{base}/api/3/action/package_show?id={ds.name}'",
        f"curl{key} '{base}/api/3/action/datastore_search?resource_id={ds.id}&limit=100&offset=0'",
        f"python -c \"import ckanapi; print(ckanapi.RemoteCKAN('{base}').action.datastore_search("
        f"resource_id='{ds.id}', limit=5))\"",
    ]


@router.get(f"{PORTAL}/datasets/{{name}}")
def dataset_page(ctx: Ctx, request: Request, name: str) -> Response:
    ds = service.open_dataset_show(ctx, name)
    dept = ctx.session.get(Department, ds.dept_id)
    lake = service.lake_for(ctx)
    try:
        version = q.resolve_version(lake, ds)
        served = q.served_fields(ds, service.dataset_resource(ctx.session, ds), version)
    except NotFound:
        version, served = None, []
    preview = None
    profiles: list[dict[str, Any]] = []
    restricted = None
    if version is not None:
        try:
            # a 有条件开放 preview is a use of the applicant's grant: audited like an API call
            conditional = ds.open_type == "有条件开放"
            preview = service.open_dataset_rows(ctx, ds.id, limit=10, total=False, count=conditional)
            profiles = q.column_profiles(lake, version, served)
        except (NotAuthorized, NotAuthenticated) as exc:
            restricted = exc.message
    lang = ctx.lang
    chart_svgs = []
    for i, prof in enumerate(profiles):
        f = prof["field"]
        if prof["kind"] == "histogram":
            title = _t(lang, "portal.histogram", f=f.title)
        else:
            period = _t(lang, "portal.month" if prof["monthly"] else "portal.year")
            title = _t(lang, "portal.timeline", f=f.title, p=period)
        chart_svgs.append((title, charts.bar_chart(f"chart{i}", title, [(str(k), int(n)) for k, n in prof["bins"]])))
    if ds.status == DatasetStatus.PUBLISHED:
        service.count_usage(ctx, ds, "view")
    apps = service.open_app_list(ctx, ds.name)
    return page(
        ctx,
        request,
        "dataset.html",
        {
            "ds": ds,
            "dept": dept,
            "served": served,
            "describe_mask": q.describe_mask,
            "version": version,
            "preview": preview,
            "charts": chart_svgs,
            "restricted": restricted,
            "licence": LICENCES.get(ds.licence, (ds.licence, "")),
            "history": service.version_history(ctx, ds) if version is not None else [],
            "api_examples": _api_examples(request, ds),
            "downloads": [(fmt, label, ckan.download_url("", ds, fmt)) for fmt, label, _ in ckan.FORMATS],
            "apps": apps,
        },
    )


def _t(lang: str, key: str, **kwargs: object) -> str:
    from citybrain.web.i18n import translate

    return translate(key, lang, **kwargs)


# -- departments -----------------------------------------------------------------------------------


@router.get(f"{PORTAL}/departments")
def departments(ctx: Ctx, request: Request) -> Response:
    return page(ctx, request, "departments.html", {"orgs": service.open_org_list(ctx)})


@router.get(f"{PORTAL}/departments/{{code}}")
def department_page(ctx: Ctx, request: Request, code: str) -> Response:
    found = [(d, n) for d, n in service.open_org_list(ctx) if code in (d.code, d.id)]
    if not found:
        raise NotFound(f"部门 {code} 没有开放数据集")
    dept, count = found[0]
    number = _page_number(request.query_params.get("page"))
    result = service.open_dataset_search(
        ctx,
        search.Query(
            rows=PAGE,
            start=(number - 1) * PAGE,
            sort="metadata_modified desc",
            filters={"organization": [dept.id]},
            facet_fields=["groups"],
        ),
    )
    return page(
        ctx,
        request,
        "department.html",
        {"dept": dept, "count": count, "result": result, "page": number, "pages": max((count + PAGE - 1) // PAGE, 1)},
    )


# -- apps ------------------------------------------------------------------------------------------


def _apps_page(ctx: Ctx, request: Request, status_code: int = 200, **extra: Any) -> Response:
    choices = service.open_dataset_search(ctx, search.Query(rows=1000, sort="title_string asc")).datasets
    return page(
        ctx,
        request,
        "apps.html",
        {
            "apps": service.open_app_list(ctx),
            "choices": choices,
            "can_register": ctx.allowed("open_app_register"),
            **extra,
        },
        status_code=status_code,
    )


@router.get(f"{PORTAL}/apps")
def apps(ctx: Ctx, request: Request) -> Response:
    return _apps_page(ctx, request, done=request.query_params.get("done") == "1")


@router.post(f"{PORTAL}/apps")
async def app_register(ctx: Ctx, request: Request) -> Response:
    form = await request.form()
    data = {
        "name": str(form.get("name") or ""),
        "developer": str(form.get("developer") or ""),
        "url": str(form.get("url") or "") or None,
        "description": str(form.get("description") or ""),
        "datasets": [str(v) for v in form.getlist("datasets")],
    }
    try:
        service.open_app_register(ctx, parse(AppRegister, data))
    except CityBrainError as exc:
        ctx.session.rollback()
        if isinstance(exc, NotAuthenticated):
            raise
        return _apps_page(ctx, request, 422, error=exc.message, form=data)
    return RedirectResponse(f"{PORTAL}/apps?done=1", status_code=303)


# -- registration and 有条件开放 applications -------------------------------------------------------


@router.get(f"{PORTAL}/register")
def register_form(ctx: Ctx, request: Request) -> Response:
    return page(ctx, request, "register.html", {"form": {}})


@router.post(f"{PORTAL}/register")
def register_submit(
    ctx: Ctx,
    request: Request,
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    form = {"username": username, "display_name": display_name, "email": email, "phone": phone}
    try:
        data = parse(
            UserCreate,
            {**form, "password": password, "roles": ["public"], "email": email or None, "phone": phone or None},
        )
        auth.public_user_register(ctx, data)
    except CityBrainError as exc:
        ctx.session.rollback()
        return page(ctx, request, "register.html", {"form": form, "error": exc.message}, status_code=422)
    return RedirectResponse(f"/login?next={PORTAL}/account", status_code=303)


def _login_redirect(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get(f"{PORTAL}/datasets/{{name}}/apply")
def apply_form(ctx: Ctx, request: Request, name: str) -> Response:
    if not ctx.actor.is_authenticated:
        return _login_redirect(request.url.path)
    ds = service.open_dataset_show(ctx, name)
    return page(ctx, request, "apply.html", {"ds": ds, "terms": TERMS_TEXT, "form": {}})


@router.post(f"{PORTAL}/datasets/{{name}}/apply")
def apply_submit(
    ctx: Ctx,
    request: Request,
    name: str,
    applicant_kind: Annotated[str, Form()] = "person",
    organization: Annotated[str, Form()] = "",
    uscc: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    intended_use: Annotated[str, Form()] = "",
    accept_terms: Annotated[str, Form()] = "",
) -> Response:
    if not ctx.actor.is_authenticated:
        return _login_redirect(request.url.path)
    ds = service.open_dataset_show(ctx, name)
    form = {
        "dataset": ds.name,
        "applicant_kind": applicant_kind,
        "organization": organization or None,
        "uscc": uscc or None,
        "purpose": purpose,
        "intended_use": intended_use,
        "accept_terms": accept_terms == "yes",
    }
    try:
        service.open_application_create(ctx, parse(ApplicationCreate, form))
    except CityBrainError as exc:
        ctx.session.rollback()
        return page(
            ctx, request, "apply.html", {"ds": ds, "terms": TERMS_TEXT, "form": form, "error": exc.message}, 422
        )
    return RedirectResponse(f"{PORTAL}/account?applied=1", status_code=303)


def _titles(ctx: Ctx, ids: set[str]) -> dict[str, OpenDataset]:
    from sqlalchemy import select

    return {d.id: d for d in ctx.session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))}


def _account(ctx: Ctx, request: Request, **extra: Any) -> Response:
    if not ctx.actor.is_authenticated:
        return _login_redirect(request.url.path)
    apps = service.open_application_list(ctx)
    return page(
        ctx,
        request,
        "account.html",
        {"applications": apps, "datasets": _titles(ctx, {a.dataset_id for a in apps}), **extra},
    )


@router.get(f"{PORTAL}/account")
def account(ctx: Ctx, request: Request) -> Response:
    return _account(ctx, request, applied=request.query_params.get("applied") == "1")


@router.post(f"{PORTAL}/applications/{{app_id}}/key")
def collect_key(ctx: Ctx, request: Request, app_id: str) -> Response:
    if not ctx.actor.is_authenticated:
        return _login_redirect(f"{PORTAL}/account")
    app, secret = service.open_application_key(ctx, app_id)
    response = _account(ctx, request, key=secret, key_for=app.id)
    # the key is on this page only: never cache it
    response.headers["cache-control"] = "no-store"
    return response


@router.get(f"{PORTAL}/review")
def review(ctx: Ctx, request: Request) -> Response:
    if not ctx.actor.is_authenticated:
        return _login_redirect(request.url.path)
    apps = service.open_application_list(ctx, review=True)
    return page(
        ctx,
        request,
        "review.html",
        {"applications": apps, "datasets": _titles(ctx, {a.dataset_id for a in apps})},
    )


@router.post(f"{PORTAL}/applications/{{app_id}}/decide")
def decide(
    ctx: Ctx,
    app_id: str,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    daily_calls: Annotated[int, Form()] = 1000,
    max_rows: Annotated[int, Form()] = 1000,
) -> Response:
    data = parse(
        ApplicationDecision,
        {"approve": decision == "approve", "reason": reason, "daily_calls": daily_calls, "max_rows": max_rows},
    )
    service.open_application_decide(ctx, app_id, data)
    return RedirectResponse(f"{PORTAL}/review", status_code=303)


# -- metrics ---------------------------------------------------------------------------------------


@router.get(f"{PORTAL}/metrics")
def metrics(ctx: Ctx, request: Request) -> Response:
    detail = service.open_metrics_detail(ctx) if ctx.allowed("open_metrics_detail") else None
    daily_chart = None
    if detail and detail["daily"]:
        bins = [(day[5:], sum(kinds.values())) for day, kinds in detail["daily"].items()]
        daily_chart = charts.bar_chart("daily", _t(ctx.lang, "portal.m.daily"), bins)
    return page(
        ctx,
        request,
        "metrics.html",
        {"metrics": service.open_metrics_show(ctx), "detail": detail, "daily_chart": daily_chart},
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- open-catalog batches (steward submits, chief data officer approves) ----------------------------


def _batches_page(ctx: Ctx, request: Request, status_code: int = 200, **extra: Any) -> Response:
    from sqlalchemy import select

    if not ctx.actor.is_authenticated:
        return _login_redirect(request.url.path)
    batches = service.open_batch_list(ctx)
    ids = {i for b in batches for i in b.dataset_ids}
    drafts_q = select(OpenDataset).where(OpenDataset.status.in_((DatasetStatus.DRAFT, DatasetStatus.WITHDRAWN)))
    if not (ctx.actor.kind == "system" or ctx.actor.roles & {Role.ADMIN, Role.CDO}):
        drafts_q = drafts_q.where(OpenDataset.dept_id == ctx.actor.dept_id)
    drafts = list(ctx.session.scalars(drafts_q.order_by(OpenDataset.name))) if ctx.allowed("open_batch_submit") else []
    return page(
        ctx,
        request,
        "batches.html",
        {
            "batches": batches,
            "datasets": _titles(ctx, ids),
            "drafts": drafts,
            "can_decide": ctx.allowed("open_batch_approve"),
            "describe": lambda f: f"{f.get('title') or f['name']}" + ("（脱敏）" if f.get("mask") else ""),
            "prepared": request.query_params.get("prepared"),
            **extra,
        },
        status_code=status_code,
    )


@router.get(f"{PORTAL}/batches")
def batches(ctx: Ctx, request: Request) -> Response:
    return _batches_page(ctx, request)


@router.post(f"{PORTAL}/batches")
async def batch_submit(ctx: Ctx, request: Request) -> Response:
    form = await request.form()
    try:
        service.open_batch_submit(ctx, str(form.get("title") or ""), [str(v) for v in form.getlist("datasets")])
    except CityBrainError as exc:
        ctx.session.rollback()
        if isinstance(exc, NotAuthenticated | NotAuthorized):
            raise
        return _batches_page(ctx, request, 422, error=exc.message)
    return RedirectResponse(f"{PORTAL}/batches", status_code=303)


@router.post(f"{PORTAL}/batches/{{batch_id}}/decide")
def batch_decide(
    ctx: Ctx,
    request: Request,
    batch_id: str,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        if decision == "approve":
            service.open_batch_approve(ctx, batch_id, reason)
        else:
            service.open_batch_reject(ctx, batch_id, reason)
    except CityBrainError as exc:
        ctx.session.rollback()
        if isinstance(exc, NotAuthenticated | NotAuthorized):
            raise
        return _batches_page(ctx, request, 422, error=exc.message)
    return RedirectResponse(f"{PORTAL}/batches", status_code=303)
