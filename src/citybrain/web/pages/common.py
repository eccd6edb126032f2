"""Rendering server-side pages: Jinja2 templates, the language, the actor, and the navigation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from citybrain.web.deps import request_lang
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
        sep = "&" if "?" in str(request.url) else "?"
        return f"{request.url.path}{'?' + request.url.query if request.url.query else ''}{sep}lang={target}"

    html = _env.get_template(template).render(
        request=request, lang=lang, t=t, actor=actor, nav=nav, url_lang=url_lang, **(context or {})
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie("cb_lang", request.query_params["lang"], max_age=365 * 86400, samesite="lax")
    return response
