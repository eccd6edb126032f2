"""National code lists (代码表) used by data elements.

性别 (GB/T 2261.1), 民族 (GB/T 3304), and the 登记管理部门码 / 机构类别码 of 统一社会信用代码 (GB 32100).

Each list is data plus lookups by code and by name. Names follow the text of the standard; a few
historical or short spellings are accepted as aliases when looking a code up by name, because
source systems still export them (e.g. "毛难族" before the 1986 renaming, or "汉" without "族").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from citybrain.errors import Invalid


@dataclass(frozen=True)
class CodeList:
    """One code list (代码表): ``entries`` maps code → name in the standard's order."""

    key: str
    title: str
    standard: str
    entries: Mapping[str, str]
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Frozen views so a caller cannot edit a national standard in place.
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))
        object.__setattr__(self, "aliases", MappingProxyType(dict(self.aliases)))

    def __contains__(self, code: object) -> bool:
        return code in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def codes(self) -> list[str]:
        return list(self.entries)

    def name_of(self, code: str) -> str:
        """Name for ``code``; raises ``Invalid`` naming the list when the code is not in it."""
        try:
            return self.entries[code]
        except KeyError:
            raise Invalid(
                f"{self.title}代码 {code!r} 不在 {self.standard} 代码表中",
                details={"field": self.key, "value": code},
            ) from None

    def get_name(self, code: str) -> str | None:
        return self.entries.get(code)

    def code_of(self, name: str) -> str:
        """Code for a name (exact, then alias); raises ``Invalid`` when unknown or ambiguous."""
        name = name.strip()
        matches = [code for code, entry in self.entries.items() if entry == name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Invalid(
                f"{self.title}名称 {name!r} 对应多个代码，请直接使用代码",
                details={"field": self.key, "value": name, "codes": matches},
            )
        if name in self.aliases:
            return self.aliases[name]
        raise Invalid(
            f"{self.title}名称 {name!r} 不在 {self.standard} 代码表中",
            details={"field": self.key, "value": name},
        )

    def get_code(self, name: str) -> str | None:
        try:
            return self.code_of(name)
        except Invalid:
            return None


#: GB/T 2261.1-2003 人的性别代码
SEX = CodeList(
    key="sex",
    title="性别",
    standard="GB/T 2261.1-2003",
    entries={"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"},
    aliases={"男性": "1", "女性": "2", "未知": "0", "未说明": "9"},
)

_ETHNIC_GROUPS = [
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
    "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族",
    "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族",
    "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
]  # fmt: skip

_ETHNICITY_ENTRIES = {f"{i:02d}": name for i, name in enumerate(_ETHNIC_GROUPS, start=1)}
# GB/T 3304-1991 lists these two beside the 56 nationalities.
_ETHNICITY_ENTRIES |= {"97": "其他", "98": "外国血统中国籍人士"}

_ETHNICITY_ALIASES = {name.removesuffix("族"): code for code, name in _ETHNICITY_ENTRIES.items() if code <= "56"}
# Names in use before the State Council renamings (崩龙→德昂 1985, 毛难→毛南 1986).
_ETHNICITY_ALIASES |= {"毛难族": "36", "毛难": "36", "崩龙族": "46", "崩龙": "46", "外国血统": "98"}

#: GB/T 3304-1991 中国各民族名称的罗马字母拼写法和代码 (数字代码)
ETHNICITY = CodeList(
    key="ethnicity",
    title="民族",
    standard="GB/T 3304-1991",
    entries=_ETHNICITY_ENTRIES,
    aliases=_ETHNICITY_ALIASES,
)

#: GB 32100-2015 统一社会信用代码 第1位 登记管理部门码 (A、N 为后续增补)
USCC_REGISTRATION_DEPARTMENTS = CodeList(
    key="registration_department",
    title="登记管理部门",
    standard="GB 32100-2015",
    entries={
        "1": "机构编制",
        "2": "外交",
        "3": "司法行政",
        "4": "文化",
        "5": "民政",
        "6": "旅游",
        "7": "宗教",
        "8": "工会",
        "9": "工商",
        "A": "中央军委改革和编制办公室",
        "N": "农业",
        "Y": "其他",
    },
    aliases={"市场监管": "9", "市场监督管理": "9", "编办": "1", "农业农村": "N"},
)

_CATEGORY_TABLE: dict[str, dict[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常驻新闻机构", "9": "其他"},
    "3": {
        "1": "律师执业机构",
        "2": "公证处",
        "3": "基层法律服务所",
        "4": "司法鉴定机构",
        "5": "仲裁委员会",
        "9": "其他",
    },
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "6": {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"},
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "9": "其他"},
    # 工商 has no "9 其他": every 工商 registrant is one of these three.
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    # 其他: the standard does not subdivide and always uses 1.
    "Y": {"1": "其他"},
}

#: GB 32100-2015 统一社会信用代码 第2位 机构类别码, per 登记管理部门码
USCC_ORG_CATEGORIES: Mapping[str, CodeList] = MappingProxyType(
    {
        department: CodeList(
            key="org_category",
            title=f"机构类别（{USCC_REGISTRATION_DEPARTMENTS.entries[department]}）",
            standard="GB 32100-2015",
            entries=categories,
        )
        for department, categories in _CATEGORY_TABLE.items()
    }
)


def uscc_category_name(department: str, category: str) -> str | None:
    """机构类别名称 for a (登记管理部门码, 机构类别码) pair, or ``None`` when the pair is not in the table."""
    categories = USCC_ORG_CATEGORIES.get(department)
    return categories.get_name(category) if categories is not None else None


#: Every list by key, so a data element can name its code list in configuration.
CODE_LISTS: Mapping[str, CodeList] = MappingProxyType(
    {
        SEX.key: SEX,
        ETHNICITY.key: ETHNICITY,
        USCC_REGISTRATION_DEPARTMENTS.key: USCC_REGISTRATION_DEPARTMENTS,
    }
)


def code_list(key: str) -> CodeList:
    """Look a code list up by key ("sex", "ethnicity", "registration_department")."""
    try:
        return CODE_LISTS[key]
    except KeyError:
        raise Invalid(f"未知的代码表：{key!r}", details={"field": "code_list", "known": sorted(CODE_LISTS)}) from None
