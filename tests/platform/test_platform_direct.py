"""Statements run on the driver's cursor (``citybrain.db.Direct``) write and read the same values as
SQLAlchemy does: UTC datetimes, JSON (``None`` included), booleans — on SQLite and on PostgreSQL, in the
session's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import bindparam, delete, insert, select

from citybrain.audit.models import AuditEvent
from citybrain.db import Database, Direct
from citybrain.share.models import ShareCall

_CALL = ShareCall.__table__


def _call(**overrides: object) -> dict[str, object]:
    return {
        "id": "c" * 32,
        "grant_id": "g" * 32,
        "resource_key": "population",
        "dept_id": "d" * 32,
        "consumer_dept_id": "e" * 32,
        "mode": "lookup",
        "rows": 1,
        "hit": True,
        "at": datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC),
        **overrides,
    }


def test_a_row_inserted_on_the_driver_reads_back_as_one_inserted_by_sqlalchemy(db: Database) -> None:
    direct = Direct(insert(_CALL))
    beijing = datetime(2026, 12, 1, 16, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))  # stored as UTC
    with db.session() as session:
        assert direct.execute(session, _call(id="a" * 32, at=beijing, hit=None)) == 1
        session.execute(insert(_CALL), _call(id="b" * 32, at=beijing, hit=None))
    with db.session() as session:
        rows = session.execute(select(_CALL).where(_CALL.c.id.in_(["a" * 32, "b" * 32])).order_by(_CALL.c.id)).all()
    assert len(rows) == 2
    direct_row, core_row = (dict(r._mapping) for r in rows)
    assert {**direct_row, "id": None} == {**core_row, "id": None}
    assert direct_row["at"] == beijing and direct_row["at"].tzinfo is not None
    assert direct_row["hit"] is None


def test_selected_columns_come_back_through_their_types(db: Database) -> None:
    events = AuditEvent.__table__
    row = {c.name: None for c in events.c}
    at = datetime(2026, 12, 1, 1, 2, 3, tzinfo=UTC)
    row.update(
        seq=10**6,
        at=at,
        action="test_direct",
        result="ok",
        actor_kind="system",
        fields=["姓名", "公民身份号码"],
        details={"说明": "直接执行", "n": 1},
        prev_hash="0" * 64,
        hash="1" * 64,
    )
    with db.session() as session:
        Direct(insert(events)).execute(session, row)
    read = Direct(
        select(events.c.at, events.c.fields, events.c.details, events.c.purpose).where(events.c.seq == bindparam("seq"))
    )
    with db.session() as session:
        found = read.rows(session, {"seq": 10**6})
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 10**6))
    assert found == [(at, ["姓名", "公民身份号码"], {"说明": "直接执行", "n": 1}, None)]


def test_it_runs_in_the_sessions_transaction(db: Database) -> None:
    direct = Direct(insert(_CALL))
    with db.sessionmaker() as session:
        direct.execute(session, _call(id="r" * 32, at=datetime.now(UTC) - timedelta(minutes=1)))
        assert session.scalar(select(_CALL.c.id).where(_CALL.c.id == "r" * 32)) == "r" * 32
        session.rollback()
    with db.session() as session:
        assert session.scalar(select(_CALL.c.id).where(_CALL.c.id == "r" * 32)) is None
