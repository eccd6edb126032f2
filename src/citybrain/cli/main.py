"""The ``citybrain`` command. Sub-commands live in one module per domain."""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from citybrain.cli.common import console, fail, table

app = typer.Typer(help="CityBrain 城市大脑 — 公共数据与城市运行平台", no_args_is_help=True, add_completion=False)

SUBCOMMANDS = {
    "db": "citybrain.cli.db",
    "org": "citybrain.cli.org",
    "user": "citybrain.cli.users",
    "catalog": "citybrain.cli.catalog",
    "audit": "citybrain.cli.audit",
    "ingest": "citybrain.cli.ingest",
    "quality": "citybrain.cli.quality",
    "share": "citybrain.cli.share",
    "open": "citybrain.cli.opendata",
    "cases": "citybrain.cli.cases",
    "efficiency": "citybrain.cli.efficiency",
}

for _name, _module in SUBCOMMANDS.items():
    try:
        app.add_typer(importlib.import_module(_module).app, name=_name)
    except ModuleNotFoundError as _exc:
        if _exc.name is None or not _module.startswith(_exc.name):
            raise


@app.command()
def init() -> None:
    """Create or upgrade the metadata store and install reference data (idempotent)."""
    from citybrain.bootstrap import init_platform
    from citybrain.db import get_database

    added = init_platform(get_database())
    console.print(f"已就绪：新增数据元标准 {added['standards']} 个，行政区划 {added['divisions']} 个")


@app.command()
def serve(
    host: str = typer.Option(None, help="default: CITYBRAIN_HOST"),
    port: int = typer.Option(None, help="default: CITYBRAIN_PORT"),
    workers: int = typer.Option(1, min=1, help="server processes (each with its own threads and connections)"),
) -> None:
    """Serve the web console, portal and API."""
    import uvicorn

    from citybrain.settings import get_settings
    from citybrain.web.app import create_app

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
        return
    # each process builds its own app from the same environment (CITYBRAIN_*); on SQLite their writes
    # take turns through the database's lock file, see citybrain.db
    uvicorn.run("citybrain.web.app:create_app", factory=True, workers=workers, host=host, port=port, log_config=None)


@app.command()
def demo(
    scale: int = typer.Option(None, help="persons in the 人口 base library (default: CITYBRAIN_SEEDS_SCALE)"),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="serve the demo city when built"),
    rebuild: bool = typer.Option(False, help="delete and rebuild an existing demo"),
    cases: int = typer.Option(None, help="一网统管 cases to generate (default: 3,000, or the scale if larger)"),
) -> None:
    """Build the deterministic demo city of 常州 under CITYBRAIN_HOME, then serve it."""
    from citybrain.demo.builder import CREDENTIALS, build_demo
    from citybrain.errors import CityBrainError

    try:
        summary = build_demo(scale=scale, rebuild=rebuild, echo=console.print, cases=cases)
    except CityBrainError as exc:
        fail(exc)
    _print_accounts(summary.home / CREDENTIALS)
    if serve_after:
        serve(None, None)


#: the accounts printed after a demo build (all of them are in the credentials file)
_SHOWN = ("admin", "cdo", "security", "steward.gaj", "steward.scjgj", "consumer.mzj", "operator.rx12345",
          "grid.320402001", "public")  # fmt: skip


def _print_accounts(path: Path) -> None:
    import json

    from citybrain.settings import get_settings

    if not path.exists():
        return
    accounts = {a["username"]: a for a in json.loads(path.read_text(encoding="utf-8"))["accounts"]}
    rows = [[u, accounts[u]["display_name"], accounts[u]["password"]] for u in _SHOWN if u in accounts]
    table("演示账号（全部账号与 API 令牌见 " + str(path) + "）", ["用户名", "身份", "密码"], rows)
    settings = get_settings()
    console.print(f"登录：http://{settings.host}:{settings.port}/login    API 文档：/docs")


if __name__ == "__main__":
    app()
