"""The share branch of the migrations builds exactly the tables the share models declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import citybrain.models  # noqa: F401  (every domain's tables on Base.metadata)
from citybrain.db import Base, alembic_config
from citybrain.share import models as share_models

SHARE_TABLES = {
    m.__tablename__
    for m in vars(share_models).values()
    if isinstance(m, type) and issubclass(m, Base) and m is not Base and m.__module__ == share_models.__name__
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_share_revisions_create_and_drop_exactly_the_share_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0001_foundation")
    before = _tables(url)
    command.upgrade(alembic_config(url), "0003_share_rate_window")
    assert _tables(url) - before == SHARE_TABLES
    command.downgrade(alembic_config(url), "0002_share")
    assert "share_rate_window" not in _tables(url)
    command.downgrade(alembic_config(url), "0001_foundation")
    assert _tables(url) == before


def test_migrated_share_tables_match_the_models(db: Any) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)

    def tables(entry: Any) -> set[str]:
        ops = entry if isinstance(entry, list) else [entry]
        names = set()
        for op in ops:
            for item in op[1:]:
                table = getattr(item, "table", None)
                if hasattr(item, "columns") and getattr(item, "name", None):
                    names.add(item.name)
                elif table is not None:
                    names.add(table.name)
                elif isinstance(item, str):
                    names.add(item)
        return names

    assert [d for d in diff if tables(d) & SHARE_TABLES] == []
