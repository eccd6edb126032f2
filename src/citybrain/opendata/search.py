"""Open-dataset search: Chinese full text, CKAN ``fq`` filters, facets and sorting over an in-memory
index of the published datasets, checked against the database on every query.

Why not Solr, and why not SQL per query: a city publishes thousands to tens of thousands of datasets,
a few hundred bytes of searchable text each — a few megabytes. Held in memory, a search is a
substring test over that list plus counters for the facets: a few milliseconds, on any database,
with no second system to keep in sync (CKAN's Solr reindex of 80,000 datasets takes an hour, and a
portal page costs ~20 Solr calls). Answering each facet with a GROUP BY re-ran the LIKE scan seven
times a search. Freshness: every query first reads ``count(*)`` and ``max(updated_at)`` of the
published datasets through the (status, updated_at) index; any publication, withdrawal, edit or
version update changes that stamp and the index is rebuilt from the same transaction. Download and
view counters do not bump ``updated_at``, so popularity order may lag by up to ``TTL_SECONDS`` (five minutes).
"""

from __future__ import annotations

import heapq
import shlex
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from operator import attrgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybrain.catalog.search import words
from citybrain.errors import Invalid
from citybrain.opendata.models import DatasetStatus, OpenDataset
from citybrain.org.models import Department

FORMATS = ("CSV", "XLSX", "JSON")
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "license_id", "open_type", "update_frequency")
#: how long download/view counters may be stale in the popularity order
TTL_SECONDS = 300.0


class SearchQueryError(Invalid):
    """A malformed ``q``/``fq``/``sort`` (CKAN's "Search Query Error")."""

    code = "search_query_error"
    http_status = 409


@dataclass
class Query:
    q: str = ""
    fq: str = ""
    rows: int = 10
    start: int = 0
    sort: str = ""
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = 50
    #: facet name → accepted values, OR-ed (the portal's filters); organization by id, code or name
    filters: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """One published dataset as the index holds it."""

    id: str
    name: str
    title: str
    text: str
    dept_id: str
    topic: str | None
    open_type: str
    update_frequency: str
    licence: str
    tags: tuple[str, ...]
    updated_at: datetime
    created_at: datetime
    data_updated_at: datetime | None
    views: int
    downloads: int
    api_calls: int
    rows: int
    resource_id: str
    #: position in the index, for the precomputed sort ranks
    pos: int = 0


@dataclass
class _Index:
    stamp: tuple[Any, ...]
    built: float
    entries: list[Entry]
    #: query → (matching entries, facets, orderings computed so far)
    answers: dict[tuple[Any, ...], tuple[list[Entry], dict[str, dict[str, int]], dict[str, list[str]]]] = field(
        default_factory=dict
    )
    #: every entry's text joined, and where each starts: one C-level str.find pass per term
    blob: str = ""
    starts: list[int] = field(default_factory=list)
    hits: dict[str, frozenset[int]] = field(default_factory=dict)
    #: sort spec → every entry's rank in that order (one full sort per spec and generation)
    ranks: dict[tuple[tuple[str, bool], ...], list[int]] = field(default_factory=dict)

    def rank(self, spec: tuple[tuple[str, bool], ...]) -> list[int]:
        found = self.ranks.get(spec)
        if found is None:
            ordered = _full_sort(self.entries, spec)
            found = [0] * len(self.entries)
            for r, e in enumerate(ordered):
                found[e.pos] = r
            with _lock:
                self.ranks[spec] = found
        return found

    def __post_init__(self) -> None:
        pieces, pos = [], 0
        for e in self.entries:
            self.starts.append(pos)
            pieces.append(e.text)
            pos += len(e.text) + 1
        self.blob = "\x00".join(pieces)

    def term_hits(self, term: str) -> frozenset[int]:
        """Indexes of the entries whose text contains ``term`` (cached per index generation)."""
        found = self.hits.get(term)
        if found is not None:
            return found
        out: set[int] = set()
        blob, starts, n = self.blob, self.starts, len(self.starts)
        pos = blob.find(term)
        while pos >= 0:
            i = bisect_right(starts, pos) - 1
            out.add(i)
            if i + 1 >= n:
                break
            pos = blob.find(term, starts[i + 1])
        found = frozenset(out)
        with _lock:
            if len(self.hits) >= 4096:
                self.hits.clear()
            self.hits[term] = found
        return found


_lock = threading.Lock()
_indexes: dict[str, _Index] = {}


def _stamp(session: Session) -> tuple[Any, ...]:
    count, latest = session.execute(
        select(func.count(), func.max(OpenDataset.updated_at)).where(OpenDataset.status == DatasetStatus.PUBLISHED)
    ).one()
    return (int(count), str(latest))


