"""Stored pulls: database tables and queries (SQLite always, PostgreSQL when reachable), HTTP JSON APIs
with paging, incremental watermarks, and the cron scheduler driven by an injected clock."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import create_engine, text
from tests.ingest.test_ingest_support import uscc, world

from citybrain.errors import Invalid
from citybrain.ingest import jobs, service
from citybrain.ingest.models import IngestSource
from citybrain.ingest.schemas import SourceCreate
from citybrain.lake import Lake

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def rows_now(settings, key: str) -> dict[str, dict[str, Any]]:
    return {r["uscc"]: r for r in Lake(settings.lake_dir).read(key).to_pylist()}


def _source(run, actor, **kw: Any) -> IngestSource:
    return run(service.source_create, SourceCreate.model_validate(kw), actor=actor)


# --- database pulls -----------------------------------------------------------------------------


def _seed_sqlite(path: Path, rows: list[tuple[Any, ...]]) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS qy "
                "(id INTEGER PRIMARY KEY, uscc TEXT, org_name TEXT, staff INTEGER, updated_at TEXT)"
            )
        )
        conn.execute(
            text("INSERT INTO qy (id, uscc, org_name, staff, updated_at) VALUES (:id, :u, :n, :s, :t)"),
            [dict(zip(("id", "u", "n", "s", "t"), r, strict=True)) for r in rows],
        )
    engine.dispose()
    return url


def test_sqlite_table_full_pull_replaces(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    a, b = uscc(), uscc()
    url = _seed_sqlite(
        tmp_path / "dept.db", [(1, a, "甲", 3, "2026-01-01 08:00:00"), (2, b, "乙", 4, "2026-01-01 09:00:00")]
    )
    src = _source(
        run,
        w.steward,
        name="scj-sqlite",
        resource=w.key,
        kind="database",
        config={"url": url, "query": "SELECT uscc, org_name, staff FROM qy"},
    )
    assert src.mode == "replace"
    load = run(service.source_run, "scj-sqlite", actor=w.steward)
    assert load.status == "succeeded", load.error
    assert load.connector == "database" and load.source_id == src.id and load.rows_accepted == 2
    assert {k: (r["org_name"], r["staff"]) for k, r in rows_now(settings, w.key).items()} == {
        a: ("甲", 3),
        b: ("乙", 4),
    }
    lineage = Lake(settings.lake_dir).current(w.key).lineage
    assert lineage["connector"] == "database" and lineage["source_id"] == src.id


def test_sqlite_incremental_by_key_pulls_only_new_rows(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    db_path = tmp_path / "dept.db"
    a, b, c = uscc(), uscc(), uscc()
    url = _seed_sqlite(db_path, [(1, a, "甲", 1, None), (2, b, "乙", 2, None)])
    _source(
        run,
        w.steward,
        name="scj-by-key",
        resource=w.key,
        kind="database",
        config={"url": url, "query": "SELECT id, uscc, org_name FROM qy"},
        incremental="key",
        cursor_column="id",
    )
    assert run(service.source_run, "scj-by-key", actor=w.steward).rows_read == 2
    _seed_sqlite(db_path, [(3, c, "丙", 3, None)])
    second = run(service.source_run, "scj-by-key", actor=w.steward)
    assert second.rows_read == 1 and second.mode == "merge"
    assert set(rows_now(settings, w.key)) == {a, b, c}
    [stored] = run(service.source_list, ref=w.key, actor=w.steward)
    assert stored.watermark == {"type": "int", "value": 3}


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_SERVER, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except Exception:
        return False
    return True


@pytest.fixture
def pg_table() -> Iterator[tuple[str, str]]:
    """A temporary table in a fresh schema on the PostgreSQL server, dropped afterwards."""
    if not _pg_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    schema = f"cb_ingest_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_SERVER)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE "{schema}".qy (uscc text PRIMARY KEY, org_name text, staff integer, '
                "capital numeric(18, 2), reg_date date, updated_at timestamptz NOT NULL)"
            )
        )
    try:
        yield PG_SERVER, f"{schema}.qy"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_watermark_pull_merges_changes(run, factory, settings, pg_table) -> None:
    url, table = pg_table
    w = world(factory)
    a, b, c = uscc(), uscc(), uscc()
    t0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    engine = create_engine(url)
    insert = text(
        f"INSERT INTO {table} (uscc, org_name, staff, capital, reg_date, updated_at) "
        "VALUES (:u, :n, :s, :c, :d, :t) ON CONFLICT (uscc) DO UPDATE SET org_name = excluded.org_name, "
        "staff = excluded.staff, updated_at = excluded.updated_at"
    )
    with engine.begin() as conn:
        conn.execute(
            insert,
            [
                {"u": a, "n": "甲", "s": 1, "c": "10.50", "d": dt.date(2001, 2, 3), "t": t0},
                {"u": b, "n": "乙", "s": 2, "c": None, "d": None, "t": t0 + dt.timedelta(hours=1)},
            ],
        )
    _source(
        run,
        w.steward,
        name="scj-pg",
        resource=w.key,
        kind="database",
        config={"url": url, "table": table},
        incremental="watermark",
        cursor_column="updated_at",
        cron="*/15 * * * *",
    )
    first = run(service.source_run, "scj-pg", actor=w.steward)
    assert first.status == "succeeded", first.error
    assert first.rows_read == 2
    now = rows_now(settings, w.key)
    assert now[a]["capital"] == pytest.approx(10.5) and now[a]["reg_date"] == dt.date(2001, 2, 3)
    assert "updated_at" not in now[a]  # the watermark column is bookkeeping, not a catalogued field
    [src] = run(service.source_list, ref=w.key, actor=w.steward)
    assert src.watermark["type"] == "datetime"
    assert dt.datetime.fromisoformat(src.watermark["value"]) == t0 + dt.timedelta(hours=1)

    with engine.begin() as conn:
        conn.execute(
            insert,
            [
                {"u": b, "n": "乙（更名）", "s": 5, "c": None, "d": None, "t": t0 + dt.timedelta(hours=2)},
                {"u": c, "n": "丙", "s": 3, "c": None, "d": None, "t": t0 + dt.timedelta(hours=3)},
            ],
        )
    engine.dispose()
    second = run(service.source_run, "scj-pg", actor=w.steward)
    # >= the watermark: only rows changed since (b's new version and c), nothing older than the watermark
    assert second.rows_read == 2 and second.mode == "merge" and second.version == 2
    now = rows_now(settings, w.key)
    assert {k: r["org_name"] for k, r in now.items()} == {a: "甲", b: "乙（更名）", c: "丙"}
    [src] = run(service.source_list, ref=w.key, actor=w.steward)
    assert dt.datetime.fromisoformat(src.watermark["value"]) == t0 + dt.timedelta(hours=3)


def test_source_config_is_checked_when_stored_and_passwords_are_masked(run, factory) -> None:
    w = world(factory)
    with pytest.raises(Invalid, match="table 或 query"):
        _source(run, w.steward, name="x", resource=w.key, kind="database", config={"url": "sqlite://"})
    with pytest.raises(Invalid, match="cursor_column"):
        _source(
            run,
            w.steward,
            name="x",
            resource=w.key,
            kind="database",
            config={"url": "sqlite://", "table": "t"},
            incremental="watermark",
        )
    with pytest.raises(Invalid, match="定时表达式无效"):
        _source(
            run,
            w.steward,
            name="x",
            resource=w.key,
            kind="database",
            config={"url": "sqlite://", "table": "t"},
            cron="every day",
        )
    _source(
        run,
        w.steward,
        name="masked",
        resource=w.key,
        kind="database",
        config={"url": "postgresql+psycopg://etl:s3cret@10.0.0.5/qy", "table": "qy"},
    )
    [shown] = run(service.source_list, actor=w.steward)
    assert "s3cret" not in shown.config["url"] and "***" in shown.config["url"]


# --- HTTP JSON API pulls ------------------------------------------------------------------------


class _Api:
    """A tiny paged JSON API on 127.0.0.1: ``/qy?page=N&size=M`` → ``{"code": 0, "data": {"list": [...]}}``."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.requests: list[dict[str, list[str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                api.requests.append(query)
                page, size = int(query.get("page", ["1"])[0]), int(query.get("size", ["100"])[0])
                items = api.records
                if "since" in query:
                    items = [r for r in items if r["updated_at"] >= query["since"][0]]
                body = json.dumps(
                    {"code": 0, "data": {"total": len(items), "list": items[(page - 1) * size : page * size]}},
                    ensure_ascii=False,
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/qy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Api:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_http_api_pull_follows_pages(run, factory, settings) -> None:
    w = world(factory)
    records = [
        {"uscc": uscc(), "org_name": f"企业{i}", "staff": i, "updated_at": f"2026-11-0{i + 1}T00:00:00"}
        for i in range(5)
    ]
    records[3]["staff"] = "若干"  # one bad record: quarantined, the rest still load
    with _Api(records) as api:
        _source(
            run,
            w.steward,
            name="scj-api",
            resource=w.key,
            kind="http",
            config={"url": api.url, "paging": "page", "page_size": 2, "records_path": "data.list"},
            incremental="watermark",
            cursor_column="updated_at",
            cron="0 2 * * *",
        )
        load = run(service.source_run, "scj-api", actor=w.steward)
        assert [q["page"] for q in api.requests] == [["1"], ["2"], ["3"]]
        assert (load.status, load.rows_read, load.rows_accepted, load.rows_quarantined) == ("succeeded", 5, 4, 1)
        [q] = run(service.quarantine_list, w.key, actor=w.steward).items
        assert q.row_number == 4 and "不是有效的整数：若干" in q.reason
        assert set(rows_now(settings, w.key)) == {r["uscc"] for i, r in enumerate(records) if i != 3}
        [src] = run(service.source_list, ref=w.key, actor=w.steward)
        assert src.watermark == {"type": "str", "value": "2026-11-05T00:00:00"}


def test_http_pull_without_an_end_fails_instead_of_truncating(run, factory, settings) -> None:
    w = world(factory)
    records = [{"uscc": uscc(), "org_name": f"企业{i}"} for i in range(10)]
    with _Api(records) as api:
        _source(
            run,
            w.steward,
            name="endless",
            resource=w.key,
            kind="http",
            config={"url": api.url, "paging": "page", "page_size": 2, "max_pages": 3},
        )
        load = run(service.source_run, "endless", actor=w.steward)
    assert load.status == "failed" and "超过 3 页仍未结束" in load.error
    assert Lake(settings.lake_dir).current(w.key) is None


# --- the scheduler ------------------------------------------------------------------------------


def test_scheduler_runs_due_pulls_with_an_injected_clock(run, factory, settings, db, tmp_path) -> None:
    w = world(factory)
    url = _seed_sqlite(tmp_path / "dept.db", [(1, uscc(), "甲", 1, None)])
    src = _source(
        run,
        w.steward,
        name="nightly",
        resource=w.key,
        kind="database",
        config={"url": url, "query": "SELECT uscc, org_name FROM qy"},
        cron="0 2 * * *",
    )
    due_at = src.next_run_at
    assert due_at.hour == 2 and due_at.minute == 0
    with db.session() as s:
        assert jobs.due_sources(s, due_at - dt.timedelta(seconds=1)) == []
        assert [x.name for x in jobs.due_sources(s, due_at)] == ["nightly"]

    clock = iter(
        [due_at - dt.timedelta(minutes=5), due_at + dt.timedelta(seconds=30), due_at + dt.timedelta(minutes=1)]
    )
    slept: list[float] = []
    seen: list[list[dict[str, Any]]] = []
    started = jobs.scheduler_loop(
        db,
        settings=settings,
        interval=30,
        iterations=3,
        clock=lambda: next(clock),
        sleep=slept.append,
        on_results=lambda _now, results: seen.append(results),
    )
    assert started == 1 and slept == [30, 30]
    assert [len(r) for r in seen] == [0, 1, 0]  # ran once when due, not again a minute later
    assert seen[1][0]["status"] == "succeeded"
    [stored] = run(service.source_list, actor=w.steward)
    assert stored.next_run_at == due_at + dt.timedelta(days=1)
    assert stored.last_load_id == seen[1][0]["load_id"]
    assert Lake(settings.lake_dir).current(w.key).lineage["who"]["actor_kind"] == "system"


def test_scheduler_keeps_going_when_one_source_breaks(run, factory, settings, db, tmp_path) -> None:
    w = world(factory)
    good_url = _seed_sqlite(tmp_path / "good.db", [(1, uscc(), "甲", 1, None)])
    for name, url in (("a-broken", f"sqlite:///{tmp_path / 'missing' / 'x.db'}"), ("b-good", good_url)):
        _source(
            run,
            w.steward,
            name=name,
            resource=w.key,
            kind="database",
            config={"url": url, "query": "SELECT uscc, org_name FROM qy"},
            cron="*/5 * * * *",
        )
    with db.session() as s:
        due_at = max(x.next_run_at for x in s.query(IngestSource))
    results = jobs.run_due(db, due_at, settings=settings)
    assert [(r["source"], r["status"]) for r in results] == [("a-broken", "failed"), ("b-good", "succeeded")]
    assert "无法从数据库读取" in results[0]["error"]


def test_one_off_database_pull_through_resource_load(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    a = uscc()
    url = _seed_sqlite(tmp_path / "dept.db", [(1, a, "甲", 7, None)])
    config = {"url": url, "query": "SELECT uscc, org_name, staff FROM qy"}
    load = run(service.resource_load, w.key, config, connector="database", actor=w.steward)
    assert load.status == "succeeded" and load.connector == "database" and load.source_id is None
    assert rows_now(settings, w.key)[a]["staff"] == 7
    with pytest.raises(Invalid, match="未知的归集方式"):
        run(service.resource_load, w.key, config, connector="ftp", actor=w.steward)


def test_a_pull_may_not_read_the_platforms_own_metadata_store(run, factory, settings) -> None:
    from citybrain.errors import NotAuthorized

    w = world(factory)
    config = {"url": settings.resolved_database_url, "table": "user_account"}
    with pytest.raises(NotAuthorized, match="元数据库"):
        _source(run, w.steward, name="sneaky", resource=w.key, kind="database", config=config)
    with pytest.raises(NotAuthorized, match="元数据库"):
        run(service.resource_load, w.key, config, connector="database", actor=w.steward)
