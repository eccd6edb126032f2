"""Migration 0002_cases creates exactly the tables of ``cases/models.py``, matching the metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from tests.schema import domain_tables, schema_diff, table_names

from citybrain.cases import models as case_models
from citybrain.db import alembic_config

CASE_TABLES = domain_tables(case_models)


def test_revision_creates_exactly_the_case_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0001_foundation")
    before = table_names(url)
    command.upgrade(alembic_config(url), "0002_cases")
    assert table_names(url) - before == CASE_TABLES
    command.downgrade(alembic_config(url), "0001_foundation")
    assert table_names(url) == before


def test_migrated_schema_matches_the_models(db: Any) -> None:
    # db is migrated to every head (SQLite, or PostgreSQL when configured)
    assert schema_diff(db, CASE_TABLES) == []
