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
    command.upgrade(alembic_config(url), "0004_share_usage_minute")
    assert table_names(url) - before == SHARE_TABLES
    command.downgrade(alembic_config(url), "0003_share_rate_window")
    assert "share_rate_window" in table_names(url) and "share_usage_minute" not in table_names(url)
    command.downgrade(alembic_config(url), "0002_share")
    assert "share_rate_window" not in table_names(url)
    command.downgrade(alembic_config(url), "0001_foundation")
    assert table_names(url) == before


def test_migrated_share_tables_match_the_models(db: Any) -> None:
    # db is migrated to every head (SQLite, or PostgreSQL when configured)
    assert schema_diff(db, SHARE_TABLES) == []


def test_upgrade_carries_the_last_month_of_calls_into_the_usage_minutes(tmp_path: Path) -> None:
    """Volume baselines survive the upgrade that introduced per-minute usage: the minutes are filled
    from the calls already recorded."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0003_share_rate_window")
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    calls = [("g1", now, 5), ("g1", now, 7), ("g1", now - timedelta(days=3), 100), ("g2", now, 1),
             ("g1", now - timedelta(days=40), 9)]  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as conn:
        for n, (grant, at, rows) in enumerate(calls):
            conn.execute(
                text(
                    "INSERT INTO share_call (id, grant_id, resource_key, dept_id, consumer_dept_id, mode, rows, at) "
                    "VALUES (:id, :grant, 'companies', 'd1', 'd2', 'query', :rows, :at)"
                ),
                {"id": f"c{n}", "grant": grant, "rows": rows, "at": at.replace(tzinfo=None).isoformat(sep=" ")},
            )
    command.upgrade(alembic_config(url), "0004_share_usage_minute")
    with engine.connect() as conn:
        got = conn.execute(text("SELECT grant_id, minute, calls, rows FROM share_usage_minute ORDER BY 1, 2")).all()
    engine.dispose()
    minute = int(now.timestamp() // 60)
    # the 40-day-old call is older than any baseline and is left out
    day = 24 * 60
    assert [tuple(r) for r in got] == [("g1", minute - 3 * day, 1, 100), ("g1", minute, 2, 12), ("g2", minute, 1, 1)]
