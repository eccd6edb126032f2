"""Catalog search: Chinese substring and word search over a denormalised text column.

Why not a full-text engine: the catalog holds thousands to tens of thousands of entries; a
LIKE scan over one text column answers in milliseconds on SQLite and PostgreSQL alike, handles
Chinese without a tokenizer in the database, and keeps the deployment small. Words come from
jieba so "企业信用" finds entries holding both 企业 and 信用; standards' aliases are part of the
text so "身份证" finds a resource with a 公民身份号码 field.
"""

from __future__ import annotations

import logging
from functools import cache

from sqlalchemy import ColumnElement, and_, or_

from citybrain.catalog.models import Resource

logging.getLogger("jieba").setLevel(logging.WARNING)


@cache
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def terms(query: str) -> list[list[str]]:
    """Split a query into AND-ed groups; each group is OR-ed alternatives.

    Whitespace separates terms. A term that is not found whole is also tried as its jieba words
    (all of which must then match), so both "公民身份号码" and "身份 号码" work.
    """
    groups: list[list[str]] = []
    for raw in query.split():
        raw = raw.strip().lower()
        if raw:
            groups.append([raw])
    return groups


def words(term: str) -> list[str]:
    return [w for w in _jieba().lcut_for_search(term) if (w.strip() and len(w) > 1) or w.isalnum()]


def _like(term: str) -> ColumnElement[bool]:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Resource.search_text.like(f"%{escaped}%", escape="\\")


def text_filter(query: str) -> ColumnElement[bool] | None:
    """SQL condition for ``query``: every term matches as a substring or as all of its words."""
    conditions = []
    for (term,) in terms(query):
        parts = [w for w in words(term) if w != term]
        if parts:
            conditions.append(or_(_like(term), and_(*[_like(w) for w in parts])))
        else:
            conditions.append(_like(term))
    return and_(*conditions) if conditions else None


def build_search_text(resource: Resource, dept_name: str, standards: dict[str, tuple[str, list[str]]]) -> str:
    """Everything a user might type to find ``resource``, lower-cased, one line."""
    pieces: list[str] = [
        resource.name,
        resource.name_en or "",
        resource.key,
        resource.description or "",
        resource.topic or "",
        dept_name,
        resource.category,
        resource.base_library or "",
        resource.document_number or "",
        *resource.tags,
    ]
    for f in resource.fields:
        pieces += [f.name, f.title, f.description or ""]
        if f.standard_id and f.standard_id in standards:
            title, aliases = standards[f.standard_id]
            pieces += [title, *aliases]
    return " | ".join(p for p in pieces if p).lower()
