"""管理部件和事项 codes (GB/T 47678.5-2026) and the identifiers built from them.

GB/T 47678.5-2026《城市运行管理服务平台 第5部分：管理部件和事项》 lists 153 管理部件 (附录 A 表 A.1)
and 250 管理事项 (附录 C 表 C.1). Both use a five-digit code, 2-digit 大类 + 3-digit 小类, and the two
lists share the code space (部件 01037 路灯 and 事项 01037 路灯异常), so a code is only unique as
(kind, code, edition). 事项 大类 01–05 mirror the 部件 大类: each 部件 has an "…异常" 事项 with the same code.

Identifiers:

* 部件标识码 (GLBJBSM), 17 digits = 6-digit 行政区划代码 (GB/T 2260) + 2 大类 + 3 小类 + 6-digit 流水号.
  The CJ/T 214-2007 form it replaces has 16 digits, with a 2-digit 小类 (e.g. ``3205080101000001``).
* 事项代码 (SXDM), 11 digits = 6-digit 行政区划代码 + 2 大类 + 3 小类.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal

from citybrain.errors import Invalid

Kind = Literal["部件", "事项"]
KINDS: tuple[Kind, ...] = ("部件", "事项")

#: The edition ``load_codes()`` returns when none is named.
CURRENT_EDITION = "GB/T 47678.5-2026"
#: Reference data per edition; a later edition is a new file beside it, never an edit of this one.
_EDITION_FILES: Mapping[str, str] = MappingProxyType({"GB/T 47678.5-2026": "gb47678_5_2026.json"})

_CODE = re.compile(r"\d{5}")
_DIVISION = re.compile(r"\d{6}")


@dataclass(frozen=True)
class LegacyAlias:
    """The same class under an older standard (CJ/T 214-2007 4-digit 部件 code)."""

    standard: str
    code: str
    name: str
    #: True where a public sample confirms the mapping; False where it follows the standard's order only.
    verified: bool


@dataclass(frozen=True)
class CaseCode:
    """One 管理部件 or 管理事项 class (小类)."""

    kind: Kind
    code: str
    name: str
    major: str
    major_name: str
    edition: str
    legacy: tuple[LegacyAlias, ...] = ()

    @property
    def minor(self) -> str:
        """3-digit 小类 part of the code."""
        return self.code[2:]

    @property
    def key(self) -> tuple[Kind, str, str]:
        """(kind, code, edition): the only combination that is unique."""
        return (self.kind, self.code, self.edition)


class CodeBook:
    """All 部件 and 事项 classes of one edition, with lookups by code, legacy alias and name."""

    def __init__(
        self,
        edition: str,
        title: str,
        codes: list[CaseCode],
        majors: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.edition = edition
        self.title = title
        self._by_key: dict[tuple[str, str], CaseCode] = {}
        for entry in codes:
            if (entry.kind, entry.code) in self._by_key:
                raise Invalid(
                    f"{edition} 中 {entry.kind} 代码 {entry.code} 重复",
                    details={"field": "code", "value": entry.code},
                )
            self._by_key[(entry.kind, entry.code)] = entry
        self._majors = MappingProxyType({kind: MappingProxyType(dict(m)) for kind, m in majors.items()})
        self._by_alias = {alias.code: entry for entry in codes for alias in entry.legacy}
        self._by_name = {(entry.kind, entry.name): entry for entry in codes}

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[CaseCode]:
        return iter(self._by_key.values())

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, kind: str, code: str) -> CaseCode:
        """The class for (kind, code); raises ``Invalid`` naming the field when either is unknown."""
        if kind not in KINDS:
            raise Invalid(f"类型 {kind!r} 无效，应为 部件 或 事项", details={"field": "kind", "value": kind})
        code = code.strip()
        if not _CODE.fullmatch(code):
            raise Invalid(
                f"{kind}代码 {code!r} 应为 5 位数字（2 位大类 + 3 位小类）",
                details={"field": "code", "value": code},
            )
        try:
            return self._by_key[(kind, code)]
        except KeyError:
            raise Invalid(
                f"{kind}代码 {code} 不在 {self.edition} 中", details={"field": "code", "value": code, "kind": kind}
            ) from None

    def find(self, kind: str, code: str) -> CaseCode | None:
        """Like ``get`` but ``None`` when absent."""
        return self._by_key.get((kind, code))

    def by_alias(self, legacy_code: str) -> CaseCode:
        """The 部件 class that a CJ/T 214 4-digit code (``0101``) maps to; ``Invalid`` when not known."""
        legacy_code = legacy_code.strip()
        try:
            return self._by_alias[legacy_code]
        except KeyError:
            raise Invalid(
                f"旧标准部件代码 {legacy_code!r} 没有已知的 {self.edition} 对应代码",
                details={"field": "legacy_code", "value": legacy_code},
            ) from None

    def by_name(self, kind: str, name: str) -> CaseCode | None:
        """Exact name lookup (names as printed in the standard, full-width brackets included)."""
        return self._by_name.get((kind, name.strip()))

    def parts(self) -> list[CaseCode]:
        """The 管理部件 classes in the standard's order."""
        return [entry for entry in self._by_key.values() if entry.kind == "部件"]

    def items(self) -> list[CaseCode]:
        """The 管理事项 classes in the standard's order."""
        return [entry for entry in self._by_key.values() if entry.kind == "事项"]

    def majors(self, kind: str) -> Mapping[str, str]:
        """大类 code → 大类 name for ``kind``."""
        return self._majors[kind]

    def part_for(self, item: CaseCode) -> CaseCode | None:
        """The 部件 an "…异常" 事项 (大类 01–05) is about, or ``None`` for 事项 that concern no 部件."""
        if item.kind != "事项":
            return None
        return self._by_key.get(("部件", item.code))


