"""Parity: the same rules on the same sample give identical results on DuckDB and Spark."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pyarrow as pa
import pytest
from tests.quality.conftest import make_id

from citybrain.quality.engine import DuckDBBackend, SparkBackend, failing_keys, run_rules
from citybrain.quality.rules import CompareRule, ReferentialRule, standard_population_rules

DIVISIONS = ["320402", "320404", "320411", "320412", "320413", "320481"]


def population(n: int = 2000, seed: int = 20260101) -> pa.Table:
    """A 人口 sample with about 1% of each kind of defect the standard rules look for."""
    rng = random.Random(seed)
    cols: dict[str, list] = {k: [] for k in ("rid", "citizen_id", "name", "sex", "birth_date", "division_code",
                                               "phone", "address")}  # fmt: skip
    for i in range(n):
        division = rng.choice(DIVISIONS)
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))
        seq = f"{rng.randrange(1000):03d}"
        cid = make_id(division, birth.strftime("%Y%m%d"), seq)
        row = {
            "rid": f"p{i:05d}",
            "citizen_id": cid.lower() if rng.random() < 0.5 else cid,
            "name": rng.choice("张王李赵刘陈杨黄") + rng.choice(["伟", "芳", "娜", "敏", "静", "强"]),
            "sex": "1" if int(seq[2]) % 2 else "2",
            "birth_date": birth.isoformat(),
            "division_code": division,
            "phone": "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9)),
            "address": "常州市" + rng.choice(["天宁区", "钟楼区", "新北区", "武进区"]) + f"{rng.randrange(1, 999)}号",
        }
        d = rng.random()
        if d < 0.01:
            row["citizen_id"] = cid[:-1] + ("0" if cid[-1] != "0" else "1")
        elif d < 0.02:
            row["birth_date"] = (birth + timedelta(days=1)).isoformat()
        elif d < 0.03:
            row["sex"] = "2" if row["sex"] == "1" else "1"
        elif d < 0.04:
            row["division_code"] = "329999"
        elif d < 0.05:
            row["phone"] = row["phone"][:-1]
        elif d < 0.06:
            row["name"] = rng.choice([None, "", " ", "\u3000"])
        elif d < 0.07:
            row["citizen_id"] = None
        elif d < 0.08 and i:
            row["citizen_id"] = cols["citizen_id"][rng.randrange(i)]
        elif d < 0.09:
            row[rng.choice(["sex", "birth_date", "address"])] = None
        for k, v in row.items():
            cols[k].append(v)
    return pa.table(cols)


def rule_set() -> list:
    return [
        *standard_population_rules(),
        ReferentialRule(id="in_base", column="citizen_id", ref_table="人口库", ref_column="citizen_id"),
        CompareRule(id="vs_base", key="citizen_id", compare=("name", "phone"), other="人口库"),
    ]


@pytest.fixture(scope="module")
def spark():
    backend = SparkBackend()
    yield backend
    backend.session.stop()


@pytest.mark.spark
@pytest.mark.slow
def test_duckdb_and_spark_agree(spark) -> None:
    people = population()
    base = people.slice(0, 1500).select(["citizen_id", "name", "phone"])
    base = base.set_column(
        1, "name", pa.array([n if i % 97 else "某某" for i, n in enumerate(base["name"].to_pylist())])
    )
    refs = {"GB/T 2260": DIVISIONS, "人口库": base}
    duck = DuckDBBackend()
    results = {b.name: run_rules(people, rule_set(), backend=b, key="rid", refs=refs) for b in (duck, spark)}
    assert results["duckdb"].rows == results["spark"].rows == 2000
    counts = results["duckdb"].counts()
    assert counts == results["spark"].counts()
    # every planted defect kind is found; with ~1% each and 2,000 rows none can be zero
    assert all(failed > 0 for rule_id, (_, failed) in counts.items()
               if rule_id not in {"sex_present", "birth_date_present", "address_present"} or failed)  # fmt: skip
    assert sum(counts[r][1] for r in ("sex_present", "birth_date_present", "address_present")) > 0
    for d, s in zip(results["duckdb"].results, results["spark"].results, strict=True):
        assert d.samples == s.samples, d.rule_id
    for rule in rule_set():
        keys = {b.name: failing_keys(people, rule, backend=b, key="rid", refs=refs) for b in (duck, spark)}
        assert keys["duckdb"] == keys["spark"], rule.id
        expected = counts[rule.id][1]
        if rule.kind not in {"uniqueness", "compare"}:  # those can fail twice for one key / entity
            assert len(keys["duckdb"]) == expected, rule.id
