from __future__ import annotations

import typer

from citybrain.cli.common import console

app = typer.Typer(help="Metadata store: migrations")


@app.command("upgrade")
def upgrade(revision: str = "heads") -> None:
    """Apply migrations (all domain heads by default)."""
    from citybrain.db import get_database, migrate

    migrate(get_database().url, revision)
    console.print("数据库已升级")


@app.command("current")
def current() -> None:
    """Show the applied revisions."""
    from alembic import command

    from citybrain.db import alembic_config, get_database

    command.current(alembic_config(get_database().url))
