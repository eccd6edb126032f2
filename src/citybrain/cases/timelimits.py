"""处置时限 (time limits) for 一网统管 / 数字城管 cases and 12345 hotline requests.

A limit is looked up by (kind, code, area class, urgency, stage):

- kind: ``part`` (管理部件), ``event`` (管理事项) or ``hotline`` (12345 政府热线);
- code: the 5-digit GB/T 47678.5 code (2-digit 大类 + 3-digit 小类);
- area class: ``A`` / ``B`` (城区 urban) or ``C`` (农村 rural), the class of the unit grid;
- urgency: ``normal`` or ``urgent``;
- stage: ``dispatch`` (立案 + 派遣), ``dispose`` (处置), ``verify`` (核查), ``accept`` (受理, hotline).

Limits are measured in calendar minutes, working hours or working days (see ``citybrain.cases.worktime``
for how the working clock runs). The table is configuration (``data/time_limits.toml``): cities
publish different values, so every default here can be overridden.

Precedence (most specific wins), compared in this order:

1. code: an exact 5-digit code beats a 大类 wildcard (``"06*"``), which beats ``"*"``;
2. kind: an exact kind beats ``"*"``;
3. area class: an exact class beats ``"*"``;
4. urgency: an exact urgency beats ``"*"``.

Two rules with the same keys are refused when the table loads, so the winner is always unique.
When no rule matches, the per-stage ``[defaults]`` entry applies.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from citybrain.errors import Invalid

__all__ = [
    "Rule",
    "Stage",
    "TimeLimit",
    "TimeLimitTable",
    "TimeUnit",
    "default_table",
    "limit_for",
]


class TimeUnit(StrEnum):
    CALENDAR_MINUTES = "calendar_minutes"  # 自然分钟: the clock runs nights and holidays too
    WORKING_HOURS = "working_hours"  # 工作小时
    WORKING_DAYS = "working_days"  # 工作日

    @property
    def label(self) -> str:
        return _UNIT_LABELS[self]

    @property
    def is_working(self) -> bool:
        return self is not TimeUnit.CALENDAR_MINUTES


_UNIT_LABELS = {
    TimeUnit.CALENDAR_MINUTES: "分钟",
    TimeUnit.WORKING_HOURS: "个工作小时",
    TimeUnit.WORKING_DAYS: "个工作日",
}


class Stage(StrEnum):
    DISPATCH = "dispatch"  # 立案 + 派遣
    DISPOSE = "dispose"  # 处置
    VERIFY = "verify"  # 核查
    ACCEPT = "accept"  # 受理 (12345 热线)

    @property
    def label(self) -> str:
        return _STAGE_LABELS[self]


_STAGE_LABELS = {
    Stage.DISPATCH: "立案派遣",
    Stage.DISPOSE: "处置",
    Stage.VERIFY: "核查",
    Stage.ACCEPT: "受理",
}

_STAGE_ALIASES: dict[str, Stage] = {s.value: s for s in Stage} | {
    "立案派遣": Stage.DISPATCH,
    "立案+派遣": Stage.DISPATCH,
    "派遣": Stage.DISPATCH,
    "处置": Stage.DISPOSE,
    "核查": Stage.VERIFY,
    "受理": Stage.ACCEPT,
}

#: canonical kinds and the spellings accepted for them
_KIND_ALIASES: dict[str, str] = {
    "part": "part",
    "component": "part",
    "部件": "part",
    "管理部件": "part",
    "event": "event",
    "matter": "event",
    "事项": "event",
    "事件": "event",
    "管理事项": "event",
    "hotline": "hotline",
    "12345": "hotline",
    "热线": "hotline",
}
AREA_CLASSES = ("A", "B", "C")
URGENCIES = ("normal", "urgent")
_URGENCY_ALIASES = {"normal": "normal", "一般": "normal", "urgent": "urgent", "紧急": "urgent"}
WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A duration on either the calendar or the working clock: ``TimeLimit(4, TimeUnit.WORKING_HOURS)``."""

    value: float
    unit: TimeUnit

    def __post_init__(self) -> None:
        if not isinstance(self.value, int | float) or isinstance(self.value, bool) or self.value < 0:
            raise Invalid(f"时限数值必须是非负数: {self.value!r}", details={"field": "value"})
        object.__setattr__(self, "unit", _parse_unit(self.unit))

    def __str__(self) -> str:
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{value} {self.unit.label}"


