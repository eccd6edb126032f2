"""Rule binding: the rules a resource's catalog entry implies, plus those its stewards added.

What the catalog says, and the rule it becomes:

- a field bound to a data element standard → that standard's check (校验码, 行政区划代码表, 手机号码,
  日期, 金额, 经纬度); a standard without a check → its code list, pattern and length;
- a required field → completeness (完整性); the primary key → uniqueness (唯一性);
- the update frequency (更新频率) → timeliness (及时性), judged on the latest load;
- 公民身份号码 next to 出生日期 and/or 性别 → the population cross-field rule (一致性);
- a field holding a 公民身份号码 or 统一社会信用代码 → referential check against the 人口 / 法人 base
  library, when that library is in the lake (and is not this resource);
- fields registered as copies of another department's data elements → 比对 against the
  authoritative source (一数一源), keyed by the entity identifier both hold.

Derived rules get stable ids (``{field}.{what}``), so a ticket opened by one run is found again by
the next and closed when its records pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from citybrain.catalog.models import AuthoritativeSource, Resource, ResourceField
from citybrain.lake.store import Lake
from citybrain.quality.rules import (
    _FREQUENCY_LABELS,
    CheckDigitRule,
    CodeListRule,
    CompareRule,
    CompletenessRule,
    DateRangeRule,
    IdCardConsistencyRule,
    LengthRule,
    NumericRangeRule,
    PatternRule,
    PhoneRule,
    ReferentialRule,
    Rule,
    Severity,
    TimelinessRule,
    UniquenessRule,
    rule_from_dict,
)

DIVISION_LIST = "GB/T 2260"

#: base library whose primary key is the identifier a standard names (referential checks)
_IDENTIFIER_LIBRARIES = {"citizen_id": "人口", "uscc": "法人"}

#: geographic bounds the CGCS2000 checks apply for a mainland city (standards.checks uses the same)
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)


@dataclass(frozen=True)
class BoundRule:
    """A rule, where it came from, and what the engine must be given to run it."""

    rule: Rule
    origin: str  # catalog | steward
    #: for 比对 / referential rules: the other resource (key, name, dept) and which side is authoritative
    info: dict[str, Any] = field(default_factory=dict)


def _rid(*parts: str) -> str:
    text = ".".join(parts)
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", text)[:64]


def _standard_rules(f: ResourceField) -> list[Rule]:
    std = f.standard
    if std is None:
        return []
    desc = f"{f.title}应符合数据元标准「{std.title}」" + (f"（{std.reference}）" if std.reference else "")
    base: dict[str, Any] = {"column": f.name, "description": desc}
    check = std.check
    if check in ("citizen_id", "uscc", "org_code"):
        return [CheckDigitRule(id=_rid(f.name, "check_digit"), scheme=check, severity=Severity.HIGH, **base)]
    if check == "division_code":
        return [CodeListRule(id=_rid(f.name, "division"), code_list=DIVISION_LIST, **base)]
    if check == "mobile":
        return [PhoneRule(id=_rid(f.name, "phone"), severity=Severity.LOW, **base)]
    if check == "date":
        return [DateRangeRule(id=_rid(f.name, "date"), min_date=date(1900, 1, 1), **base)]
    if check == "amount":
        return [NumericRangeRule(id=_rid(f.name, "amount"), min_value=0, **base)]
    if check == "longitude":
        return [NumericRangeRule(id=_rid(f.name, "range"), min_value=_CHINA_LON[0], max_value=_CHINA_LON[1], **base)]
    if check == "latitude":
        return [NumericRangeRule(id=_rid(f.name, "range"), min_value=_CHINA_LAT[0], max_value=_CHINA_LAT[1], **base)]
    out: list[Rule] = []
    if std.code_list:
        codes = [str(c["code"]) if isinstance(c, dict) else str(c) for c in std.code_list]
        names = [str(c["name"]) for c in std.code_list if isinstance(c, dict) and c.get("name")]
        # forms often store the name (男) instead of the code (1); both identify the entry
        out.append(CodeListRule(id=_rid(f.name, "code_list"), values=tuple(dict.fromkeys(codes + names)), **base))
    elif std.pattern:
        out.append(PatternRule(id=_rid(f.name, "pattern"), pattern=std.pattern, **base))
    # a minimum of one character is emptiness, which completeness already reports once
    min_length = std.min_length if std.min_length and std.min_length > 1 else None
    if (min_length or std.max_length) and not std.code_list and f.data_type == "string":
        out.append(
            LengthRule(
                id=_rid(f.name, "length"),
                min_length=min_length,
                max_length=std.max_length,
                severity=Severity.LOW,
                **base,
            )
        )
    return out


def _std_name(f: ResourceField) -> str | None:
    return f.standard.name if f.standard else None


def _cross_field(resource: Resource) -> list[Rule]:
    ids = [f for f in resource.fields if _std_name(f) == "citizen_id"]
    if not ids:
        return []
    # the person of the row is the one whose ID is the key, or else the only ID column
    person = next((f for f in ids if f.name in (resource.primary_key or [])), ids[0] if len(ids) == 1 else None)
    if person is None:
        return []
    birth = next(
        (f for f in resource.fields if f.name == "birth_date" or "出生日期" in f.title),
        None,
    )
    sex = next((f for f in resource.fields if _std_name(f) == "sex" or f.name == "sex"), None)
    if birth is None and sex is None:
        return []
    return [
        IdCardConsistencyRule(
            id=_rid(person.name, "id_birth_sex"),
            id_column=person.name,
            birth_column=birth.name if birth else None,
            sex_column=sex.name if sex else None,
            severity=Severity.HIGH,
            description="公民身份号码中的出生日期码、性别码应与出生日期、性别字段一致",
        )
    ]


def _base_library(session: Session, library: str) -> Resource | None:
    return session.scalar(
        select(Resource)
        .options(selectinload(Resource.fields).selectinload(ResourceField.standard))
        .where(Resource.base_library == library, Resource.status == "active")
        .order_by(Resource.created_at)
        .limit(1)
    )


def _in_lake(lake: Lake, key: str) -> bool:
    try:
        return lake.current(key) is not None
    except Exception:  # an invalid or damaged entry is simply not usable as a reference
        return False


def _referential(session: Session, lake: Lake, resource: Resource) -> list[BoundRule]:
    out: list[BoundRule] = []
    for f in resource.fields:
        library = _IDENTIFIER_LIBRARIES.get(_std_name(f) or "")
        if library is None:
            continue
        base = _base_library(session, library)
        if base is None or base.id == resource.id or not _in_lake(lake, base.key):
            continue
        ref_col = next((p for p in base.primary_key or [] if p), None)
        if ref_col is None:
            continue
        rule = ReferentialRule(
            id=_rid(f.name, "in", base.key),
            column=f.name,
            ref_table=base.key,
            ref_column=ref_col,
            description=f"{f.title}应能在{library}基础库（{base.name}）中找到",
        )
        out.append(BoundRule(rule, "catalog", {"other": base.key, "other_name": base.name, "other_dept": base.dept_id}))
    return out


def _compare(session: Session, lake: Lake, resource: Resource) -> list[BoundRule]:
    """比对 for copies: group this resource's copy fields by the authoritative resource that owns them."""
    groups: dict[str, list[tuple[ResourceField, ResourceField]]] = {}
    sources: dict[str, Resource] = {}
    for f in resource.fields:
        if f.role != "copy" or not f.element:
            continue
        auth = session.get(AuthoritativeSource, f.element)
        if auth is None or auth.resource_id == resource.id:
            continue
        src = sources.get(auth.resource_id)
        if src is None:
            src = session.scalar(
                select(Resource)
                .options(selectinload(Resource.fields).selectinload(ResourceField.standard))
                .where(Resource.id == auth.resource_id)
            )
            if src is None:
                continue
            sources[src.id] = src
        auth_field = next((x for x in src.fields if x.id == auth.field_id), None)
        if auth_field is not None:
            groups.setdefault(src.id, []).append((f, auth_field))
    out: list[BoundRule] = []
    for src_id, pairs in groups.items():
        src = sources[src_id]
        if not _in_lake(lake, src.key):
            continue
        key_pair = _entity_key(resource, src)
        if key_pair is None:
            continue
        rule = CompareRule(
            id=_rid("compare", src.key),
            key=(key_pair[0],),
            other=src.key,
            other_key=(key_pair[1],),
            compare=tuple(a.name for a, _ in pairs),
            other_compare=tuple(b.name for _, b in pairs),
            severity=Severity.HIGH,
            description=f"副本字段应与权威来源「{src.name}」一致（一数一源）",
        )
        out.append(
            BoundRule(
                rule,
                "catalog",
                {
                    "other": src.key,
                    "other_name": src.name,
                    "other_dept": src.dept_id,
                    "authoritative": src.key,
                    "authoritative_dept": src.dept_id,
                },
            )
        )
    return out


