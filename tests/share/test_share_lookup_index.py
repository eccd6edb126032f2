"""Lookup through a version's key index answers exactly as the Parquet scan does: same rows, same
scope, same masking, same audit."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from citybrain.audit.models import AuditEvent
from citybrain.errors import NotFound
from citybrain.share import access, lookup, service
from citybrain.share.models import ShareCall
from citybrain.share.schemas import ShareRequestCreate

SCOPE = [{"field": "division_code", "op": "prefix", "values": ["320402"]}]
IN_SCOPE = "320402199001010003"  # division 320402005
OUT_OF_SCOPE = "320402199001010002"  # division 320411003


def _grant(run, world):  # type: ignore[no-untyped-def]
    req = run(
        service.share_request_create,
        ShareRequestCreate(
            resource="companies",
            fields=["uscc", "name"],
            purpose="企业资格核验",
            modes=["lookup"],
        ),
        actor=world.consumer[1],
    )
    return req.grant_id


def _people_grant(run, world):  # type: ignore[no-untyped-def]
    from citybrain.share.schemas import ApprovalIn

    req = run(
        service.share_request_create,
        ShareRequestCreate(
            resource="population",
            fields=["citizen_id", "name", "division_code", "mobile"],
            purpose="最低生活保障资格核查",
            legal_basis="《社会救助暂行办法》",
            row_filter=SCOPE,
            modes=["lookup"],
        ),
        actor=world.consumer[1],
    )
    run(service.share_request_approve, req.id, ApprovalIn(), actor=world.steward[1])
    return run(service.share_request_approve, req.id, actor=world.cdo[1]).grant_id


@pytest.fixture
def indexed(monkeypatch):  # type: ignore[no-untyped-def]
    """Every version counts as large, so lookups use (and first build) the key index."""
    monkeypatch.setattr(lookup, "INDEX_MIN_ROWS", 0)
    yield
    lookup.reset()


def _lookups(run, world, gid, keys):  # type: ignore[no-untyped-def]
    out = []
    for key in keys:
        try:
            out.append(run(access.share_lookup, gid, key, actor=world.consumer[1])["record"])
        except NotFound:
            out.append(None)
    return out


def test_index_gives_the_scans_answers(run, world, settings, db, monkeypatch) -> None:
    gid = _people_grant(run, world)
    keys = [IN_SCOPE, OUT_OF_SCOPE, "320402199001010001", "320402199001010004", "no-such-key"]
    scanned = _lookups(run, world, gid, keys)
    assert scanned[0] is not None and scanned[1] is None and scanned[4] is None
    assert scanned[0]["mobile"] == "138****0003" and "*" in scanned[0]["citizen_id"]

    monkeypatch.setattr(lookup, "INDEX_MIN_ROWS", 0)
    try:
        info = lookup.prepare_lookup(settings, "population")
        assert info["index"] and lookup.index_path(settings, "population", 1).is_file()
        assert _lookups(run, world, gid, keys) == scanned
    finally:
        lookup.reset()
    with db.session() as s:
        # every call, index or scan, hit or miss, has its usage row and its audit entry
        assert s.scalar(select(func.count()).select_from(ShareCall).where(ShareCall.grant_id == gid)) == 10
        audited = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share_lookup")
        assert s.scalar(audited) == 10


def test_first_lookup_builds_the_index_in_the_background(run, world, settings, indexed) -> None:
    gid = _grant(run, world)
    path = lookup.index_path(settings, "companies", 1)
    assert not path.exists()
    # answered by the scan while the index is built
    assert run(access.share_lookup, gid, "91320400MA0000001X", actor=world.consumer[1])["record"]["name"] == "公司1"
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.is_file()
    assert run(access.share_lookup, gid, "91320400MA0000002X", actor=world.consumer[1])["record"]["name"] == "公司2"
    with pytest.raises(NotFound):
        run(access.share_lookup, gid, "91320400MA0000099X", actor=world.consumer[1])


def test_a_new_version_is_served_and_replaces_the_old_index(run, world, settings, indexed) -> None:
    gid = _grant(run, world)
    lookup.prepare_lookup(settings, "companies")
    assert run(access.share_lookup, gid, "91320400MA0000001X", actor=world.consumer[1])["record"]["name"] == "公司1"
    world.lake.write("companies", pa.table({"uscc": ["91320400MA0000001X"], "name": ["改名公司"]}), primary_key="uscc")
    # the new version is read at once (by scan until its index exists), never the old index's row
    assert run(access.share_lookup, gid, "91320400MA0000001X", actor=world.consumer[1])["record"]["name"] == "改名公司"
    lookup.prepare_lookup(settings, "companies")
    assert lookup.index_path(settings, "companies", 2).is_file()
    assert not lookup.index_path(settings, "companies", 1).exists()
    assert run(access.share_lookup, gid, "91320400MA0000001X", actor=world.consumer[1])["record"]["name"] == "改名公司"
    with pytest.raises(NotFound):
        run(access.share_lookup, gid, "91320400MA0000002X", actor=world.consumer[1])
    # a pinned older version is still answered, by scanning its files
    old = run(access.share_lookup, gid, "91320400MA0000002X", version=1, actor=world.consumer[1])
    assert old["record"]["name"] == "公司2" and old["version"] == 1


def test_composite_keys_are_indexed(run, world, settings, factory, indexed) -> None:
    res = factory.resource(
        world.source,
        key="licences",
        fields=[
            {"name": "uscc", "title": "统一社会信用代码", "standard": "uscc", "required": True},
            {"name": "seq", "title": "序号", "data_type": "integer", "required": True},
            {"name": "name", "title": "许可名称"},
        ],
        primary_key=["uscc", "seq"],
    )
    table = pa.table({"uscc": ["A", "A", "B"], "seq": [1, 2, 1], "name": ["甲", "乙", "丙"]})
    world.lake.write(res.key, table, primary_key=["uscc", "seq"])
    gid = run(
        service.share_request_create,
        ShareRequestCreate(resource=res.key, fields=["uscc", "seq", "name"], purpose="许可核验", modes=["lookup"]),
        actor=world.consumer[1],
    ).grant_id
    lookup.prepare_lookup(settings, res.key)
    assert lookup.index_path(settings, res.key, 1).is_file()
    got = run(access.share_lookup, gid, {"uscc": "A", "seq": 2}, actor=world.consumer[1])["record"]
    assert got == {"uscc": "A", "seq": 2, "name": "乙"}
    with pytest.raises(NotFound):
        run(access.share_lookup, gid, {"uscc": "B", "seq": 2}, actor=world.consumer[1])


def _typed_resource(run, world, factory, table: pa.Table, row_filter: list | None = None):  # type: ignore[no-untyped-def]
    kinds = {"n": "integer", "amount": "decimal", "born": "date", "seen": "datetime", "ok": "boolean"}
    res = factory.resource(
        world.source,
        key="typed",
        fields=[{"name": c, "title": c, "data_type": kinds.get(c, "string")} for c in table.column_names],
        primary_key=["code"],
    )
    world.lake.write(res.key, table, primary_key="code")
    req = run(
        service.share_request_create,
        ShareRequestCreate(
            resource=res.key,
            fields=table.column_names,
            purpose="类型核验",
            modes=["lookup"],
            row_filter=row_filter or [],
        ),
        actor=world.consumer[1],
    )
    if req.status != "granted":
        from citybrain.share.schemas import ApprovalIn

        run(service.share_request_approve, req.id, ApprovalIn(), actor=world.steward[1])
        req = run(service.share_request_approve, req.id, actor=world.cdo[1])
    return res, req.grant_id


def test_index_keeps_every_catalog_type_and_scopes_on_their_text(run, world, settings, factory, monkeypatch) -> None:
    """Integers, decimals, floats, dates, timestamps, booleans and nulls come back from the index as the
    scan returns them, and a prefix scope on an integer column passes the same rows."""
    import datetime as dt
    from decimal import Decimal

    table = pa.table(
        {
            "code": ["A1", "A2", "B1", "B2"],
            "n": pa.array([320402, 320411, None, 3204021], pa.int64()),
            "amount": pa.array([Decimal("12.34"), None, Decimal("-0.01"), Decimal("0")], pa.decimal128(12, 2)),
            "ratio": pa.array([0.1, 1e20, None, -2.5], pa.float64()),
            "born": pa.array([dt.date(1997, 8, 27), None, dt.date(2000, 2, 29), dt.date(1970, 1, 1)]),
            "seen": pa.array(
                [
                    dt.datetime(2026, 1, 1, 10, 0, 0, 123456, tzinfo=dt.UTC),
                    None,
                    None,
                    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "ok": pa.array([True, False, None, True]),
        }
    )
    _, gid = _typed_resource(run, world, factory, table, [{"field": "n", "op": "prefix", "values": ["320402"]}])
    keys = ["A1", "A2", "B1", "B2", "none"]
    scanned = _lookups(run, world, gid, keys)
    assert [r is not None for r in scanned] == [True, False, False, True, False]
    monkeypatch.setattr(lookup, "INDEX_MIN_ROWS", 0)
    try:
        assert lookup.prepare_lookup(settings, "typed")["index"]
        assert _lookups(run, world, gid, keys) == scanned
    finally:
        lookup.reset()


def test_a_version_the_index_cannot_keep_is_scanned(run, world, settings, factory, indexed) -> None:
    import datetime as dt

    table = pa.table({"code": ["A1", "A2"], "opens": pa.array([dt.time(8, 30), None], pa.time64("us"))})
    _, gid = _typed_resource(run, world, factory, table)
    assert lookup.prepare_lookup(settings, "typed")["index"] is None
    out = run(access.share_index_build, "typed", actor=world.steward[1])
    assert out["index"] is False and "时间" in out["reason"]
    assert not lookup.index_path(settings, "typed", 1).exists()
    record = run(access.share_lookup, gid, "A1", actor=world.consumer[1])["record"]
    assert record["code"] == "A1" and record["opens"] is not None


def test_stewards_build_the_index_ahead_and_it_is_audited(run, world, settings, db, indexed) -> None:
    from citybrain.errors import NotAuthorized

    with pytest.raises(NotAuthorized):
        run(access.share_index_build, "companies", actor=world.consumer[1])
    assert not lookup.index_path(settings, "companies", 1).exists()
    out = run(access.share_index_build, "companies", actor=world.steward[1])
    assert out == {"resource": "companies", "index": True, "rows": 10, "version": 1}
    assert lookup.index_path(settings, "companies", 1).is_file()
    with db.session() as s:
        entry = s.scalars(select(AuditEvent).where(AuditEvent.action == "share_index_build")).one()
        assert entry.resource_id == "companies" and entry.username == world.steward[1].username
    with pytest.raises(NotFound):
        run(access.share_index_build, "no_such_resource", actor=world.cdo[1])


def test_a_small_resource_gets_no_index_and_says_why(run, world, settings) -> None:
    out = run(access.share_index_build, "companies", actor=world.steward[1])
    assert out["index"] is False and out["rows"] == 10 and "少于" in out["reason"]
    assert not lookup.index_path(settings, "companies", 1).exists()


def test_a_lookup_holding_a_closed_index_scans_instead(run, world, settings, indexed, monkeypatch) -> None:
    gid = _grant(run, world)
    lookup.prepare_lookup(settings, "companies")
    info = lookup.lake(settings).current("companies")
    held = lookup.key_index(settings, info, ["uscc"])
    assert held is not None
    held.close()  # as when a newer version's index replaces it between finding and reading
    with pytest.raises(lookup.IndexClosed):
        held.rows(["name"], "TRUE", [], "91320400MA0000001X")
    monkeypatch.setattr(lookup, "key_index", lambda *_: held)
    assert run(access.share_lookup, gid, "91320400MA0000001X", actor=world.consumer[1])["record"]["name"] == "公司1"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (pa.date32(), ["2024-02-29", "1900-01-01", "0001-01-01", None]),
        (pa.date32(), ["2024-02-29", "10000-01-01"]),  # past 9999: Python refuses, Arrow decides
        (pa.int64(), ["0", "-9223372036854775808", "9223372036854775807", None]),
        (pa.int32(), ["-2147483648", "2147483647"]),
    ],
)
def test_values_parsed_from_text_are_what_arrows_cast_gives(kind: pa.DataType, text: list[str | None]) -> None:
    try:
        expected = pa.array(text, pa.string()).cast(kind).to_pylist()
    except pa.ArrowInvalid:
        with pytest.raises(pa.ArrowInvalid):
            lookup._from_text(text, kind)
        return
    assert lookup._from_text(text, kind) == expected


def _refusals(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """What the work on the event loop would have waited for (each WouldWait raised, in order)."""
    from citybrain import waiting

    refused: list[str] = []
    real = waiting.WouldWait.__init__

    def noted(self, what, **kwargs):  # type: ignore[no-untyped-def]
        refused.append(what)
        real(self, what, **kwargs)

    monkeypatch.setattr(waiting.WouldWait, "__init__", noted)
    return refused


def _token(run, world, gid):  # type: ignore[no-untyped-def]
    return run(service.grant_token_issue, gid, actor=world.consumer[1]).token


def _indexed_lookup(run, world, settings, db):  # type: ignore[no-untyped-def]
    """A grant on the indexed people table: its id, a lookup URL and the token header (SQLite only)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("lookups are tried on the event loop on SQLite only")
    gid = _people_grant(run, world)
    lookup.prepare_lookup(settings, "population")
    return gid, f"/api/v1/share/grants/-/records/{IN_SCOPE}", {"authorization": f"Bearer {_token(run, world, gid)}"}


