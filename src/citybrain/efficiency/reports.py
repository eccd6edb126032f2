"""结果通报: per-town summaries, firm lists and year-on-year (同比) moves, as data and as an Excel workbook.

同比 compares a year with the previous year's published result: per firm its previous class and score and
the move between them; per town its previous class counts, 实缴税金, 占地 and 亩均税收 with the change. Each
year's rows belong to the town the firm was registered in that year, so a town's previous figures are
those it was told the year before. A firm evaluated last year and not this year is listed as 退出 under
its previous town; a firm that moved town keeps its own history (its move is 升档/降档/持平, not 新参评).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd

from citybrain.efficiency.params import CLASSES

CLASS_NAMES = {"A": "优先发展类", "B": "支持发展类", "C": "提升发展类", "D": "限制发展类", "T": "暂缓定类"}
#: better classes first; T sits apart (暂缓定类 is no rank), so a move to or from T is "changed"
_RANK = {"A": 0, "B": 1, "C": 2, "D": 3}
#: the moves a firm of this year can make; 退出 counts last year's firms that are not evaluated this year
MOVES: tuple[str, ...] = ("升档", "降档", "持平", "调整", "新参评")
EXIT = "退出"


def _move(prev: Any, now: str) -> str:
    if prev is None or (isinstance(prev, float) and pd.isna(prev)):
        return "新参评"
    if prev == now:
        return "持平"
    if prev in _RANK and now in _RANK:
        return "升档" if _RANK[now] < _RANK[prev] else "降档"
    return "调整"


def _in_towns(df: pd.DataFrame, towns: Sequence[str] | None) -> pd.DataFrame:
    if not towns:
        return df
    # a boolean list, not a mapped Series: an empty object Series would select columns, not rows
    keep = [any(str(c).startswith(t) for t in towns) for c in df["town_code"].fillna("")]
    return df.loc[pd.Series(keep, index=df.index, dtype=bool)]


def _pct(now: float | None, prev: float | None) -> float | None:
    """同比 change in percent; None when there is no previous figure to compare with."""
    if now is None or prev is None or prev == 0:
        return None
    return round((now - prev) / abs(prev) * 100, 2)


def _figures(g: pd.DataFrame) -> dict[str, Any]:
    """Class counts, 占地, 实缴税金 and 亩均税收 (total tax over total area) of a set of result rows."""
    counts = g["cls"].value_counts()
    area = round(float(g["area_mu"].sum()), 2)
    tax = round(float(g["tax_paid"].sum()), 2)
    return {
        "firms": len(g),
        "counts": {c: int(counts.get(c, 0)) for c in CLASSES},
        "area_mu": area,
        "tax_paid": tax,
        "tax_per_mu": round(tax / area, 4) if area > 0 else None,
    }


def _compare(now: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any] | None:
    if prev is None:
        return None
    return {
        "firms": now["firms"] - prev["firms"],
        "counts": {c: now["counts"][c] - prev["counts"][c] for c in CLASSES},
        "area_mu": round(now["area_mu"] - prev["area_mu"], 2),
        "tax_paid": round(now["tax_paid"] - prev["tax_paid"], 2),
        "tax_paid_pct": _pct(now["tax_paid"], prev["tax_paid"]),
        "tax_per_mu_pct": _pct(now["tax_per_mu"], prev["tax_per_mu"]),
    }


def build_report(
    year: int,
    now: pd.DataFrame,
    prev: pd.DataFrame | None,
    *,
    towns: Sequence[str] | None = None,
    previous_year: int | None = None,
) -> dict[str, Any]:
    """The 结果通报 of ``year``, limited to the towns whose 区划代码 start with one of ``towns`` (all if None).

    ``now``/``prev``: every result row of the year and of the previous published year (uscc, name, town,
    town_code, area_mu, tax_paid, total_score, cls, override_rule); both unfiltered, so a firm that moved
    town is matched with its own previous result. ``previous_year`` defaults to ``year - 1``.
    """
    has_prev = prev is not None
    prev_all = prev if prev is not None else pd.DataFrame(columns=now.columns)
    p = prev_all.drop_duplicates("uscc").set_index("uscc")
    df = _in_towns(now, towns).copy()
    df["prev_class"] = df["uscc"].map(p["cls"]) if has_prev else None
    df["prev_score"] = df["uscc"].map(p["total_score"]) if has_prev else None
    df["move"] = [_move(a, b) for a, b in zip(df["prev_class"], df["cls"], strict=True)]
    df = df.sort_values(
        ["town_code", "cls", "total_score", "uscc"], ascending=[True, True, False, True], kind="mergesort"
    )
    prev_towns = _in_towns(prev_all, towns)
    exits = prev_towns[~prev_towns["uscc"].isin(set(now["uscc"]))].sort_values(["town_code", "uscc"], kind="mergesort")
    keys = pd.concat([df[["town_code", "town"]], prev_towns[["town_code", "town"]]]).fillna("")
    # a town is named as in its latest rows: this year's if it has any, else last year's
    names = dict(zip(keys["town_code"], keys["town"], strict=True))
    names.update(dict(zip(df["town_code"].fillna(""), df["town"].fillna(""), strict=True)))
    out_towns: list[dict[str, Any]] = []
    for code in sorted(names):
        g = df[df["town_code"].fillna("") == code]
        pg = prev_towns[prev_towns["town_code"].fillna("") == code]
        xg = exits[exits["town_code"].fillna("") == code]
        figures = _figures(g)
        before = _figures(pg) if has_prev else None
        out_towns.append(
            {
                "town_code": code or None,
                "town": names[code],
                **figures,
                "moves": {**{m: int((g["move"] == m).sum()) for m in MOVES}, EXIT: len(xg)},
                "previous": before,
                "change": _compare(figures, before),
                "items": _records(g),
                "exits": _exit_records(xg),
            }
        )
    total = _figures(df)
    total_before = _figures(prev_towns) if has_prev else None
    return {
        "year": year,
        "previous_year": (previous_year or year - 1) if has_prev else None,
        "total": {
            **total,
            "moves": {**{m: int((df["move"] == m).sum()) for m in MOVES}, EXIT: len(exits)},
            "previous": total_before,
            "change": _compare(total, total_before),
        },
        "towns": out_towns,
    }


def _records(g: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in g.itertuples(index=False):
        prev_score = None if pd.isna(r.prev_score) else float(r.prev_score)
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
                "prev_score": prev_score,
                "score_change": None if prev_score is None else round(float(r.total_score) - prev_score, 4),
                "move": r.move,
            }
        )
    return out


def _exit_records(g: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"uscc": r.uscc, "name": r.name, "prev_class": r.cls, "prev_score": float(r.total_score), "move": EXIT}
        for r in g.itertuples(index=False)
    ]


def to_xlsx(report: dict[str, Any]) -> bytes:
    """The report as a workbook: 汇总 (one row per town, with 同比), 企业名单, 升降档 (moves and 退出)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    prev_year = report.get("previous_year")
    head = [
        "镇（区、街道）",
        "区划代码",
        "参评企业",
        *[f"{c}类（{CLASS_NAMES[c]}）" for c in CLASSES],
        "升档",
        "降档",
        "新参评",
        "退出",
        "占地（亩）",
        "实缴税金（万元）",
        "亩均税收（万元/亩）",
        "上年参评企业",
        "上年亩均税收（万元/亩）",
        "实缴税金同比（%）",
        "亩均税收同比（%）",
    ]
    title = f"{report['year']} 年度工业企业效益综合评价结果（溧政发〔2023〕6号）"
    ws.append([title + (f"，与 {prev_year} 年度同比" if prev_year else "")])
    ws.append(head)

    def summary_row(label: str, code: Any, t: dict[str, Any]) -> list[Any]:
        before, change = t.get("previous") or {}, t.get("change") or {}
        return [
            label,
            code,
            t["firms"],
            *[t["counts"][c] for c in CLASSES],
            t["moves"]["升档"],
            t["moves"]["降档"],
            t["moves"]["新参评"],
            t["moves"][EXIT],
            t["area_mu"],
            t["tax_paid"],
            t["tax_per_mu"],
            before.get("firms"),
            before.get("tax_per_mu"),
            change.get("tax_paid_pct"),
            change.get("tax_per_mu_pct"),
        ]

    for t in report["towns"]:
        ws.append(summary_row(t["town"], t["town_code"], t))
    ws.append(summary_row("合计", None, report["total"]))
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
            "上年得分",
            "得分同比",
            "变动",
        ]
    )
    moves = wb.create_sheet("升降档")
    moves.append(["镇（区、街道）", "统一社会信用代码", "企业名称", "上年类别", "本年类别", "得分同比", "变动"])
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
                    f["prev_score"],
                    f["score_change"],
                    f["move"],
                ]
            )
            if f["move"] in ("升档", "降档", "调整"):
                moves.append(
                    [t["town"], f["uscc"], f["name"], f["prev_class"], f["class"], f["score_change"], f["move"]]
                )
        for f in t.get("exits", []):
            moves.append([t["town"], f["uscc"], f["name"], f["prev_class"], None, None, EXIT])
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
