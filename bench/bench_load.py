"""Benchmark: aggregation (归集) of a GB18030 population table (户籍人口) into the data lake.

Generates a GB18030 CSV of the requested size — 公民身份号码 (GB 11643, valid check digit), 姓名,
性别, 出生日期, 行政区划代码, 联系电话, 住址 — in a temporary directory, then, in a fresh child
process so its peak memory is the load's alone, streams it through ``read_file`` (detection,
transcoding, all-string parsing) into ``Lake.write`` (Parquet, SM3 checksums, atomic publish).
Then, in another fresh process, the same file through the catalog's row checks, quarantine and
duplicate-key settlement into a lake version (``ingest.checks.process``, what ``resource_load`` runs).
Writes ``bench/results/load.json``.

    .venv/bin/python bench/bench_load.py --size-mb 100
    .venv/bin/python bench/bench_load.py                 # 1 GB, the default
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import random
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "load.json"

HEADER = ["公民身份号码", "姓名", "性别", "出生日期", "行政区划代码", "联系电话", "住址"]
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉华建国红梅志文斌宇浩然子涵欣怡梓轩一诺晨曦𠮷䶮"
# 溧阳市 streets and towns (乡级区划代码, as in citybrain.standards), padded to 12 digits
_TOWNS = [
    ("320481001000", "昆仑街道"),
    ("320481002000", "溧城街道"),
    ("320481003000", "古县街道"),
    ("320481101000", "埭头镇"),
    ("320481102000", "上黄镇"),
    ("320481103000", "戴埠镇"),
    ("320481106000", "天目湖镇"),
    ("320481107000", "别桥镇"),
    ("320481109000", "上兴镇"),
    ("320481111000", "竹箦镇"),
    ("320481114000", "南渡镇"),
    ("320481116000", "社渚镇"),
]
_ROADS = ["燕山路", "平陵路", "天目湖大道", "南大街", "东门大街", "育才路", "罗湾路", "昆仑北路"]


_FIRST_BIRTH = datetime.date(1930, 1, 1)
_BIRTH_DAYS = (datetime.date(2023, 12, 31) - _FIRST_BIRTH).days
#: 顺序码 per sex and day; the (birth day, 顺序码) slots are visited in a scrambled order without repeats, so
#: every generated 公民身份号码 is unique — as in a real register, where duplicates are defects
_SLOTS = _BIRTH_DAYS * 500
_STRIDE = 1_000_003  # a prime that does not divide _SLOTS: i ↦ i × stride mod slots is a permutation
assert _SLOTS % _STRIDE != 0


def _person(i: int, female: bool) -> tuple[str, datetime.date]:
    slot = i * _STRIDE % _SLOTS
    birth = _FIRST_BIRTH + datetime.timedelta(days=slot // 500)
    seq = (slot % 500) * 2 + (0 if female else 1)
    body = f"320481{birth:%Y%m%d}{seq:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True)) % 11], birth


def generate(path: Path, size_bytes: int, *, seed: int = 20230105) -> int:
    """Write a GB18030 CSV of about ``size_bytes``; return the number of data rows."""
    rng = random.Random(seed)
    rows = 0
    written = 0
    with open(path, "wb") as fh:
        head = (",".join(HEADER) + "\r\n").encode("gb18030")
        fh.write(head)
        written += len(head)
        while written < size_bytes:
            lines = []
            for _ in range(20_000):
                female = rng.random() < 0.5
                citizen_id, born = _person(rows, female)
                rows += 1
                code, town = rng.choice(_TOWNS)
                name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))
                phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
                address = f"江苏省溧阳市{town}{rng.choice(_ROADS)}{rng.randint(1, 999)}号"
                lines.append(
                    f"{citizen_id},{name},{'女' if female else '男'},{born.isoformat()},{code},{phone},{address}\r\n"
                )
            block = "".join(lines).encode("gb18030")
            fh.write(block)
            written += len(block)
    if rows > _SLOTS:
        raise SystemExit(f"{rows} rows would repeat 公民身份号码: at most {_SLOTS} unique ones")
    return rows


def load(csv_path: str, lake_root: str) -> dict[str, Any]:
    """Runs in a child process: read + write + verify, timed, with this process's peak RSS."""
    import duckdb

    from citybrain.ingest.readers import read_file
    from citybrain.lake import Lake

    start = time.perf_counter()
    result = read_file(csv_path)
    lake = Lake(lake_root)
    info = lake.write(
        "gaj.hjrk",
        result.batches,
        lineage={"source": "溧阳市公安局", "connector": "file", "file": Path(csv_path).name},
    )
    load_s = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux; taken before the checks below, which are not part of the load
    peak_rss_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    start = time.perf_counter()
    verified = lake.verify("gaj.hjrk").ok
    verify_s = time.perf_counter() - start
    with duckdb.connect() as con:
        # 12-digit codes survive as text: no leading-zero or numeric coercion on the way in
        (codes,) = con.sql(
            f"SELECT count(*) FROM read_parquet('{lake.parquet_glob('gaj.hjrk')}') "
            "WHERE 行政区划代码 LIKE '320481%' AND length(行政区划代码) = 12"
        ).fetchall()[0]
    return {
        "rows": info.rows,
        "encoding": result.encoding,
        "load_s": round(load_s, 2),
        "verify_s": round(verify_s, 2),
        "verified": verified,
        "codes_kept_as_text": codes == info.rows,
        "parquet_bytes": sum(f["bytes"] for f in info.files),
        "parquet_files": len(info.files),
        "peak_rss_mb": peak_rss_mb,
    }


