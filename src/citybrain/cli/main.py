"""The ``citybrain`` command. Sub-commands live in one module per domain."""

from __future__ import annotations

import importlib

import typer

from citybrain.cli.common import console

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
) -> None:
    """Serve the web console, portal and API."""
    import uvicorn

    from citybrain.settings import get_settings
    from citybrain.web.app import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_config=None)


@app.command()
def demo(
    scale: int = typer.Option(None, help="persons in the 人口 base library (default: CITYBRAIN_SEEDS_SCALE)"),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="serve the demo city when built"),
    rebuild: bool = typer.Option(False, help="delete and rebuild an existing demo"),
) -> None:
    """Build the deterministic demo city of 常州 under CITYBRAIN_HOME, then serve it."""
    from citybrain.demo.builder import build_demo

    build_demo(scale=scale, rebuild=rebuild)
    if serve_after:
        serve(None, None)


if __name__ == "__main__":
    app()
