"""The common data element standards every city needs, shipped with the platform."""

from __future__ import annotations

from typing import Any

from citybrain.standards.codelists import ETHNICITY, SEX


def _codes(code_list: Any) -> list[dict[str, str]]:
    return [{"code": c, "name": code_list.entries[c]} for c in code_list.entries]


BUILTIN_STANDARDS: list[dict[str, Any]] = [
    dict(name="citizen_id", title="公民身份号码", title_en="Citizen ID number", reference="GB 11643-1999",
         definition="公民身份号码，18 位，含出生日期码、顺序码（奇数男偶数女）和校验码。",
         data_type="string", pattern=r"^\d{17}[\dXx]$", min_length=18, max_length=18, check="citizen_id",
         aliases=["身份证", "身份证号", "身份证号码", "居民身份证号码", "证件号码"], sensitivity=3),
    dict(name="uscc", title="统一社会信用代码", title_en="Unified social credit code", reference="GB 32100-2015",
         definition="法人和其他组织统一社会信用代码，18 位，含登记管理部门码、机构类别码、登记管理机关行政区划码、主体标识码和校验码。",
         data_type="string", pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",
         min_length=18, max_length=18, check="uscc", aliases=["信用代码", "社会信用代码", "企业信用代码", "统一代码"]),
    dict(name="org_code", title="组织机构代码", title_en="Organization code", reference="GB 11714-1997",
         definition="全国组织机构代码，8 位本体代码加 1 位校验码。", data_type="string",
         pattern=r"^[0-9A-Z]{8}-?[0-9X]$", min_length=9, max_length=10, check="org_code", aliases=["机构代码"]),
    dict(name="division_code", title="行政区划代码", title_en="Administrative division code",
         reference="GB/T 2260", definition="县级及以上行政区划代码，6 位数字。", data_type="string",
         pattern=r"^\d{6}$", min_length=6, max_length=6, check="division_code", aliases=["区划代码", "行政区划"]),
    dict(name="sex", title="性别", title_en="Sex", reference="GB/T 2261.1-2003", definition="人的性别代码。",
         data_type="string", code_list=_codes(SEX), aliases=["性别代码"]),
    dict(name="ethnicity", title="民族", title_en="Ethnic group", reference="GB/T 3304-1991",
         definition="中国各民族名称的罗马字母拼写法和代码。", data_type="string", code_list=_codes(ETHNICITY),
         aliases=["民族代码"], sensitivity=3),
    dict(name="mobile", title="手机号码", title_en="Mobile phone number", reference="YD/T 2135",
         definition="中国大陆移动电话号码，11 位。", data_type="string", pattern=r"^1[3-9]\d{9}$",
         min_length=11, max_length=11, check="mobile", aliases=["手机", "手机号", "联系电话", "移动电话", "电话"],
         sensitivity=3),
    dict(name="date", title="日期", title_en="Date", reference="GB/T 7408", definition="公历日期 YYYY-MM-DD。",
         data_type="date", check="date", aliases=["时间"]),
    dict(name="amount", title="金额", title_en="Amount", reference="GB/T 15835",
         definition="金额，非负，最多两位小数；单位在字段说明中注明（元或万元）。", data_type="decimal",
         check="amount", aliases=["资金", "费用"]),
    dict(name="longitude", title="经度", title_en="Longitude", reference="CGCS2000",
         definition="2000 国家大地坐标系经度，十进制度。", data_type="decimal", check="longitude",
         aliases=["坐标", "位置"]),
    dict(name="latitude", title="纬度", title_en="Latitude", reference="CGCS2000",
         definition="2000 国家大地坐标系纬度，十进制度。", data_type="decimal", check="latitude",
         aliases=["坐标", "位置"]),
    dict(name="person_name", title="姓名", title_en="Person name", reference="GB/T 2261",
         definition="自然人姓名。", data_type="string", min_length=1, max_length=50, aliases=["名字"], sensitivity=2),
    dict(name="address", title="地址", title_en="Address", definition="详细地址，含区、街道（镇）、道路门牌。",
         data_type="string", max_length=256, aliases=["住址", "住所", "地点"], sensitivity=2),
    dict(name="org_name", title="单位名称", title_en="Organization name",
         definition="法人或其他组织的登记名称。", data_type="string", max_length=200, aliases=["企业名称", "名称"]),
]