def checked_load(csv_path: str, lake_root: str, staging: str) -> dict[str, Any]:
    """Runs in a child process: the path ``resource_load`` takes — the catalog's checks on every row
    (required fields, types, unknown columns), quarantine, duplicate primary keys settled, one lake
    version — with the 户籍人口 entry as the catalog would register it (default ``govern`` mode: the
    value standards are the quality rules' job, after the load)."""
    from citybrain.ingest.checks import FieldSpec, ResourceSchema, process
    from citybrain.ingest.connectors import open_file
    from citybrain.lake import Lake

    names = ["citizen_id", "name", "sex", "birth_date", "division_code", "phone", "address"]
    types = {"birth_date": "date"}
    schema = ResourceSchema(
        resource_id="bench",
        key="gaj.hjrk",
        name="户籍人口",
        dept_id="gaj",
        revision=1,
        primary_key=("citizen_id",),
        fields=tuple(
            FieldSpec(name=n, title=t, data_type=types.get(n, "string"), required=n in ("citizen_id", "name"))
            for n, t in zip(names, HEADER, strict=True)
        ),
    )

    def run(path: str, root: str, stage: str) -> Any:
        return process(
            schema,
            open_file(path),
            Lake(root),
            Path(stage),
            mode="replace",
            lineage={"source": "溧阳市公安局", "connector": "file"},
            source=Path(path).name,
        )

    # a first small load outside the clock: a running server has its modules imported already
    sample = Path(staging).parent / "sample.csv"
    with open(csv_path, "rb") as src, open(sample, "wb") as dst:
        dst.writelines(line for _, line in zip(range(100), src, strict=False))
    run(str(sample), lake_root + "-warm", staging + "-warm")
    start = time.perf_counter()
    outcome = run(csv_path, lake_root, staging)
    seconds = time.perf_counter() - start
    return {
        "checked_load_s": round(seconds, 2),
        "checked_rows_accepted": outcome.rows_accepted,
        "checked_rows_quarantined": outcome.rows_quarantined,
        "checked_rows_per_s": round(outcome.rows_read / seconds),
        "checked_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=1024, help="CSV size in MiB (default 1024)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the CSV and lake")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="citybrain-bench-", dir=args.workdir) as tmp:
        csv_path = Path(tmp) / "户籍人口.csv"
        start = time.perf_counter()
        rows = generate(csv_path, int(args.size_mb * 1024 * 1024))
        generate_s = time.perf_counter() - start
        file_bytes = csv_path.stat().st_size
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            stats = pool.submit(load, str(csv_path), str(Path(tmp) / "lake")).result()
        # a fresh process again, so its peak memory is its own
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            stats |= pool.submit(
                checked_load, str(csv_path), str(Path(tmp) / "lake-checked"), str(Path(tmp) / "staging")
            ).result()
    assert stats["rows"] == rows, (stats["rows"], rows)
    report = {
        "benchmark": "load GB18030 CSV into the lake",
        "size_mb": round(file_bytes / 2**20, 1),
        "generate_s": round(generate_s, 2),
        **stats,
        "rows_per_s": round(stats["rows"] / stats["load_s"]),
        "mb_per_s": round(file_bytes / 2**20 / stats["load_s"], 1),
        "checked_mb_per_s": round(file_bytes / 2**20 / stats["checked_load_s"], 1),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
