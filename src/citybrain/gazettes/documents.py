"""Policy documents in the gazettes, as open-government records (政府信息公开目录).

The record follows the open-government page of 常政办发〔2021〕6号 (``changzhou-bigdata-plan-2021``):
索引号, 法定主动公开分类, 公开方式, 文件编号 (文号), 发布机构, 生成日期, 公开日期, 废止日期,
内容概述, 标题. Only that web copy states all of them; for the gazette documents we fill what the
text states and leave the rest None, with two documented derivations:

* 发布机构 from the 文号 prefix (:data:`ISSUERS`): 常政发 → 常州市人民政府, 常政办发 →
  常州市人民政府办公室, 溧政发 → 溧阳市人民政府, 溧政办发 → 溧阳市人民政府办公室 …;
* 公开方式 "主动公开" where the document carries the marker "（此件公开发布）", which is how a
  government document declares itself for 主动公开.

生成日期 is the signature date under the issuing organ. 施行日期 and 废止日期 come from the
document's own clause "本规定自…起施行，有效期至…"; a 转发 notice is skipped there because its clause
belongs to the forwarded provincial document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from citybrain.errors import Invalid
from citybrain.gazettes.extract import SOURCES, cn_date, find_cn_dates, read_text, tidy

#: 文号 prefix → issuing organ (发布机构)
ISSUERS: dict[str, str] = {
    "常州市人民政府令": "常州市人民政府",
    "常政发": "常州市人民政府",
    "常政规": "常州市人民政府",
    "常政办发": "常州市人民政府办公室",
    "溧政发": "溧阳市人民政府",
    "溧政规": "溧阳市人民政府",
    "溧政干": "溧阳市人民政府",
    "溧政办发": "溧阳市人民政府办公室",
}

GAZETTE_ISSUES: dict[str, str] = {
    "changzhou-gazette-2021-01": "常州市人民政府公报 2021年第1期",
    "liyang-gazette-2023-01": "溧阳市人民政府公报 2023年第1期",
}

_DOC_NUMBER = r"(?:常|溧)政[办干规]?[发规干]?〔\d{4}〕\s*\d+\s*号"
_NUMBER_LINE = re.compile(rf"^[ \t]*({_DOC_NUMBER})[ \t]*$", re.M)
_DECREE_LINE = re.compile(r"^#+\s*(常州市人民政府令)\s*\n+#+\s*第\s*(\d+)\s*号\s*$", re.M)
_DATE = r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
_IN_FORCE = re.compile(
    rf"(?:本(?:规定|办法|决定|意见|细则|方案|计划|通告|预案|区划)|现予公布\s*[,，])\s*自\s*({_DATE})\s*起(?:施行|实施|执行)"
)
_EXPIRES = re.compile(rf"有效期至\s*({_DATE})")
_PUBLIC_MARK = re.compile(r"[（(]\s*此件公开发布\s*[）)]")
_METADATA_LABELS = (
    "信息名称",
    "索引号",
    "法定主动公开分类",
    "公开方式",
    "文件编号",
    "发布机构",
    "生成日期",
    "公开日期",
    "废止日期",
    "内容概述",
)


@dataclass(frozen=True)
class DocumentSpan:
    """Where one document lies in a gazette text: its 文号, 标题 and body."""

    source: str
    seq: int
    number: str
    title: str
    offset: int
    body: str


def issuer_of(number: str) -> str:
    """发布机构 for a 文号, from its prefix ("溧政办发〔2023〕16号" → 溧阳市人民政府办公室)."""
    prefix = re.split(r"〔|第\d", number, maxsplit=1)[0]
    if prefix not in ISSUERS:
        raise Invalid(f"无法由文号确定发布机构：{number}", details={"field": "文号", "value": number})
    return ISSUERS[prefix]


def _heading(line: str) -> str:
    return tidy(line.lstrip("#").strip())


def _previous_line(text: str, at: int) -> tuple[int, str]:
    """The last non-blank line before offset ``at`` and its start offset."""
    head = text[:at].rstrip()
    start = head.rfind("\n") + 1
    return start, head[start:]


@cache
def gazette_documents(source: str) -> tuple[DocumentSpan, ...]:
    """Every document printed in one gazette, in order.

    A document opens with its title line followed by its 文号 on a line of its own; a
    政府令 prints "# 常州市人民政府令 / ## 第13号" instead and its title as the next heading. A body
    runs to the next document's title line.
    """
    text = read_text(source)
    starts: list[tuple[int, int, str, str]] = []  # (title start, number offset, number, title)
    for m in _NUMBER_LINE.finditer(text):
        title_start, title = _previous_line(text, m.start())
        starts.append((title_start, m.start(1), tidy(m.group(1)), _heading(title)))
    for m in _DECREE_LINE.finditer(text):
        title_line = re.search(r"^#+\s*(.+)$", text[m.end() :], re.M)
        if title_line is None:
            raise Invalid("政府令缺少标题", details={"field": "标题", "offset": m.start()})
        number = f"{m.group(1)}第{m.group(2)}号"
        starts.append((m.start(), m.start(), number, _heading(title_line.group(1))))
    starts.sort()
    end_marker = text.find("《常州市人民政府公报》简介")
    text_end = end_marker if end_marker >= 0 else len(text)
    spans = []
    for i, (_title_start, offset, number, title) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else text_end
        spans.append(DocumentSpan(source, i + 1, number, title, offset, text[offset:end]))
    return tuple(spans)


def document_span(source: str, number: str) -> DocumentSpan:
    """The document with 文号 ``number`` in gazette ``source``."""
    for span in gazette_documents(source):
        if span.number == number:
            return span
    raise Invalid(f"公报中没有文号为{number}的文件", details={"field": "文号", "value": number})


def _signature_date(body: str) -> date | None:
    dates = find_cn_dates(body)
    return dates[0][1] if dates else None


def _validity(title: str, body: str) -> tuple[date | None, date | None]:
    if "转发" in title:
        return None, None
    start = _IN_FORCE.search(body)
    expiry = _EXPIRES.search(body)
    return (
        cn_date(start.group(1), field="施行日期") if start else None,
        cn_date(expiry.group(1), field="废止日期") if expiry else None,
    )


def _record(
    *,
    doc_id: str,
    source: str,
    offset: int,
    number: str,
    title: str,
    body: str,
    issuer: str | None = None,
    gazette: str | None = None,
) -> dict[str, object]:
    in_force, expiry = _validity(title, body)
    return {
        "doc_id": doc_id,
        "title": title,
        "document_number": number,
        "issuer": issuer or issuer_of(number),
        "index_number": None,
        "disclosure_category": None,
        "disclosure_mode": "主动公开" if _PUBLIC_MARK.search(body) else None,
        "created_date": _signature_date(body),
        "published_date": None,
        "effective_date": in_force,
        "repeal_date": expiry,
        "validity": None,
        "summary": None,
        "gazette": gazette,
        "source_file": SOURCES[source],
        "offset": offset,
    }


def web_metadata(text: str) -> dict[str, str]:
    """The open-government header of a web copy ("索 引 号:014109429/2021-00022 …").

    Labels are printed with spaces between characters and two fields may share a line, so each
    value runs to the next label or the end of the line.
    """
    spaced = {label: r"\s*".join(label) for label in _METADATA_LABELS}
    any_label = "|".join(spaced.values())
    found: dict[str, str] = {}
    for label, pattern in spaced.items():
        m = re.search(rf"{pattern}\s*[:：]\s*(.*?)(?=[ \t]+(?:{any_label})\s*[:：]|\n|$)", text)
        if m is not None:
            found[label] = m.group(1).strip()
    return found


def _web_copy(source: str) -> dict[str, object]:
    text = read_text(source)
    meta = web_metadata(text)
    number = meta["文件编号"]
    record = _record(
        doc_id=f"{source}/1",
        source=source,
        offset=text.find(number),
        number=number,
        title=tidy(meta["信息名称"]),
        body=text,
        issuer=meta.get("发布机构"),
    )
    repeal = meta.get("废止日期", "")
    record.update(
        index_number=meta.get("索引号"),
        disclosure_category=meta.get("法定主动公开分类"),
        disclosure_mode=meta.get("公开方式") or record["disclosure_mode"],
        created_date=date.fromisoformat(meta["生成日期"]) if meta.get("生成日期") else None,
        published_date=date.fromisoformat(meta["公开日期"]) if meta.get("公开日期") else None,
        # 废止日期 holds either a date or the status "有效" (still in force)
        repeal_date=date.fromisoformat(repeal) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", repeal) else None,
        validity=None if re.fullmatch(r"\d{4}-\d{2}-\d{2}", repeal) else (repeal or None),
        summary=meta.get("内容概述"),
    )
    return record


def _standalone(source: str) -> dict[str, object]:
    """A single document (no gazette): 文号 line first, then the title as the next line."""
    text = read_text(source)
    m = _NUMBER_LINE.search(text)
    if m is None:
        raise Invalid(f"{SOURCES[source]}中找不到文号", details={"field": "文号", "source": source})
    title = next(line for line in text[m.end() :].splitlines() if line.strip())
    return _record(
        doc_id=f"{source}/1",
        source=source,
        offset=m.start(1),
        number=tidy(m.group(1)),
        title=_heading(title),
        body=text[m.end() :],
    )


def policy_documents() -> list[dict[str, object]]:
    """One record per document: 5 in the 常州 gazette, the web copy of 常政办发〔2021〕6号,
    33 in the 溧阳 gazette, the smart-city plan and the digital-government opinion (41 in all)."""
    rows: list[dict[str, object]] = []
    for source in ("changzhou-gazette-2021-01", "liyang-gazette-2023-01"):
        for span in gazette_documents(source):
            rows.append(
                _record(
                    doc_id=f"{source}/{span.seq}",
                    source=source,
                    offset=span.offset,
                    number=span.number,
                    title=span.title,
                    body=span.body,
                    gazette=GAZETTE_ISSUES[source],
                )
            )
    rows.append(_web_copy("changzhou-bigdata-plan-2021"))
    rows.append(_standalone("changzhou-smart-city-plan-14th"))
    rows.append(_standalone("changzhou-digital-government-2022"))
    return rows
