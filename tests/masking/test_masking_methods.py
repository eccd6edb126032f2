"""脱敏方法: exact outputs on hand-written values, nulls and short strings included."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybrain.errors import Invalid
from citybrain.masking import MaskSpec, apply_mask, consumer_key, mask_batches, mask_column, mask_record

KEY = bytes(range(32))


def run(values: list, spec: MaskSpec, type_: pa.DataType | None = None, **kwargs) -> list:
    return mask_column(pa.array(values, type_), spec, column="f", **kwargs).to_pylist()


def test_citizen_id_keeps_region_code_and_last_four() -> None:
    spec = MaskSpec("mask", keep_first=6, keep_last=4)
    assert run(["32040219900517123X", None, "12345", "3", ""], spec) == [
        "320402********123X",
        None,
        "12***",  # malformed short value: at most half is shown
        "*",
        "",
    ]


def test_mobile_stored_as_integer_is_masked_as_text() -> None:
    spec = MaskSpec("mask", keep_first=3, keep_last=4)
    assert run([13812341234, None], spec, pa.int64()) == ["138****1234", None]


def test_fixed_number_of_stars_hides_length() -> None:
    assert run(["zhangsan", "li"], MaskSpec("mask", keep_first=1, stars=3)) == ["z***", "l***"]


def test_name_keeps_surname_and_compound_surname() -> None:
    got = run(["张三", "张三丰", "欧阳修文", "欧阳修", "司马光", "张", "欧阳", None], MaskSpec("name"))
    assert got == ["张*", "张**", "欧阳**", "欧阳*", "司马*", "*", "欧*", None]


def test_mask_only_for_prefixes_leaves_organisation_codes() -> None:
    spec = MaskSpec("mask", keep_first=8, only_prefixes=["92"])
    assert run(["92320402MA1XXXXX3X", "91320000134789123X", None], spec) == [
        "92320402**********",
        "91320000134789123X",
        None,
    ]


def test_email_masks_user_part_only() -> None:
    got = run(["zhangsan@example.com", "a@b.cn", "not-an-email", None], MaskSpec("email"))
    assert got == ["z*******@example.com", "*@b.cn", "n***********", None]


def test_date_to_month_and_year_from_dates_and_text() -> None:
    dates = [dt.date(1990, 5, 17), None, dt.date(2001, 12, 31)]
    assert run(dates, MaskSpec("date")) == ["1990-05", None, "2001-12"]
    assert run(dates, MaskSpec("date", granularity="year")) == ["1990", None, "2001"]
    text = ["1990-05-17", "19900517", "1990/5/7", "1990年5月", "1990-13-01", "unknown", None]
    assert run(text, MaskSpec("date")) == ["1990-05", "1990-05", "1990-05", "1990-05", None, None, None]


def test_age_band_with_width_and_top() -> None:
    assert run([35, 30, 39, 0, 9, None, 85], MaskSpec("age_band", top=80)) == [
        "30-39",
        "30-39",
        "30-39",
        "0-9",
        "0-9",
        None,
        "80+",
    ]
    assert run([37.5, 42], MaskSpec("age_band", width=5)) == ["35-39", "40-44"]


def test_bucket_is_half_open_range() -> None:
    assert run([1500, 2000, -1, None], MaskSpec("bucket", width=1000)) == [
        "[1000,2000)",
        "[2000,3000)",
        "[-1000,0)",
        None,
    ]
    assert run([0.25], MaskSpec("bucket", width=0.5)) == ["[0,0.5)"]


def test_address_cut_at_township_else_road_else_district() -> None:
    got = run(
        [
            "江苏省常州市天宁区青龙街道龙锦路1号6幢302室",
            "溧阳市天目湖镇中关村大道8号",
            "江苏省镇江市京口区大市口街道中山东路1号",  # the 镇 of 镇江 is not a township
            "常州市天宁区延陵西路123号",
            "天宁区镇江路5号",
            "常州市新北区南大街街道延陵西路210号",
            "天宁区龙锦路12幢乡村小院",  # 乡 after a road and number is no township
            "溧阳市天目湖度假区",
            "某处",
            None,
        ],
        MaskSpec("address"),
    )
    assert got == [
        "江苏省常州市天宁区青龙街道",
        "溧阳市天目湖镇",
        "江苏省镇江市京口区大市口街道",
        "常州市天宁区延陵西路",
        "天宁区镇江路",
        "常州市新北区南大街街道",
        "天宁区龙锦路",
        "溧阳市天目湖度假区",
        None,
        None,
    ]


def test_address_without_street_can_be_dropped() -> None:
    spec = MaskSpec("address", fallback="null")
    assert run(["溧阳市天目湖度假区", "天宁区青龙街道1号"], spec) == [None, "天宁区青龙街道"]


def test_coordinates_rounded() -> None:
    assert run([119.9512345, 31.7798765, None], MaskSpec("round", digits=3)) == [119.951, 31.78, None]


def test_amount_truncated_towards_zero_or_rounded() -> None:
    assert run([12345, 999, -1500, None], MaskSpec("truncate", unit=1000)) == [12000, 0, -1000, None]
    assert run([12345.6, 12999.0], MaskSpec("truncate", unit=100, mode="nearest")) == [12300.0, 13000.0]


def test_suppress_to_null_or_fixed_string_keeps_nulls() -> None:
    assert run(["a", None], MaskSpec("suppress")) == [None, None]
    assert run([5, None], MaskSpec("suppress", replacement="***"), pa.int64()) == ["***", None]


# ── 假名化 ────────────────────────────────────────────────────────────────────────────────────────


def test_pseudonym_consistent_per_consumer_and_different_across_consumers() -> None:
    values = ["320402199005171234", "320402199005171234", None, "320402200001011111"]
    a1 = run(values, MaskSpec("pseudonym"), consumer_id="交通局", key=KEY)
    a2 = run(values[::-1], MaskSpec("pseudonym"), consumer_id="交通局", key=KEY)
    b = run(values, MaskSpec("pseudonym"), consumer_id="卫健委", key=KEY)
    assert a1[0] == a1[1] != a1[3]
    assert a1[2] is None
    assert a2 == a1[::-1]  # same token whatever the batch
    assert set(a1[:2] + a1[3:]).isdisjoint(b)
    assert all(t.startswith("pn_") and len(t) == 23 for t in a1 if t)


def test_pseudonym_is_hmac_sm3_under_the_consumer_key() -> None:
    import base64

    from cryptography.hazmat.primitives import hashes, hmac

    h = hmac.HMAC(consumer_key(KEY, "c1"), hashes.SM3())
    h.update("张三".encode())
    expected = "id-" + base64.b32encode(h.finalize()).decode().lower()[:16]
    assert run(["张三"], MaskSpec("pseudonym", prefix="id-", length=16), consumer_id="c1", key=KEY) == [expected]


def test_pseudonym_scope_separates_columns() -> None:
    one = run(["x"], MaskSpec("pseudonym", scope="a"), consumer_id="c", key=KEY)
    two = run(["x"], MaskSpec("pseudonym", scope="b"), consumer_id="c", key=KEY)
    assert one != two


def test_pseudonym_without_key_or_consumer_is_refused() -> None:
    table = pa.table({"id": ["1"]})
    plan = {"id": MaskSpec("pseudonym")}
    with pytest.raises(Invalid, match="主密钥"):
        apply_mask(table, plan, consumer_id="c")
    with pytest.raises(Invalid, match="数据使用方"):
        apply_mask(table, plan, key=KEY)
    with pytest.raises(Invalid, match="16 字节"):
        apply_mask(table, plan, consumer_id="c", key=b"short")


# ── MaskSpec and apply_mask ───────────────────────────────────────────────────────────────────────


def test_spec_round_trips_through_json() -> None:
    spec = MaskSpec("mask", keep_first=8, only_prefixes=["92"])
    again = MaskSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert hash(again) == hash(spec)
    assert spec.to_dict() == {"method": "mask", "params": {"keep_first": 8, "only_prefixes": ["92"]}}


@pytest.mark.parametrize(
    "data",
    [
        {"method": "scramble"},
        {"method": "mask", "params": {"keep": 3}},
        {"method": "mask", "params": {"keep_first": "3"}},
        {"method": "mask", "params": {"keep_first": -1}},
        {"method": "date", "params": {"granularity": "day"}},
        {"method": "bucket"},  # width is required
        {"method": "address", "params": {"fallback": "drop"}},
        {"params": {}},
    ],
)
def test_bad_spec_is_invalid(data: dict) -> None:
    with pytest.raises(Invalid):
        MaskSpec.from_dict(data)


def test_apply_mask_touches_only_planned_columns() -> None:
    table = pa.table({"name": ["张三", None], "mobile": ["13812341234", "13900001111"], "n": [1, 2]})
    out = apply_mask(table, {"name": MaskSpec("name"), "mobile": MaskSpec("mask", keep_first=3, keep_last=4)})
    assert out.column_names == ["name", "mobile", "n"]
    assert out.to_pydict() == {"name": ["张*", None], "mobile": ["138****1234", "139****1111"], "n": [1, 2]}


def test_apply_mask_names_missing_column() -> None:
    with pytest.raises(Invalid, match="phone"):
        apply_mask(pa.table({"a": [1]}), {"phone": MaskSpec("suppress")})


def test_multi_chunk_columns() -> None:
    column = pa.chunked_array([["张三", "李四"], ["欧阳修", None]])
    table = pa.table({"name": column})
    assert apply_mask(table, {"name": MaskSpec("name")}).column("name").to_pylist() == [
        "张*",
        "李*",
        "欧阳*",
        None,
    ]


def test_mask_batches_streams_a_duckdb_result_with_stable_tokens() -> None:
    import duckdb

    con = duckdb.connect()
    reader = con.sql("SELECT '3204021990051712' || (i % 3)::VARCHAR AS sfzh FROM range(6) t(i)").arrow()
    plan = {"sfzh": MaskSpec("pseudonym")}
    batches = list(mask_batches(reader, plan, consumer_id="c", key=KEY))
    streamed = pa.Table.from_batches(batches).column("sfzh").to_pylist()
    whole = apply_mask(
        pa.table({"sfzh": [f"3204021990051712{i % 3}" for i in range(6)]}), plan, consumer_id="c", key=KEY
    )
    assert streamed == whole.column("sfzh").to_pylist()
    assert len(set(streamed)) == 3


@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="0123456789X张欧阳三丰", max_size=25)), max_size=30),
    st.integers(0, 8),
    st.integers(0, 8),
)
def test_mask_keeps_length_and_always_hides_something(values: list, first: int, last: int) -> None:
    out = run(values, MaskSpec("mask", keep_first=first, keep_last=last), pa.string())
    for value, masked in zip(values, out, strict=True):
        if value is None:
            assert masked is None
            continue
        assert len(masked) == len(value)
        if value:
            assert "*" in masked
            shown = len(masked) - masked.count("*")
            assert shown <= max(first + last, 0) and (shown <= len(value) // 2 or len(value) > first + last)
            assert value.startswith(masked.split("*", 1)[0])


_ADDRESS_PARTS = [
    "江苏省",
    "常州市",
    "镇江市",
    "天宁区",
    "红梅街道",
    "湖塘镇",
    "乡",
    "镇",
    "街道",
    "路",
    "号",
    "龙锦路",
    "12号",
    "A",
    "村",
    "1",
    "溧阳市",
    "天目湖镇",
    "区",
    "县",
    "旗",
    "街",
    "道",
    "市镇",
    "路乡",
    "\n",
    " ",
    "大道",
    "巷",
    "欧阳",
]


@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(_ADDRESS_PARTS), max_size=40).map("".join)), max_size=60),
       st.integers(min_value=0, max_value=5))  # fmt: skip
def test_township_cut_is_exactly_the_regex(values: list[str | None], offset: int) -> None:
    """The fast 街道/镇/乡 cut gives the regex's answer on every row: 镇江市, tokens after 市/路/号, line
    breaks, prefixes over 41 characters, nulls, sliced arrays."""
    import pyarrow.compute as pc

    from citybrain.masking.methods import ADDRESS_TOWNSHIP, SMALL_ROWS, _township

    # more rows than SMALL_ROWS, or _township would take the regex itself
    head = ["青龙街道"] * (SMALL_ROWS + 1)
    arr = pa.array([*head, *values], pa.string()).slice(min(offset, len(values)))
    expected = pc.struct_field(pc.extract_regex(arr, ADDRESS_TOWNSHIP), "a")
    assert _township(arr).to_pylist() == expected.to_pylist()


_SMALL_PATH_SPECS = [
    MaskSpec("mask", keep_first=6, keep_last=4),
    MaskSpec("mask", keep_first=3, keep_last=4, stars=4),
    MaskSpec("mask", keep_first=2, keep_last=0, only_prefixes=["92"]),
    MaskSpec("name"),
    MaskSpec("name", char="○", stars=2),
    MaskSpec("email"),
    MaskSpec("address"),
    MaskSpec("address", fallback="null"),
]


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet="0123456789X@.ab 张欧阳三丰", max_size=25),
            st.lists(st.sampled_from(_ADDRESS_PARTS), max_size=30).map("".join),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(_SMALL_PATH_SPECS),
)
def test_few_rows_are_masked_exactly_as_many(values: list[str | None], spec: MaskSpec) -> None:
    """A lookup's one row goes through the per-value path (SMALL_ROWS or fewer values), a bulk export
    through the Arrow kernels: every method gives the same answer either way."""
    from citybrain.masking.methods import SMALL_ROWS

    many = [*values, *(["江苏省常州市天宁区青龙街道龙锦路1号", "欧阳娜娜", None] * SMALL_ROWS)]
    bulk = mask_column(pa.array(many, pa.string()), spec).to_pylist()[: len(values)]
    one_by_one = [mask_column(pa.array([value], pa.string()), spec).to_pylist()[0] for value in values]
    assert one_by_one == bulk


@given(
    st.one_of(
        st.none(),
        st.text(alphabet="0123456789X@.ab 张欧阳三丰\t\u3000\u00a0\u2028\x1c", max_size=25),
        st.lists(st.sampled_from(_ADDRESS_PARTS), max_size=30).map("".join),
    ),
    st.sampled_from([*_SMALL_PATH_SPECS, MaskSpec("suppress"), MaskSpec("suppress", replacement="已屏蔽")]),
)
def test_a_record_is_masked_exactly_as_its_one_row_table(value: str | None, spec: MaskSpec) -> None:
    """A lookup's answer is masked as a record (Python strings where the method has a one-value
    function, whitespace at either end included); it must be what the table path gives."""
    table = pa.table({"v": pa.array([value], pa.string()), "other": pa.array([1])})
    expected = apply_mask(table, {"v": spec}).to_pylist()[0]
    assert mask_record({"v": value, "other": 1}, {"v": spec}, {"v": pa.string(), "other": pa.int64()}) == expected


def test_a_record_of_other_types_is_masked_by_the_methods_themselves() -> None:
    table = pa.table({"born": pa.array([dt.date(1990, 5, 17)]), "income": pa.array([12345.678])})
    plan = {"born": MaskSpec("date", granularity="year"), "income": MaskSpec("round", digits=1)}
    types = {"born": pa.date32(), "income": pa.float64()}
    record = {"born": dt.date(1990, 5, 17), "income": 12345.678}
    assert mask_record(record, plan, types) == apply_mask(table, plan).to_pylist()[0]
    with pytest.raises(Invalid):
        mask_record(record, {"missing": MaskSpec("suppress")}, types)
