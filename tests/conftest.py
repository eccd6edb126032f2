"""Test fixtures: a fresh, migrated metadata store and data directory for every test, on the real app.

The store is SQLite by default; set ``CITYBRAIN_TEST_DATABASE_URL`` to a PostgreSQL server URL
(e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) to run everything on PostgreSQL:
each test then gets its own database cloned from a migrated template.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("CITYBRAIN_LOG_JSON", "false")

from citybrain.actions import Context
from citybrain.auth.actor import SYSTEM, Actor
from citybrain.auth.rules import Role
from citybrain.bootstrap import init_platform
from citybrain.db import Database, reset_database
from citybrain.settings import Settings, reset_settings

PG_URL = os.environ.get("CITYBRAIN_TEST_DATABASE_URL", "")
_counter = itertools.count()


def _admin_engine(url: str):  # type: ignore[no-untyped-def]
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated store with reference data; tests get copies of it."""
    if PG_URL:
        name = f"cb_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = _admin_engine(PG_URL)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        db = Database(url)
        init_platform(db)
        db.dispose()
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        db = Database(f"sqlite:///{path}")
        init_platform(db)
        db.dispose()  # closing the last connection checkpoints the WAL into the file we copy
        yield str(path)


@pytest.fixture
def settings(tmp_path: Path, template_store: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    home = tmp_path / "home"
    home.mkdir()
    if PG_URL:
        name = f"cb_t_{os.getpid()}_{next(_counter)}"
        admin = _admin_engine(PG_URL)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_store}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    else:
        shutil.copy(template_store, home / "citybrain.db")
        url = f"sqlite:///{home / 'citybrain.db'}"
    monkeypatch.setenv("CITYBRAIN_HOME", str(home))
    monkeypatch.setenv("CITYBRAIN_DATABASE_URL", url)
    reset_settings()
    reset_database()
    s = Settings(home=home, database_url=url, log_json=False)
    yield s
    reset_database()
    reset_settings()
    if PG_URL:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    from citybrain.web.app import create_app

    return create_app(settings, db)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


class Runner:
    """Runs actions as a given actor, one committed unit of work per call (like a request)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def __call__(self, fn: Callable[..., Any], *args: Any, actor: Actor = SYSTEM, **kwargs: Any) -> Any:
        with self.db.session() as session:
            ctx = Context(session=session, actor=actor, settings=self.settings)
            return fn(ctx, *args, **kwargs)


@pytest.fixture
def run(db: Database, settings: Settings) -> Runner:
    return Runner(db, settings)


@pytest.fixture
def factory(run: Runner):  # type: ignore[no-untyped-def]
    from tests.factories import Factory

    return Factory(run)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Outside CI, skip tests whose service is missing; in CI (CI=true) they must run."""
    if os.environ.get("CI") == "true":
        return
    if shutil.which("java") is None:
        for item in items:
            if "spark" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="no JDK for PySpark"))
    if shutil.which("chromium") is None:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="Debian chromium is not installed (make test installs it)"))


ROLE = Role
