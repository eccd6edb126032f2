"""The 常州 administrative-division tree (行政区划): 市 → 区/县级市 → 街道/镇 → 社区/村.

Codes nest by prefix: 320400 常州市; six-digit district codes (GB/T 2260, e.g. 320481 溧阳市);
nine-digit street/town codes = district + 3 digits; twelve-digit community/village codes =
street + 3 digits (the 统计用区划代码 layout). The data lives in ``data/changzhou_divisions.json``;
its ``notes`` say which entries follow published codes and which are demo data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

from citybrain.errors import Invalid, NotFound

Level = Literal["city", "district", "street", "community"]

#: Levels from the root down.
LEVELS: tuple[Level, ...] = ("city", "district", "street", "community")
LEVEL_NAMES: dict[Level, str] = {
    "city": "市",
    "district": "区县",
    "street": "街道乡镇",
    "community": "社区村",
}
CITY_CODE = "320400"

_DATA_FILE = "changzhou_divisions.json"


@dataclass(frozen=True, slots=True)
class Division:
    """One 行政区划: ``parent_code`` is ``None`` only for the city."""

    code: str
    name: str
    level: Level
    parent_code: str | None


@dataclass(frozen=True)
class _Tree:
    ordered: tuple[Division, ...]
    by_code: MappingProxyType[str, Division]
    children: MappingProxyType[str, tuple[Division, ...]]


def level_for_code(code: str) -> Level | None:
    """Level implied by a code's shape (city ``xxxx00``, district 6 digits, street 9, community 12)."""
    if not isinstance(code, str) or not code.isdigit() or not code.isascii():
        return None
    match len(code):
        case 6:
            return "city" if code.endswith("00") else "district"
        case 9:
            return "street"
        case 12:
            return "community"
    return None


def _build(raw: dict[str, Any]) -> _Tree:
    ordered: list[Division] = [Division(raw["code"], raw["name"], "city", None)]
    for district in raw["districts"]:
        ordered.append(Division(district["code"], district["name"], "district", raw["code"]))
        for street in district["streets"]:
            ordered.append(Division(street["code"], street["name"], "street", district["code"]))
            ordered.extend(
                Division(code, name, "community", street["code"]) for code, name in street["communities"].items()
            )
    by_code: dict[str, Division] = {}
    children: dict[str, list[Division]] = {}
    for item in ordered:
        # A duplicate or a child that does not extend its parent's code is a data error, caught at load.
        if item.code in by_code:
            raise ValueError(f"duplicate division code {item.code}")
        if level_for_code(item.code) != item.level:
            raise ValueError(f"division code {item.code} does not fit level {item.level}")
        # Districts share the city's 4-digit prefix; lower levels extend the whole parent code.
        parent = item.parent_code or ""
        prefix = parent[:4] if item.level == "district" else parent
        if not item.code.startswith(prefix):
            raise ValueError(f"division code {item.code} is not prefixed by its parent {item.parent_code}")
        by_code[item.code] = item
        children.setdefault(item.code, [])
        if item.parent_code is not None:
            children[item.parent_code].append(item)
    return _Tree(
        ordered=tuple(ordered),
        by_code=MappingProxyType(by_code),
        children=MappingProxyType({code: tuple(kids) for code, kids in children.items()}),
    )


@cache
def _tree() -> _Tree:
    text = resources.files("citybrain.standards").joinpath("data", _DATA_FILE).read_text(encoding="utf-8")
    return _build(json.loads(text))


def all_divisions() -> list[Division]:
    """Every division, parents before children, in code order within each parent."""
    return list(_tree().ordered)


def division(code: str) -> Division:
    """The division with ``code``.

    Raises ``Invalid`` when ``code`` is not shaped like a division code (6, 9 or 12 digits) and
    ``NotFound`` when it is well formed but not in the 常州 tree.
    """
    if level_for_code(code) is None:
        raise Invalid(
            "行政区划代码应为6位（市、区县）、9位（街道乡镇）或12位（社区村）数字",
            details={"field": "division_code", "value": code},
        )
    try:
        return _tree().by_code[code]
    except KeyError:
        raise NotFound(
            f"行政区划代码 {code} 不在常州市区划中", details={"field": "division_code", "value": code}
        ) from None


def get_division(code: str) -> Division | None:
    """Like ``division`` but ``None`` for an unknown or malformed code."""
    return _tree().by_code.get(code) if isinstance(code, str) else None


def children(code: str) -> list[Division]:
    """Direct children of ``code`` (districts of the city, streets of a district, …)."""
    return list(_tree().children[division(code).code])


def descendants(code: str) -> list[Division]:
    """All divisions beneath ``code``, depth first, excluding ``code`` itself."""
    found: list[Division] = []
    stack = list(reversed(children(code)))
    while stack:
        item = stack.pop()
        found.append(item)
        stack.extend(reversed(_tree().children[item.code]))
    return found


def ancestors(code: str) -> list[Division]:
    """The chain from the city down to ``code``'s parent (empty for the city)."""
    chain: list[Division] = []
    parent = division(code).parent_code
    while parent is not None:
        item = _tree().by_code[parent]
        chain.append(item)
        parent = item.parent_code
    return list(reversed(chain))


def full_name(code: str) -> str:
    """Names from the city down, joined: ``常州市溧阳市溧城街道``."""
    return "".join(item.name for item in [*ancestors(code), division(code)])


def district_codes() -> list[str]:
    """The six district-level codes (区 and 县级市) in code order."""
    return [item.code for item in _tree().children[CITY_CODE]]


def codes(level: Level | None = None) -> frozenset[str]:
    """Every code, or those of one level; for membership checks."""
    return frozenset(item.code for item in _tree().ordered if level is None or item.level == level)


def find(name: str, level: Level | None = None) -> list[Division]:
    """Divisions whose name equals ``name`` (names repeat across streets, so a list)."""
    return [item for item in _tree().ordered if item.name == name and (level is None or item.level == level)]


def district_of(code: str) -> Division | None:
    """The district containing ``code`` (itself for a district; ``None`` for the city)."""
    item = division(code)
    if item.level == "city":
        return None
    if item.level == "district":
        return item
    return _tree().by_code[item.code[:6]]
