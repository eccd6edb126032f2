"""脱敏策略: which masking applies to a field, from its 数据元 (data element) and 敏感级别.

Levels follow the four-level field grading used with GB/T 43697 (数据分类分级规则):
1 公开, 2 内部, 3 敏感, 4 高敏感. The rule:

* level 1–2: shown as is;
* level 3: masked with the data element's default method (``ELEMENT_DEFAULTS``), or — for an element
  without one — keep the first and last character (``mask(1, 1)``);
* level 4: suppressed (null) whatever the element;
* a grant (授权) may lift masking, but only for the fields it names: a lifted field is shown as is;
  a grant may instead name the exact ``MaskSpec`` it allows for a field (``overrides``).

Personal-information elements (公民身份号码, 姓名, 手机号码 …) are never below level 3, whatever the
catalog says: a field mislabelled 内部 still comes out masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum

from citybrain.errors import Invalid
from citybrain.masking.methods import MaskSpec


class SensitivityLevel(IntEnum):
    """字段敏感级别."""

    PUBLIC = 1  # 公开
    INTERNAL = 2  # 内部
    SENSITIVE = 3  # 敏感
    HIGHLY_SENSITIVE = 4  # 高敏感


#: Default masking per data element standard name (数据元标准名称).
ELEMENT_DEFAULTS: dict[str, MaskSpec] = {
    # 公民身份号码 (GB 11643): 6-digit 行政区划码 + last 4 → 320402********1234
    "citizen_id": MaskSpec("mask", keep_first=6, keep_last=4),
    # 姓名: surname only → 张*, 欧阳**
    "person_name": MaskSpec("name"),
    # 手机号码: 号段 + last 4 → 138****1234
    "mobile": MaskSpec("mask", keep_first=3, keep_last=4),
    # 固定电话: area code + last 2
    "telephone": MaskSpec("mask", keep_first=4, keep_last=2),
    # 住址 → 乡镇/街道
    "address": MaskSpec("address"),
    # 出生日期 → 年月
    "birth_date": MaskSpec("date", granularity="month"),
    "age": MaskSpec("age_band", width=10),
    # 统一社会信用代码 (GB 32100): only 个体工商户 (category "92") identify a person; keep
    # 登记管理部门 + 机构类别 + 登记管理机关行政区划码, hide the 主体标识码
    "uscc": MaskSpec("mask", keep_first=8, keep_last=0, only_prefixes=["92"]),
    "email": MaskSpec("email"),
    # 银行卡号: 发卡行识别码 (6) + last 4, as on receipts
    "bank_card": MaskSpec("mask", keep_first=6, keep_last=4),
    # 3 decimals ≈ 110 m: the block, not the door
    "longitude": MaskSpec("round", digits=3),
    "latitude": MaskSpec("round", digits=3),
    "amount": MaskSpec("truncate", unit=1000),
}

#: Personal-information elements and the lowest level they may have.
ELEMENT_FLOOR: dict[str, SensitivityLevel] = {
    name: SensitivityLevel.SENSITIVE
    for name in (
        "citizen_id",
        "person_name",
        "mobile",
        "telephone",
        "address",
        "birth_date",
        "email",
        "bank_card",
    )
}

_FALLBACK = MaskSpec("mask", keep_first=1, keep_last=1)
_SUPPRESS = MaskSpec("suppress")


@dataclass(frozen=True)
class FieldInfo:
    """What the policy needs to know about one field: its name, 敏感级别 and 数据元 (if known)."""

    name: str
    level: int
    element: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.level, int) or not 1 <= self.level <= 4:
            raise Invalid(
                f"字段 {self.name} 的敏感级别 {self.level!r} 无效，应为 1–4",
                details={"field": self.name, "level": self.level},
            )

    @property
    def effective_level(self) -> SensitivityLevel:
        floor = ELEMENT_FLOOR.get(self.element or "", SensitivityLevel.PUBLIC)
        return SensitivityLevel(max(self.level, floor))


def default_spec(info: FieldInfo) -> MaskSpec | None:
    """The masking a field gets with no grant: ``None`` means shown as is."""
    level = info.effective_level
    if level >= SensitivityLevel.HIGHLY_SENSITIVE:
        return _SUPPRESS
    if level >= SensitivityLevel.SENSITIVE:
        return ELEMENT_DEFAULTS.get(info.element or "", _FALLBACK)
    return None


def effective_plan(
    fields: Iterable[FieldInfo],
    lifted: set[str] | frozenset[str] = frozenset(),
    *,
    overrides: Mapping[str, MaskSpec] | None = None,
) -> dict[str, MaskSpec]:
    """Masking plan for one consumer: field name → ``MaskSpec`` for every field that is not shown as is.

    ``lifted`` names the fields a grant shows unmasked; ``overrides`` the fields for which it allows a
    specific masking instead of the default. Naming a field the dataset does not have is an error, so a
    misspelt grant fails loudly instead of silently showing nothing."""
    fields = list(fields)
    overrides = dict(overrides or {})
    names = {f.name for f in fields}
    unknown = sorted((set(lifted) | set(overrides)) - names)
    if unknown:
        raise Invalid(f"授权中的字段不存在：{'、'.join(unknown)}", details={"fields": unknown})
    both = sorted(set(lifted) & set(overrides))
    if both:
        raise Invalid(f"字段 {'、'.join(both)} 既被解除脱敏又指定了脱敏方法", details={"fields": both})
    plan: dict[str, MaskSpec] = {}
    for info in fields:
        if info.name in lifted:
            continue
        spec = overrides.get(info.name) or default_spec(info)
        if spec is not None:
            plan[info.name] = spec
    return plan
