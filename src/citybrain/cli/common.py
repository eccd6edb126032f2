"""What every CLI command shares: a unit of work, the acting user, and error printing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from citybrain.actions import Context
from citybrain.auth.actor import SYSTEM, Actor
from citybrain.db import get_database
from citybrain.errors import CityBrainError
from citybrain.settings import get_settings

console = Console()
err_console = Console(stderr=True)

#: ``--as USERNAME``: act as that user (their roles and department). Without it the CLI acts as the
#: platform itself — whoever can run commands on the server already holds the data directory.
AS_OPTION = typer.Option(None, "--as", help="act as this user (default: the platform's system identity)")


def resolve_actor(username: str | None, session: Any) -> Actor:
    if not username:
        return SYSTEM
    from sqlalchemy import select

    from citybrain.auth.models import User
    from citybrain.auth.service import actor_for_user

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise CityBrainError(f"用户 {username} 不存在", code="not_found")
    return actor_for_user(user)


@contextmanager
def unit_of_work(username: str | None = None) -> Iterator[Context]:
    """One committed transaction as the given user; domain errors end the command with exit code 1."""
    settings = get_settings()
    db = get_database(settings)
    try:
        with db.session() as session:
            yield Context(session=session, actor=resolve_actor(username, session), settings=settings)
    except CityBrainError as exc:
        fail(exc)


def fail(exc: CityBrainError) -> None:
    err_console.print(f"[bold red]错误[/] ({exc.code}): {exc.message}")
    if exc.details:
        details = exc.details if isinstance(exc.details, list) else [exc.details]
        for d in details[:50]:
            err_console.print(f"  - {json.dumps(d, ensure_ascii=False, default=str)}")
    raise typer.Exit(1)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    console.print(t)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
