"""人口库 demo data: the 公安 population register and the 民政 copy of part of it.

``generate_population(n, seed=…, defect_rate=…)`` returns a ``pyarrow.Table`` and a ``DefectLog``.
Values are vectorised with numpy (one million persons in a few seconds); names are drawn from
Faker's ``zh_CN`` surname (weighted) and given-name pools, addresses from the real districts and
街道/镇 of ``citybrain.standards.divisions`` and real 常州 road names.

Defects (数据质量缺陷). ``round(n × defect_rate)`` rows (default 2%) carry exactly one defect each,
split by kind in these shares; every defective row is listed in the ``DefectLog`` and every row not
listed passes all checks (公民身份号码 GB 11643, 手机号码, 行政区划 in the 常州 tree, 性别/出生日期
agreeing with the ID, required fields present, unique ID):

====================  ======  ================================================================
kind                  share   what is wrong
====================  ======  ================================================================
check_digit           25%     citizen_id 校验码 wrong (``check_citizen_id`` → "校验码错误")
missing_required      15%     name or address is null
birth_date_mismatch   12%     birth_date differs from the ID's 出生日期码 (ID itself valid)
sex_mismatch          12%     sex disagrees with the ID's 顺序码 parity (ID itself valid)
invalid_division      10%     division_code not a 常州 district (e.g. 320405, the former 戚墅堰区)
malformed_mobile      14%     mobile too short/long, bad 号段 or a letter in it
duplicate_id          12%     citizen_id (with its sex and birth date) copied from a clean row
====================  ======  ================================================================

``population_copy_civil_affairs`` returns 民政局's copy (citizen_id, name, address) of about 30% of
the clean persons; ``COPY_CONFLICT_RATE`` (default 3%) of them disagree with 公安: ``name_conflict``
(one character of the name differs) or ``address_conflict`` (a different 门牌号), half each.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.person.zh_CN import Provider as _ZhPerson

from citybrain.errors import Invalid
from citybrain.standards import generate
from citybrain.standards.divisions import district_codes, division
from citybrain.standards.generate import MOBILE_PREFIXES

#: Reference day of the demo, so generated data does not drift with the wall clock.
DEMO_TODAY = date(2025, 6, 30)

POPULATION_DEFECTS: dict[str, float] = {
    "check_digit": 0.25,
    "missing_required": 0.15,
    "birth_date_mismatch": 0.12,
    "sex_mismatch": 0.12,
    "invalid_division": 0.10,
    "malformed_mobile": 0.14,
    "duplicate_id": 0.12,
}
COPY_CONFLICT_RATE = 0.03

#: Codes that look right but are not 常州 districts today: 320405 戚墅堰区 (merged 2015), 320482 金坛市
#: (became 金坛区 320413 in 2015), 320499 (never issued).
STALE_DIVISIONS: tuple[str, ...] = ("320405", "320482", "320499")

#: Share of residents by district (roughly the 2020 census shares).
DISTRICT_WEIGHTS: dict[str, float] = {
    "320402": 0.12, "320404": 0.12, "320411": 0.17, "320412": 0.33, "320413": 0.12, "320481": 0.14,
}  # fmt: skip

#: Real road names by district, for addresses.
ROADS: dict[str, tuple[str, ...]] = {
    "320402": ("延陵东路", "和平北路", "关河东路", "晋陵北路", "竹林西路", "青洋北路", "劳动东路", "丽华北路",
               "中吴大道", "东横街", "红梅西路", "北环路"),
    "320404": ("延陵西路", "南大街", "怀德中路", "西新桥路", "劳动西路", "广化街", "清潭路", "星港路",
               "五星路", "龙城大道", "勤业路", "西林路"),
    "320411": ("通江中路", "太湖东路", "长江中路", "河海东路", "黄河西路", "汉江路", "衡山路", "泰山路",
               "华山中路", "龙锦路", "新桥大街", "薛家大道"),
    "320412": ("武宜中路", "人民东路", "湖塘常武中路", "长虹西路", "广电西路", "阳湖路", "花园街", "延政中路",
               "淹城路", "滆湖路", "鸣新中路", "常武北路"),
    "320413": ("东门大街", "金坛大道", "华城路", "南环一路", "愚池路", "西环二路", "北环东路", "丹凤西路",
               "江东大道", "汇福路"),
    "320481": ("燕山中路", "平陵西路", "昆仑北路", "天目路", "南大街", "育才北路", "天目湖大道", "平陵东路",
               "龙潭北路", "罗湾路", "泓口路"),
}  # fmt: skip

_ETHNICITY_CODES = np.array(["01", "03", "11", "06", "15", "08", "02", "04"])
_ETHNICITY_WEIGHTS = np.array([0.9880, 0.0040, 0.0015, 0.0015, 0.0015, 0.0015, 0.0010, 0.0010])

#: 地址码 of the ID for persons born outside their district of residence (real GB/T 2260 codes).
_BIRTHPLACES: tuple[str, ...] = (
    "320102", "320106", "320211", "320281", "320583", "321002", "321183", "340104", "341202",
    "410105", "420106", "510104", "370102", "330106", "320303",
)  # fmt: skip

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_BIRTH_FIRST = date(1940, 1, 1)
_BIRTH_LAST = date(2024, 12, 31)
_EPOCH = date(1970, 1, 1).toordinal()


# ---------------------------------------------------------------- defect log


@dataclass(frozen=True, slots=True)
class Defect:
    """One planted defect: row index, the row's key as written, the field and the defect kind."""

    row: int
    key: str | None
    field: str
    kind: str
    detail: str = ""


