"""UI strings: Chinese first, English available. Templates call ``t("key")``.

Each domain may add its own strings with :func:`register` from its pages module, so this file
does not become a shared bottleneck.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "app.name": {"zh": "城市大脑", "en": "CityBrain"},
    "app.tagline": {"zh": "公共数据与城市运行一体化平台", "en": "One platform for public data and city operations"},
    "nav.home": {"zh": "首页", "en": "Home"},
    "nav.catalog": {"zh": "数据目录", "en": "Catalog"},
    "nav.standards": {"zh": "数据元标准", "en": "Data standards"},
    "nav.admin": {"zh": "系统管理", "en": "Administration"},
    "nav.departments": {"zh": "部门", "en": "Departments"},
    "nav.users": {"zh": "用户", "en": "Users"},
    "nav.audit": {"zh": "审计日志", "en": "Audit log"},
    "nav.login": {"zh": "登录", "en": "Log in"},
    "nav.logout": {"zh": "退出", "en": "Log out"},
    "nav.portal": {"zh": "开放数据", "en": "Open data"},
    "lang.switch": {"zh": "English", "en": "中文"},
    "login.title": {"zh": "登录城市大脑", "en": "Log in to CityBrain"},
    "login.username": {"zh": "用户名", "en": "Username"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Log in"},
    "search.placeholder": {
        "zh": "搜索资源名称、字段、标签，如：身份证",
        "en": "Search names, fields, tags, e.g. 身份证",
    },
    "search.submit": {"zh": "搜索", "en": "Search"},
    "search.results": {"zh": "共 {n} 条资源", "en": "{n} resources"},
    "search.none": {"zh": "没有找到符合条件的资源", "en": "No resources match"},
    "filter.all": {"zh": "全部", "en": "All"},
    "filter.dept": {"zh": "来源部门", "en": "Source department"},
    "filter.category": {"zh": "资源分类", "en": "Category"},
    "filter.share_type": {"zh": "共享属性", "en": "Sharing"},
    "filter.open_type": {"zh": "开放属性", "en": "Openness"},
    "filter.grade": {"zh": "数据分级", "en": "Grade"},
    "filter.topic": {"zh": "主题", "en": "Topic"},
    "filter.apply": {"zh": "筛选", "en": "Filter"},
    "res.oid": {"zh": "OID", "en": "OID"},
    "res.key": {"zh": "资源代码", "en": "Key"},
    "res.dept": {"zh": "来源部门", "en": "Source department"},
    "res.fields": {"zh": "信息项", "en": "Fields"},
    "res.field.name": {"zh": "字段名", "en": "Name"},
    "res.field.title": {"zh": "中文名称", "en": "Title"},
    "res.field.standard": {"zh": "数据元标准", "en": "Standard"},
    "res.field.type": {"zh": "类型", "en": "Type"},
    "res.field.sensitivity": {"zh": "敏感级别", "en": "Sensitivity"},
    "res.field.element": {"zh": "数据元（一数一源）", "en": "Data element (one source)"},
    "res.history": {"zh": "变更记录", "en": "History"},
    "res.frequency": {"zh": "更新频率", "en": "Update frequency"},
    "res.pk": {"zh": "主键", "en": "Primary key"},
    "res.tags": {"zh": "标签", "en": "Tags"},
    "res.document": {"zh": "文号", "en": "Document no."},
    "res.revision": {"zh": "版本", "en": "Revision"},
    "common.save": {"zh": "保存", "en": "Save"},
    "common.create": {"zh": "新建", "en": "Create"},
    "common.name": {"zh": "名称", "en": "Name"},
    "common.code": {"zh": "代码", "en": "Code"},
    "common.actions": {"zh": "操作", "en": "Actions"},
    "common.time": {"zh": "时间", "en": "Time"},
    "common.status": {"zh": "状态", "en": "Status"},
    "common.prev": {"zh": "上一页", "en": "Previous"},
    "common.next": {"zh": "下一页", "en": "Next"},
    "error.title": {"zh": "出错了", "en": "Something went wrong"},
    "error.back": {"zh": "返回首页", "en": "Back to home"},
    "role.admin": {"zh": "平台管理员", "en": "Administrator"},
    "role.cdo": {"zh": "首席数据官", "en": "Chief data officer"},
    "role.steward": {"zh": "数据管理员", "en": "Data steward"},
    "role.consumer": {"zh": "数据使用人", "en": "Data consumer"},
    "role.grid_operator": {"zh": "网格员/坐席", "en": "Grid operator"},
    "role.security": {"zh": "安全管理员", "en": "Security officer"},
    "role.public": {"zh": "公众用户", "en": "Public user"},
}


def register(messages: dict[str, dict[str, str]]) -> None:
    for key in messages:
        if key in MESSAGES and MESSAGES[key] != messages[key]:
            raise RuntimeError(f"UI string {key!r} defined twice with different text")
    MESSAGES.update(messages)


def translate(key: str, lang: str, **kwargs: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["zh"]
    return text.format(**kwargs) if kwargs else text
