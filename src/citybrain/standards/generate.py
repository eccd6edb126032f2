"""Deterministic generators of standard-conforming demo values, and ``corrupt_*`` helpers.

Every function takes a ``random.Random`` first, so a seed reproduces a whole demo data set.
Generated values pass the matching check in ``citybrain.standards.checks``; each ``corrupt_*``
helper introduces exactly one named defect, and the ``*_DEFECTS`` tables say which reason the
check then gives (a substring of it), so demo data and tests can assert on the defect they planted.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Literal

from citybrain.errors import Invalid
from citybrain.standards.checks import (
    USCC_CHARSET,
    citizen_id_check_char,
    org_code_check_char,
    uscc_check_char,
)
from citybrain.standards.codelists import USCC_ORG_CATEGORIES, USCC_REGISTRATION_DEPARTMENTS

#: Default 行政区划代码 for demo data: 溧阳市.
DEFAULT_DIVISION = "320481"

_DIGITS = "0123456789"
_USCC_LETTERS = USCC_CHARSET[10:]


def _replace(value: str, index: int, char: str) -> str:
    return value[:index] + char + value[index + 1 :]


def _other_char(rng: random.Random, alphabet: str, current: str) -> str:
    return rng.choice([char for char in alphabet if char != current])


def _invalid_province_prefix(rng: random.Random) -> str:
    # 00 and 90–99 are never GB/T 2260 province codes.
    return rng.choice(["00", "90", "96", "99"]) + "".join(rng.choices(_DIGITS, k=4))


# ---------------------------------------------------------------- 公民身份号码


def birth_date(rng: random.Random, start: date = date(1940, 1, 1), end: date = date(2010, 12, 31)) -> date:
    """A birth date drawn uniformly from ``start``..``end`` inclusive."""
    if end < start:
        raise Invalid("出生日期范围无效：结束早于开始", details={"field": "birth_date", "start": start, "end": end})
    return date.fromordinal(rng.randint(start.toordinal(), end.toordinal()))


def citizen_id(
    rng: random.Random,
    *,
    division: str = DEFAULT_DIVISION,
    birth: date | None = None,
    sex: str | None = None,
) -> str:
    """A valid 公民身份号码 for 地址码 ``division``, 出生日期 ``birth`` and 性别 ``sex`` ("1" 男 / "2" 女).

    Unspecified birth date and sex are drawn from ``rng``.
    """
    if len(division) != 6 or not division.isdigit():
        raise Invalid("地址码应为6位行政区划代码", details={"field": "division", "value": division})
    if sex is None:
        sex = rng.choice("12")
    if sex not in ("1", "2"):
        raise Invalid("性别应为 1（男）或 2（女）", details={"field": "sex", "value": sex})
    if birth is None:
        birth = birth_date(rng)
    sequence = f"{rng.randint(0, 99):02d}"
    # 顺序码's last digit carries the sex: odd for men, even for women.
    sex_digit = rng.choice("13579" if sex == "1" else "02468")
    body = f"{division}{birth:%Y%m%d}{sequence}{sex_digit}"
    return body + citizen_id_check_char(body)


CitizenIdDefect = Literal[
    "check_char",
    "birth_date_invalid",
    "birth_date_future",
    "birth_date_too_early",
    "division",
    "length",
    "non_digit",
]

#: Defect → text the reason from ``check_citizen_id`` contains.
CITIZEN_ID_DEFECTS: dict[str, str] = {
    "check_char": "校验码错误",
    "birth_date_invalid": "出生日期无效",
    "birth_date_future": "出生日期晚于当前日期",
    "birth_date_too_early": "出生日期早于1900年",
    "division": "不是有效的行政区划代码",
    "length": "长度应为18位",
    "non_digit": "前17位应为数字",
}


def _with_body(body: str) -> str:
    return body + citizen_id_check_char(body)


def corrupt_citizen_id(rng: random.Random, value: str, defect: CitizenIdDefect, *, today: date | None = None) -> str:
    """``value`` (a valid 公民身份号码) with exactly one defect; the check char is kept right otherwise."""
    body = value[:17]
    today = today or date.today()
    match defect:
        case "check_char":
            return body + _other_char(rng, "0123456789X", value[17].upper())
        case "birth_date_invalid":
            year = body[6:10]
            impossible = rng.choice(["0230", "1301", "0000", "0431", "0632", "0015"])
            return _with_body(body[:6] + year + impossible + body[14:])
        case "birth_date_future":
            future = today + timedelta(days=rng.randint(1, 3650))
            return _with_body(f"{body[:6]}{future:%Y%m%d}{body[14:]}")
        case "birth_date_too_early":
            early = date(rng.randint(1800, 1899), rng.randint(1, 12), rng.randint(1, 28))
            return _with_body(f"{body[:6]}{early:%Y%m%d}{body[14:]}")
        case "division":
            return _with_body(_invalid_province_prefix(rng) + body[6:])
        case "length":
            return value[:-1] if rng.random() < 0.5 else value + rng.choice(_DIGITS)
        case "non_digit":
            return _replace(value, rng.randrange(17), rng.choice("ABCDEFGHJK"))
    raise Invalid(f"未知的缺陷类型：{defect!r}", details={"field": "defect", "known": sorted(CITIZEN_ID_DEFECTS)})


def shift_citizen_id_birth_date(value: str, days: int) -> str:
    """A still-valid 公民身份号码 whose 出生日期 is moved by ``days``.

    For cross-field demos: the number itself passes, but it disagrees with the person's recorded
    出生日期 (or age), which only a consistency rule catches.
    """
    born = date(int(value[6:10]), int(value[10:12]), int(value[12:14])) + timedelta(days=days)
    return _with_body(f"{value[:6]}{born:%Y%m%d}{value[14:17]}")


# ---------------------------------------------------------------- 组织机构代码


def _org_body(rng: random.Random) -> str:
    # Codes issued since the 2015 reform begin "MA"; older ones are mostly digits.
    if rng.random() < 0.5:
        return "MA" + "".join(rng.choices(_DIGITS + _USCC_LETTERS, k=6))
    return "".join(rng.choices(_DIGITS, k=8))


def org_code(rng: random.Random, *, hyphen: bool = False) -> str:
    """A valid 组织机构代码 (GB 11714), optionally written ``XXXXXXXX-X``."""
    body = _org_body(rng)
    return f"{body}{'-' if hyphen else ''}{org_code_check_char(body)}"


OrgCodeDefect = Literal["check_char", "length", "illegal_char"]

#: Defect → text the reason from ``check_org_code`` contains.
ORG_CODE_DEFECTS: dict[str, str] = {
    "check_char": "校验码错误",
    "length": "组织机构代码应为9位",
    "illegal_char": "本体应为8位数字或大写字母",
}


def corrupt_org_code(rng: random.Random, value: str, defect: OrgCodeDefect) -> str:
    """``value`` (a valid 组织机构代码 without hyphen) with exactly one defect."""
    match defect:
        case "check_char":
            return value[:8] + _other_char(rng, "0123456789X", value[8])
        case "length":
            return value[:-1] if rng.random() < 0.5 else value + rng.choice(_DIGITS)
        case "illegal_char":
            return _replace(value, rng.randrange(8), rng.choice("abcxyz*#"))
    raise Invalid(f"未知的缺陷类型：{defect!r}", details={"field": "defect", "known": sorted(ORG_CODE_DEFECTS)})


# ---------------------------------------------------------------- 统一社会信用代码


def uscc(
    rng: random.Random,
    *,
    division: str = DEFAULT_DIVISION,
    department: str = "9",
    category: str = "1",
) -> str:
    """A valid 统一社会信用代码 for 登记管理机关 ``division``, 登记管理部门码 and 机构类别码.

    Defaults give a 工商-registered 企业 in 溧阳市 (``91320481…``).
    """
    if department not in USCC_REGISTRATION_DEPARTMENTS:
        raise Invalid(f"登记管理部门码 {department!r} 无效", details={"field": "department", "value": department})
    if category not in USCC_ORG_CATEGORIES[department]:
        raise Invalid(
            f"机构类别码 {category!r} 不属于登记管理部门 {department}",
            details={"field": "category", "value": category, "department": department},
        )
    if len(division) != 6 or not division.isdigit():
        raise Invalid("登记管理机关行政区划码应为6位数字", details={"field": "division", "value": division})
    body = _org_body(rng)
    head = f"{department}{category}{division}{body}{org_code_check_char(body)}"
    return head + uscc_check_char(head)


UsccDefect = Literal[
    "check_char", "illegal_char", "lowercase", "department", "category", "division", "org_code", "length"
]

#: Defect → text the reason from ``check_uscc`` contains.
USCC_DEFECTS: dict[str, str] = {
    "check_char": "校验码错误",
    "illegal_char": "非法字符",
    "lowercase": "小写字母",
    "department": "登记管理部门码",
    "category": "机构类别码",
    "division": "登记管理机关行政区划码",
    "org_code": "主体标识码",
    "length": "长度应为18位",
}


def _with_uscc_check(head: str) -> str:
    return head + uscc_check_char(head)


def corrupt_uscc(rng: random.Random, value: str, defect: UsccDefect) -> str:
    """``value`` (a valid 统一社会信用代码) with exactly one defect; the 18th char is recomputed otherwise."""
    head = value[:17]
    match defect:
        case "check_char":
            return head + _other_char(rng, USCC_CHARSET, value[17])
        case "illegal_char":
            return _replace(value, rng.randrange(18), rng.choice("IOSVZ"))
        case "lowercase":
            return _replace(value, rng.randrange(18), rng.choice(_USCC_LETTERS.lower()))
        case "department":
            unused = [char for char in USCC_CHARSET if char not in USCC_REGISTRATION_DEPARTMENTS]
            return _with_uscc_check(rng.choice(unused) + head[1:])
        case "category":
            categories = USCC_ORG_CATEGORIES[head[0]]
            return _with_uscc_check(head[0] + rng.choice([c for c in USCC_CHARSET if c not in categories]) + head[2:])
        case "division":
            return _with_uscc_check(head[:2] + _invalid_province_prefix(rng) + head[8:])
        case "org_code":
            wrong = _other_char(rng, "0123456789X", head[16])
            return _with_uscc_check(head[:16] + wrong)
        case "length":
            return value[:-1] if rng.random() < 0.5 else value + rng.choice(_DIGITS)
    raise Invalid(f"未知的缺陷类型：{defect!r}", details={"field": "defect", "known": sorted(USCC_DEFECTS)})


# ---------------------------------------------------------------- 手机号码

#: Mainland mobile number segments (号段) allocated to operators; enough for plausible demo data.
MOBILE_PREFIXES: tuple[str, ...] = (
    *(f"13{d}" for d in range(10)),
    "145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "166", "170", "171", "173", "175", "176", "177", "178",
    *(f"18{d}" for d in range(10)),
    "190", "191", "193", "195", "196", "197", "198", "199",
)  # fmt: skip

MobileStyle = Literal["plain", "spaced", "hyphen", "+86"]


def mobile(rng: random.Random, *, style: MobileStyle = "plain") -> str:
    """A plausible 手机号码: a real 号段 and 8 random digits, in one of the accepted spellings."""
    number = rng.choice(MOBILE_PREFIXES) + "".join(rng.choices(_DIGITS, k=8))
    match style:
        case "plain":
            return number
        case "spaced":
            return f"{number[:3]} {number[3:7]} {number[7:]}"
        case "hyphen":
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        case "+86":
            return f"+86 {number}"
    raise Invalid(f"未知的号码格式：{style!r}", details={"field": "style"})


MobileDefect = Literal["length", "prefix", "letter"]

#: Defect → text the reason from ``check_mobile`` contains.
MOBILE_DEFECTS: dict[str, str] = {
    "length": "手机号码应为11位",
    "prefix": "号段无效",
    "letter": "只能含数字",
}


def corrupt_mobile(rng: random.Random, value: str, defect: MobileDefect) -> str:
    """``value`` (a plain 11-digit 手机号码) with exactly one defect."""
    match defect:
        case "length":
            return value[:-1] if rng.random() < 0.5 else value + rng.choice(_DIGITS)
        case "prefix":
            return value[0] + rng.choice("012") + value[2:]
        case "letter":
            return _replace(value, rng.randrange(1, 11), rng.choice("OolI"))
    raise Invalid(f"未知的缺陷类型：{defect!r}", details={"field": "defect", "known": sorted(MOBILE_DEFECTS)})
