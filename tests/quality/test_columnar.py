"""The engine's Arrow path (row rules on the source's columns) gives exactly the SQL path's results:
counts, checked counts and samples, against the pure Ibis definition (``kernels=False``)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.quality.conftest import make_id, scalar_uscc_check

from citybrain.quality import columnar, engine
from citybrain.quality.engine import DuckDBBackend, RunResult, run_rules
from citybrain.quality.rules import (
    CheckDigitRule,
    CodeListRule,
    CompletenessRule,
    IdCardConsistencyRule,
    LengthRule,
    PatternRule,
    PhoneRule,
    ReferentialRule,
    UniquenessRule,
    standard_population_rules,
)

DIVISIONS = ["110105", "320402", "320481"]
REFS = {"GB/T 2260": DIVISIONS}
GOOD = make_id("320402", "19900102", "131")
USCC_BODY = "91320400MA1ABCDE1"


def _sql_path(*args, **kwargs):
    raise AssertionError("the row rules ran in SQL, not on the Arrow columns")


def both(source, rules, monkeypatch, *, refs=None, key=None, sample_size=20) -> tuple[RunResult, RunResult]:
    """(Arrow path, pure Ibis path) results; fails if the Arrow path was not the one taken."""
    refs = REFS if refs is None else refs
    plain = run_rules(source, rules, backend=DuckDBBackend(kernels=False), refs=refs, key=key, sample_size=sample_size)
    with monkeypatch.context() as m:
        m.setattr(engine, "_run_row_rules", _sql_path)
        fast = run_rules(source, rules, backend=DuckDBBackend(), refs=refs, key=key, sample_size=sample_size)
    return fast, plain


def assert_same(fast: RunResult, plain: RunResult) -> None:
    assert fast.rows == plain.rows
    assert fast.counts() == plain.counts()
    for f, p in zip(fast.results, plain.results, strict=True):
        assert f.samples == p.samples, f.rule_id
    assert fast == plain


# ---------------------------------------------------------------------------------------------------
# edge cases, one column of each kind

IDS = [
    GOOD,
    GOOD,  # duplicate
    GOOD.lower(),
    "11010519491231002X",
    "11010519491231002x",  # lower-case x: the same person, not the same value
    "11010519491231002X",
    "110105194912310021",  # check digit wrong
    make_id("320481", "19900230", "005"),  # no 30 February
    "11010519491231002",  # 17 characters
    "11010519491231002X1",
    "１１０１０５１９４９１２３１００２X",  # full-width digits
    "１１０１０５１９４９１２３１００２X",
    "A1010519491231002X",
    "",
    "",
    "   ",
    None,
    None,
]
N = len(IDS)


def _cycle(values: list, n: int = N) -> list:
    return [values[i % len(values)] for i in range(n)]


EDGE = pa.table(
    {
        "rid": [f"r{i:02d}" for i in range(N)],
        # a key with nulls (sorted last), on rows that differ in every column the rules report
        "rid_gaps": [None if i in (6, 7) else f"g{N - i:02d}" for i in range(N)],
        "num": list(range(N, 0, -1)),
        "citizen_id": IDS,
        "name": _cycle(["张三", None, "", " ", "\u3000", "\t\r\n", " 李 ", "无", " NULL ", "x"]),
        "sex": _cycle(["1", "2", "男", "女", " 1 ", "\t女", "9", "", None, "1"]),
        "birth_date": _cycle(
            ["1990-01-02", "1949-12-31", "1990/01/02", "19900102", "1990年01月02日", "1990-1-2", "x", "", None]
        ),
        "division_code": _cycle(["320402", "999999", None, "110105", "32040", " 320402"]),
        "phone": _cycle(
            ["13812345678", "12345678901", "+8613812345678", "86-13812345678", "0519-86681234", "1381234567", None, ""]
        ),
        "uscc": _cycle([USCC_BODY + scalar_uscc_check(USCC_BODY), USCC_BODY + "0", "91320400MA1ABCDE1I", None]),
        "address": _cycle(["常州市", "", None, "  ", "天宁区"]),
    }
)


def edge_rules() -> list:
    return [
        *standard_population_rules(),
        CheckDigitRule(id="uscc_ok", column="uscc", scheme="uscc"),
        CompletenessRule(id="name_placeholder", column="name", placeholders=("无", "NULL")),
        CompletenessRule(id="num_present", column="num"),
        PatternRule(id="id_format", column="citizen_id", pattern=r"^[0-9]{17}[0-9Xx]$"),
        PatternRule(id="phone_digits", column="phone", pattern=r"^1[3-9]\d{9}$"),
        PatternRule(id="phone_loose", column="phone", pattern=r"[0-9]{7,}"),
        PatternRule(id="num_pattern", column="num", pattern=r"^[1-9]$"),
        PhoneRule(id="phone_or_landline", column="phone", allow_landline=True),
        CodeListRule(id="sex_code", column="sex", values=("1", "2")),
        ReferentialRule(id="in_base", column="citizen_id", ref_table="base", ref_column="cid"),
        IdCardConsistencyRule(id="birth_only", id_column="citizen_id", birth_column="birth_date"),
        IdCardConsistencyRule(id="sex_only", id_column="citizen_id", sex_column="sex", male_values=("1",)),
        UniquenessRule(id="pair_unique", key=("citizen_id", "sex")),
        UniquenessRule(id="num_unique", key=("num",)),
        UniquenessRule(id="name_unique", key=("name",)),
    ]


EDGE_REFS = {**REFS, "base": pa.table({"cid": [GOOD, "11010519491231002X", None]})}


@pytest.mark.parametrize("key", [None, "rid", "num", "rid_gaps"])
@pytest.mark.parametrize("batch_rows", [columnar.BATCH_ROWS, 4])
def test_edge_cases_match_the_definition(monkeypatch, key, batch_rows) -> None:
    # small batches: duplicates and samples are gathered across batches, not within one
    monkeypatch.setattr(columnar, "BATCH_ROWS", batch_rows)
    fast, plain = both(EDGE, edge_rules(), monkeypatch, refs=EDGE_REFS, key=key, sample_size=3)
    assert_same(fast, plain)
    counts = fast.counts()
    # GOOD ×3 (its last character is a digit, so lower() is itself), 11010519491231002X ×2, the full-width
    # pair and the two empty strings; not the nulls, which are not checked
    assert counts["id_unique"][1] == 9
    assert counts["id_unique"][0] == N - 2
    assert all(counts[r][1] for r in ("id_check_digit", "id_birth_sex_agree", "phone_valid", "name_present"))


#: how Parquet text columns are read: never as dictionaries, or always (every kernel then sees one)
DICTIONARY_READS = pytest.mark.parametrize("dictionary_bytes", [0.0, 1e9])


@DICTIONARY_READS
def test_dates_and_numbers_are_read_as_the_sql_path_casts_them(monkeypatch, tmp_path, dictionary_bytes) -> None:
    monkeypatch.setattr(columnar, "DICTIONARY_BYTES", dictionary_bytes)
    table = EDGE.set_column(
        EDGE.schema.get_field_index("birth_date"),
        "birth_date",
        pa.array([19359, 19360, None, -7306] * (N // 4) + [0] * (N % 4), type=pa.date32()),
    )
    path = tmp_path / "edge.parquet"
    pq.write_table(table, path, row_group_size=5)
    assert len(columnar._few_values(pq.ParquetFile(path), table.column_names)) == (9 if dictionary_bytes else 0)
    monkeypatch.setattr(columnar, "BATCH_ROWS", 5)
    for source in (table, path, str(path)):
        fast, plain = both(source, edge_rules(), monkeypatch, refs=EDGE_REFS, sample_size=4)
        assert_same(fast, plain)


@DICTIONARY_READS
def test_several_parquet_files_with_a_key(monkeypatch, tmp_path, dictionary_bytes) -> None:
    monkeypatch.setattr(columnar, "DICTIONARY_BYTES", dictionary_bytes)
    paths = []
    for i, start in enumerate(range(0, N, 7)):
        paths.append(tmp_path / f"part{i}.parquet")
        pq.write_table(EDGE.slice(start, 7), paths[-1])
    fast, plain = both(paths, edge_rules(), monkeypatch, refs=EDGE_REFS, key="rid")
    assert_same(fast, plain)


def test_an_empty_table(monkeypatch, tmp_path) -> None:
    empty = EDGE.slice(0, 0)
    path = tmp_path / "empty.parquet"
    pq.write_table(empty, path)
    for source in (empty, path):
        fast, plain = both(source, edge_rules(), monkeypatch, refs=EDGE_REFS, key="rid")
        assert_same(fast, plain)
        assert fast.rows == 0 and all(r.checked == r.failed == 0 for r in fast.results)


def test_what_the_arrow_path_cannot_read_falls_back_to_sql(tmp_path) -> None:
    from datetime import datetime

    stamped = EDGE.append_column("seen", pa.array([datetime(2024, 1, 1)] * N, type=pa.timestamp("s")))
    rules = [CompletenessRule(id="seen_present", column="seen"), LengthRule(id="short", column="name", max_length=2)]
    # a timestamp's text and a rule with no kernel both keep the SQL path, with the same answers
    for rule_set in ([rules[0]], [rules[1]], [*standard_population_rules(), rules[1]]):
        fast = run_rules(stamped, rule_set, backend=DuckDBBackend(), refs=REFS)
        plain = run_rules(stamped, rule_set, backend=DuckDBBackend(kernels=False), refs=REFS)
        assert_same(fast, plain)
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    pq.write_table(EDGE.slice(0, 9), paths[0])
    pq.write_table(EDGE.slice(9), paths[1])
    assert columnar.units_for(paths, ["citizen_id"], keyed=False) is None
    assert columnar.units_for(stamped, ["seen"], keyed=False) is None


# ---------------------------------------------------------------------------------------------------
# generated populations


@pytest.mark.parametrize("rows", [5_000, 20_000])
@DICTIONARY_READS
def test_generated_population_matches_the_definition(monkeypatch, tmp_path, rows, dictionary_bytes) -> None:
    monkeypatch.setattr(columnar, "DICTIONARY_BYTES", dictionary_bytes)
    from citybrain.demo.people import generate_population
    from citybrain.standards.divisions import all_divisions

    table, log = generate_population(rows, seed=f"columnar-{rows}", defect_rate=0.05)
    assert log
    # more duplicates than the generator plants, some of them across batches
    table = pa.concat_tables([table, table.slice(0, rows // 50)])
    refs = {"GB/T 2260": sorted(d.code for d in all_divisions())}
    rules = standard_population_rules(phone_column="mobile")
    monkeypatch.setattr(columnar, "BATCH_ROWS", rows // 3)
    fast, plain = both(table, rules, monkeypatch, refs=refs)
    assert_same(fast, plain)
    assert all(fast.result(r).failed for r in ("id_check_digit", "id_birth_sex_agree", "id_unique"))
    as_text = table.set_column(
        table.schema.get_field_index("birth_date"), "birth_date", table["birth_date"].cast(pa.string())
    )
    path = tmp_path / "people.parquet"
    pq.write_table(as_text, path, row_group_size=rows // 4)
    dictionary = columnar._few_values(pq.ParquetFile(path), as_text.column_names)
    assert ("sex" in dictionary) == bool(dictionary_bytes)
    for key in (None, "mobile", "citizen_id"):
        fast, plain = both(path, rules, monkeypatch, refs=refs, key=key, sample_size=7)
        assert_same(fast, plain)


# ---------------------------------------------------------------------------------------------------
# arbitrary text

_CHARS = "0123456789Xx -/年月日男女１\u3000\t"
_TEXT = st.one_of(st.none(), st.text(alphabet=_CHARS, max_size=20))
_ID = st.one_of(
    _TEXT,
    st.sampled_from([GOOD, GOOD.lower(), "11010519491231002X", make_id("320481", "20000229", "004")]),
    st.text(alphabet="0123456789Xx", min_size=18, max_size=18),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(_ID, _TEXT, st.one_of(_TEXT, st.sampled_from(["1990-01-02", "19900102", "1990/01/02"])), _TEXT),
        min_size=1,
        max_size=30,
    ),
    st.integers(min_value=1, max_value=8),
)
def test_arbitrary_text_matches_the_definition(monkeypatch, rows, batch_rows) -> None:
    ids, sexes, births, phones = (list(col) for col in zip(*rows, strict=True))
    columns = {
        "citizen_id": ids,
        "name": phones,
        "sex": sexes,
        "birth_date": births,
        "division_code": sexes,
        "phone": phones,
        "address": births,
    }
    table = pa.table({name: pa.array(values, type=pa.string()) for name, values in columns.items()})
    rules = [
        *standard_population_rules(),
        PatternRule(id="id_format", column="citizen_id", pattern=r"^[0-9]{17}[0-9Xx]$"),
        PatternRule(id="digits", column="phone", pattern=r"^\d{4}$"),
    ]
    monkeypatch.setattr(columnar, "BATCH_ROWS", batch_rows)
    fast, plain = both(table, rules, monkeypatch, sample_size=3)
    assert_same(fast, plain)


def test_repeat_table_agrees_with_a_plain_count() -> None:
    import numpy as np

    from citybrain.quality.uniqueness import RepeatTable, repeated, sorted_repeats

    rng = np.random.default_rng(11)
    values = rng.integers(0, 12 * 10**17, 400_000, dtype=np.int64)
    values[rng.integers(0, len(values), 100_000)] = values[rng.integers(0, len(values), 100_000)]
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    expected = counts[inverse] > 1
    assert (repeated(values) == expected).all()
    failed, repeats = sorted_repeats(np.sort(values))
    assert failed == expected.sum() and (repeats == uniq[counts > 1]).all()
    table = RepeatTable.of(repeats)
    assert (table.slots == -2).any(), "enough repeats that some share a slot"
    probe = np.concatenate([values, np.array([-1, -2], dtype=np.int64)])
    assert (table.contains(probe) == np.concatenate([expected, [False, False]])).all()
    assert not repeated(np.array([], dtype=np.int64)).any() and not repeated(np.array([5], dtype=np.int64)).any()


@pytest.mark.parametrize("dictionary", [False, True])
def test_taking_rows_from_several_chunks_gives_them_in_the_order_asked(dictionary: bool) -> None:
    chunks = [pa.array([f"{c}-{i}" for i in range(5)]) for c in range(3)]
    if dictionary:
        chunks = [c.dictionary_encode() for c in chunks]
    values = pa.chunked_array(chunks)
    for rows in ([0, 6, 14], [14, 0, 7, 7, 3], [9], []):
        at = np.array(rows, dtype=np.int64)
        got = columnar._take(values, at)
        assert got.to_pylist() == [values[i].as_py() for i in rows]
