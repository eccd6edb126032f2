"""Check-digit algorithms as Ibis expressions, so they run column-wise on any engine.

- 公民身份号码 (GB 11643-1999): 17 digits + 校验码; weights 2^(17-i) mod 11, check = (12 - Σ mod 11) mod 11,
  10 is written ``X`` (a lower-case ``x`` is accepted, it is how many forms store it).
- 统一社会信用代码 (GB 32100-2015): 18 characters over a 31-symbol alphabet (no I, O, S, V, Z); weights
  3^(i) mod 31, check = (31 - Σ mod 31) mod 31.
- 组织机构代码 (GB 11714-1997): 8 body characters (digits, A–Z) + 校验码, optionally ``XXXXXXXX-X``;
  weights 3 7 9 10 5 8 4 2, check = 11 - Σ mod 11, 10 → ``X``, 11 → ``0``.

Letters are turned into values by their position in an alphabet literal (``find``), which compiles
to ``strpos``/``locate`` and never raises on bad input, unlike a cast (Spark's ANSI mode fails the whole
query on one malformed string). Each ``*_valid`` function is null where the input is null, otherwise
true or false; the format check guards the arithmetic so malformed values are simply invalid.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

CITIZEN_ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: indexed by Σ mod 11 — the check character GB 11643 assigns to each remainder
CITIZEN_ID_CHECK_CHARS = "10X98765432"
CITIZEN_ID_PATTERN = r"^[0-9]{17}[0-9Xx]$"

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"

ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ORG_CODE_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
#: indexed by 11 - Σ mod 11 (1..11); position 0 is never used
ORG_CODE_CHECK_CHARS = "?123456789X0"
ORG_CODE_PATTERN = r"^[0-9A-Z]{8}-?[0-9X]$"


def _weighted_sum(value: ir.StringValue, alphabet: str, weights: tuple[int, ...]) -> ir.IntegerValue:
    """Σ weight_i × value(char_i), the value being the character's index in ``alphabet``."""
    if alphabet == "0123456789":
        # a digit's value is its code point minus ord("0"): twice as fast as a lookup, and ``ascii`` never
        # raises either (the format check guards what a non-digit would add)
        terms = [(value.substr(i, 1).ascii_str() - 48) * w for i, w in enumerate(weights)]
    else:
        table = ibis.literal(alphabet)
        terms = [table.find(value.substr(i, 1)) * w for i, w in enumerate(weights)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _keep_null(value: ir.StringValue, ok: ir.BooleanValue) -> ir.BooleanValue:
    # ``null & false`` is false in SQL; callers rely on "null in, null out" to skip missing values
    return value.notnull().ifelse(ok.fill_null(False), ibis.null().cast("boolean"))


def citizen_id_check_char(value: ir.StringValue) -> ir.StringValue:
    """The 校验码 the first 17 digits of a 公民身份号码 call for (meaningless unless they are digits)."""
    remainder = _weighted_sum(value, "0123456789", CITIZEN_ID_WEIGHTS) % 11
    return ibis.literal(CITIZEN_ID_CHECK_CHARS).substr(remainder, 1)


def citizen_id_birth_digits(value: ir.StringValue) -> ir.StringValue:
    """出生日期码: characters 7–14 (``YYYYMMDD``) of an 18-character 公民身份号码."""
    return value.substr(6, 8)


def citizen_id_birth_date(value: ir.StringValue) -> ir.DateValue:
    """The 出生日期码 as a date, null where it is not a calendar date (e.g. ``19900230``)."""
    digits = citizen_id_birth_digits(value)
    iso = digits.substr(0, 4).concat("-", digits.substr(4, 2), "-", digits.substr(6, 2))
    return iso.try_cast("date")


def citizen_id_sex_code(value: ir.StringValue) -> ir.StringValue:
    """GB/T 2261.1 性别代码 from 顺序码: odd 17th digit → ``"1"`` (男), even → ``"2"`` (女)."""
    odd = ibis.literal("13579").find(value.substr(16, 1)) >= 0
    return odd.ifelse("1", "2")


def citizen_id_well_formed(value: ir.StringValue) -> ir.BooleanValue:
    """18 characters: 17 digits then a digit or X/x (no check-digit arithmetic)."""
    return value.re_search(CITIZEN_ID_PATTERN)


def citizen_id_valid(value: ir.StringValue, *, check_birth_date: bool = True) -> ir.BooleanValue:
    """公民身份号码 (GB 11643) is well formed and its 校验码 matches; optionally its 出生日期码 is a real date."""
    ok = citizen_id_well_formed(value) & (value.substr(17, 1).upper() == citizen_id_check_char(value))
    if check_birth_date:
        ok = ok & citizen_id_birth_date(value).notnull()
    return _keep_null(value, ok)


def uscc_check_char(value: ir.StringValue) -> ir.StringValue:
    """The 校验码 the first 17 characters of a 统一社会信用代码 call for."""
    check = (31 - _weighted_sum(value, USCC_ALPHABET, USCC_WEIGHTS) % 31) % 31
    return ibis.literal(USCC_ALPHABET).substr(check, 1)


def uscc_valid(value: ir.StringValue) -> ir.BooleanValue:
    """统一社会信用代码 (GB 32100) is well formed and its 校验码 matches."""
    return _keep_null(value, value.re_search(USCC_PATTERN) & (value.substr(17, 1) == uscc_check_char(value)))


def org_code_check_char(value: ir.StringValue) -> ir.StringValue:
    """The 校验码 the 8 body characters of a 组织机构代码 call for."""
    check = 11 - _weighted_sum(value, ORG_CODE_ALPHABET, ORG_CODE_WEIGHTS) % 11
    return ibis.literal(ORG_CODE_CHECK_CHARS).substr(check, 1)


def org_code_valid(value: ir.StringValue) -> ir.BooleanValue:
    """组织机构代码 (GB 11714) is well formed (with or without the hyphen) and its 校验码 matches."""
    last = value.substr(value.length() - 1, 1)
    return _keep_null(value, value.re_search(ORG_CODE_PATTERN) & (last == org_code_check_char(value)))


#: scheme name used in rule definitions → validity expression
SCHEMES = {
    "citizen_id": citizen_id_valid,
    "uscc": uscc_valid,
    "org_code": org_code_valid,
}
