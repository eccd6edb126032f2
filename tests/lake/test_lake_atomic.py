"""A writer killed with SIGKILL mid-load never damages the published version."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa

import citybrain
from citybrain.lake import Lake

KEY = "mzj.dbry"  # 民政局·低保人员
SRC = str(Path(citybrain.__file__).resolve().parents[1])

# Streams many one-file batches; after a few it says so and slows down so it can be killed mid-write.
SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    import pyarrow as pa
    from citybrain.lake import Lake

    lake = Lake(sys.argv[1], rows_per_file=1000, row_group_rows=1000)

    def batches():
        for i in range(100_000):
            yield pa.record_batch({"sfzh": [f"{i:06d}{j:04d}" for j in range(1000)], "xm": ["新"] * 1000})
            if i == 5:
                print("writing", flush=True)
            if i >= 5:
                time.sleep(0.01)

    lake.write(sys.argv[2], batches())
    """
)

# Dies exactly between renaming the finished version into place and publishing it.
DIES_BEFORE_PUBLISH = textwrap.dedent(
    """
    import os, signal, sys
    import pyarrow as pa
    from citybrain.lake import Lake

    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith("_current"):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst)

    os.replace = replace
    Lake(sys.argv[1]).write(sys.argv[2], pa.table({"sfzh": ["99"], "xm": ["新"]}))
    """
)


def _start(code: str, root: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", code, str(root), KEY], stdout=subprocess.PIPE, text=True, env=env)


def _seed(root: Path) -> tuple[Lake, bytes, dict[str, list[str]]]:
    lake = Lake(root)
    original = {"sfzh": ["01", "02"], "xm": ["张三", "李四"]}
    lake.write(KEY, pa.table(original))
    return lake, (root / KEY / "_current").read_bytes(), original


def test_kill_during_write_leaves_previous_version_intact(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lake, current_before, original = _seed(root)
    proc = _start(SLOW_WRITER, root)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        leftovers = [p for p in (root / KEY).iterdir() if p.name.startswith(".tmp-v000002")]
        assert len(leftovers) == 1 and len(list(leftovers[0].glob("part-*.parquet"))) >= 5
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert (root / KEY / "_current").read_bytes() == current_before
    assert not (root / KEY / "v000002").exists()
    assert lake.read(KEY).to_pydict() == original  # no partial rows visible
    assert [v.version for v in lake.versions(KEY)] == [1]

    reopened = Lake(root)  # opening cleans the dead writer's temporary directory
    assert sorted(p.name for p in (root / KEY).iterdir()) == [".lock", "_current", "v000001"]
    assert reopened.verify(KEY).ok
    assert reopened.write(KEY, pa.table({"sfzh": ["03"], "xm": ["王五"]})).version == 2


def test_kill_between_rename_and_publish_discards_the_unpublished_version(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    lake, current_before, original = _seed(root)
    proc = _start(DIES_BEFORE_PUBLISH, root)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    assert (root / KEY / "v000002" / "_version.json").is_file()  # complete, but never published
    assert (root / KEY / "_current").read_bytes() == current_before
    assert [v.version for v in lake.versions(KEY)] == [1]
    assert lake.read(KEY).to_pydict() == original

    Lake(root)
    assert not (root / KEY / "v000002").exists()
    assert sorted(p.name for p in (root / KEY).iterdir()) == [".lock", "_current", "v000001"]