def test_a_lookup_on_the_event_loop_never_waits_for_the_write_turn(
    run, world, settings, db, client, indexed, monkeypatch
) -> None:
    """While another thread holds SQLite's write turn, a lookup that found its answer in the key index is
    handed to a worker thread instead of waiting on the event loop: other requests are answered meanwhile,
    and the lookup is answered, counted and audited once, when the turn comes back."""
    from sqlalchemy import text

    gid, url, h = _indexed_lookup(run, world, settings, db)
    assert client.get(url, headers=h).status_code == 200  # on the loop: nothing held

    refused = _refusals(monkeypatch)
    holding, release = threading.Event(), threading.Event()

    def hold_the_turn() -> None:
        with db.session() as session:
            session.execute(text("UPDATE share_grant SET reason = reason WHERE id = :g"), {"g": gid})
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_turn)
    holder.start()
    assert holding.wait(10)
    answer: dict[str, object] = {}
    caller = threading.Thread(target=lambda: answer.update(r=client.get(url, headers=h)))
    caller.start()
    try:
        from citybrain.web.deps import _ON_LOOP_PAUSES

        tries = len(_ON_LOOP_PAUSES) + 1  # on the loop, a moment apart; then in a worker thread
        deadline = time.monotonic() + 10
        while len(refused) < tries and time.monotonic() < deadline:
            time.sleep(0.01)
        assert refused == ["the SQLite write turn"] * tries
        started = time.monotonic()
        assert client.get("/healthz").status_code == 200  # the event loop is free
        assert time.monotonic() - started < 5
        assert "r" not in answer  # the lookup waits for the turn, in its worker thread
    finally:
        release.set()
        holder.join(10)
        caller.join(10)
    assert answer["r"].status_code == 200 and answer["r"].json()["record"]["citizen_id"].startswith("3204")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ShareCall).where(ShareCall.grant_id == gid)) == 2
        audited = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "share_lookup")
        assert s.scalar(audited) == 2