def _build(session: Session) -> list[Entry]:
    rows = session.execute(
        select(
            OpenDataset.id,
            OpenDataset.name,
            OpenDataset.title,
            OpenDataset.search_text,
            OpenDataset.dept_id,
            OpenDataset.topic,
            OpenDataset.open_type,
            OpenDataset.update_frequency,
            OpenDataset.licence,
            OpenDataset.tags,
            OpenDataset.updated_at,
            OpenDataset.created_at,
            OpenDataset.data_updated_at,
            OpenDataset.views,
            OpenDataset.downloads,
            OpenDataset.api_calls,
            OpenDataset.rows,
            OpenDataset.resource_id,
        ).where(OpenDataset.status == DatasetStatus.PUBLISHED)
    ).all()
    out = [
        Entry(
            id=r[0],
            name=r[1],
            title=r[2],
            text=r[3],
            dept_id=r[4],
            topic=r[5],
            open_type=r[6],
            update_frequency=r[7],
            licence=r[8],
            tags=tuple(r[9] or ()),
            updated_at=r[10],
            created_at=r[11],
            data_updated_at=r[12],
            views=r[13] or 0,
            downloads=r[14] or 0,
            api_calls=r[15] or 0,
            rows=r[16] or 0,
            resource_id=r[17],
            pos=i,
        )
        for i, r in enumerate(rows)
    ]
    return out


def _current(session: Session) -> _Index:
    """The published datasets, rebuilt when the database says they changed (or the TTL passed)."""
    key = str(session.get_bind().url)
    stamp = _stamp(session)
    now = time.monotonic()
    current = _indexes.get(key)
    if current is not None and current.stamp == stamp and now - current.built < TTL_SECONDS:
        return current
    index = _Index(stamp, now, _build(session))
    with _lock:
        _indexes[key] = index
    return index


def entries(session: Session) -> list[Entry]:
    return _current(session).entries


def clear() -> None:
    with _lock:
        _indexes.clear()


# -- matching --------------------------------------------------------------------------------------


def _text_hits(index: _Index, query: str) -> frozenset[int] | None:
    """Entries matching every whitespace-separated term, whole or as all of its jieba words."""
    result: frozenset[int] | None = None
    for raw in query.split():
        term = raw.strip().lower()
        if not term or term in ("*:*", "*"):
            continue
        hits = index.term_hits(term)
        parts = [w for w in words(term) if w != term]
        if parts:
            by_parts = index.term_hits(parts[0])
            for part in parts[1:]:
                by_parts = by_parts & index.term_hits(part)
            hits = hits | by_parts
        result = hits if result is None else result & hits
    return result


FQ_FIELDS = _FIELDS = (
    "organization",
    "dept",
    "groups",
    "topic",
    "tags",
    "res_format",
    "license_id",
    "open_type",
    "update_frequency",
    "name",
    "id",
)


def _fq_terms(fq: str) -> list[tuple[bool, str, str]]:
    """``organization:jtj +tags:"公交 线路" -groups:交通`` → [(negated, field, value)]."""
    try:
        tokens = shlex.split(fq)
    except ValueError as exc:
        raise SearchQueryError(f"fq 语法错误：{exc}", details={"fq": fq}) from None
    out: list[tuple[bool, str, str]] = []
    for token in tokens:
        if token.upper() in ("AND", "&&"):
            continue
        negated = token.startswith("-")
        token = token.lstrip("+-")
        if not token:
            continue
        if ":" not in token:
            raise SearchQueryError(f"fq 条件应为 字段:值，收到 {token}", details={"fq": fq})
        name, value = token.split(":", 1)
        if name not in _FIELDS:
            raise SearchQueryError(f"不支持按 {name} 筛选", details={"field": name, "supported": list(FACET_FIELDS)})
        out.append((negated, name, value.strip('"')))
    return out


def _predicate(name: str, value: str, depts: dict[str, Department]) -> Callable[[Entry], bool]:
    if name in ("organization", "dept"):
        ids = {d.id for d in depts.values() if value in (d.id, d.code, d.name)}
        return lambda e: e.dept_id in ids
    if name == "tags":
        return lambda e: value in e.tags
    if name == "res_format":
        ok = value.upper() in FORMATS
        return lambda e: ok
    attr = {"groups": "topic", "license_id": "licence"}.get(name, name)
    return lambda e: getattr(e, attr) == value


# -- sorting ---------------------------------------------------------------------------------------

_SORTS = {
    "metadata_modified": "updated_at",
    "metadata_created": "created_at",
    "name": "name",
    "title_string": "title",
    "title": "title",
    "views_recent": "views",
    "views_total": "views",
    "downloads": "downloads",
    "data_updated": "data_updated_at",
}


def _sort_spec(query: Query) -> list[tuple[str, bool]]:
    """[(attribute or "score", descending)] from CKAN's ``sort`` ("score desc, metadata_modified desc")."""
    spec: list[tuple[str, bool]] = []
    for part in (query.sort or "score desc, metadata_modified desc").split(","):
        bits = part.split()
        if not bits:
            continue
        name, direction = bits[0], (bits[1].lower() if len(bits) > 1 else "asc")
        if direction not in ("asc", "desc") or len(bits) > 2:
            raise SearchQueryError(f"排序条件无效：{part.strip()}", details={"sort": query.sort})
        if name == "score":
            spec.append(("score", False))
            continue
        column = _SORTS.get(name)
        if column is None:
            raise SearchQueryError(f"不支持按 {name} 排序", details={"sort": query.sort, "supported": sorted(_SORTS)})
        spec.append((column, direction == "desc"))
    return spec


