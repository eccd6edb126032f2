"""A loading process killed with SIGKILL mid-write: the published version and the load history stay intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.ingest.test_ingest_support import csv_text, uscc, world

import citybrain
from citybrain.ingest import service
from citybrain.lake import Lake

SRC = str(Path(citybrain.__file__).resolve().parents[1])

# Runs resource_load as the steward; the lake writes 1,000-row parts and, once a few parts of the
# new version are on disk, says so and stalls so the test can kill it mid-write.
SLOW_LOAD = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import select
    from citybrain.actions import Context
    from citybrain.auth.models import User
    from citybrain.auth.service import actor_for_user
    from citybrain.db import get_database
    from citybrain.ingest import service
    from citybrain.lake import store
    from citybrain.settings import get_settings

    key, path, username, how = sys.argv[1:5]
    service.lake_for = lambda settings: store.Lake(settings.lake_dir, rows_per_file=1000, row_group_rows=1000)
    real_seal, real_replace, sealed = store.Lake._seal, store.os.replace, []

    def slow_seal(part, rows):
        info = real_seal(part, rows)
        sealed.append(part)
        if how == "stall" and len(sealed) == 3:
            print("writing", flush=True)
            time.sleep(120)
        return info

    def dying_replace(src, dst):
        if how == "publish" and str(dst).endswith("_current"):
            store.os.kill(store.os.getpid(), 9)
        return real_replace(src, dst)

    store.Lake._seal = staticmethod(slow_seal)
    store.os.replace = dying_replace
    settings = get_settings()
    with get_database(settings).session() as session:
        user = session.scalar(select(User).where(User.username == username))
        ctx = Context(session=session, actor=actor_for_user(user), settings=settings)
        service.resource_load(ctx, key, path)
    print("finished", flush=True)
    """
)


def _start(key: str, path: Path, username: str, how: str) -> subprocess.Popen[str]:
    # the settings fixture put CITYBRAIN_HOME and CITYBRAIN_DATABASE_URL in the environment
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_LOAD, key, str(path), username, how], stdout=subprocess.PIPE, text=True, env=env
    )


def _seed(run, factory, tmp_path: Path):  # type: ignore[no-untyped-def]
    w = world(factory)
    first = tmp_path / "v1.csv"
    code = uscc()
    first.write_text(csv_text([[code, "原有企业", "2020-01-01", "1", "1"]]), encoding="utf-8")
    assert run(service.resource_load, w.key, first, actor=w.steward).version == 1
    big = tmp_path / "v2.csv"
    big.write_text(csv_text([[uscc(), f"新企业{i}", "", "", str(i)] for i in range(10_000)]), encoding="utf-8")
    return w, code, big


def _assert_untouched(run, w, settings, code: str, current_before: bytes) -> None:  # type: ignore[no-untyped-def]
    lake = Lake(settings.lake_dir)
    assert (settings.lake_dir / w.key / "_current").read_bytes() == current_before
    assert [v.version for v in lake.versions(w.key)] == [1]
    assert lake.read(w.key, columns=["uscc", "org_name"]).to_pylist() == [{"uscc": code, "org_name": "原有企业"}]
    page = run(service.version_read, w.key, 1, actor=w.steward)
    assert page.total == 1 and page.rows[0]["uscc"] == code  # no partial rows of the killed load
    loads = run(service.load_list, ref=w.key, actor=w.steward)
    assert [(i.version, i.status) for i in loads.items] == [(1, "succeeded")]  # the killed load never committed


def test_kill_while_writing_the_version(run, factory, settings, tmp_path) -> None:
    w, code, big = _seed(run, factory, tmp_path)
    current_before = (settings.lake_dir / w.key / "_current").read_bytes()
    proc = _start(w.key, big, w.steward.username, "stall")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        [tmp] = [p for p in (settings.lake_dir / w.key).iterdir() if p.name.startswith(".tmp-v000002")]
        assert len(list(tmp.glob("part-*.parquet"))) >= 3  # really mid-write: parts of version 2 exist
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    _assert_untouched(run, w, settings, code, current_before)
    # the next load cleans up after the dead writer and becomes version 2
    again = run(service.resource_load, w.key, big, actor=w.steward)
    assert again.status == "succeeded" and again.version == 2 and again.rows_accepted == 10_000
    assert sorted(p.name for p in (settings.lake_dir / w.key).iterdir()) == [".lock", "_current", "v000001", "v000002"]
    assert Lake(settings.lake_dir).verify(w.key).ok


def test_kill_between_writing_and_publishing(run, factory, settings, tmp_path) -> None:
    w, code, big = _seed(run, factory, tmp_path)
    current_before = (settings.lake_dir / w.key / "_current").read_bytes()
    proc = _start(w.key, big, w.steward.username, "publish")
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert (settings.lake_dir / w.key / "v000002" / "_version.json").is_file()  # complete but never published

    _assert_untouched(run, w, settings, code, current_before)
    Lake(settings.lake_dir)  # opening the lake discards the unpublished version
    assert not (settings.lake_dir / w.key / "v000002").exists()
