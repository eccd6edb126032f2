"""Shared helpers for quality tests: scalar reference implementations and a DuckDB evaluator."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import pytest

from citybrain.quality.engine import DuckDBBackend

ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def scalar_id_check(body17: str) -> str:
    """GB 11643 校验码, straight from the standard's formula."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


def scalar_uscc_check(body17: str) -> str:
    total = sum(USCC_CHARS.index(c) * (3**i % 31) for i, c in enumerate(body17))
    return USCC_CHARS[(31 - total % 31) % 31]


def scalar_org_check(body8: str) -> str:
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body8]
    c = 11 - sum(v * w for v, w in zip(values, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def make_id(division: str, birth: str, seq: str) -> str:
    body = division + birth + seq
    return body + scalar_id_check(body)


@pytest.fixture(scope="session")
def duck() -> DuckDBBackend:
    return DuckDBBackend()


def evaluate(backend: DuckDBBackend, data: dict[str, list[Any]], expr_fn: Any) -> list[Any]:
    """Evaluate ``expr_fn(table)`` per row, in input order."""
    t = ibis.memtable(pa.table({"__i": list(range(len(next(iter(data.values()))))), **data}))
    out = backend.con.to_pyarrow(t.select("__i", v=expr_fn(t)).order_by("__i"))
    return out["v"].to_pylist()
