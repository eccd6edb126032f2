"""``insert_new``: the intake's INSERT writes what a unit-of-work flush would, and leaves the object as
the session's persistent copy of its row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.orm import registry

from citybrain.cases.models import Case, Report
from citybrain.cases.workflow import _columns, insert_new
from citybrain.db import new_id

AT = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)


def _case(**overrides: Any) -> Case:
    values: dict[str, Any] = dict(
        request_id=new_id()[:20], kind="事项", code="06042", edition="GB/T 47678.5-2026", code_name="垃圾满溢",
        classify_confidence=0.8, needs_human=False, component_id=None, title="垃圾满溢", description=None,
        lon=119.95, lat=31.78, address=None, grid_id=None, area_class="B", urgency="normal", source="hotline",
        state="reported", reported_at=AT, returned_by=[], dispatch_due_at=AT, due_at=AT, stage="dispatch",
    )  # fmt: skip
    values.update(overrides)
    return Case(**values)


def _row(db: Any, table: Any, key: str) -> dict[str, Any]:
    with db.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == key)).mappings().one()
        nulls = conn.execute(
            text(f"SELECT {', '.join(f'{c.name} IS NULL' for c in table.columns)} FROM {table.name} WHERE id = :k"),
            {"k": key},
        ).one()
    # SQL NULL and JSON null both read back as None: compare which one was stored as well
    return {**dict(row), **{f"{c.name} is null": v for c, v in zip(table.columns, nulls, strict=True)}}


def test_a_case_is_written_as_a_flush_writes_it(db: Any) -> None:
    flushed, inserted = _case(), _case()
    with db.session() as session:
        session.add(flushed)
        session.flush()
        insert_new(session, inserted)
        assert session.get(Case, inserted.id) is inserted
        assert not session.dirty and not session.new
        assert inserted.version == 1 and inserted.report_count == 1 and inserted.description == ""
    skip = {"id", "request_id", "updated_at", "id is null"}
    a, b = _row(db, Case.__table__, flushed.id), _row(db, Case.__table__, inserted.id)
    assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}
    with db.session() as session:
        # the version counter works on the copy as on a loaded case
        case = session.get(Case, inserted.id)
        case.state = "accepted"
        session.flush()
        assert case.version == 2


def test_a_report_with_json_none_is_written_as_a_flush_writes_it(db: Any) -> None:
    with db.session() as session:
        case = _case()
        insert_new(session, case)
        reports = [
            Report(id=new_id(), case_id=case.id, channel="hotline", token=new_id(), text="满了", payload=None,
                   received_at=AT)
            for _ in range(2)
        ]  # fmt: skip
        session.add(reports[0])
        session.flush()
        insert_new(session, reports[1])
    a, b = (_row(db, Report.__table__, r.id) for r in reports)
    skip = {"id", "token"}
    assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}


def test_a_class_with_a_server_default_is_refused() -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("s", String, server_default="x"))

    class Thing:
        pass

    mapper = registry().map_imperatively(Thing, table)
    with pytest.raises(TypeError, match="server default"):
        _columns(mapper)
