"""Scalar checks for national data-element standards (数据元标准校验).

Every ``check_*`` function takes one value and returns ``None`` when it is valid, or a short
Chinese reason (e.g. ``"校验码错误：应为 X"``) when it is not, so a quality run can count and show
reasons without exceptions. Each has a ``*_valid`` wrapper returning ``bool``, and ``CHECKS``
maps a stable name to the check so rules can name it in configuration.

Covered: 公民身份号码 (GB 11643-1999), 统一社会信用代码 (GB 32100-2015), 组织机构代码
(GB 11714-1997), 行政区划代码 (GB/T 2260), 手机号码, 经纬度 (CGCS2000), 日期, 金额.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import date
from decimal import Decimal, InvalidOperation

from citybrain.errors import Invalid
from citybrain.standards.codelists import USCC_ORG_CATEGORIES, USCC_REGISTRATION_DEPARTMENTS

Check = Callable[[str], str | None]

# ---------------------------------------------------------------- 行政区划代码 GB/T 2260

#: 省级代码 (GB/T 2260): 31 provinces, 71 台湾省, 81 香港, 82 澳门.
PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
        "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
    }
)  # fmt: skip

_SIX_DIGITS = re.compile(r"[0-9]{6}")


def check_division_code(value: str) -> str | None:
    """行政区划代码 (GB/T 2260): six digits with a real province and a consistent hierarchy.

    Structure only: 2-digit province, 2-digit prefecture, 2-digit county. A county part under a
    ``00`` prefecture cannot occur, so ``320001`` is refused. Use ``check_division_membership``
    to test against an actual code list.
    """
    if not isinstance(value, str) or value == "":
        return "行政区划代码为空"
    if not _SIX_DIGITS.fullmatch(value):
        return "行政区划代码应为6位数字"
    if value[:2] not in PROVINCE_CODES:
        return f"省级代码 {value[:2]} 不存在"
    if value[2:4] == "00" and value[4:] != "00":
        return "行政区划代码层级错误：地级为00时县级应为00"
    return None


def check_division_membership(value: str, codes: Collection[str]) -> str | None:
    """行政区划代码 present in ``codes`` (a code list, e.g. the 常州 tree's codes).

    Six-digit codes are also checked for GB/T 2260 structure; 9- and 12-digit street and
    community codes are looked up as given.
    """
    if not isinstance(value, str) or value == "":
        return "行政区划代码为空"
    reason = check_division_code(value) if len(value) == 6 else None
    if reason is not None:
        return reason
    if value not in codes:
        return f"行政区划代码 {value} 不在代码表中"
    return None


def division_code_valid(value: str) -> bool:
    return check_division_code(value) is None


# ---------------------------------------------------------------- 公民身份号码 GB 11643-1999

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_EARLIEST_BIRTH = date(1900, 1, 1)
# 港澳台居民居住证 numbers begin 810000 / 820000 / 830000; 83 is not a GB/T 2260 province.
_ID_EXTRA_PREFIXES = frozenset({"830000"})


def citizen_id_check_char(body17: str) -> str:
    """校验码 of an 18-digit 公民身份号码 from its first 17 digits (ISO 7064 MOD 11-2)."""
    if len(body17) != 17 or not body17.isdigit() or not body17.isascii():
        raise Invalid("公民身份号码本体码应为17位数字", details={"field": "citizen_id", "value": body17})
    total = sum(int(digit) * weight for digit, weight in zip(body17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _parse_yyyymmdd(text: str) -> date | None:
    if len(text) != 8 or not text.isdigit() or not text.isascii():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def citizen_id_birth_date(value: str) -> date | None:
    """出生日期码 (chars 7–14) as a date, or ``None`` when it is not a real calendar date."""
    if not isinstance(value, str) or len(value) != 18:
        return None
    return _parse_yyyymmdd(value[6:14])


def citizen_id_sex(value: str) -> str:
    """性别代码 (GB/T 2261.1) from 顺序码: odd 17th digit → "1" 男, even → "2" 女."""
    if not isinstance(value, str) or len(value) != 18 or not value[16].isdigit():
        raise Invalid("公民身份号码格式错误，无法判断性别", details={"field": "citizen_id", "value": value})
    return "1" if int(value[16]) % 2 == 1 else "2"


def normalize_citizen_id(value: str) -> str:
    """Upper-case the check character: ``x`` is a common keying variant of ``X``."""
    return value.strip().upper()


def check_citizen_id(value: str, *, today: date | None = None) -> str | None:
    """公民身份号码 (GB 11643-1999), 18 characters.

    Checks, in order: length, 17 digits + digit or X (lower-case ``x`` accepted), 地址码 structure,
    出生日期码 (a real date, from 1900-01-01 up to ``today``), 校验码. The old 15-digit form is refused.
    """
    if not isinstance(value, str) or value == "":
        return "公民身份号码为空"
    if len(value) != 18:
        return f"公民身份号码长度应为18位，实为{len(value)}位"
    body, check = value[:17], value[17]
    if not (body.isdigit() and body.isascii()):
        return "公民身份号码前17位应为数字"
    if check not in "0123456789Xx":
        return "公民身份号码第18位应为数字或X"
    if body[:6] not in _ID_EXTRA_PREFIXES and check_division_code(body[:6]) is not None:
        return f"地址码 {body[:6]} 不是有效的行政区划代码"
    birth = _parse_yyyymmdd(body[6:14])
    if birth is None:
        return f"出生日期无效：{body[6:14]}"
    if birth > (today or date.today()):
        return f"出生日期晚于当前日期：{birth.isoformat()}"
    if birth < _ID_EARLIEST_BIRTH:
        return f"出生日期早于1900年：{birth.isoformat()}"
    expected = citizen_id_check_char(body)
    if check.upper() != expected:
        return f"校验码错误：应为 {expected}"
    return None


def citizen_id_valid(value: str, *, today: date | None = None) -> bool:
    return check_citizen_id(value, today=today) is None


# ---------------------------------------------------------------- 组织机构代码 GB 11714-1997

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = re.compile(r"[0-9A-Z]{8}")
_ORG_CHECK = re.compile(r"[0-9X]")


def _org_char_value(char: str) -> int:
    # GB 11714: digits keep their value, A–Z count 10–35.
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def org_code_check_char(body8: str) -> str:
    """校验码 of a 组织机构代码 from its 8-character 本体代码 (GB 11714-1997)."""
    if not _ORG_BODY.fullmatch(body8):
        raise Invalid("组织机构代码本体应为8位数字或大写字母", details={"field": "org_code", "value": body8})
    total = sum(_org_char_value(char) * weight for char, weight in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def normalize_org_code(value: str) -> str:
    """Drop the hyphen before the check character: ``12345678-9`` → ``123456789``."""
    value = value.strip()
    return value[:8] + value[9:] if len(value) == 10 and value[8] == "-" else value


def check_org_code(value: str) -> str | None:
    """组织机构代码 (GB 11714-1997): 8-character body [0-9A-Z] + check [0-9X], hyphen optional."""
    if not isinstance(value, str) or value == "":
        return "组织机构代码为空"
    if len(value) == 10 and value[8] == "-":
        value = value[:8] + value[9:]
    if len(value) != 9:
        return "组织机构代码应为9位（可写作 XXXXXXXX-X）"
    body, check = value[:8], value[8]
    if not _ORG_BODY.fullmatch(body):
        return "组织机构代码本体应为8位数字或大写字母"
    if not _ORG_CHECK.fullmatch(check):
        return "组织机构代码校验码应为数字或X"
    expected = org_code_check_char(body)
    if check != expected:
        return f"校验码错误：应为 {expected}"
    return None


def org_code_valid(value: str) -> bool:
    return check_org_code(value) is None


# ---------------------------------------------------------------- 统一社会信用代码 GB 32100-2015

#: 代码字符集: digits and capitals without I, O, S, V, Z; a character's value is its index.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {char: index for index, char in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
#: 国家级登记管理机关 register under 100000, which is not a GB/T 2260 province.
_USCC_NATIONAL_DIVISION = "100000"


def uscc_check_char(body17: str) -> str:
    """校验码 (18th character) of a 统一社会信用代码 from its first 17 characters."""
    if len(body17) != 17 or any(char not in _USCC_VALUES for char in body17):
        raise Invalid(
            "统一社会信用代码本体应为17位，字符取自 0-9 及除 I、O、S、V、Z 外的大写字母",
            details={"field": "uscc", "value": body17},
        )
    total = sum(_USCC_VALUES[char] * weight for char, weight in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_org_code(value: str) -> str:
    """主体标识码 (chars 9–17), which is the GB 11714 组织机构代码 of the body, without hyphen."""
    if not isinstance(value, str) or len(value) != 18:
        raise Invalid("统一社会信用代码应为18位", details={"field": "uscc", "value": value})
    return value[8:17]


def check_uscc(value: str) -> str | None:
    """统一社会信用代码 (GB 32100-2015), 18 characters, upper case.

    Checks, in order: length, character set, 登记管理部门码, 机构类别码 (per department),
    登记管理机关行政区划码 (chars 3–8), 主体标识码 as a valid 组织机构代码 (chars 9–17), 校验码.
    """
    if not isinstance(value, str) or value == "":
        return "统一社会信用代码为空"
    if len(value) != 18:
        return f"统一社会信用代码长度应为18位，实为{len(value)}位"
    for position, char in enumerate(value, start=1):
        if char not in _USCC_VALUES:
            if char.islower():
                return f"第{position}位 {char!r} 为小写字母，统一社会信用代码应为大写"
            return f"第{position}位含非法字符 {char!r}（不使用 I、O、S、V、Z）"
    department, category = value[0], value[1]
    if department not in USCC_REGISTRATION_DEPARTMENTS:
        return f"登记管理部门码 {department} 无效"
    if category not in USCC_ORG_CATEGORIES[department]:
        department_name = USCC_REGISTRATION_DEPARTMENTS.entries[department]
        return f"机构类别码 {category} 不属于登记管理部门 {department}（{department_name}）"
    division = value[2:8]
    if division != _USCC_NATIONAL_DIVISION and check_division_code(division) is not None:
        return f"登记管理机关行政区划码 {division} 无效"
    org_reason = check_org_code(value[8:17])
    if org_reason is not None:
        return f"主体标识码（组织机构代码）无效：{org_reason}"
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        return f"校验码错误：应为 {expected}"
    return None


def uscc_valid(value: str) -> bool:
    return check_uscc(value) is None


# ---------------------------------------------------------------- 手机号码

_MOBILE = re.compile(r"1[3-9]\d{9}")
_MOBILE_SEPARATORS = re.compile(r"[\s\-]")


def normalize_mobile(value: str) -> str:
    """Strip spaces and hyphens and a leading +86 / 0086 / 86 country code.

    Accepted spellings of one number: ``13812345678``, ``138-1234-5678``, ``138 1234 5678``,
    ``+86 138 1234 5678``, ``+86-13812345678``, ``008613812345678``, ``8613812345678``.
    """
    digits = _MOBILE_SEPARATORS.sub("", value)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            return digits[len(prefix) :]
    # A bare "86" prefix is only a country code when 11 digits follow it.
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def check_mobile(value: str) -> str | None:
    """中国大陆手机号码: 11 digits ``1[3-9]xxxxxxxxx`` after ``normalize_mobile``."""
    if not isinstance(value, str) or value.strip() == "":
        return "手机号码为空"
    number = normalize_mobile(value)
    if number and not (number.isdigit() and number.isascii()):
        return "手机号码只能含数字、空格、连字符和 +86 前缀"
    if len(number) != 11:
        return f"手机号码应为11位，实为{len(number)}位"
    if not _MOBILE.fullmatch(number):
        return "手机号码号段无效：应以13–19开头"
    return None


def mobile_valid(value: str) -> bool:
    return check_mobile(value) is None


# ---------------------------------------------------------------- 经纬度 (CGCS2000)

#: Bounding box of China's territory in decimal degrees; generous by under a degree on each side.
CHINA_LONGITUDE = (73.0, 136.0)
CHINA_LATITUDE = (3.0, 54.0)


def _parse_degrees(value: str | float, label: str) -> float | str:
    if isinstance(value, bool):
        return f"{label}应为十进制度数"
    if isinstance(value, int | float):
        number = float(value)
    else:
        if not isinstance(value, str) or value.strip() == "":
            return f"{label}为空"
        try:
            number = float(value.strip())
        except ValueError:
            return f"{label}应为十进制度数"
    if number != number or number in (float("inf"), float("-inf")):
        return f"{label}应为有限数值"
    return number


def check_longitude(value: str | float, *, china: bool = True) -> str | None:
    """经度 in decimal degrees: within [-180, 180]; with ``china`` (default) also within [73, 136]."""
    number = _parse_degrees(value, "经度")
    if isinstance(number, str):
        return number
    if not -180.0 <= number <= 180.0:
        return f"经度 {number:g} 超出 [-180, 180]"
    low, high = CHINA_LONGITUDE
    if china and not low <= number <= high:
        return f"经度 {number:g} 不在中国范围 [{low:g}, {high:g}] 内"
    return None


def check_latitude(value: str | float, *, china: bool = True) -> str | None:
    """纬度 in decimal degrees: within [-90, 90]; with ``china`` (default) also within [3, 54]."""
    number = _parse_degrees(value, "纬度")
    if isinstance(number, str):
        return number
    if not -90.0 <= number <= 90.0:
        return f"纬度 {number:g} 超出 [-90, 90]"
    low, high = CHINA_LATITUDE
    if china and not low <= number <= high:
        return f"纬度 {number:g} 不在中国范围 [{low:g}, {high:g}] 内"
    return None


def longitude_valid(value: str | float, *, china: bool = True) -> bool:
    return check_longitude(value, china=china) is None


def latitude_valid(value: str | float, *, china: bool = True) -> bool:
    return check_latitude(value, china=china) is None


# ---------------------------------------------------------------- 日期

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_BASIC_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(value: str) -> date | None:
    """``YYYY-MM-DD`` (ISO 8601 extended) or ``YYYYMMDD`` (basic, as in GB/T 7408 data elements)."""
    if not isinstance(value, str):
        return None
    match = _ISO_DATE.fullmatch(value) or _BASIC_DATE.fullmatch(value)
    if match is None or not value.isascii():
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def check_date(value: str) -> str | None:
    """日期 as ``YYYY-MM-DD`` or ``YYYYMMDD``, and a real calendar date."""
    if not isinstance(value, str) or value == "":
        return "日期为空"
    if not value.isascii() or not (_ISO_DATE.fullmatch(value) or _BASIC_DATE.fullmatch(value)):
        return "日期格式应为 YYYY-MM-DD 或 YYYYMMDD"
    if parse_date(value) is None:
        return f"日期不存在：{value}"
    return None


def date_valid(value: str) -> bool:
    return check_date(value) is None


# ---------------------------------------------------------------- 金额

_AMOUNT = re.compile(r"\d+(\.\d+)?")


def check_amount(value: str | Decimal | int) -> str | None:
    """金额 (元): a non-negative decimal with at most two fractional digits, no thousands separators."""
    if isinstance(value, bool):
        return "金额格式无效"
    if isinstance(value, int | Decimal):
        value = str(value)
    if not isinstance(value, str) or value.strip() == "":
        return "金额为空"
    text = value.strip()
    if text.startswith("-"):
        try:
            Decimal(text)
        except InvalidOperation:
            return "金额格式无效"
        return "金额不能为负数"
    if not (text.isascii() and _AMOUNT.fullmatch(text)):
        return "金额格式无效：应为数字，可带最多两位小数"
    fraction = text.partition(".")[2]
    if len(fraction) > 2:
        return "金额最多两位小数"
    return None


def amount_valid(value: str | Decimal | int) -> bool:
    return check_amount(value) is None


# ---------------------------------------------------------------- registry

#: Checks by name, for rules that reference a check in configuration.
CHECKS: dict[str, Check] = {
    "citizen_id": check_citizen_id,
    "uscc": check_uscc,
    "org_code": check_org_code,
    "division_code": check_division_code,
    "mobile": check_mobile,
    "date": check_date,
    "amount": check_amount,
    "longitude": check_longitude,
    "latitude": check_latitude,
}


def get_check(name: str) -> Check:
    """The check registered under ``name``; raises ``Invalid`` listing the known names."""
    try:
        return CHECKS[name]
    except KeyError:
        raise Invalid(f"未知的校验规则：{name!r}", details={"field": "check", "known": sorted(CHECKS)}) from None
