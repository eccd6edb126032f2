"""Shared text handling for the gazette extractors (公报文本解析的公共部分).

The shipped texts under ``texts/`` are conversions of the printed gazettes (PDF → text). The
conversion leaves a few systematic artefacts that every table parser meets, so they are handled
here once:

* spaces inserted around every run of Latin letters or digits inside Chinese text
  ("溧阳市 2023 年度", "G104 国道"), and inside vertically set cells ("湾 溪 河 西 区");
* table rows as tab-separated lines, with merged cells (rowspan) printed once and left empty on
  the following rows, and the header line repeated after every page break;
* "—" for a value the table leaves open.

Everything here parses; nothing holds hand-typed rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib import resources

from citybrain.errors import Invalid

#: product name → text file shipped in ``citybrain/gazettes/texts``
SOURCES: dict[str, str] = {
    "changzhou-gazette-2021-01": "changzhou-gazette-2021-01.txt",
    "changzhou-bigdata-plan-2021": "changzhou-bigdata-plan-2021.txt",
    "liyang-gazette-2023-01": "liyang-gazette-2023-01.txt",
    "changzhou-smart-city-plan-14th": "changzhou-smart-city-plan-14th.txt",
    "changzhou-digital-government-2022": "changzhou-digital-government-2022.txt",
}

# CJK ideographs, CJK/full-width punctuation and the curly quotes used as Chinese quotation marks.
_CJK = "[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u2018-\u201d]"
_SPACE_NEXT_TO_CJK = re.compile(rf"(?<={_CJK})[ \t\u3000\xa0]+|[ \t\u3000\xa0]+(?={_CJK})")
_BLANKS = re.compile(r"\s+")
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_OPEN_VALUE = {"", "—", "-", "－", "/", "——"}


@cache
def read_text(source: str) -> str:
    """The decoded text of one shipped gazette (UTF-8); ``source`` is a key of :data:`SOURCES`."""
    if source not in SOURCES:
        raise Invalid(f"未知的公报文本：{source}", details={"field": "source", "known": sorted(SOURCES)})
    path = resources.files("citybrain.gazettes").joinpath("texts", SOURCES[source])
    return path.read_text(encoding="utf-8")


def tidy(cell: str) -> str:
    """One cell as printed: conversion spaces next to Chinese characters removed, other runs of
    whitespace collapsed to one space ("溧阳市 2023 年度" → "溧阳市2023年度")."""
    return _BLANKS.sub(" ", _SPACE_NEXT_TO_CJK.sub("", cell)).strip()


def cells(line: str) -> list[str]:
    """A tab-separated table line as tidied cells (empty cells kept: they mark merged cells)."""
    return [tidy(c) for c in line.rstrip("\n").split("\t")]


def tsv_lines(block: str) -> Iterator[list[str]]:
    """Tidied cells of every line of ``block`` that contains a tab."""
    for line in block.splitlines():
        if "\t" in line:
            yield cells(line)


def between(text: str, start: str, end: str, *, after: int = 0, what: str) -> tuple[int, str]:
    """The slice of ``text`` from the first ``start`` at or after ``after`` up to the next ``end``.

    Tables are located by the captions printed around them rather than by fixed offsets, so a
    re-converted text with shifted offsets still parses; a missing caption is an error, never an
    empty table.
    """
    i = text.find(start, after)
    if i < 0:
        raise Invalid(f"公报文本中找不到{what}的起始标记：{start}", details={"field": what, "marker": start})
    j = text.find(end, i + len(start))
    if j < 0:
        raise Invalid(f"公报文本中找不到{what}的结束标记：{end}", details={"field": what, "marker": end})
    return i, text[i:j]


def number(cell: str, *, field: str) -> float | None:
    """A numeric cell as float; "—" or an empty cell (value not given) as None."""
    value = cell.strip()
    if value in _OPEN_VALUE:
        return None
    try:
        return float(value)
    except ValueError:
        raise Invalid(f"{field}不是数值：{cell!r}", details={"field": field, "value": cell}) from None


def cn_date(value: str, *, field: str) -> date:
    """A date written "2023年1月11日" (spaces tolerated) as :class:`datetime.date`."""
    m = _CN_DATE.search(value)
    if m is None:
        raise Invalid(f"{field}不是日期：{value!r}", details={"field": field, "value": value})
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def find_cn_dates(text: str) -> list[tuple[int, date]]:
    """Every "YYYY年M月D日" standing alone on its line, with its offset (signature dates)."""
    found: list[tuple[int, date]] = []
    for m in re.finditer(r"^[ \t]*(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)[ \t]*$", text, re.M):
        found.append((m.start(1), cn_date(m.group(1), field="日期")))
    return found


def split_unit(label: str) -> tuple[str, str | None, str | None]:
    """Split an indicator label into (name, unit, note).

    "数据资源共享率（%）" → ("数据资源共享率", "%", None); a second bracket is a qualifying note:
    "“不见面办事”政务服务事项比例（%）（除法律、法规另有规定…）" → (…, "%", "除法律、法规另有规定…").
    Both full-width and half-width brackets occur ("企业上云规模(家)").
    """
    m = re.fullmatch(r"(.+?)[（(]([^（）()]{1,6})[）)](?:[（(](.+)[）)])?", label)
    if m is None:
        return label, None, None
    return m.group(1), m.group(2), m.group(3)


def expect_count(rows: list[dict[str, object]], count: int, *, what: str) -> list[dict[str, object]]:
    """Guard a parser: the table printed ``count`` rows, so anything else is a parsing fault."""
    if len(rows) != count:
        raise Invalid(f"{what}应有{count}行，实际解析出{len(rows)}行", details={"field": what, "rows": len(rows)})
    return rows


def expect_sequence(rows: list[dict[str, object]], key: str, *, what: str) -> None:
    """Guard a parser: the 序号 column runs 1, 2, 3 … without gaps (a lost or split row breaks it)."""
    seen = [r[key] for r in rows]
    if seen != list(range(1, len(rows) + 1)):
        raise Invalid(f"{what}的序号不连续", details={"field": key, "sequence": seen})