def _full_sort(entries: list[Entry], spec: tuple[tuple[str, bool], ...]) -> list[Entry]:
    ordered = sorted(entries, key=attrgetter("name"))
    for column, descending in reversed(spec):
        present = [e for e in ordered if getattr(e, column) is not None]
        missing = [e for e in ordered if getattr(e, column) is None]
        present.sort(key=attrgetter(column), reverse=descending)
        ordered = present + missing
    return ordered


def _sorted(
    index: _Index, found: list[Entry], spec: list[tuple[str, bool]], q: str, top: int | None = None
) -> list[Entry]:
    """``found`` in the requested order — by precomputed rank, a heap for the first page — with a
    title hit of the first query word ranked above other hits when the order starts with ``score``."""
    first = q.split()[0].lower() if q.strip() else ""
    scored = bool(spec) and spec[0][0] == "score" and bool(first) and first not in ("*:*", "*")
    rank = index.rank(tuple(c for c in spec if c[0] != "score"))
    if scored:

        def key(e: Entry) -> tuple[int, int]:
            return (0 if first in e.title.lower() else 1, rank[e.pos])

    else:

        def key(e: Entry) -> tuple[int, int]:
            return (0, rank[e.pos])

    if top is not None and top < len(found) // 4:
        return heapq.nsmallest(top, found, key=key)
    return sorted(found, key=key)


# -- search ----------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    count: int
    datasets: list[OpenDataset]
    facets: dict[str, dict[str, int]]
    depts: dict[str, Department]


def _facet(name: str, found: list[Entry], depts: dict[str, Department], limit: int) -> dict[str, int]:
    counter: Counter[str]
    if name == "res_format":
        counter = Counter(dict.fromkeys(FORMATS, len(found)) if found else {})
    elif name == "tags":
        counter = Counter(chain.from_iterable(e.tags for e in found))
    elif name == "organization":
        by_id = Counter(map(attrgetter("dept_id"), found))
        counter = Counter({(depts[k].code if k in depts else k): n for k, n in by_id.items()})
    else:
        attr = {"groups": "topic", "license_id": "licence"}.get(name, name)
        counter = Counter(map(attrgetter(attr), found))
        counter.pop(None, None)  # type: ignore[call-overload]
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(items if limit < 0 else items[:limit])


#: answers per index generation, for the queries every visitor sends (the home page, the empty search)
_CACHE_SIZE = 256


def search(session: Session, query: Query) -> SearchResult:
    for name in query.facet_fields:
        if name not in FACET_FIELDS:
            raise SearchQueryError(f"不支持的分面字段 {name}", details={"facet.field": name})
    spec = _sort_spec(query)
    depts = {d.id: d for d in session.scalars(select(Department))}
    index = _current(session)
    key = (
        query.q,
        query.fq,
        query.sort,
        tuple(query.facet_fields),
        query.facet_limit,
        tuple(sorted((k, tuple(v)) for k, v in query.filters.items())),
    )
    cached = index.answers.get(key)
    if cached is None:
        predicates: list[Callable[[Entry], bool]] = []
        hits = _text_hits(index, query.q)
        pool = index.entries if hits is None else [index.entries[i] for i in sorted(hits)]
        for negated, name, value in _fq_terms(query.fq):
            pred = _predicate(name, value, depts)
            predicates.append((lambda p: lambda e: not p(e))(pred) if negated else pred)
        for name, values in query.filters.items():
            alternatives = [_predicate(name, v, depts) for v in values if v]
            if alternatives:
                predicates.append((lambda alts: lambda e: any(a(e) for a in alts))(alternatives))
        found = [e for e in pool if all(p(e) for p in predicates)] if predicates else list(pool)
        facets = {name: _facet(name, found, depts, query.facet_limit) for name in query.facet_fields}
        cached = (found, facets, {})
        with _lock:
            if len(index.answers) >= _CACHE_SIZE:
                index.answers.clear()
            index.answers[key] = cached
    found, facets, orders = cached
    end = query.start + query.rows
    ids: list[str] = []
    if query.rows and query.start < len(found):
        full = orders.get("full")
        if full is None and end <= 200:
            ids = [e.id for e in _sorted(index, found, spec, query.q, top=end)[query.start : end]]
        else:
            if full is None:
                full = orders["full"] = [e.id for e in _sorted(index, found, spec, query.q)]
            ids = full[query.start : end]
    loaded = {ds.id: ds for ds in session.scalars(select(OpenDataset).where(OpenDataset.id.in_(ids)))} if ids else {}
    return SearchResult(len(found), [loaded[i] for i in ids if i in loaded], facets, depts)
