"""Generators round-trip through the checks; each corruption yields the reason it names."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citybrain.errors import Invalid
from citybrain.standards import divisions, generate
from citybrain.standards.checks import (
    check_citizen_id,
    check_mobile,
    check_org_code,
    check_uscc,
    citizen_id_birth_date,
    citizen_id_sex,
    normalize_mobile,
)
from citybrain.standards.codelists import USCC_ORG_CATEGORIES

TODAY = date(2026, 1, 15)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
district_codes = st.sampled_from(divisions.district_codes())
uscc_pairs = st.sampled_from(
    [(department, category) for department, table in USCC_ORG_CATEGORIES.items() for category in table]
)


@given(seed=seeds, division=district_codes, birth=st.dates(date(1900, 1, 1), TODAY), sex=st.sampled_from("12"))
def test_citizen_id_round_trip(seed: int, division: str, birth: date, sex: str) -> None:
    value = generate.citizen_id(random.Random(seed), division=division, birth=birth, sex=sex)
    assert check_citizen_id(value, today=TODAY) is None
    assert value[:6] == division
    assert citizen_id_birth_date(value) == birth
    assert citizen_id_sex(value) == sex


@given(seed=seeds, defect=st.sampled_from(sorted(generate.CITIZEN_ID_DEFECTS)))
def test_citizen_id_corruption_gives_the_intended_reason(seed: int, defect: str) -> None:
    rng = random.Random(seed)
    value = generate.citizen_id(rng, birth=generate.birth_date(rng, end=TODAY))
    broken = generate.corrupt_citizen_id(rng, value, defect, today=TODAY)  # type: ignore[arg-type]
    reason = check_citizen_id(broken, today=TODAY)
    assert reason is not None and generate.CITIZEN_ID_DEFECTS[defect] in reason


@given(seed=seeds, days=st.integers(min_value=-3000, max_value=3000).filter(bool))
def test_shifted_birth_date_stays_valid_but_disagrees(seed: int, days: int) -> None:
    rng = random.Random(seed)
    value = generate.citizen_id(rng, birth=date(1980, 6, 15))
    shifted = generate.shift_citizen_id_birth_date(value, days)
    assert check_citizen_id(shifted, today=TODAY) is None
    assert citizen_id_birth_date(shifted) != citizen_id_birth_date(value)
    assert shifted[14:17] == value[14:17]


@given(seed=seeds, division=district_codes, pair=uscc_pairs)
def test_uscc_round_trip(seed: int, division: str, pair: tuple[str, str]) -> None:
    department, category = pair
    value = generate.uscc(random.Random(seed), division=division, department=department, category=category)
    assert check_uscc(value) is None
    assert value[:8] == department + category + division


@given(seed=seeds, pair=uscc_pairs, defect=st.sampled_from(sorted(generate.USCC_DEFECTS)))
def test_uscc_corruption_gives_the_intended_reason(seed: int, pair: tuple[str, str], defect: str) -> None:
    rng = random.Random(seed)
    value = generate.uscc(rng, department=pair[0], category=pair[1])
    reason = check_uscc(generate.corrupt_uscc(rng, value, defect))  # type: ignore[arg-type]
    assert reason is not None and generate.USCC_DEFECTS[defect] in reason


@given(seed=seeds, hyphen=st.booleans())
def test_org_code_round_trip(seed: int, hyphen: bool) -> None:
    value = generate.org_code(random.Random(seed), hyphen=hyphen)
    assert check_org_code(value) is None
    assert (value[8] == "-") is hyphen


@given(seed=seeds, defect=st.sampled_from(sorted(generate.ORG_CODE_DEFECTS)))
def test_org_code_corruption_gives_the_intended_reason(seed: int, defect: str) -> None:
    rng = random.Random(seed)
    reason = check_org_code(generate.corrupt_org_code(rng, generate.org_code(rng), defect))  # type: ignore[arg-type]
    assert reason is not None and generate.ORG_CODE_DEFECTS[defect] in reason


@given(seed=seeds, style=st.sampled_from(["plain", "spaced", "hyphen", "+86"]))
def test_mobile_round_trip(seed: int, style: str) -> None:
    value = generate.mobile(random.Random(seed), style=style)  # type: ignore[arg-type]
    assert check_mobile(value) is None
    assert normalize_mobile(value)[:3] in generate.MOBILE_PREFIXES


@given(seed=seeds, defect=st.sampled_from(sorted(generate.MOBILE_DEFECTS)))
def test_mobile_corruption_gives_the_intended_reason(seed: int, defect: str) -> None:
    rng = random.Random(seed)
    reason = check_mobile(generate.corrupt_mobile(rng, generate.mobile(rng), defect))  # type: ignore[arg-type]
    assert reason is not None and generate.MOBILE_DEFECTS[defect] in reason


def test_same_seed_same_values() -> None:
    first = [generate.citizen_id(random.Random(7)), generate.uscc(random.Random(7))]
    second = [generate.citizen_id(random.Random(7)), generate.uscc(random.Random(7))]
    assert first == second


def test_generators_refuse_bad_parameters() -> None:
    rng = random.Random(0)
    with pytest.raises(Invalid):
        generate.uscc(rng, department="9", category="9")
    with pytest.raises(Invalid):
        generate.citizen_id(rng, sex="0")
    with pytest.raises(Invalid):
        generate.citizen_id(rng, division="32048")
    with pytest.raises(Invalid):
        generate.corrupt_citizen_id(rng, "11010519491231002X", "typo")  # type: ignore[arg-type]