def _entity_key(resource: Resource, src: Resource) -> tuple[str, str] | None:
    """The column of each side that identifies the entity: primary keys bound to the same standard, or
    with the same name."""
    mine = [f for f in resource.fields if f.name in (resource.primary_key or [])]
    theirs = [f for f in src.fields if f.name in (src.primary_key or [])]
    for a in mine:
        for b in theirs:
            if (a.standard_id and a.standard_id == b.standard_id) or a.name == b.name:
                return a.name, b.name
    return None


def catalog_rules(session: Session, lake: Lake, resource: Resource) -> list[BoundRule]:
    """The rules the catalog entry implies (see the module docstring)."""
    rules: list[BoundRule] = []
    pk = list(resource.primary_key or [])
    for f in resource.fields:
        if f.required or f.name in pk:
            sev = Severity.HIGH if f.name in pk else Severity.MEDIUM
            rules.append(
                BoundRule(
                    CompletenessRule(
                        id=_rid(f.name, "required"), column=f.name, severity=sev, description=f"{f.title}为必填项"
                    ),
                    "catalog",
                )
            )
        rules += [BoundRule(r, "catalog") for r in _standard_rules(f)]
    if pk:
        rules.append(
            BoundRule(
                UniquenessRule(
                    id=_rid("pk", "unique"), key=tuple(pk), severity=Severity.HIGH, description="主键不得重复"
                ),
                "catalog",
            )
        )
    freq = _FREQUENCY_LABELS.get(resource.update_frequency)
    if freq:
        rules.append(
            BoundRule(
                TimelinessRule(
                    id="timeliness", frequency=freq, description=f"应按更新频率「{resource.update_frequency}」更新"
                ),
                "catalog",
            )
        )
    rules += [BoundRule(r, "catalog") for r in _cross_field(resource)]
    rules += _referential(session, lake, resource)
    rules += _compare(session, lake, resource)
    return rules


