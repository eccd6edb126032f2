"""The share branch of the migrations builds exactly the tables the share models declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command

from citybrain.db import alembic_config
from citybrain.share import models as share_models
from tests.schema import domain_tables, schema_diff, table_names

SHARE_TABLES = domain_tables(share_models)


def test_share_revisions_create_and_drop_exactly_the_share_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0001_foundation")
    before = table_names(url)
    command.upgrade(alembic_config(url), "0003_share_rate_window")
    assert table_names(url) - before == SHARE_TABLES
    command.downgrade(alembic_config(url), "0002_share")
    assert "share_rate_window" not in table_names(url)
    command.downgrade(alembic_config(url), "0001_foundation")
    assert table_names(url) == before


def test_migrated_share_tables_match_the_models(db: Any) -> None:
    # db is migrated to every head (SQLite, or PostgreSQL when configured)
    assert schema_diff(db, SHARE_TABLES) == []
