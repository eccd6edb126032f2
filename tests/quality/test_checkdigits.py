"""Check-digit expressions against scalar implementations of the standards."""

from __future__ import annotations

import random

import pytest
from tests.quality.conftest import (
    USCC_CHARS,
    evaluate,
    make_id,
    scalar_id_check,
    scalar_org_check,
    scalar_uscc_check,
)

from citybrain.quality import checkdigits


def test_gb11643_examples(duck) -> None:
    values = [
        "11010519491231002X",  # the standard's own example
        "11010519491231002x",  # lower-case x as many forms store it
        "440524188001010014",
        "110105194912310021",  # check digit wrong
        "11010519491231002",  # 17 characters
        "11010519491231002X1",
        "11010519491331002X",  # month 13 — check digit recomputed below
        "A1010519491231002X",
        None,
    ]
    values[6] = make_id("110105", "19491331", "002")
    got = evaluate(duck, {"v": values}, lambda t: checkdigits.citizen_id_valid(t.v))
    assert got == [True, True, True, False, False, False, False, False, None]
    # the date check can be switched off: only the 校验码 then matters
    loose = evaluate(duck, {"v": values[6:7]}, lambda t: checkdigits.citizen_id_valid(t.v, check_birth_date=False))
    assert loose == [True]


def test_citizen_id_check_char_matches_scalar(duck) -> None:
    rng = random.Random(7)
    bodies = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(400)]
    got = evaluate(duck, {"v": bodies}, lambda t: checkdigits.citizen_id_check_char(t.v))
    assert got == [scalar_id_check(b) for b in bodies]


def test_citizen_id_check_char_matches_standards_library(duck) -> None:
    checks = pytest.importorskip("citybrain.standards.checks")
    rng = random.Random(8)
    bodies = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(200)]
    got = evaluate(duck, {"v": bodies}, lambda t: checkdigits.citizen_id_check_char(t.v))
    assert got == [checks.citizen_id_check_char(b) for b in bodies]


def test_birth_and_sex_from_id(duck) -> None:
    data = {"v": ["11010519491231002X", "440524188001010014", make_id("320481", "20000229", "013")]}
    births = evaluate(duck, data, lambda t: checkdigits.citizen_id_birth_date(t.v).cast("string"))
    sexes = evaluate(duck, data, lambda t: checkdigits.citizen_id_sex_code(t.v))
    assert births == ["1949-12-31", "1880-01-01", "2000-02-29"]
    assert sexes == ["2", "1", "1"]  # 17th digits 2, 1, 3


def test_uscc_matches_scalar(duck) -> None:
    rng = random.Random(11)
    bodies = ["91" + "320481" + "".join(rng.choice(USCC_CHARS) for _ in range(9)) for _ in range(300)]
    valid = [b + scalar_uscc_check(b) for b in bodies]
    wrong = [b + USCC_CHARS[(USCC_CHARS.index(scalar_uscc_check(b)) + 1) % 31] for b in bodies[:50]]
    got = evaluate(duck, {"v": valid + wrong}, lambda t: checkdigits.uscc_valid(t.v))
    assert got == [True] * 300 + [False] * 50
    odd = ["91320481MA1XYZ123I", "91320481ma1xyz1234", "9132048", None]
    assert evaluate(duck, {"v": odd}, lambda t: checkdigits.uscc_valid(t.v)) == [False, False, False, None]


def test_uscc_check_char_matches_standards_library(duck) -> None:
    checks = pytest.importorskip("citybrain.standards.checks")
    rng = random.Random(12)
    bodies = ["".join(rng.choice(USCC_CHARS) for _ in range(17)) for _ in range(200)]
    got = evaluate(duck, {"v": bodies}, lambda t: checkdigits.uscc_check_char(t.v))
    assert got == [checks.uscc_check_char(b) for b in bodies]


def test_org_code_matches_scalar(duck) -> None:
    rng = random.Random(13)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    bodies = ["".join(rng.choice(alphabet) for _ in range(8)) for _ in range(300)]
    plain = [b + scalar_org_check(b) for b in bodies]
    hyphen = [b + "-" + scalar_org_check(b) for b in bodies[:50]]
    got = evaluate(duck, {"v": plain + hyphen}, lambda t: checkdigits.org_code_valid(t.v))
    assert got == [True] * 350
    # all three special cases of the check character occur in this sample
    assert {"X", "0"} <= {p[-1] for p in plain}
    wrong = [b + ("1" if scalar_org_check(b) != "1" else "2") for b in bodies[:50]]
    assert evaluate(duck, {"v": wrong}, lambda t: checkdigits.org_code_valid(t.v)) == [False] * 50
    # the standard's worked example: D2143569-X
    assert evaluate(duck, {"v": ["D2143569X", "D2143569-X"]}, lambda t: checkdigits.org_code_valid(t.v)) == [
        True,
        True,
    ]
