"""结果通报: per-town summaries, firm lists and year-on-year moves, as data and as an Excel workbook."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from citybrain.efficiency.params import CLASSES

CLASS_NAMES = {"A": "优先发展类", "B": "支持发展类", "C": "提升发展类", "D": "限制发展类", "T": "暂缓定类"}
#: better classes first; T sits apart (暂缓定类 is no rank), so a move to or from T is "changed"
_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}


def _move(prev: Any, now: str) -> str:
    if prev is None or (isinstance(prev, float) and pd.isna(prev)):
        return "新参评"
    if prev == now:
        return "持平"
    if prev in _RANK and now in _RANK:
        return "升档" if _RANK[now] < _RANK[prev] else "降档"
    return "调整"


def build_report(year: int, now: pd.DataFrame, prev: pd.DataFrame | None) -> dict[str, Any]:
    """``now``/``prev``: result rows (uscc, name, town, town_code, area_mu, tax_paid, total_score, cls, …)."""
    df = now.copy()
    if prev is not None and len(prev):
        p = prev.set_index("uscc")
        df["prev_class"] = df["uscc"].map(p["cls"])
        df["prev_score"] = df["uscc"].map(p["total_score"])
    else:
        df["prev_class"] = None
        df["prev_score"] = None
    df["move"] = [_move(a, b) for a, b in zip(df["prev_class"], df["cls"], strict=True)]
    df = df.sort_values(
        ["town_code", "cls", "total_score", "uscc"], ascending=[True, True, False, True], kind="mergesort"
    )
    towns: list[dict[str, Any]] = []
    for (code, name), g in df.groupby([df["town_code"].fillna(""), df["town"].fillna("")], sort=True):
        counts = g["cls"].value_counts()
        towns.append(
            {
                "town_code": code or None,
                "town": name,
                "firms": len(g),
                "area_mu": round(float(g["area_mu"].sum()), 2),
                "tax_paid": round(float(g["tax_paid"].sum()), 2),
                "counts": {c: int(counts.get(c, 0)) for c in CLASSES},
                "moves": {m: int((g["move"] == m).sum()) for m in ("升档", "降档", "持平", "调整", "新参评")},
                "items": _records(g),
            }
        )
    counts = df["cls"].value_counts()
    return {
        "year": year,
        "previous_year": year - 1 if prev is not None else None,
        "total": {
            "firms": len(df),
            "counts": {c: int(counts.get(c, 0)) for c in CLASSES},
            "moves": {m: int((df["move"] == m).sum()) for m in ("升档", "降档", "持平", "调整", "新参评")},
        },
        "towns": towns,
    }


def _records(g: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in g.itertuples(index=False):
        out.append(
            {
                "uscc": r.uscc,
                "name": r.name,
                "class": r.cls,
                "total_score": float(r.total_score),
                "area_mu": float(r.area_mu),
                "tax_paid": float(r.tax_paid),
                "override_rule": r.override_rule,
                "prev_class": None if pd.isna(r.prev_class) else r.prev_class,
                "move": r.move,
            }
        )
    return out


def to_xlsx(report: dict[str, Any]) -> bytes:
    """The report as a workbook: 汇总 (one row per town), 企业名单, 升降档."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    head = [
        "镇（区、街道）",
        "区划代码",
        "参评企业",
        *[f"{c}类（{CLASS_NAMES[c]}）" for c in CLASSES],
        "升档",
        "降档",
        "占地（亩）",
        "实缴税金（万元）",
    ]
    ws.append([f"{report['year']} 年度工业企业效益综合评价结果（溧政发〔2023〕6号）"])
    ws.append(head)
    for t in report["towns"]:
        ws.append(
            [
                t["town"],
                t["town_code"],
                t["firms"],
                *[t["counts"][c] for c in CLASSES],
                t["moves"]["升档"],
                t["moves"]["降档"],
                t["area_mu"],
                t["tax_paid"],
            ]
        )
    tot = report["total"]
    ws.append(
        ["合计", None, tot["firms"], *[tot["counts"][c] for c in CLASSES], tot["moves"]["升档"], tot["moves"]["降档"]]
    )
    for cell in ws[2]:
        cell.font = Font(bold=True)
    firms = wb.create_sheet("企业名单")
    firms.append(
        [
            "镇（区、街道）",
            "统一社会信用代码",
            "企业名称",
            "类别",
            "综合得分",
            "占地（亩）",
            "实缴税金（万元）",
            "调档",
            "上年类别",
            "变动",
        ]
    )
    moves = wb.create_sheet("升降档")
    moves.append(["镇（区、街道）", "统一社会信用代码", "企业名称", "上年类别", "本年类别", "变动"])
    for t in report["towns"]:
        for f in t["items"]:
            firms.append(
                [
                    t["town"],
                    f["uscc"],
                    f["name"],
                    f["class"],
                    f["total_score"],
                    f["area_mu"],
                    f["tax_paid"],
                    f["override_rule"],
                    f["prev_class"],
                    f["move"],
                ]
            )
            if f["move"] in ("升档", "降档", "调整"):
                moves.append([t["town"], f["uscc"], f["name"], f["prev_class"], f["class"], f["move"]])
    for sheet in (firms, moves):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    for sheet, widths in ((ws, [16, 12, 10]), (firms, [16, 22, 36]), (moves, [16, 22, 36])):
        for i, w in enumerate(widths):
            sheet.column_dimensions[chr(ord("A") + i)].width = w
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
