"""Rendering server-side pages: Jinja2 templates, the language, the actor, and the navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from citybrain.web.deps import LANG_COOKIE, request_lang
from citybrain.web.i18n import translate

TEMPLATES_DIR = Path(__file__).parent.parent / "templates"

_env = Environment(
    loader=ChoiceLoader([FileSystemLoader(TEMPLATES_DIR)]),
    autoescape=select_autoescape(),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: console navigation entries: (path, message key, required role names or empty for everyone logged in)
NAV: list[tuple[str, str, set[str]]] = [
    ("/catalog", "nav.catalog", set()),
    ("/standards", "nav.standards", set()),
]


def add_nav(path: str, key: str, roles: set[str] | None = None) -> None:
    if all(p != path for p, _, _ in NAV):
        NAV.append((path, key, roles or set()))


def _fmt_dt(value: Any) -> str:
    if value is None:
        return ""
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


_env.filters["dt"] = _fmt_dt


def current_nav(path: str, entries: list[tuple[str, str]]) -> str | None:
    """The navigation entry for ``path``: the longest matching prefix, so /catalog/-/import is not also 数据目录."""
    matches = [p for p, _ in entries if path == p or path.startswith(p.rstrip("/") + "/")]
    return max(matches, key=len) if matches else None


def query_url(request: Request, **changes: object) -> str:
    """The current URL with some query parameters replaced (None removes one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    lang = request_lang(request)
    actor = getattr(request.state, "actor", None)
    roles = {str(r) for r in actor.roles} if actor is not None else set()
    nav = [(p, k) for p, k, need in NAV if actor is not None and actor.is_authenticated and (not need or need & roles)]

    def t(key: str, **kwargs: object) -> str:
        return translate(key, lang, **kwargs)

    def url_lang(target: str) -> str:
        return query_url(request, lang=target)

    def url_with(**changes: object) -> str:
        return query_url(request, **changes)

    html = _env.get_template(template).render(
        request=request,
        lang=lang,
        t=t,
        actor=actor,
        nav=nav,
        nav_current=current_nav(request.url.path, nav),
        url_lang=url_lang,
        url_with=url_with,
        **(context or {}),
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in ("zh", "en"):
        # the switch is a link, so the choice must outlive it: remembered for a year
        response.set_cookie(LANG_COOKIE, request.query_params["lang"], max_age=365 * 86400, samesite="lax")
    return response