def load_codes(edition: str | None = None) -> CodeBook:
    """Load the code book for ``edition`` (default: the current one). Cached: the data never changes."""
    return _load(edition or CURRENT_EDITION)


@cache
def _load(edition: str) -> CodeBook:
    try:
        filename = _EDITION_FILES[edition]
    except KeyError:
        raise Invalid(
            f"不支持的标准版本：{edition!r}", details={"field": "edition", "known": sorted(_EDITION_FILES)}
        ) from None
    raw = json.loads(resources.files("citybrain.cases").joinpath("data", filename).read_text("utf-8"))
    legacy_standard = raw.get("legacy_standard", "")
    codes = [
        CaseCode(
            kind=row["kind"],
            code=row["code"],
            name=row["name"],
            major=row["major"],
            major_name=row["major_name"],
            edition=raw["edition"],
            legacy=tuple(
                LegacyAlias(legacy_standard, alias["code"], alias["name"], bool(alias.get("verified")))
                for alias in row.get("legacy", ())
            ),
        )
        for row in raw["codes"]
    ]
    return CodeBook(raw["edition"], raw["title"], codes, raw["majors"])


# ---------------------------------------------------------------------------------------------------
# 部件标识码 and 事项代码


@dataclass(frozen=True)
class ComponentId:
    """A parsed 部件标识码. ``legacy`` is True for the 16-digit CJ/T 214 form (2-digit 小类)."""

    division: str
    major: str
    minor: str
    sequence: str
    legacy: bool = False

    @property
    def class_code(self) -> str:
        """大类 + 小类: 5 digits, or 4 for the legacy form."""
        return self.major + self.minor

    def __str__(self) -> str:
        return self.division + self.major + self.minor + self.sequence

    def upgraded(self, book: CodeBook | None = None) -> ComponentId:
        """The 17-digit form of a legacy ID, through the known CJ/T 214 alias; ``Invalid`` when unknown."""
        if not self.legacy:
            return self
        part = (book or load_codes()).by_alias(self.class_code)
        return ComponentId(self.division, part.code[:2], part.code[2:], self.sequence)


def _check_division(division: str, label: str, field: str) -> None:
    # Only the shape is checked: the 行政区划 list changes yearly and lives in its own module.
    if not _DIVISION.fullmatch(division) or division.startswith("00"):
        raise Invalid(
            f"{label}中的行政区划代码 {division!r} 应为 6 位有效数字 (GB/T 2260)",
            details={"field": field, "value": division},
        )


def parse_component_id(value: str, book: CodeBook | None = None) -> ComponentId:
    """Parse a 17-digit 部件标识码 (or a 16-digit CJ/T 214 one) and check its class is a known 部件.

    For the legacy form the 4-digit class code is not checked against the current edition, because most
    legacy classes have no confirmed mapping; call ``ComponentId.upgraded`` to convert.
    """
    field = "部件标识码"
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) not in (16, 17):
        raise Invalid(
            f"{field} {text!r} 应为 17 位数字（6 位行政区划 + 2 位大类 + 3 位小类 + 6 位流水号）",
            details={"field": "component_id", "value": text},
        )
    division, major = text[:6], text[6:8]
    _check_division(division, field, "component_id")
    if len(text) == 16:
        return ComponentId(division, major, text[8:10], text[10:], legacy=True)
    parsed = ComponentId(division, major, text[8:11], text[11:])
    (book or load_codes()).get("部件", parsed.class_code)
    return parsed


def make_component_id(division: str, code: str, sequence: int | str, book: CodeBook | None = None) -> str:
    """Build a 17-digit 部件标识码 from 行政区划代码, 部件代码 and 流水号 (1–999999)."""
    _check_division(division, "部件标识码", "division")
    (book or load_codes()).get("部件", code)
    seq = int(sequence)
    if not 1 <= seq <= 999_999:
        raise Invalid(f"部件流水号 {sequence!r} 应在 1–999999 之间", details={"field": "sequence", "value": sequence})
    return f"{division}{code}{seq:06d}"


@dataclass(frozen=True)
class MatterCode:
    """A parsed 11-digit 事项代码 (SXDM)."""

    division: str
    code: str

    def __str__(self) -> str:
        return self.division + self.code


def parse_matter_code(value: str, book: CodeBook | None = None) -> MatterCode:
    """Parse an 11-digit 事项代码 and check the 事项 class exists."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) != 11:
        raise Invalid(
            f"事项代码 {text!r} 应为 11 位数字（6 位行政区划 + 2 位大类 + 3 位小类）",
            details={"field": "matter_code", "value": text},
        )
    _check_division(text[:6], "事项代码", "matter_code")
    (book or load_codes()).get("事项", text[6:])
    return MatterCode(text[:6], text[6:])


def make_matter_code(division: str, code: str, book: CodeBook | None = None) -> str:
    """Build an 11-digit 事项代码 from 行政区划代码 and 事项代码."""
    _check_division(division, "事项代码", "division")
    (book or load_codes()).get("事项", code)
    return division + code
