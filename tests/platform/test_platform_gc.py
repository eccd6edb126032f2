"""A server process leaves its startup heap out of garbage collection (see ``web.app``), once, and has
its ORM configured before the first request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import gc, json
from fastapi.testclient import TestClient
from citybrain.web.app import create_app
before = gc.get_freeze_count()
with TestClient(create_app()) as client:
    assert client.get("/healthz").status_code == 200
    first = gc.get_freeze_count()
with TestClient(create_app()):
    second = gc.get_freeze_count()
print(json.dumps({"before": before, "first": first, "second": second}))
"""


def test_the_app_freezes_the_startup_heap_once_per_process(tmp_path: Path) -> None:
    # a process of its own: this test run's process has built apps already
    env = {**os.environ, "CITYBRAIN_HOME": str(tmp_path / "home"), "CITYBRAIN_DATABASE_URL": ""}
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    # the modules, classes and routes of a built app: far more than a bare interpreter's few
    assert counts["before"] == 0 and counts["first"] > 50_000
    # a second app's objects are not frozen (some of the first's are freed with it)
    assert counts["second"] <= counts["first"]


_MAPPERS = """
import json
from fastapi.testclient import TestClient
from citybrain.db import Base
from citybrain.web.app import create_app
mappers = lambda: list(Base.registry.mappers)
before = sum(m.configured for m in mappers())
with TestClient(create_app()):
    # started, no request made yet
    after = [m.configured for m in mappers()]
print(json.dumps({"before": before, "configured": sum(after), "mappers": len(after)}))
"""


def test_the_app_configures_every_mapper_before_its_first_request(tmp_path: Path) -> None:
    env = {**os.environ, "CITYBRAIN_HOME": str(tmp_path / "home"), "CITYBRAIN_DATABASE_URL": ""}
    done = subprocess.run([sys.executable, "-c", _MAPPERS], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    # importing the app configures nothing; starting it configures every domain's mappers
    assert counts["before"] == 0
    assert counts["mappers"] > 40 and counts["configured"] == counts["mappers"]