def _parse_unit(unit: Any) -> TimeUnit:
    try:
        return TimeUnit(unit)
    except ValueError:
        raise Invalid(
            f"时限单位无效: {unit!r}（可选 {', '.join(u.value for u in TimeUnit)}）",
            details={"field": "unit", "value": unit},
        ) from None


def parse_stage(stage: str | Stage) -> Stage:
    """Stage from its English name or Chinese label (立案派遣 / 处置 / 核查 / 受理)."""
    found = _STAGE_ALIASES.get(str(stage).strip())
    if found is None:
        raise Invalid(
            f"环节无效: {stage!r}（可选 {', '.join(s.value for s in Stage)}）",
            details={"field": "stage", "value": stage},
        )
    return found


def parse_kind(kind: str) -> str:
    found = _KIND_ALIASES.get(str(kind).strip())
    if found is None:
        raise Invalid(
            f"类型无效: {kind!r}（可选 part 部件 / event 事项 / hotline 热线）",
            details={"field": "kind", "value": kind},
        )
    return found


def parse_area_class(area_class: str) -> str:
    value = str(area_class).strip().upper()
    if value not in AREA_CLASSES:
        raise Invalid(
            f"区域类别无效: {area_class!r}（可选 A / B / C）",
            details={"field": "area_class", "value": area_class},
        )
    return value


def parse_urgency(urgency: str) -> str:
    found = _URGENCY_ALIASES.get(str(urgency).strip().lower())
    if found is None:
        raise Invalid(
            f"紧急程度无效: {urgency!r}（可选 normal 一般 / urgent 紧急）",
            details={"field": "urgency", "value": urgency},
        )
    return found


