"""Migration 0002_cases creates exactly the tables of ``cases/models.py``, matching the metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import citybrain.models  # noqa: F401  (every domain's tables on Base.metadata)
from citybrain.cases import models as case_models
from citybrain.db import Base, alembic_config

CASE_TABLES = {
    m.__tablename__
    for m in vars(case_models).values()
    if isinstance(m, type) and issubclass(m, Base) and m is not Base and m.__module__ == case_models.__name__
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_revision_creates_exactly_the_case_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0001_foundation")
    before = _tables(url)
    command.upgrade(alembic_config(url), "0002_cases")
    assert _tables(url) - before == CASE_TABLES
    command.downgrade(alembic_config(url), "0001_foundation")
    assert _tables(url) == before


def test_migrated_schema_matches_the_models(db: Any) -> None:
    # db is migrated to every head (SQLite, or PostgreSQL when configured)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)

    def table_of(entry: Any) -> str | None:
        op = entry[0] if isinstance(entry, list) else entry
        for item in op[1:]:
            name = getattr(item, "name", None) if hasattr(item, "columns") else None
            table = getattr(item, "table", None)
            if name:
                return name
            if table is not None:
                return table.name
            if isinstance(item, str):
                return item
        return None

    assert [d for d in diff if table_of(d) in CASE_TABLES] == []
