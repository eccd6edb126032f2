"""Run every ``bench/bench_*.py``, each in its own process, and print a summary.

By default each benchmark runs at a small scale so that the whole set takes a few minutes; its
results go to ``bench/results/quick/`` so the committed full-scale figures in ``bench/results/``
are not overwritten by a smoke run. ``--full`` runs each at its own default (large) scale and
writes to ``bench/results/``.

    .venv/bin/python bench/run_all.py                  # quick, a few minutes
    .venv/bin/python bench/run_all.py --full           # the published figures (tens of minutes)
    .venv/bin/python bench/run_all.py --only catalog_search --full
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: small-scale arguments per benchmark; one not listed runs with its own defaults even in quick mode
QUICK_ARGS: dict[str, list[str]] = {
    "cases": ["--intake", "300", "--route-events", "20000", "--kpi-cases", "100000", "--repeat", "2"],
    "catalog_search": ["--resources", "2000", "--via-service", "200", "--repeat", "3"],
    "efficiency": ["--firms", "10000", "--repeat", "1"],
    "load": ["--size-mb", "16"],
    "masking": ["--rows", "100000", "--repeat", "1", "--presidio-rows", "2000"],
    "opendata_search": ["--datasets", "2000", "--rows", "100000", "--repeat", "5"],
    "quality": ["--rows", "100000"],
    "share_volume": ["--per-day", "2000", "--per-day", "20000", "--repeat", "5"],
    "share_lookup": ["--rows", "200000", "--seconds", "5", "--warmup", "1", "--concurrency", "1", "--concurrency", "8"],
}
#: where each benchmark writes its results file by default, relative to bench/ (its name unless listed)
RESULT_NAMES: dict[str, str] = {}


def discover() -> list[Path]:
    return sorted(BENCH.glob("bench_*.py"))


def name_of(script: Path) -> str:
    return script.stem.removeprefix("bench_")


def out_flag(script: Path) -> str | None:
    """The benchmark's option naming its results file, if it has one (read from its own ``--help``)."""
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return None
    for flag in ("--out", "--output"):
        if re.search(rf"{flag}(?![\w-])", done.stdout):
            return flag
    return None


def run_one(script: Path, args: list[str], results_dir: Path, full: bool, timeout: float) -> tuple[int, float, str]:
    name = name_of(script)
    default_result = BENCH / "results" / RESULT_NAMES.get(name, f"{name}.json")
    target = results_dir / default_result.name
    command = [sys.executable, str(script), *args]
    workdir: tempfile.TemporaryDirectory[str] | None = None
    if not full and target != default_result:
        flag = out_flag(script)
        if flag:
            command += [flag, str(target)]
        else:
            # the benchmark writes next to itself: run a copy, so the committed figures stay as they are
            workdir = tempfile.TemporaryDirectory(prefix=f"citybrain-bench-{name}-")
            copy = Path(workdir.name) / script.name
            shutil.copy(script, copy)
            command[1] = str(copy)
    print(f"\n=== {name}: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    # a copied script still finds its sibling modules in bench/
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), os.environ.get("PYTHONPATH")]))}
    try:
        rc = subprocess.run(command, cwd=ROOT, timeout=timeout, env=env, check=False).returncode
    except subprocess.TimeoutExpired:
        rc = 124
    seconds = time.perf_counter() - start
    if workdir is not None:
        produced = Path(workdir.name) / "results" / default_result.name
        if produced.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(produced, target)
        workdir.cleanup()
    return rc, seconds, str(target.relative_to(ROOT)) if target.exists() else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="each benchmark at its own default scale")
    parser.add_argument("--only", action="append", default=[], help="run only this benchmark (repeatable)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per benchmark")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their quick arguments")
    args = parser.parse_args()

    scripts = [s for s in discover() if not args.only or name_of(s) in args.only]
    unknown = set(args.only) - {name_of(s) for s in scripts}
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(sorted(unknown))}")
    if args.list:
        for s in scripts:
            print(f"{name_of(s):<16} quick: {' '.join(QUICK_ARGS.get(name_of(s), [])) or '(own defaults)'}")
        return
    results_dir = BENCH / "results" if args.full else BENCH / "results" / "quick"
    results_dir.mkdir(parents=True, exist_ok=True)
    summary = []
    for script in scripts:
        extra = [] if args.full else QUICK_ARGS.get(name_of(script), [])
        summary.append((name_of(script), *run_one(script, extra, results_dir, args.full, args.timeout)))

    print(f"\n=== summary ({'full' if args.full else 'quick'} scale)")
    for name, rc, seconds, path in summary:
        status = "ok" if rc == 0 else "TIMEOUT" if rc == 124 else f"FAILED (rc {rc})"
        print(f"  {name:<16} {status:<16} {seconds:7.1f} s  {path}")
    if any(rc != 0 for _, rc, _, _ in summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
