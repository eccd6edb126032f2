"""The vectorised (SQL) checks agree with the standards' Python checks on the same values."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from citybrain.catalog.builtin_standards import BUILTIN_STANDARDS
from citybrain.ingest.checks import FieldSpec, ResourceSchema, RowChecker
from citybrain.standards import checks, generate

_STD = {d["name"]: d for d in BUILTIN_STANDARDS}


def _spec(name: str) -> FieldSpec:
    d = _STD[name]
    return FieldSpec(
        name=name,
        title=d["title"],
        data_type="string",
        required=False,
        standard=name,
        standard_title=d["title"],
        pattern=d.get("pattern"),
        min_length=d.get("min_length"),
        max_length=d.get("max_length"),
        check=d.get("check"),
    )


def _reasons(name: str, values: list[str]) -> list[str | None]:
    schema = ResourceSchema("r", "k", "n", "d", 1, (), (_spec(name),))
    checker = RowChecker(schema, source="test")
    try:
        checked = checker.check(pa.record_batch({name: pa.array(values, pa.string())}), 1)
    finally:
        checker.close()
    by_row = {r["row_number"]: r["problems"][0]["reason"] for r in checked.rejected}
    return [by_row.get(i + 1) for i in range(len(values))]


@pytest.mark.parametrize(
    ("name", "make", "corrupt", "python_check"),
    [
        (
            "uscc",
            lambda rng: generate.uscc(rng, division="320400"),
            lambda rng, v: generate.corrupt_uscc(rng, v, "check_char"),
            checks.check_uscc,
        ),
        (
            "citizen_id",
            lambda rng: generate.citizen_id(rng, division="320402"),
            lambda rng, v: generate.corrupt_citizen_id(rng, v, "check_char"),
            checks.check_citizen_id,
        ),
        (
            "org_code",
            lambda rng: generate.org_code(rng, hyphen=rng.random() < 0.5),
            lambda rng, v: generate.corrupt_org_code(rng, v.replace("-", ""), "check_char"),
            checks.check_org_code,
        ),
    ],
)
def test_check_characters_match_the_standards(name, make, corrupt, python_check) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(f"ingest-{name}")
    good = [make(rng) for _ in range(300)]
    bad = [corrupt(rng, v) for v in good[:300]]
    assert all(python_check(v) is None for v in good)
    assert _reasons(name, good) == [None] * len(good)
    sql = _reasons(name, bad)
    for value, reason in zip(bad, sql, strict=True):
        expected = python_check(value)
        assert expected is not None and "校验码错误" in expected
        assert reason == expected, value  # same words, same expected character


def test_citizen_id_with_an_impossible_birth_date_is_refused() -> None:
    rng = random.Random(3)
    value = generate.corrupt_citizen_id(rng, generate.citizen_id(rng, division="320402"), "birth_date_invalid")
    [reason] = _reasons("citizen_id", [value])
    assert reason is not None and reason.startswith("出生日期无效")