def _code_specificity(pattern: str) -> int:
    if pattern == WILDCARD:
        return 0
    if pattern.endswith(WILDCARD):
        return 1
    return 2


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table. ``code`` is ``"06010"``, a 大类 wildcard ``"06*"`` or ``"*"``."""

    stage: Stage
    limit: TimeLimit
    kind: str = WILDCARD
    code: str = WILDCARD
    area_class: str = WILDCARD
    urgency: str = WILDCARD
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.stage.value, self.kind, self.code, self.area_class, self.urgency)

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        return (
            _code_specificity(self.code),
            self.kind != WILDCARD,
            self.area_class != WILDCARD,
            self.urgency != WILDCARD,
        )

    def matches(self, kind: str, code: str | None, area_class: str, urgency: str) -> bool:
        if self.kind not in (WILDCARD, kind):
            return False
        if self.area_class not in (WILDCARD, area_class):
            return False
        if self.urgency not in (WILDCARD, urgency):
            return False
        if self.code == WILDCARD:
            return True
        if code is None:
            return False
        if self.code.endswith(WILDCARD):
            return code.startswith(self.code[:-1])
        return code == self.code


def _validate_code_pattern(code: str) -> str:
    code = str(code).strip()
    if code == WILDCARD:
        return code
    if code.endswith(WILDCARD) and len(code) == 3 and code[:2].isdigit():
        return code
    if len(code) == 5 and code.isdigit():
        return code
    raise Invalid(
        f"代码无效: {code!r}（应为 5 位代码如 06010、大类通配如 06* 或 *）",
        details={"field": "code", "value": code},
    )


def _rule_from_mapping(raw: Mapping[str, Any], where: str) -> Rule:
    try:
        unknown = set(raw) - {"stage", "kind", "code", "area_class", "urgency", "value", "unit", "note"}
        if unknown:
            raise Invalid(f"未知字段: {', '.join(sorted(unknown))}", details={"fields": sorted(unknown)})
        if "stage" not in raw or "value" not in raw or "unit" not in raw:
            raise Invalid("缺少字段 stage / value / unit", details={"field": "stage/value/unit"})
        kind = raw.get("kind", WILDCARD)
        area = raw.get("area_class", WILDCARD)
        urgency = raw.get("urgency", WILDCARD)
        return Rule(
            stage=parse_stage(raw["stage"]),
            limit=TimeLimit(raw["value"], raw["unit"]),
            kind=WILDCARD if kind == WILDCARD else parse_kind(kind),
            code=_validate_code_pattern(raw.get("code", WILDCARD)),
            area_class=WILDCARD if area == WILDCARD else parse_area_class(area),
            urgency=WILDCARD if urgency == WILDCARD else parse_urgency(urgency),
            note=str(raw.get("note", "")),
        )
    except Invalid as exc:
        raise Invalid(f"{where}: {exc.message}", details={"where": where, "problem": exc.details}) from exc


class TimeLimitTable:
    """The configured rules plus one fallback limit per stage."""

    def __init__(self, rules: Iterable[Rule], defaults: Mapping[Stage, TimeLimit]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.defaults: dict[Stage, TimeLimit] = dict(defaults)
        seen: dict[tuple[str, ...], int] = {}
        problems = []
        for i, rule in enumerate(self.rules):
            if rule.key in seen:
                problems.append(f"第 {i + 1} 条规则与第 {seen[rule.key] + 1} 条键相同: {rule.key}")
            seen.setdefault(rule.key, i)
        missing = [s.value for s in Stage if s not in self.defaults]
        if missing:
            problems.append(f"[defaults] 缺少环节: {', '.join(missing)}")
        if problems:
            raise Invalid("时限表无效: " + "；".join(problems), details=problems)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TimeLimitTable:
        raw_rules = data.get("rule", [])
        if not isinstance(raw_rules, list) or not all(isinstance(r, Mapping) for r in raw_rules):
            raise Invalid("时限表的 rule 须为 [[rule]] 表数组", details={"field": "rule"})
        rules = [_rule_from_mapping(raw, f"第 {i + 1} 条规则") for i, raw in enumerate(raw_rules)]
        defaults: dict[Stage, TimeLimit] = {}
        for name, raw in dict(data.get("defaults", {})).items():
            where = f"[defaults].{name}"
            try:
                defaults[parse_stage(name)] = TimeLimit(raw["value"], raw["unit"])
            except (Invalid, KeyError, TypeError) as exc:
                message = exc.message if isinstance(exc, Invalid) else "应为 {value = …, unit = …}"
                raise Invalid(f"{where}: {message}", details={"where": where}) from exc
        return cls(rules, defaults)

    @classmethod
    def from_toml(cls, source: str | Path) -> TimeLimitTable:
        """Load from a TOML file path or TOML text."""
        text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise Invalid(f"时限表 TOML 解析失败: {exc}", details={"error": str(exc)}) from exc
        return cls.from_mapping(data)

    def rule_for(self, kind: str, code: str | None, area_class: str, urgency: str, stage: str | Stage) -> Rule | None:
        """The winning rule, or ``None`` when only the stage default applies (useful for audit)."""
        stage_ = parse_stage(stage)
        kind_ = parse_kind(kind)
        area_ = parse_area_class(area_class)
        urgency_ = parse_urgency(urgency)
        code_ = None if code in (None, "") else str(code).strip()
        candidates = [r for r in self.rules if r.stage is stage_ and r.matches(kind_, code_, area_, urgency_)]
        return max(candidates, key=lambda r: r.specificity, default=None)

    def limit_for(self, kind: str, code: str | None, area_class: str, urgency: str, stage: str | Stage) -> TimeLimit:
        rule = self.rule_for(kind, code, area_class, urgency, stage)
        return rule.limit if rule is not None else self.defaults[parse_stage(stage)]


@cache
def default_table() -> TimeLimitTable:
    """The table shipped in ``citybrain/cases/data/time_limits.toml``."""
    text = resources.files("citybrain.cases").joinpath("data/time_limits.toml").read_text(encoding="utf-8")
    return TimeLimitTable.from_toml(text)


def limit_for(kind: str, code: str | None, area_class: str, urgency: str, stage: str | Stage) -> TimeLimit:
    """Limit from the shipped table; unknown stage, kind, area class or urgency → ``Invalid``."""
    return default_table().limit_for(kind, code, area_class, urgency, stage)