@dataclass
class DefectLog:
    """The defects planted in one generated table (``table``), keyed by ``key_field``."""

    table: str
    key_field: str
    defects: list[Defect] = field(default_factory=list)

    def add(self, row: int, key: str | None, field_name: str, kind: str, detail: str = "") -> None:
        self.defects.append(Defect(int(row), key, field_name, kind, detail))

    def __len__(self) -> int:
        return len(self.defects)

    def __iter__(self) -> Iterator[Defect]:
        return iter(self.defects)

    def rows(self, kind: str | None = None) -> set[int]:
        """Row indexes carrying a defect (of ``kind``, when given)."""
        return {d.row for d in self.defects if kind is None or d.kind == kind}

    def of_kind(self, kind: str) -> list[Defect]:
        return [d for d in self.defects if d.kind == kind]

    def counts(self) -> dict[str, int]:
        """Number of defects per kind."""
        return dict(Counter(d.kind for d in self.defects))

    def to_records(self) -> list[dict[str, object]]:
        """Plain dicts, for JSON export next to the demo data."""
        return [
            {"table": self.table, "row": d.row, "key": d.key, "field": d.field, "kind": d.kind, "detail": d.detail}
            for d in self.defects
        ]


# ---------------------------------------------------------------- shared helpers


def numpy_rng(rng: random.Random) -> np.random.Generator:
    """A numpy generator drawn from ``rng``, so one seed drives both."""
    return np.random.default_rng(rng.getrandbits(64))


def check_rate(defect_rate: float) -> None:
    if not 0.0 <= defect_rate <= 0.5:
        raise Invalid("缺陷比例 defect_rate 应在 0 到 0.5 之间", details={"field": "defect_rate", "value": defect_rate})


def check_size(n: int, name: str = "n") -> None:
    if n < 0:
        raise Invalid(f"记录数 {name} 不能为负数", details={"field": name, "value": n})


def assign_defects(
    rng: np.random.Generator, n: int, defect_rate: float, shares: dict[str, float], *, eligible: int | None = None
) -> dict[str, np.ndarray]:
    """Distinct row indexes per defect kind: ``round(n × rate)`` rows split by ``shares``.

    Only rows below ``eligible`` (default ``n``) are picked, so callers can keep some rows clean.
    """
    pool = n if eligible is None else eligible
    total = min(round(n * defect_rate), pool)
    picked = rng.choice(pool, size=total, replace=False) if total else np.empty(0, dtype=np.int64)
    counts = {kind: int(total * share) for kind, share in shares.items()}
    # Rounding leftovers go to the first kinds, so the totals add up.
    kinds = list(shares)
    for i in range(total - sum(counts.values())):
        counts[kinds[i % len(kinds)]] += 1
    out: dict[str, np.ndarray] = {}
    start = 0
    for kind in kinds:
        out[kind] = np.sort(picked[start : start + counts[kind]])
        start += counts[kind]
    return out


def ascii_matrix_to_strings(matrix: np.ndarray) -> np.ndarray:
    """A (rows, width) uint8 matrix of ASCII codes → numpy unicode strings."""
    width = matrix.shape[1]
    return np.ascontiguousarray(matrix).view(f"S{width}").ravel().astype(f"U{width}")