def steward_rules(session: Session, resource: Resource) -> list[BoundRule]:
    from citybrain.quality.models import QualityRuleSpec

    specs = session.scalars(
        select(QualityRuleSpec).where(QualityRuleSpec.resource_id == resource.id).order_by(QualityRuleSpec.rule_id)
    )
    return [BoundRule(rule_from_dict(s.spec), "steward") for s in specs]


def rules_for_resource(session: Session, resource: Resource, lake: Lake | None = None) -> list[BoundRule]:
    """Catalog-derived rules, then the stewards' own; a steward rule with a derived rule's id replaces it."""
    from citybrain.settings import get_settings

    lake = lake or Lake(get_settings().lake_dir)
    steward = steward_rules(session, resource)
    mine = {b.rule.id for b in steward}
    return [b for b in catalog_rules(session, lake, resource) if b.rule.id not in mine] + steward


def code_list_values(session: Session, name: str) -> list[str] | None:
    """A named code list: ``GB/T 2260`` (the city's division tree) or a data element standard's code list
    (by the standard's name, e.g. ``sex``); None when there is no such list."""
    from citybrain.catalog.models import DataStandard
    from citybrain.standards import divisions

    if name == DIVISION_LIST:
        return sorted(divisions.codes())
    std = session.scalar(select(DataStandard).where(DataStandard.name == name))
    if std is None or not std.code_list:
        return None
    codes = [str(c["code"]) if isinstance(c, dict) else str(c) for c in std.code_list]
    names = [str(c["name"]) for c in std.code_list if isinstance(c, dict) and c.get("name")]
    return list(dict.fromkeys(codes + names))


def other_source(rule: Rule) -> str | None:
    """The other resource a rule reads (a referential check's table, a 比对's other source)."""
    if isinstance(rule, ReferentialRule):
        return rule.ref_table
    if isinstance(rule, CompareRule):
        return rule.other
    return None


def references(session: Session, lake: Lake, rules: Sequence[BoundRule]) -> dict[str, Any]:
    """What the engine needs by name: code lists and the lake files of other resources."""
    refs: dict[str, Any] = {}
    for b in rules:
        r = b.rule
        if isinstance(r, CodeListRule) and r.code_list and r.code_list not in refs:
            refs[r.code_list] = code_list_values(session, r.code_list)
        name = other_source(r)
        if name and name not in refs:
            # Path objects, so the engine reads them as Parquet parts rather than as a list of codes
            refs[name] = [Path(p) for p in lake.files(name)]
    return refs
