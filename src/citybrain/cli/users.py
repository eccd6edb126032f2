from __future__ import annotations

import typer

from citybrain.auth import service
from citybrain.auth.rules import Role
from citybrain.auth.schemas import TokenCreate, UserCreate
from citybrain.cli.common import AS_OPTION, console, table, unit_of_work
from citybrain.errors import parse

app = typer.Typer(help="Users and API tokens")


@app.command("list")
def list_users(dept: str = typer.Option(None), as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        rows = service.user_list(ctx, dept)
        table(
            "用户",
            ["用户名", "姓名", "角色", "部门", "启用"],
            [[u.username, u.display_name, ",".join(u.roles), u.dept_id, u.is_active] for u in rows],
        )


@app.command("add")
def add(
    username: str,
    display_name: str,
    role: list[Role] = typer.Option(..., "--role"),
    dept: str = typer.Option(None),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    as_user: str = AS_OPTION,
) -> None:
    """Create a user with one or more roles."""
    with unit_of_work(as_user) as ctx:
        data = parse(
            UserCreate,
            {"username": username, "display_name": display_name, "password": password, "roles": role, "dept": dept},
        )
        user = service.user_create(ctx, data)
        console.print(f"已创建用户 {user.username}")


@app.command("token")
def token(
    name: str,
    scope: list[str] = typer.Option(..., "--scope"),
    days: int = typer.Option(None),
    as_user: str = typer.Option(..., "--as", help="the token's owner"),
) -> None:
    """Issue an API token for a user (the secret is printed once; only its hash is stored)."""
    with unit_of_work(as_user) as ctx:
        tok, secret = service.token_create(ctx, TokenCreate(name=name, scopes=scope, days=days))
        console.print(f"令牌 {tok.prefix}… 有效期至 {tok.expires_at:%Y-%m-%d}")
        typer.echo(secret)


@app.command("revoke-token")
def revoke_token(token_id: str, as_user: str = AS_OPTION) -> None:
    with unit_of_work(as_user) as ctx:
        service.token_revoke(ctx, token_id)
        console.print("令牌已吊销")
