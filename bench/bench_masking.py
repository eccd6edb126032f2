"""Benchmark: 脱敏 of personal-information columns with the default plan.

Synthetic rows (公民身份号码, 姓名, 手机号码, 住址, 出生日期) are written to Parquet, then

* ``read``: reading those columns back (the floor any masking pass pays anyway);
* ``mask``: ``apply_mask`` with the default plan on the read table;
* ``pseudonym``: HMAC-SM3 假名化 of the 身份号码 column, all values distinct (worst case) and with
  repeats;
* ``presidio``: Presidio's anonymizer (``BatchAnonymizerEngine.anonymize_list``) on the same columns
  with equivalent operators, when ``presidio_anonymizer`` is installed. Spans are precomputed outside
  the timing — what Presidio's analyzer would otherwise find — so its figure is a lower bound. It runs
  on a sample (``--presidio-rows``) and is reported per row.

    python bench/bench_masking.py --rows 1000000

Writes ``bench/results/masking.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.masking import FieldInfo, MaskSpec, apply_mask, effective_plan
from citybrain.masking.methods import ADDRESS_TOWNSHIP

FIELDS = [
    FieldInfo("citizen_id", 3, "citizen_id"),
    FieldInfo("name", 3, "person_name"),
    FieldInfo("mobile", 3, "mobile"),
    FieldInfo("address", 3, "address"),
    FieldInfo("birth_date", 3, "birth_date"),
]
COLUMNS = [f.name for f in FIELDS]

_REGIONS = ["320402", "320404", "320411", "320412", "320413", "320481"]
_DISTRICTS = ["天宁区", "钟楼区", "新北区", "武进区", "金坛区", "溧阳市"]
_TOWNSHIPS = ["青龙街道", "红梅街道", "南大街街道", "湖塘镇", "天目湖镇", "别桥镇", "西城街道", "薛家镇"]
_ROADS = ["龙锦路", "延陵西路", "晋陵中路", "人民东路", "关河西路", "通江大道", "长虹路", "燕山路"]
_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程")
_COMPOUND = ["欧阳", "司马", "诸葛", "上官", "东方"]
_GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌宇浩然子涵欣怡")
_MOBILE_PREFIX = ["138", "139", "135", "186", "187", "151", "158", "177", "199", "133"]
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"))


def synthetic(rows: int, seed: int = 37964) -> pa.Table:
    """Plausible 常州 rows, built column-wise (no per-row Python)."""
    rng = np.random.default_rng(seed)

    def pick(values: list[str]) -> pa.Array:
        return pa.array(values).take(pa.array(rng.integers(0, len(values), rows)))

    days = rng.integers(np.datetime64("1940-01-01").astype(int), np.datetime64("2010-12-31").astype(int), rows)
    birth = pa.array(days.astype("datetime64[D]"), pa.date32())
    ymd = pc.strftime(birth, format="%Y%m%d")
    order = pc.utf8_lpad(pa.array(rng.integers(0, 1000, rows)).cast(pa.string()), width=3, padding="0")
    body = pc.binary_join_element_wise(pick(_REGIONS), ymd, order, "")
    digits = np.frombuffer(body.buffers()[2], dtype=np.uint8)[: rows * 17].reshape(rows, 17) - ord("0")
    check = pa.array(_ID_CHECK[(digits.astype(np.int64) @ _ID_WEIGHTS) % 11])
    citizen_id = pc.binary_join_element_wise(body, check, "")

    surname = pc.if_else(pa.array(rng.random(rows) < 0.03), pick(_COMPOUND), pick(_SURNAMES))
    given = pc.if_else(
        pa.array(rng.random(rows) < 0.3),
        pick(_GIVEN),
        pc.binary_join_element_wise(pick(_GIVEN), pick(_GIVEN), ""),
    )
    name = pc.binary_join_element_wise(surname, given, "")

    tail = pc.utf8_lpad(pa.array(rng.integers(0, 10**8, rows)).cast(pa.string()), width=8, padding="0")
    mobile = pc.binary_join_element_wise(pick(_MOBILE_PREFIX), tail, "")

    number = pa.array(rng.integers(1, 500, rows)).cast(pa.string())
    room = pa.array(rng.integers(101, 2600, rows)).cast(pa.string())
    address = pc.binary_join_element_wise(
        pa.scalar("江苏省常州市"),
        pick(_DISTRICTS),
        pick(_TOWNSHIPS),
        pick(_ROADS),
        number,
        "号",
        room,
        "室",
        "",
    )
    # a few nulls, as real registers have
    holes = pa.array(rng.random(rows) < 0.01)
    mobile = pc.if_else(holes, pa.scalar(None, pa.string()), mobile)
    return pa.table({"citizen_id": citizen_id, "name": name, "mobile": mobile, "address": address, "birth_date": birth})


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_presidio(table: pa.Table, sample: int) -> dict[str, Any]:
    try:
        from presidio_anonymizer import BatchAnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult
    except ImportError as exc:
        return {"skipped": f"presidio_anonymizer not importable: {exc}"}

    import re

    part = table.slice(0, sample).to_pydict()
    part["birth_date"] = [d.isoformat() for d in part["birth_date"]]
    township = re.compile(ADDRESS_TOWNSHIP)

    def spans(column: str, value: str | None) -> list[RecognizerResult]:
        if value is None:
            return []
        n = len(value)
        if column == "citizen_id":
            start, end = 6, n - 4
        elif column == "mobile":
            start, end = 3, n - 4
        elif column == "name":
            start, end = (2 if value[:2] in _COMPOUND else 1), n
        elif column == "birth_date":
            start, end = 7, n
        else:
            match = township.match(value)
            start, end = (match.end() if match else 0), n
        return [RecognizerResult("PII", start, end, 1.0)] if end > start else []

    operators = {
        "citizen_id": OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 64, "from_end": False}),
        "mobile": OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 64, "from_end": False}),
        "name": OperatorConfig("mask", {"masking_char": "*", "chars_to_mask": 64, "from_end": False}),
        "birth_date": OperatorConfig("redact", {}),
        "address": OperatorConfig("redact", {}),
    }
    results = {c: [spans(c, v) for v in part[c]] for c in COLUMNS}
    engine = BatchAnonymizerEngine()

    def run() -> dict[str, list]:
        return {c: engine.anonymize_list(part[c], results[c], operators={"PII": operators[c]}) for c in COLUMNS}

    seconds, out = best_of(1, run)
    return {
        "sample_rows": sample,
        "seconds": round(seconds, 3),
        "rows_per_s": round(sample / seconds),
        "first_row": {c: out[c][0] for c in COLUMNS},
        "note": "spans precomputed, not timed; address and date tails redacted (Presidio has no 泛化)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--presidio-rows", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "masking.json")
    args = parser.parse_args()

    load_start = [round(x, 2) for x in os.getloadavg()]
    table = synthetic(args.rows)
    plan = effective_plan(FIELDS, set())
    key = os.urandom(32)  # benchmark only: a throwaway key, never a stored one
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.parquet"
        pq.write_table(table, path)
        read_s, loaded = best_of(args.repeat, lambda: pq.read_table(path, columns=COLUMNS))
        mask_s, masked = best_of(args.repeat, lambda: apply_mask(loaded, plan))
        both_s, _ = best_of(args.repeat, lambda: apply_mask(pq.read_table(path, columns=COLUMNS), plan))

    per_column = {
        name: round(best_of(args.repeat, lambda n=name: apply_mask(loaded.select([n]), {n: plan[n]}))[0], 4)
        for name in COLUMNS
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.parquet"
        pq.write_table(table, path)
        read_column = {
            name: round(best_of(args.repeat, lambda n=name: pq.read_table(path, columns=[n]))[0], 4) for name in COLUMNS
        }
    ids = loaded.select(["citizen_id"])
    pseudo = {"citizen_id": MaskSpec("pseudonym")}
    unique_s, tokens = best_of(1, lambda: apply_mask(ids, pseudo, consumer_id="bench", key=key))
    repeated = pa.table({"citizen_id": ids.column("citizen_id").take(pa.array(np.arange(args.rows) % 10_000))})
    repeated_s, _ = best_of(1, lambda: apply_mask(repeated, pseudo, consumer_id="bench", key=key))

    rows = args.rows
    report: dict[str, Any] = {
        "benchmark": "masking (脱敏) with the default plan vs reading the columns",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python bench/bench_masking.py " + " ".join(sys.argv[1:]),
        "loadavg_start": load_start,
        "rows": rows,
        "columns": COLUMNS,
        "plan": {name: spec.to_dict() for name, spec in plan.items()},
        "environment": {
            "python": platform.python_version(),
            "pyarrow": pa.__version__,
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "read_s": round(read_s, 4),
        "mask_s": round(mask_s, 4),
        "read_and_mask_s": round(both_s, 4),
        "read_rows_per_s": round(rows / read_s),
        "mask_rows_per_s": round(rows / mask_s),
        "read_and_mask_rows_per_s": round(rows / both_s),
        "ratio_mask_to_read": round(mask_s / read_s, 2),
        "ratio_read_and_mask_to_read": round(both_s / read_s, 2),
        "per_column_mask_s": per_column,
        "per_column_read_s": read_column,
        "per_method": {
            name: {
                "method": plan[name].method,
                "mask_s": per_column[name],
                "read_s": read_column[name],
                "ratio_mask_to_read": round(per_column[name] / read_column[name], 2) if read_column[name] else None,
            }
            for name in COLUMNS
        },
        "pseudonym": {
            "all_distinct_s": round(unique_s, 4),
            "all_distinct_rows_per_s": round(rows / unique_s),
            "distinct_10000_s": round(repeated_s, 4),
            "distinct_10000_rows_per_s": round(rows / repeated_s),
            # one HMAC-SM3 per distinct value is the price of a keyed token; reading the column is the floor
            "ratio_all_distinct_to_read": round(unique_s / read_column["citizen_id"], 2),
            "ratio_distinct_10000_to_read": round(repeated_s / read_column["citizen_id"], 2),
        },
        "first_row": {
            "original": {c: str(v) for c, v in table.slice(0, 1).to_pylist()[0].items()},
            "masked": masked.slice(0, 1).to_pylist()[0],
            "pseudonym": tokens.column("citizen_id")[0].as_py(),
        },
    }
    presidio = bench_presidio(table, min(args.presidio_rows, rows))
    if "rows_per_s" in presidio:
        presidio["speedup_of_apply_mask"] = round(report["mask_rows_per_s"] / presidio["rows_per_s"], 1)
    else:
        print(f"Presidio comparison skipped: {presidio['skipped']}")
    report["presidio"] = presidio
    report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
