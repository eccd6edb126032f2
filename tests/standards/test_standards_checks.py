"""Scalar checks against hand-computed values from the standards' own examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from citybrain.errors import Invalid
from citybrain.standards import checks
from citybrain.standards.checks import (
    CHECKS,
    check_amount,
    check_citizen_id,
    check_date,
    check_division_code,
    check_division_membership,
    check_latitude,
    check_longitude,
    check_mobile,
    check_org_code,
    check_uscc,
    citizen_id_birth_date,
    citizen_id_check_char,
    citizen_id_sex,
    citizen_id_valid,
    normalize_mobile,
    normalize_org_code,
    org_code_check_char,
    parse_date,
    uscc_check_char,
    uscc_org_code,
    uscc_valid,
)

TODAY = date(2026, 1, 15)

# ---------------------------------------------------------------- 公民身份号码


def test_gb11643_example_is_valid() -> None:
    # Σ(digit × weight) = 167, 167 mod 11 = 2 → "10X98765432"[2] = "X"
    assert citizen_id_check_char("11010519491231002") == "X"
    assert check_citizen_id("11010519491231002X", today=TODAY) is None


def test_lower_case_x_is_accepted() -> None:
    assert check_citizen_id("11010519491231002x", today=TODAY) is None
    assert citizen_id_valid("11010519491231002x", today=TODAY)


def test_birth_date_and_sex_are_read_from_the_number() -> None:
    assert citizen_id_birth_date("11010519491231002X") == date(1949, 12, 31)
    # 17th digit 2 is even → 女
    assert citizen_id_sex("11010519491231002X") == "2"
    assert citizen_id_sex("11010519491231001X") == "1"
    assert citizen_id_birth_date("11010519490231002X") is None


def test_sex_of_malformed_number_is_refused() -> None:
    with pytest.raises(Invalid):
        citizen_id_sex("1101051949")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "公民身份号码为空"),
        ("110105491231002", "公民身份号码长度应为18位，实为15位"),
        ("1101051949123100AX", "公民身份号码前17位应为数字"),
        ("１１０１０５１９４９１２３１００２X", "公民身份号码前17位应为数字"),
    ],
)
def test_citizen_id_format_reasons(value: str, reason: str) -> None:
    assert check_citizen_id(value, today=TODAY) == reason


def test_citizen_id_check_position_must_be_digit_or_x() -> None:
    assert check_citizen_id("11010519491231002Y", today=TODAY) == "公民身份号码第18位应为数字或X"


def test_citizen_id_wrong_check_char_names_the_right_one() -> None:
    assert check_citizen_id("110105194912310021", today=TODAY) == "校验码错误：应为 X"


def test_citizen_id_address_code_must_look_like_a_division() -> None:
    body = "99010519491231002"
    value = body + citizen_id_check_char(body)
    assert check_citizen_id(value, today=TODAY) == "地址码 990105 不是有效的行政区划代码"


def test_citizen_id_birth_date_must_be_real() -> None:
    body = "32048119990230001"
    value = body + citizen_id_check_char(body)
    assert check_citizen_id(value, today=TODAY) == "出生日期无效：19990230"


def test_citizen_id_birth_date_not_in_future() -> None:
    body = "32048120260116001"
    value = body + citizen_id_check_char(body)
    assert check_citizen_id(value, today=TODAY) == "出生日期晚于当前日期：2026-01-16"
    assert check_citizen_id(value, today=date(2026, 1, 16)) is None


def test_citizen_id_born_before_1900_is_refused_even_with_right_check_char() -> None:
    # The second GB 11643 example: check char 4 is right, but the birth year 1880 is out of range.
    assert citizen_id_check_char("44052418800101001") == "4"
    assert check_citizen_id("440524188001010014", today=TODAY) == "出生日期早于1900年：1880-01-01"


def test_citizen_id_check_char_refuses_a_bad_body() -> None:
    with pytest.raises(Invalid):
        citizen_id_check_char("1101051949123100")


# ---------------------------------------------------------------- 组织机构代码


def test_org_code_check_chars_hand_computed() -> None:
    # 1·3 + 2·7 + 3·9 + 4·10 + 5·5 + 6·8 + 7·4 + 8·2 = 201; 201 mod 11 = 3; 11 − 3 = 8
    assert org_code_check_char("12345678") == "8"
    # 4·3 = 12; 12 mod 11 = 1; 11 − 1 = 10 → X
    assert org_code_check_char("40000000") == "X"
    # sum 0 → 11 → 0
    assert org_code_check_char("00000000") == "0"


@pytest.mark.parametrize("value", ["123456788", "12345678-8", "40000000-X", "M000100Y4", "M000100Y-4"])
def test_org_code_valid_with_or_without_hyphen(value: str) -> None:
    assert check_org_code(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "组织机构代码为空"),
        ("1234567", "组织机构代码应为9位（可写作 XXXXXXXX-X）"),
        ("1234567a8", "组织机构代码本体应为8位数字或大写字母"),
        ("12345678Y", "组织机构代码校验码应为数字或X"),
        ("12345678-9", "校验码错误：应为 8"),
    ],
)
def test_org_code_reasons(value: str, reason: str) -> None:
    assert check_org_code(value) == reason


def test_normalize_org_code_drops_hyphen() -> None:
    assert normalize_org_code("12345678-8") == "123456788"
    assert normalize_org_code("123456788") == "123456788"


# ---------------------------------------------------------------- 统一社会信用代码


def test_published_uscc_is_valid() -> None:
    # Values: 9,1,3,5,0,1,0,0,M=21,0,0,0,1,0,0,Y=30,4 against weights 3^i mod 31:
    # 9 + 3 + 27 + 135 + 26 + 420 + 8 + 900 + 112 = 1640; 1640 mod 31 = 28; 31 − 28 = 3
    assert uscc_check_char("91350100M000100Y4") == "3"
    assert check_uscc("91350100M000100Y43") is None
    assert uscc_valid("91350100M000100Y43")
    assert uscc_org_code("91350100M000100Y43") == "M000100Y4"


def test_uscc_weights_are_powers_of_three_mod_31() -> None:
    assert checks._USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _uscc(head: str) -> str:
    return head + uscc_check_char(head)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "统一社会信用代码为空"),
        ("91350100M000100Y4", "统一社会信用代码长度应为18位，实为17位"),
        ("91350100M000100I43", "第16位含非法字符 'I'（不使用 I、O、S、V、Z）"),
        ("91350100m000100Y43", "第9位 'm' 为小写字母，统一社会信用代码应为大写"),
        (_uscc("B1350100M000100Y4"), "登记管理部门码 B 无效"),
        (_uscc("99350100M000100Y4"), "机构类别码 9 不属于登记管理部门 9（工商）"),
        (_uscc("Y2350100M000100Y4"), "机构类别码 2 不属于登记管理部门 Y（其他）"),
        (_uscc("91990100M000100Y4"), "登记管理机关行政区划码 990100 无效"),
        (_uscc("91350100M000100Y5"), "主体标识码（组织机构代码）无效：校验码错误：应为 4"),
        ("91350100M000100Y44", "校验码错误：应为 3"),
    ],
)
def test_uscc_reasons(value: str, reason: str) -> None:
    assert check_uscc(value) == reason


@pytest.mark.parametrize("head", ["51320481MJ0000000", "12320400000000000", "Y1320481000000000"])
def test_uscc_department_category_pairs_from_the_table(head: str) -> None:
    # Make the embedded org code valid, then the whole code.
    body = head[8:16]
    value = _uscc(head[:16] + org_code_check_char(body))
    assert check_uscc(value) is None


def test_uscc_national_registration_division_is_accepted() -> None:
    body = "10001043"
    value = _uscc("91100000" + body + org_code_check_char(body))
    assert check_uscc(value) is None


# ---------------------------------------------------------------- 行政区划代码


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("320481", None),
        ("320400", None),
        ("320000", None),
        ("", "行政区划代码为空"),
        ("32048", "行政区划代码应为6位数字"),
        ("3204811", "行政区划代码应为6位数字"),
        ("99048a", "行政区划代码应为6位数字"),
        ("３２０４８１", "行政区划代码应为6位数字"),
        ("990481", "省级代码 99 不存在"),
        ("320081", "行政区划代码层级错误：地级为00时县级应为00"),
    ],
)
def test_division_code_structure(value: str, reason: str | None) -> None:
    assert check_division_code(value) == reason


def test_division_membership_uses_the_given_list() -> None:
    codes = {"320481", "320481002"}
    assert check_division_membership("320481", codes) is None
    assert check_division_membership("320481002", codes) is None
    assert check_division_membership("320482", codes) == "行政区划代码 320482 不在代码表中"
    assert check_division_membership("990481", codes) == "省级代码 99 不存在"


# ---------------------------------------------------------------- 手机号码


@pytest.mark.parametrize(
    "value",
    ["13812345678", "138-1234-5678", "138 1234 5678", "+86 138 1234 5678", "+8613812345678", "8613812345678"],
)
def test_mobile_accepted_spellings(value: str) -> None:
    assert check_mobile(value) is None
    assert normalize_mobile(value) == "13812345678"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "手机号码为空"),
        ("1381234567", "手机号码应为11位，实为10位"),
        ("12812345678", "手机号码号段无效：应以13–19开头"),
        ("1381234567O", "手机号码只能含数字、空格、连字符和 +86 前缀"),
        ("051987654321", "手机号码应为11位，实为12位"),
        ("+86", "手机号码应为11位，实为0位"),
    ],
)
def test_mobile_reasons(value: str, reason: str) -> None:
    assert check_mobile(value) == reason


# ---------------------------------------------------------------- 经纬度


def test_changzhou_coordinates_pass() -> None:
    assert check_longitude("119.974") is None
    assert check_latitude("31.811") is None
    assert check_longitude(119.974) is None


@pytest.mark.parametrize(
    ("value", "china", "reason"),
    [
        ("150", True, "经度 150 不在中国范围 [73, 136] 内"),
        ("150", False, None),
        ("-181", False, "经度 -181 超出 [-180, 180]"),
        ("东经119度", True, "经度应为十进制度数"),
        ("nan", True, "经度应为有限数值"),
        ("", True, "经度为空"),
    ],
)
def test_longitude_reasons(value: str, china: bool, reason: str | None) -> None:
    assert check_longitude(value, china=china) == reason


@pytest.mark.parametrize(
    ("value", "china", "reason"),
    [
        ("60", True, "纬度 60 不在中国范围 [3, 54] 内"),
        ("60", False, None),
        ("91", False, "纬度 91 超出 [-90, 90]"),
    ],
)
def test_latitude_reasons(value: str, china: bool, reason: str | None) -> None:
    assert check_latitude(value, china=china) == reason


# ---------------------------------------------------------------- 日期、金额


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2024-02-29", None),
        ("20240229", None),
        ("2023-02-29", "日期不存在：2023-02-29"),
        ("20231301", "日期不存在：20231301"),
        ("2024/02/29", "日期格式应为 YYYY-MM-DD 或 YYYYMMDD"),
        ("2024-2-9", "日期格式应为 YYYY-MM-DD 或 YYYYMMDD"),
        ("２０２４０２２９", "日期格式应为 YYYY-MM-DD 或 YYYYMMDD"),
        ("", "日期为空"),
    ],
)
def test_date_reasons(value: str, reason: str | None) -> None:
    assert check_date(value) == reason


def test_parse_date_both_forms() -> None:
    assert parse_date("2021-02-05") == date(2021, 2, 5)
    assert parse_date("20210205") == date(2021, 2, 5)
    assert parse_date("2021-02-30") is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", None),
        ("12.5", None),
        ("1234567.89", None),
        (Decimal("3.14"), None),
        (100, None),
        ("12.345", "金额最多两位小数"),
        ("-1", "金额不能为负数"),
        ("-0.5", "金额不能为负数"),
        ("1,000", "金额格式无效：应为数字，可带最多两位小数"),
        ("12.", "金额格式无效：应为数字，可带最多两位小数"),
        ("1e3", "金额格式无效：应为数字，可带最多两位小数"),
        ("-abc", "金额格式无效"),
        ("", "金额为空"),
    ],
)
def test_amount_reasons(value: str | Decimal | int, reason: str | None) -> None:
    assert check_amount(value) == reason


# ---------------------------------------------------------------- registry


GOOD_AND_BAD = {
    "citizen_id": ("11010519491231002X", "110105194912310021"),
    "uscc": ("91350100M000100Y43", "91350100M000100Y44"),
    "org_code": ("12345678-8", "12345678-9"),
    "division_code": ("320481", "990481"),
    "mobile": ("13812345678", "12812345678"),
    "date": ("2024-02-29", "2023-02-29"),
    "amount": ("12.50", "12.505"),
    "longitude": ("119.97", "150"),
    "latitude": ("31.81", "60"),
}


def test_registry_names_every_check() -> None:
    assert set(CHECKS) == set(GOOD_AND_BAD)


@pytest.mark.parametrize("name", sorted(GOOD_AND_BAD))
def test_registry_checks_accept_good_and_refuse_bad(name: str) -> None:
    good, bad = GOOD_AND_BAD[name]
    assert checks.get_check(name)(good) is None
    assert isinstance(checks.get_check(name)(bad), str)


def test_unknown_check_name_is_invalid() -> None:
    with pytest.raises(Invalid) as caught:
        checks.get_check("passport")
    assert "passport" in caught.value.message
