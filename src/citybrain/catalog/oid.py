"""Object identifiers (GB/T 26231-2017) for catalog resources.

A resource's OID is ``{city arc}.3.{department arc}.{item}``. Arcs are non-negative integers
written without leading zeros; the whole OID is at most 100 bytes. Items are never reused: the
allocation table keeps every OID ever issued, including retired resources'.
"""

from __future__ import annotations

import re

from citybrain.errors import Invalid

_ARC = re.compile(r"^(0|[1-9][0-9]*)$")
RESOURCE_BRANCH = 3


def validate_oid(oid: str) -> str:
    problems: list[str] = []
    if not oid:
        problems.append("OID 为空")
    elif len(oid.encode()) > 100:
        problems.append(f"OID 长度 {len(oid.encode())} 字节，超过 100 字节")
    arcs = oid.split(".") if oid else []
    for i, arc in enumerate(arcs):
        if not _ARC.match(arc):
            problems.append(f"第 {i + 1} 段 “{arc}” 不是无前导零的非负整数")
    if arcs and _ARC.match(arcs[0]) and int(arcs[0]) > 2:
        problems.append("首段只能是 0、1 或 2")
    if len(arcs) >= 2 and arcs[0] in {"0", "1"} and _ARC.match(arcs[1]) and int(arcs[1]) > 39:
        problems.append("首段为 0 或 1 时第二段不能超过 39")
    if problems:
        raise Invalid(
            f"OID “{oid}” 不符合 GB/T 26231：" + "；".join(problems), details={"oid": oid, "problems": problems}
        )
    return oid


def resource_oid(arc: str, dept_arc: int, item: int) -> str:
    return validate_oid(f"{arc}.{RESOURCE_BRANCH}.{dept_arc}.{item}")