def test_a_lookup_that_must_scan_is_not_done_on_the_event_loop(run, world, db, client, monkeypatch) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("lookups are tried on the event loop on SQLite only")
    gid = _people_grant(run, world)  # a small resource: no key index, every lookup scans
    refused = _refusals(monkeypatch)
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    r = client.get(f"/api/v1/share/grants/-/records/{IN_SCOPE}", headers=h)
    # the call's writes, committed apart from it (web.group_commit), try the loop again: the grant's first
    # call recounts its day, which is not done there either
    assert r.status_code == 200
    assert refused == ["a scan of the version's Parquet files", "a recount of the grant's last day of calls"]


@pytest.mark.parametrize("with_index", [False, True])
def test_the_plain_lookup_route_answers_as_the_fastapi_one(
    run, world, settings, client, monkeypatch, request, with_index
) -> None:
    """``GET …/records/{key}`` is served by a plain Starlette route ahead of FastAPI's: its answers — record,
    miss, refusal, bad parameter — are those of ``POST …/lookup``, which FastAPI serves."""
    if with_index:
        monkeypatch.setattr(lookup, "INDEX_MIN_ROWS", 0)
        request.addfinalizer(lookup.reset)
    gid = _people_grant(run, world)
    if with_index:
        assert lookup.prepare_lookup(settings, "population")["index"]
    h = {"authorization": f"Bearer {_token(run, world, gid)}"}
    for key in (IN_SCOPE, OUT_OF_SCOPE, "no-such-key"):
        got = client.get(f"/api/v1/share/grants/-/records/{key}", headers=h)
        posted = client.post("/api/v1/share/grants/-/lookup", json={"key": key}, headers=h)
        assert (got.status_code, got.headers["content-type"]) == (posted.status_code, posted.headers["content-type"])
        assert got.json() == posted.json()
    assert got.status_code == 404 and got.json()["error"]["code"] == "not_found"
    assert (
        client.get(f"/api/v1/share/grants/-/records/{IN_SCOPE}", headers=h).json()["record"]["mobile"] == "138****0003"
    )
    bad = client.get(f"/api/v1/share/grants/-/records/{IN_SCOPE}?version=latest", headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"
    assert client.get(f"/api/v1/share/grants/-/records/{IN_SCOPE}", headers={}).status_code == 401
    assert client.put(f"/api/v1/share/grants/-/records/{IN_SCOPE}", headers=h).status_code == 405


def test_a_lookup_due_to_recount_its_grants_day_leaves_the_event_loop(
    run, world, settings, db, client, indexed, monkeypatch
) -> None:
    """The volume check adds up the grant's last day of calls every few seconds; that call is done in a
    worker thread, and counted and audited once."""
    from citybrain.share import anomalies

    gid, url, h = _indexed_lookup(run, world, settings, db)
    refused = _refusals(monkeypatch)
    assert client.get(url, headers=h).status_code == 200  # the grant's first call: a full check
    assert refused == ["a recount of the grant's last day of calls"]
    assert client.get(url, headers=h).status_code == 200  # within VOLUME_RECHECK: on the loop
    assert refused == ["a recount of the grant's last day of calls"]
    anomalies._volume_seen.pop(gid, None)
    assert client.get(url, headers=h).status_code == 200
    assert len(refused) == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ShareCall).where(ShareCall.grant_id == gid)) == 3


def test_a_department_table_of_thousands_of_rows_is_indexed_a_tiny_one_scanned(settings) -> None:
    # a scan of 5,000 rows took about 5 ms a lookup, the index tens of microseconds
    lake = lookup.lake(settings)
    keys = [f"K{i:05d}" for i in range(5_000)]
    lake.write("tiny_table", pa.table({"k": keys[:40], "v": list(range(40))}), primary_key="k")
    lake.write("dept_table", pa.table({"k": keys, "v": list(range(5_000))}), primary_key="k")
    try:
        assert lookup.prepare_lookup(settings, "tiny_table") == {"index": None, "rows": 40}
        built = lookup.prepare_lookup(settings, "dept_table")
        assert built["index"] and built["rows"] == 5_000
        info = lake.current("dept_table")
        assert info is not None
        index = lookup.key_index(settings, info, ["k"])
        assert index is not None
        assert index.rows(["k", "v"], "TRUE", [], "K04321") == [{"k": "K04321", "v": 4321}]
    finally:
        lookup.reset()
