"""Helpers for the migration tests of each domain: its tables, a database's tables, and the
differences between the migrated schema and the models."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import citybrain.models  # noqa: F401  (every domain's tables on Base.metadata)
from citybrain.db import Base


def domain_tables(models: ModuleType) -> set[str]:
    """The tables a domain's ``models`` module declares."""
    return {
        m.__tablename__
        for m in vars(models).values()
        if isinstance(m, type) and issubclass(m, Base) and m is not Base and m.__module__ == models.__name__
    }


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def schema_diff(db: Any, tables: set[str]) -> list[Any]:
    """What Alembic's autogenerate would change in ``tables`` to match the models (empty: none)."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)

    def named(entry: Any) -> set[str]:
        names = set()
        for op in entry if isinstance(entry, list) else [entry]:
            for item in op[1:]:
                table = getattr(item, "table", None)
                if hasattr(item, "columns") and getattr(item, "name", None):
                    names.add(item.name)
                elif table is not None:
                    names.add(table.name)
                elif isinstance(item, str):
                    names.add(item)
        return names

    return [d for d in diff if named(d) & tables]
