"""常州 demo departments (部门) and demo users for every role.

Departments are real 常州 and 溧阳 bodies under their current names; each gets a valid 统一社会信用代码
(GB 32100) generated deterministically from its short code, so every demo build gives a department
the same code. 机关 register with 登记管理部门码 "1" 机构编制 and 机构类别码 "1" 机关; the 中心 that are
事业单位 use 机构类别码 "2"; the 供电公司 is an enterprise ("91…") and is marked ``government=False``:
it is a data provider (用电数据 for the 溧阳工业企业效益综合评价), not a government department.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from citybrain.errors import NotFound
from citybrain.standards.divisions import division
from citybrain.standards.generate import uscc

CITY = "320400"
LIYANG = "320481"
TIANNING = "320402"

Level = Literal["市", "区"]


@dataclass(frozen=True, slots=True)
class DemoDepartment:
    """One department: short ``code`` (URLs, usernames), full name, and its 统一社会信用代码."""

    code: str
    name: str
    name_en: str
    level: Level
    division_code: str
    uscc: str
    #: False for data providers that are not government bodies (供电公司)
    government: bool = True

    def as_create(self) -> dict[str, Any]:
        """Fields for ``citybrain.org.schemas.DepartmentCreate``."""
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "uscc": self.uscc,
            "level": self.level,
            "division_code": self.division_code,
        }


# (code, name, English name, level, division, 登记管理部门码, 机构类别码)
_DEPARTMENTS: tuple[tuple[str, str, str, Level, str, str, str], ...] = (
    ("sjj", "常州市大数据管理中心", "Changzhou Big Data Administration Center", "市", CITY, "1", "2"),
    ("zfb", "常州市人民政府办公室", "General Office of Changzhou Municipal People's Government",
     "市", CITY, "1", "1"),
    ("spj", "常州市政务服务管理办公室", "Changzhou Government Services Administration Office", "市", CITY, "1", "1"),
    ("rx12345", "常州市12345政务服务便民热线中心", "Changzhou 12345 Government Service Hotline Center",
     "市", CITY, "1", "2"),
    ("gaj", "常州市公安局", "Changzhou Public Security Bureau", "市", CITY, "1", "1"),
    ("scjgj", "常州市市场监督管理局", "Changzhou Administration for Market Regulation", "市", CITY, "1", "1"),
    ("swj", "国家税务总局常州市税务局", "Changzhou Municipal Tax Service, STA", "市", CITY, "1", "1"),
    ("zrzyj", "常州市自然资源和规划局", "Changzhou Natural Resources and Planning Bureau", "市", CITY, "1", "1"),
    ("sthjj", "常州市生态环境局", "Changzhou Ecology and Environment Bureau", "市", CITY, "1", "1"),
    ("cgj", "常州市城市管理局", "Changzhou Urban Management Bureau", "市", CITY, "1", "1"),
    ("mzj", "常州市民政局", "Changzhou Civil Affairs Bureau", "市", CITY, "1", "1"),
    ("rsj", "常州市人力资源和社会保障局", "Changzhou Human Resources and Social Security Bureau",
     "市", CITY, "1", "1"),
    ("wjw", "常州市卫生健康委员会", "Changzhou Health Commission", "市", CITY, "1", "1"),
    ("fgw", "常州市发展和改革委员会", "Changzhou Development and Reform Commission", "市", CITY, "1", "1"),
    ("gxj", "常州市工业和信息化局", "Changzhou Industry and Information Technology Bureau", "市", CITY, "1", "1"),
    ("jyj", "常州市教育局", "Changzhou Education Bureau", "市", CITY, "1", "1"),
    ("kjj", "常州市科学技术局", "Changzhou Science and Technology Bureau", "市", CITY, "1", "1"),
    ("cz", "常州市财政局", "Changzhou Finance Bureau", "市", CITY, "1", "1"),
    ("zjj", "常州市住房和城乡建设局", "Changzhou Housing and Urban-Rural Development Bureau", "市", CITY, "1", "1"),
    ("jtj", "常州市交通运输局", "Changzhou Transport Bureau", "市", CITY, "1", "1"),
    ("slj", "常州市水利局", "Changzhou Water Resources Bureau", "市", CITY, "1", "1"),
    ("nyj", "常州市农业农村局", "Changzhou Agriculture and Rural Affairs Bureau", "市", CITY, "1", "1"),
    ("swj2", "常州市商务局", "Changzhou Commerce Bureau", "市", CITY, "1", "1"),
    ("wlj", "常州市文化广电和旅游局", "Changzhou Culture, Radio, Television and Tourism Bureau",
     "市", CITY, "1", "1"),
    ("yjj", "常州市应急管理局", "Changzhou Emergency Management Bureau", "市", CITY, "1", "1"),
    ("xfzd", "常州市消防救援支队", "Changzhou Fire and Rescue Detachment", "市", CITY, "1", "1"),
    ("tjj", "常州市统计局", "Changzhou Statistics Bureau", "市", CITY, "1", "1"),
    ("jrj", "常州市地方金融管理局", "Changzhou Local Financial Administration", "市", CITY, "1", "1"),
    ("sfj", "常州市司法局", "Changzhou Justice Bureau", "市", CITY, "1", "1"),
    ("ybj", "常州市医疗保障局", "Changzhou Healthcare Security Bureau", "市", CITY, "1", "1"),
    ("xzj", "常州市信访局", "Changzhou Letters and Visits Bureau", "市", CITY, "1", "1"),
    ("tyjrj", "常州市退役军人事务局", "Changzhou Veterans Affairs Bureau", "市", CITY, "1", "1"),
    ("gzw", "常州市人民政府国有资产监督管理委员会", "Changzhou State-owned Assets Supervision Commission",
     "市", CITY, "1", "1"),
    ("sjju", "常州市审计局", "Changzhou Audit Bureau", "市", CITY, "1", "1"),
    ("tyj", "常州市体育局", "Changzhou Sports Bureau", "市", CITY, "1", "1"),
    ("gjj", "常州市住房公积金管理中心", "Changzhou Housing Provident Fund Management Center", "市", CITY, "1", "2"),
    ("qxj", "常州市气象局", "Changzhou Meteorological Bureau", "市", CITY, "1", "1"),
    ("gdj", "国网江苏省电力有限公司常州供电分公司", "State Grid Changzhou Power Supply Company",
     "市", CITY, "9", "1"),
    # 溧阳市: the data providers of the 工业企业效益综合评价 (溧政发〔2023〕6号)
    ("lysjj", "溧阳市大数据管理局", "Liyang Big Data Administration", "区", LIYANG, "1", "1"),
    ("lygxj", "溧阳市工业和信息化局", "Liyang Industry and Information Technology Bureau", "区", LIYANG, "1", "1"),
    ("lyspj", "溧阳市行政审批局", "Liyang Administrative Approval Bureau", "区", LIYANG, "1", "1"),
    ("lyzrzyj", "溧阳市自然资源和规划局", "Liyang Natural Resources and Planning Bureau", "区", LIYANG, "1", "1"),
    ("lyswj", "国家税务总局溧阳市税务局", "Liyang Municipal Tax Service, STA", "区", LIYANG, "1", "1"),
    ("lytjj", "溧阳市统计局", "Liyang Statistics Bureau", "区", LIYANG, "1", "1"),
    ("lysthjj", "常州市溧阳生态环境局", "Changzhou Liyang Ecology and Environment Bureau", "区", LIYANG, "1", "1"),
    ("lyyjj", "溧阳市应急管理局", "Liyang Emergency Management Bureau", "区", LIYANG, "1", "1"),
    ("lyzjj", "溧阳市住房和城乡建设局", "Liyang Housing and Urban-Rural Development Bureau", "区", LIYANG, "1", "1"),
    ("lyslj", "溧阳市水利局", "Liyang Water Resources Bureau", "区", LIYANG, "1", "1"),
    ("lyxfdd", "溧阳市消防救援大队", "Liyang Fire and Rescue Brigade", "区", LIYANG, "1", "1"),
    ("lygdj", "国网江苏省电力有限公司溧阳市供电分公司", "State Grid Liyang Power Supply Company",
     "区", LIYANG, "9", "1"),
    ("tncgj", "常州市天宁区城市管理局", "Tianning District Urban Management Bureau", "区", TIANNING, "1", "1"),
)  # fmt: skip


@cache
def _departments() -> tuple[DemoDepartment, ...]:
    built = []
    for code, name, name_en, level, division_code, registration, category in _DEPARTMENTS:
        # Seeded by the code alone: a department's 统一社会信用代码 is its identity and must not move
        # when the demo seed changes.
        rng = random.Random(f"citybrain.demo.department:{code}")
        built.append(
            DemoDepartment(
                code=code,
                name=name,
                name_en=name_en,
                level=level,
                division_code=division_code,
                uscc=uscc(rng, division=division_code, department=registration, category=category),
                government=registration != "9",
            )
        )
    return tuple(built)


def departments() -> list[DemoDepartment]:
    """Every demo department, city-level first; the order is stable."""
    return list(_departments())


def department(code: str) -> DemoDepartment:
    """The demo department with short code ``code``."""
    for item in _departments():
        if item.code == code:
            return item
    raise NotFound(f"演示部门代码 {code!r} 不存在", details={"field": "dept", "value": code})


# ---------------------------------------------------------------- users

#: Departments that get a 数据管理员 (steward) and a 数据使用人 (consumer) account.
MAJOR_DEPARTMENTS: tuple[str, ...] = (
    "sjj", "spj", "rx12345", "gaj", "scjgj", "swj", "zrzyj", "sthjj", "cgj", "mzj", "rsj", "wjw", "fgw",
    "gxj", "zjj", "jtj", "yjj", "xfzd", "tjj", "gdj", "lysjj", "lygxj", "lyspj", "lyzrzyj", "lyswj",
    "lytjj", "lysthjj", "lyyjj", "tncgj", "zfb", "sfj", "lyslj",
)  # fmt: skip

#: Grid operators (网格员): street code → the department they work for.
GRID_STREETS: dict[str, str] = {
    "320402001": "tncgj",  # 天宁区雕庄街道
    "320402002": "tncgj",  # 天宁区青龙街道
    "320402005": "tncgj",  # 天宁区天宁街道
    "320404005": "cgj",  # 钟楼区南大街街道
    "320411004": "cgj",  # 新北区春江街道
    "320481002": "lysjj",  # 溧阳市溧城街道
    "320481001": "lysjj",  # 溧阳市昆仑街道
}

_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#%+-=@^_~"


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A demo account; ``dept`` is a department short code (``None`` for portal users)."""

    username: str
    display_name: str
    roles: list[str]
    dept: str | None
    password: str
    divisions: list[str] = field(default_factory=list)
    email: str | None = None

    def as_create(self) -> dict[str, Any]:
        """Fields for ``citybrain.auth.schemas.UserCreate``."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "password": self.password,
            "dept": self.dept,
            "roles": list(self.roles),
            "divisions": list(self.divisions),
            "email": self.email,
        }


def _password(rng: random.Random, length: int = 16) -> str:
    # Drawn until it has every character class, so it passes any reasonable strength policy.
    while True:
        candidate = "".join(rng.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
            and any(not c.isalnum() for c in candidate)
        ):
            return candidate


def demo_users(seed: int | str) -> list[DemoUser]:
    """One account per role, a steward and a consumer per major department, grid operators per street.

    Usernames are fixed (``admin``, ``cdo``, ``security``, ``steward.gaj``, ``consumer.scjgj``,
    ``grid.320402001``, ``operator.rx12345``, ``public``, ``company``); passwords are 16 random
    characters drawn from ``seed``. The seed is the only secret: pass a fresh random one per build
    (the builder writes the passwords to ``demo-credentials.json``).
    """
    rng = random.Random(f"citybrain.demo.users:{seed}")
    names = {item.code: item.name for item in _departments()}
    specs: list[tuple[str, str, list[str], str | None, list[str]]] = [
        ("admin", "平台管理员", ["admin"], "sjj", []),
        ("cdo", "首席数据官", ["cdo"], "sjj", []),
        ("security", "安全管理员", ["security"], "sjj", []),
    ]
    for code in MAJOR_DEPARTMENTS:
        specs.append((f"steward.{code}", f"{names[code]}数据管理员", ["steward"], code, []))
        specs.append((f"consumer.{code}", f"{names[code]}数据使用人", ["consumer"], code, []))
    for street, code in GRID_STREETS.items():
        specs.append((f"grid.{street}", f"{division(street).name}网格员", ["grid_operator"], code, [street]))
    specs.append(("operator.rx12345", "12345热线坐席", ["grid_operator"], "rx12345", []))
    specs.append(("public", "公众用户（演示）", ["public"], None, []))
    specs.append(("company", "企业用户（演示）", ["public"], None, []))
    return [
        DemoUser(
            username=username,
            display_name=display,
            roles=roles,
            dept=dept,
            password=_password(rng),
            divisions=divisions,
            email=f"{username}@demo.citybrain.invalid",
        )
        for username, display, roles, dept, divisions in specs
    ]