def random_digits(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """(n, k) uint8 matrix of ASCII digits."""
    return (rng.integers(0, 10, size=(n, k)) + ord("0")).astype(np.uint8)


def digits_of(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers → (n, width) uint8 ASCII digit matrix, zero padded."""
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64).copy()
    for position in range(width - 1, -1, -1):
        out[:, position] = rest % 10 + ord("0")
        rest //= 10
    return out


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise string concatenation of arrow arrays and literals."""
    return pc.binary_join_element_wise(*parts, "")


def streets_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All 常州 streets: codes, names, their district index, and the district codes."""
    return _streets()


@cache
def _streets() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    districts = district_codes()
    codes: list[str] = []
    names: list[str] = []
    owner: list[int] = []
    for index, code in enumerate(districts):
        from citybrain.standards.divisions import children

        for street in children(code):
            codes.append(street.code)
            names.append(street.name)
            owner.append(index)
    return np.array(codes), np.array(names), np.array(owner), np.array(districts)


def sample_places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(district index, street index) for ``n`` rows: districts by population share, streets uniform."""
    _, _, owner, districts = _streets()
    weights = np.array([DISTRICT_WEIGHTS[code] for code in districts])
    district = rng.choice(len(districts), size=n, p=weights / weights.sum())
    offsets = np.searchsorted(owner, np.arange(len(districts)))
    counts = np.bincount(owner, minlength=len(districts))
    street = offsets[district] + (rng.random(n) * counts[district]).astype(np.int64)
    return district, street


def address_parts(rng: np.random.Generator, district: np.ndarray, street: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """ "常州市天宁区雕庄街道延陵东路" prefixes and random 门牌号 for each row."""
    _, street_names, _, districts = _streets()
    district_names = np.array([division(code).name for code in districts])
    roads_flat: list[str] = []
    road_start = []
    for code in districts:
        road_start.append(len(roads_flat))
        roads_flat.extend(ROADS[code])
    road_count = np.array([len(ROADS[code]) for code in districts])
    road = np.array(road_start)[district] + (rng.random(len(district)) * road_count[district]).astype(np.int64)
    roads = np.array(roads_flat)
    prefix = join(
        "江苏省常州市",
        pa.array(district_names[district]),
        pa.array(street_names[street]),
        pa.array(roads[road]),
    )
    numbers = rng.integers(1, 400, size=len(district))
    return prefix, numbers


def full_addresses(rng: np.random.Generator, district: np.ndarray, street: np.ndarray) -> pa.Array:
    """Residential addresses: road, 门牌号, 幢 and 室."""
    prefix, numbers = address_parts(rng, district, street)
    n = len(district)
    building = rng.integers(1, 40, size=n)
    room = rng.integers(1, 30, size=n) * 100 + rng.integers(1, 5, size=n)
    return join(
        prefix,
        pa.array(numbers).cast(pa.string()),
        "号",
        pa.array(building).cast(pa.string()),
        "幢",
        pa.array(room).cast(pa.string()),
        "室",
    )


@cache
def _name_pools() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    surnames = np.array(list(_ZhPerson.last_names))
    weights = np.array(list(_ZhPerson.last_names.values()), dtype=float)
    male = np.array(sorted(set(_ZhPerson.first_names_male)))
    female = np.array(sorted(set(_ZhPerson.first_names_female)))
    chars = np.array(sorted({c for name in [*male, *female] for c in name}))
    return surnames, weights / weights.sum(), male, female, chars


def person_names(rng: np.random.Generator, sex: np.ndarray) -> pa.Array:
    """Names: weighted 姓 + a given name by sex; a third of one-character given names get a second one."""
    surnames, weights, male, female, chars = _name_pools()
    n = len(sex)
    surname = surnames[rng.choice(len(surnames), size=n, p=weights)]
    given = np.where(
        sex == "1",
        male[rng.integers(0, len(male), size=n)],
        female[rng.integers(0, len(female), size=n)],
    )
    single = np.char.str_len(given) == 1
    extra = np.where(single & (rng.random(n) < 0.35), chars[rng.integers(0, len(chars), size=n)], "")
    return join(pa.array(surname), pa.array(extra), pa.array(given))


def other_name(rng: random.Random, name: str) -> str:
    """``name`` with its last character replaced: a plausible keying or homophone difference."""
    _, _, _, _, chars = _name_pools()
    while True:
        replacement = str(chars[rng.randrange(len(chars))])
        if replacement != name[-1]:
            return name[:-1] + replacement


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array([p.encode() for p in MOBILE_PREFIXES], dtype="S3").view(np.uint8).reshape(-1, 3)
    matrix = np.concatenate([prefixes[rng.integers(0, len(prefixes), size=n)], random_digits(rng, n, 8)], axis=1)
    return ascii_matrix_to_strings(matrix)


def citizen_ids(
    rng: np.random.Generator, address_code: np.ndarray, birth_days: np.ndarray, sex: np.ndarray
) -> np.ndarray:
    """Valid, unique 公民身份号码 (GB 11643): 地址码 + 出生日期码 + 顺序码 (parity = sex) + 校验码."""
    n = len(sex)
    births = np.array([date.fromordinal(int(d) + _EPOCH).strftime("%Y%m%d") for d in np.unique(birth_days)])
    lookup = dict(zip(np.unique(birth_days).tolist(), births.tolist(), strict=True))
    birth_codes = np.array([int(lookup[d]) for d in birth_days.tolist()], dtype=np.int64)
    head = address_code.astype(np.int64) * 100_000_000 + birth_codes
    male = sex == "1"
    sequence = rng.integers(0, 100, size=n) * 10 + rng.integers(0, 5, size=n) * 2 + male
    # 顺序码 must differ among persons with the same 地址码 and birthday: redraw collisions.
    while True:
        body = head * 1000 + sequence
        _, first = np.unique(body, return_index=True)
        clash = np.ones(n, dtype=bool)
        clash[first] = False
        redo = np.flatnonzero(clash)
        if len(redo) == 0:
            break
        sequence[redo] = rng.integers(0, 100, size=len(redo)) * 10 + rng.integers(0, 5, size=len(redo)) * 2 + male[redo]
    digits = digits_of(body, 17)
    total = ((digits - ord("0")).astype(np.int64) * _ID_WEIGHTS).sum(axis=1)
    check = _ID_CHECK[total % 11][:, None]
    return ascii_matrix_to_strings(np.concatenate([digits, check], axis=1))


# ---------------------------------------------------------------- 人口库

POPULATION_SCHEMA = pa.schema(
    [
        pa.field("citizen_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("birth_date", pa.date32()),
        pa.field("ethnicity", pa.string()),
        pa.field("division_code", pa.string()),
        pa.field("street_code", pa.string()),
        pa.field("mobile", pa.string()),
        pa.field("address", pa.string()),
        pa.field("updated_at", pa.timestamp("s", tz="UTC")),
    ]
)


def generate_population(
    n: int = 10_000, *, seed: int | str = 0, defect_rate: float = 0.02
) -> tuple[pa.Table, DefectLog]:
    """人口库 (公安 authoritative): ``n`` persons living in 常州, with planted defects.

    Same ``seed`` and arguments → identical table and log.
    """
    check_size(n)
    check_rate(defect_rate)
    rng = random.Random(f"citybrain.demo.population:{seed}")
    np_rng = numpy_rng(rng)
    street_codes, _, _, districts = _streets()

    district, street = sample_places(np_rng, n)
    sex = np.where(np_rng.random(n) < 0.5, "1", "2")
    birth_days = np_rng.integers(_BIRTH_FIRST.toordinal(), _BIRTH_LAST.toordinal() + 1, size=n) - _EPOCH
    # Most residents were born where they live; the rest came from elsewhere in China.
    native = np_rng.random(n) < 0.8
    address_code = np.where(
        native, districts[district], np.array(_BIRTHPLACES)[np_rng.integers(0, len(_BIRTHPLACES), n)]
    )
    ids = citizen_ids(np_rng, address_code, birth_days, sex)
    names = person_names(np_rng, sex).to_numpy(zero_copy_only=False).astype(object)
    ethnicity = _ETHNICITY_CODES[np_rng.choice(len(_ETHNICITY_CODES), size=n, p=_ETHNICITY_WEIGHTS)]
    division_code = districts[district].astype(object)
    mobile = mobiles(np_rng, n).astype(object)
    addresses = full_addresses(np_rng, district, street).to_numpy(zero_copy_only=False).astype(object)
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
    updated = np_rng.integers(start, end, size=n)
    ids = ids.astype(object)

    log = DefectLog("population", "citizen_id")
    plan = assign_defects(np_rng, n, defect_rate, POPULATION_DEFECTS)
    defective = np.zeros(n, dtype=bool)
    for rows in plan.values():
        defective[rows] = True
    for row in plan["check_digit"].tolist():
        ids[row] = generate.corrupt_citizen_id(rng, ids[row], "check_char")
        log.add(row, ids[row], "citizen_id", "check_digit", "校验码错误")
    for row in plan["missing_required"].tolist():
        column, values = ("name", names) if rng.random() < 0.5 else ("address", addresses)
        values[row] = None
        log.add(row, ids[row], column, "missing_required", f"必填项 {column} 为空")
    for row in plan["birth_date_mismatch"].tolist():
        shift = rng.choice([-1, 1]) * rng.randint(1, 400)
        birth_days[row] += shift
        log.add(row, ids[row], "birth_date", "birth_date_mismatch", f"出生日期与身份证号相差 {shift} 天")
    for row in plan["sex_mismatch"].tolist():
        sex[row] = "2" if sex[row] == "1" else "1"
        log.add(row, ids[row], "sex", "sex_mismatch", "性别与身份证号顺序码不符")
    for row in plan["invalid_division"].tolist():
        division_code[row] = rng.choice(STALE_DIVISIONS)
        log.add(row, ids[row], "division_code", "invalid_division", f"{division_code[row]} 不是常州现行区县代码")
    for row in plan["malformed_mobile"].tolist():
        mobile[row] = generate.corrupt_mobile(rng, mobile[row], rng.choice(["length", "prefix", "letter"]))
        log.add(row, ids[row], "mobile", "malformed_mobile", "手机号码格式错误")
    clean = np.flatnonzero(~defective)
    for row in plan["duplicate_id"].tolist():
        source = int(clean[rng.randrange(len(clean))]) if len(clean) else row
        ids[row], sex[row], birth_days[row] = ids[source], sex[source], birth_days[source]
        log.add(row, ids[row], "citizen_id", "duplicate_id", f"与第 {source} 行身份证号重复")

    table = pa.table(
        {
            "citizen_id": pa.array(ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "sex": pa.array(sex),
            "birth_date": pa.array(birth_days.astype(np.int32), pa.int32()).cast(pa.date32()),
            "ethnicity": pa.array(ethnicity),
            "division_code": pa.array(division_code, pa.string()),
            "street_code": pa.array(street_codes[street]),
            "mobile": pa.array(mobile, pa.string()),
            "address": pa.array(addresses, pa.string()),
            "updated_at": pa.array(updated, pa.int64()).cast(pa.timestamp("s", tz="UTC")),
        },
        schema=POPULATION_SCHEMA,
    )
    return table, log


# ---------------------------------------------------------------- 民政 copy

CIVIL_AFFAIRS_SCHEMA = pa.schema(
    [
        pa.field("citizen_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("address", pa.string()),
        pa.field("updated_at", pa.timestamp("s", tz="UTC")),
    ]
)


def population_copy_civil_affairs(
    population: pa.Table,
    rng: random.Random,
    *,
    share: float = 0.3,
    conflict_rate: float = COPY_CONFLICT_RATE,
    exclude_rows: Sequence[int] | set[int] = (),
) -> tuple[pa.Table, DefectLog]:
    """民政局's copy of part of the population, for cross-source 比对 against 公安.

    Takes about ``share`` of the rows not in ``exclude_rows`` (pass the population ``DefectLog``'s
    rows so that only clean persons are copied, and ``conflict_rate`` of the copies disagree in
    name or address; the log's ``row`` is the copy's row and ``detail`` names the population row.
    """
    check_rate(conflict_rate)
    np_rng = numpy_rng(rng)
    excluded = np.zeros(population.num_rows, dtype=bool)
    excluded[list(exclude_rows)] = True
    candidates = np.flatnonzero(~excluded)
    size = round(len(candidates) * share)
    rows = np.sort(np_rng.choice(candidates, size=size, replace=False)) if size else np.empty(0, np.int64)
    ids = population.column("citizen_id").take(rows).to_numpy(zero_copy_only=False).astype(object)
    names = population.column("name").take(rows).to_numpy(zero_copy_only=False).astype(object)
    addresses = population.column("address").take(rows).to_numpy(zero_copy_only=False).astype(object)
    log = DefectLog("population_civil_affairs", "citizen_id")
    plan = assign_defects(np_rng, size, conflict_rate, {"name_conflict": 0.5, "address_conflict": 0.5})
    for row in plan["name_conflict"].tolist():
        names[row] = other_name(rng, names[row])
        log.add(row, ids[row], "name", "name_conflict", f"与人口库第 {rows[row]} 行姓名不一致")
    for row in plan["address_conflict"].tolist():
        # A move the 公安 record has not caught up with: another 门牌号 on the same road.
        address = addresses[row]
        number = address.split("号")[0]
        digits_at = len(number.rstrip("0123456789"))
        old = int(number[digits_at:])
        addresses[row] = f"{number[:digits_at]}{old % 399 + 1}号{address[len(number) + 1 :]}"
        log.add(row, ids[row], "address", "address_conflict", f"与人口库第 {rows[row]} 行地址不一致")
    updated = population.column("updated_at").take(rows)
    table = pa.table(
        {
            "citizen_id": pa.array(ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "address": pa.array(addresses, pa.string()),
            "updated_at": updated,
        },
        schema=CIVIL_AFFAIRS_SCHEMA,
    )
    return table, log
