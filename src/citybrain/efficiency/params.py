"""Parameter sets of the 工业企业效益综合评价 ("亩均效益") method.

A parameter set is a TOML file under ``params/`` named by the year of the document it encodes
(``2023.toml`` = 溧政发〔2023〕6号). Every value in the file carries the sentence it comes from; the
readings where the text is open are marked ``CHOICE`` there. :func:`load_params` turns a file into a
frozen :class:`Params`; a cycle opened without a version takes the set in force for its 评价年度
(:func:`version_for_year`: ``2023`` for 2022 onward, until a later document is shipped, so two years can be
compared like for like); :meth:`Params.replace` derives a variant (for a 领导小组 decision such as a fixed
基准值) without editing the file.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from citybrain.errors import Invalid

#: the four 基础分 indicators, in the order the document lists them
INDICATORS: tuple[str, ...] = ("tax_per_mu", "sales_per_mu", "tax_per_energy", "tax_per_emission")
INDICATOR_NAMES: dict[str, str] = {
    "tax_per_mu": "亩均税收",
    "sales_per_mu": "亩均应税销售收入",
    "tax_per_energy": "单位能耗税收",
    "tax_per_emission": "单位污染物排放税收",
}
#: 规上（无生产性排污）, 规上（有生产性排污）, 规下
FIRM_TYPES: tuple[str, ...] = ("above_scale_clean", "above_scale_emitting", "below_scale")
CLASSES: tuple[str, ...] = ("A", "B", "C", "D", "T")
DEFAULT_VERSION = "2023"


@dataclass(frozen=True)
class Segment:
    """One piece of the 亩均税收 百分制 score: for ``v >= lower``, ``base + (v - offset) * slope``."""

    lower: float
    base: float
    offset: float
    slope: float


@dataclass(frozen=True)
class Tier:
    """A lower-inclusive (含) threshold and the points it earns."""

    min: float
    points: float


@dataclass(frozen=True)
class Band:
    """An upper-inclusive (含) amount band and its deduction."""

    max: float
    points: float


@dataclass(frozen=True)
class Params:
    """A validated, immutable parameter set. Build with :func:`load_params` or :meth:`from_mapping`."""

    raw: Mapping[str, Any] = field(repr=False)
    version: str
    document: str
    issued_on: dt.date
    weights: Mapping[str, Mapping[str, float]]
    tax_segments: tuple[Segment, ...]
    tax_floor: float
    tax_cap: float
    tax_tiers: tuple[Tier, ...]
    safety_bands: tuple[Band, ...]
    accident_rank: Mapping[str, int]

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Params:
        """Validate a parsed TOML mapping; every problem is reported at once."""
        raw = copy.deepcopy(dict(raw))
        problems: list[str] = []
        try:
            weights = {ft: {ind: float(raw["weights"][ft][ind]) for ind in INDICATORS} for ft in FIRM_TYPES}
            segments = tuple(
                sorted(
                    (
                        Segment(float(s["lower"]), float(s["base"]), float(s["offset"]), float(s["slope"]))
                        for s in raw["tax_per_mu"]["segments"]
                    ),
                    key=lambda s: -s.lower,
                )
            )
            tiers = tuple(
                sorted(
                    (Tier(float(t["min"]), float(t["points"])) for t in raw["bonus"]["tax_tiers"]), key=lambda t: t.min
                )
            )
            bands = tuple(
                sorted(
                    (Band(float(b["max"]), float(b["points"])) for b in raw["deduction"]["safety"]["bands"]),
                    key=lambda b: b.max,
                )
            )
            levels = list(raw["overrides"]["accident_levels"])
            rank = {lvl: i for i, lvl in enumerate(levels)}
            issued = raw.get("issued_on")
            issued_on = issued if isinstance(issued, dt.date) else dt.date.fromisoformat(str(issued))
            params = cls(
                raw=raw,
                version=str(raw["version"]),
                document=str(raw["document"]),
                issued_on=issued_on,
                weights=weights,
                tax_segments=segments,
                tax_floor=float(raw["tax_per_mu"]["floor"]),
                tax_cap=float(raw["tax_per_mu"]["cap"]),
                tax_tiers=tiers,
                safety_bands=bands,
                accident_rank=rank,
            )
            params._check(problems)
        except (KeyError, TypeError, ValueError) as exc:
            raise Invalid(f"评价参数不完整或格式错误：{exc!r}", details={"field": str(exc)}) from exc
        if problems:
            raise Invalid("评价参数不合法", details=problems)
        return params

    def _check(self, problems: list[str]) -> None:
        if not self.tax_segments or not math.isinf(self.tax_segments[-1].lower):
            problems.append("tax_per_mu.segments：最低一段的 lower 须为 -inf，使任何亩均税收都有得分")
        for ft, ws in self.weights.items():
            if any(w < 0 for w in ws.values()):
                problems.append(f"weights.{ft}：权重不得为负")
        choices = {
            ("related", "above_scale"): ("any", "all"),
            ("related", "t_class"): ("any", "all"),
            ("land", "shared_plot_without_building_area"): ("error", "equal"),
            ("land", "lease_exceeding_holding"): ("error", "clamp"),
            ("tax", "annual_tax_basis"): ("paid", "in_treasury"),
            ("baseline", "population"): ("users", "all"),
            ("baseline", "statistic"): ("mean_of_values", "ratio_of_totals"),
            ("baseline", "zero_denominator"): ("zero", "full"),
            ("t_class", "reference"): ("year_end",),
        }
        for (section, key), allowed in choices.items():
            if self.raw[section][key] not in allowed:
                problems.append(f"{section}.{key}：取值须为 {'/'.join(allowed)}")
        for key in self.raw["baseline"]["fixed"]:
            if key not in INDICATORS[1:]:
                problems.append(f"baseline.fixed.{key}：只有 {', '.join(INDICATORS[1:])} 有基准值")
        c = self.raw["classes"]
        if not float(c["A"]) > float(c["B"]) > float(c["C"]):
            problems.append("classes：须满足 A > B > C")
        ov = self.raw["overrides"]
        if ov["accident_d_from"] not in self.accident_rank:
            problems.append("overrides.accident_d_from：须为 accident_levels 之一")
        if any(x not in CLASSES for x in ov["adjustable_from"]):
            problems.append("overrides.adjustable_from：类别须为 A/B/C/D/T")

    def replace(self, changes: Mapping[str, Any]) -> Params:
        """A new parameter set with ``changes`` merged in, section by section.

        ``changes`` uses the TOML layout, e.g. ``{"baseline": {"fixed": {"sales_per_mu": 600.0}}}``.
        Derive a new ``version`` too when the result will be published.
        """
        merged = copy.deepcopy(dict(self.raw))
        _deep_merge(merged, changes)
        return Params.from_mapping(merged)

    # -- conveniences -------------------------------------------------------------------------------

    def section(self, name: str) -> Mapping[str, Any]:
        return self.raw[name]

    @property
    def decimals(self) -> int:
        return int(self.raw["rounding"]["decimals"])

    @property
    def fingerprint(self) -> str:
        """Short SHA-256 of the parameter values, recorded with every result next to ``version``."""
        text = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=_json_default)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _deep_merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict) and key != "fixed":
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def available_versions() -> list[str]:
    """Versions shipped with the package, oldest first."""
    folder = resources.files("citybrain.efficiency") / "params"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def version_for_year(year: int) -> str:
    """The shipped parameter set that applies to 评价年度 ``year``.

    CHOICE: the method of a year is the latest document issued by the end of March of the next year, when
    its evaluation must be done ("领导小组…在次年一季度前完成纳入上年度评价范围的工业企业得分及评价分类";
    "本办法自颁布之日起实施"). So 溧政发〔2023〕6号 (2023-03-09) evaluates 2022 and later years; an earlier year
    fell under 溧政发〔2022〕7号, whose text is not shipped, and is refused rather than scored by the wrong rules.
    """
    deadline = dt.date(int(year) + 1, 3, 31)
    in_force = sorted((p.issued_on, v) for v in available_versions() if (p := load_params(v)).issued_on <= deadline)
    if not in_force:
        raise Invalid(
            f"{year} 年度没有适用的评价参数（最早版本自 {load_params(available_versions()[0]).issued_on} 起施行）",
            details={"field": "year", "available": available_versions()},
        )
    return in_force[-1][1]


def load_params(version: str = DEFAULT_VERSION, *, path: str | Path | None = None) -> Params:
    """Load a shipped parameter set by version (``"2023"``) or any TOML file by ``path``."""
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
    else:
        if version not in available_versions():
            raise Invalid(
                f"参数版本不存在：{version}",
                details={"field": "version", "available": available_versions()},
            )
        text = (resources.files("citybrain.efficiency") / "params" / f"{version}.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid(f"参数文件不是合法的 TOML：{exc}", details={"field": "path"}) from exc
    return Params.from_mapping(raw)
