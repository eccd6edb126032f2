"""National data-element standards (数据元标准): scalar checks, code lists, the 常州 division tree,
and generators of conforming (or deliberately defective) demo values.

``checks`` — 公民身份号码 (GB 11643), 统一社会信用代码 (GB 32100), 组织机构代码 (GB 11714),
行政区划代码 (GB/T 2260), 手机号码, 经纬度, 日期, 金额; ``codelists`` — 性别 (GB/T 2261.1),
民族 (GB/T 3304), 登记管理部门码/机构类别码; ``divisions`` — 常州市 → 区 → 街道 → 社区;
``generate`` — seeded generators and ``corrupt_*`` helpers.
"""

from citybrain.standards.checks import CHECKS, get_check
from citybrain.standards.codelists import CODE_LISTS, ETHNICITY, SEX, CodeList, code_list
from citybrain.standards.divisions import Division

__all__ = ["CHECKS", "CODE_LISTS", "ETHNICITY", "SEX", "CodeList", "Division", "code_list", "get_check"]
