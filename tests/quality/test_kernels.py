"""The Arrow kernels DuckDB runs for check digits and ID agreement give exactly the answers of the Ibis
expressions they stand in for (which Spark runs), on valid values and on every kind of bad one."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.quality.conftest import evaluate, make_id, scalar_uscc_check

from citybrain.quality import checkdigits, kernels
from citybrain.quality.engine import DuckDBBackend, run_rules
from citybrain.quality.rules import IdCardConsistencyRule, standard_population_rules

ID_CASES = [
    make_id("320402", "19900102", "123"),
    make_id("320481", "20000229", "004"),  # 2000 is a leap year
    make_id("320481", "19000229", "004"),  # 1900 is not
    make_id("320481", "19900230", "005"),  # no 30 February
    make_id("320481", "19901301", "006"),  # month 13
    make_id("320481", "19900100", "006"),  # day 0
    "11010519491231002X",
    "11010519491231002x",  # lower-case x, as many forms store it
    "110105194912310021",  # check digit wrong
    "11010519491231002",  # 17 characters
    "11010519491231002X1",  # 19
    "A1010519491231002X",
    "１１０１０５１９４９１２３１００２X",  # full-width digits: 18 characters, not 18 bytes
    "11010519491231002Y",
    "",
    "                  ",
    None,
]


def _kernel(values: list, fn) -> list:
    return fn(pa.array(values, type=pa.string())).to_pylist()


def test_citizen_id_kernel_matches_the_expression(duck) -> None:
    expected = evaluate(duck, {"v": ID_CASES}, lambda t: checkdigits.citizen_id_valid(t.v))
    assert _kernel(ID_CASES, kernels.citizen_id_valid_arrow) == expected
    # and it is the standard's answer, not only the expression's
    assert expected[:6] == [True, True, False, False, False, False]
    assert expected[6:9] == [True, True, False]
    assert expected[-1] is None


def test_citizen_id_kernel_without_the_date_check(duck) -> None:
    loose = kernels.citizen_id_valid_arrow(pa.array(ID_CASES), check_birth_date=False).to_pylist()
    expected = evaluate(duck, {"v": ID_CASES}, lambda t: checkdigits.citizen_id_valid(t.v, check_birth_date=False))
    assert loose == expected
    assert loose[3] is True  # 19900230 has a right check digit; only the date is wrong


def test_kernels_run_where_no_compile_cache_can_be_written() -> None:
    # a read-only install run by a user without a home: Numba finds no cache directory and would refuse
    # to compile a cached function at all; the kernels compile per process instead and give the same answers
    script = textwrap.dedent(
        f"""
        import numba.core.caching as caching
        caching.CacheImpl._locator_classes = []
        import pyarrow as pa
        from citybrain.quality import kernels
        print(kernels.citizen_id_valid_arrow(pa.array({ID_CASES!r})).to_pylist())
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr(_kernel(ID_CASES, kernels.citizen_id_valid_arrow))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789Xx-A 年", min_size=15, max_size=20)), max_size=40))
def test_citizen_id_kernel_on_arbitrary_text(duck, values) -> None:
    # mostly malformed; a valid body is planted in some so the arithmetic is exercised too
    values = values + [make_id("320402", f"19{n % 100:02d}0{1 + n % 9}1{n % 10}", f"{n:03d}") for n in range(5)]
    assert _kernel(values, kernels.citizen_id_valid_arrow) == evaluate(
        duck, {"v": values}, lambda t: checkdigits.citizen_id_valid(t.v)
    )


def test_uscc_kernel_matches_the_expression(duck) -> None:
    rng = random.Random(7)
    good = []
    for _ in range(200):
        body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(2))
        body += "".join(rng.choice("0123456789") for _ in range(6))
        body += "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
        good.append(body + scalar_uscc_check(body))
    bad = [g[:17] + ("0" if g[17] != "0" else "1") for g in good[:50]]
    odd = ["91320400MA1ABCDE1I", "91320400MA1ABCDE1", "", "9132040０MA1ABCDE1X", None]
    values = good + bad + odd
    got = _kernel(values, kernels.uscc_valid_arrow)
    assert got == evaluate(duck, {"v": values}, lambda t: checkdigits.uscc_valid(t.v))
    assert got[:200] == [True] * 200 and got[200:250] == [False] * 50


BIRTHS = ["1990-01-02", "1990/01/02", "19900102", "1990年01月02日", "1990-1-2", "1990-01-03", "", "x", None]
SEXES = ["1", "2", "男", "女", " 1 ", "\t女", "9", "", None]


def test_id_agreement_kernel_matches_the_rule(duck) -> None:
    male_id = make_id("320402", "19900102", "131")  # 17th digit 1: odd, 男
    female_id = make_id("320402", "19900102", "122")
    ids = [male_id, female_id, "32040219900102123", "A20402199001021231", None]
    rows = [(i, b, s) for i in ids for b in BIRTHS for s in SEXES]
    data = {"id": [r[0] for r in rows], "birth": [r[1] for r in rows], "sex": [r[2] for r in rows]}
    rule = IdCardConsistencyRule(id="agree", id_column="id", birth_column="birth", sex_column="sex")
    expected = evaluate(duck, data, rule.failed)
    got = evaluate(duck, data, lambda t: rule.failed_on(t, kernels=True))
    assert got == expected
    # spot checks against the rule's meaning
    at = {(r[0], r[1], r[2]): e for r, e in zip(rows, expected, strict=True)}
    assert at[(male_id, "1990/01/02", "男")] is False
    assert at[(male_id, "1990-01-03", "1")] is True
    assert at[(female_id, "19900102", "1")] is True
    assert at[(female_id, None, None)] is False
    assert at[(None, "1990-01-03", "1")] is False  # a missing ID is the completeness rule's business


def test_id_agreement_kernel_with_one_field_and_a_date_column(duck) -> None:
    ident = make_id("320402", "19900102", "131")
    data = {"id": [ident, ident, ident], "birth": pa.array([19359, 19360, None], type=pa.date32())}
    rule = IdCardConsistencyRule(id="agree", id_column="id", birth_column="birth")
    assert evaluate(duck, data, lambda t: rule.failed_on(t, kernels=True)) == evaluate(duck, data, rule.failed)
    sex_only = IdCardConsistencyRule(id="agree", id_column="id", sex_column="sex")
    data = {"id": [ident, ident], "sex": ["1", "2"]}
    assert evaluate(duck, data, lambda t: sex_only.failed_on(t, kernels=True)) == [False, True]


@pytest.mark.parametrize("rows", [3_000, 10_000])
def test_engine_counts_and_samples_agree_with_and_without_kernels(rows) -> None:
    from citybrain.demo.people import generate_population
    from citybrain.standards.divisions import all_divisions

    table, log = generate_population(rows, seed="kernels", defect_rate=0.05)
    assert log, "the generator plants defects"
    rules = standard_population_rules(phone_column="mobile")
    refs = {"GB/T 2260": sorted(d.code for d in all_divisions())}
    fast = run_rules(table, rules, backend=DuckDBBackend(), refs=refs)
    plain = run_rules(table, rules, backend=DuckDBBackend(kernels=False), refs=refs)
    assert fast.counts() == plain.counts()
    assert [r.samples for r in fast.results] == [r.samples for r in plain.results]
    assert fast.result("id_check_digit").failed > 0 and fast.result("id_birth_sex_agree").failed > 0
