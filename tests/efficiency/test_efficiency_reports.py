"""结果通报 reports: counts per town, year-on-year moves, the workbook; and the CLI entry point."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import load_workbook
from typer.testing import CliRunner

from citybrain.efficiency.reports import build_report, to_xlsx

COLS = ["uscc", "name", "town", "town_code", "area_mu", "tax_paid", "total_score", "cls", "override_rule"]


def _frame(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(u, f"企业{u}", town, code, 10.0, 100.0, score, cls, None) for u, (town, code), score, cls in rows],
        columns=COLS,
    )


LC = ("溧城街道", "320481002")
KL = ("昆仑街道", "320481001")


def test_year_on_year_moves_per_town() -> None:
    prev = _frame([("1", LC, 50.0, "C"), ("2", LC, 85.0, "A"), ("3", KL, 30.0, "D"), ("4", KL, 0.0, "T")])
    now = _frame(
        [("1", LC, 65.0, "B"), ("2", LC, 70.0, "B"), ("3", KL, 35.0, "D"), ("4", KL, 45.0, "C"), ("5", KL, 90.0, "A")]
    )
    report = build_report(2023, now, prev)
    towns = {t["town"]: t for t in report["towns"]}
    assert towns["溧城街道"]["counts"] == {"A": 0, "B": 2, "C": 0, "D": 0, "T": 0}
    assert towns["溧城街道"]["moves"]["升档"] == 1 and towns["溧城街道"]["moves"]["降档"] == 1
    assert towns["昆仑街道"]["moves"] == {"升档": 0, "降档": 0, "持平": 1, "调整": 1, "新参评": 1, "退出": 0}
    assert report["total"]["firms"] == 5
    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    moves = list(wb["升降档"].iter_rows(min_row=2, values_only=True))
    assert {(r[1], r[6]) for r in moves} == {("1", "升档"), ("2", "降档"), ("4", "调整")}
    summary = list(wb["汇总"].iter_rows(min_row=3, values_only=True))
    assert summary[-1][0] == "合计" and summary[-1][2] == 5


def test_first_year_has_only_new_firms() -> None:
    report = build_report(2023, _frame([("1", LC, 65.0, "B")]), None)
    assert report["previous_year"] is None
    assert report["towns"][0]["items"][0]["move"] == "新参评"


def test_cli_lists_the_cycle_commands() -> None:
    from citybrain.cli.main import app

    out = CliRunner().invoke(app, ["efficiency", "--help"])
    assert out.exit_code == 0
    for command in ("install", "demo", "start", "advance", "run", "decide", "confirm", "report", "clearout"):
        assert command in out.output


def test_a_towns_first_year_report_lists_only_that_town() -> None:
    now = _frame([("1", LC, 65.0, "B"), ("2", KL, 30.0, "D")])
    report = build_report(2023, now, None, towns=[KL[1]])
    assert [t["town"] for t in report["towns"]] == ["昆仑街道"]
    assert report["total"]["counts"]["D"] == 1 and report["total"]["firms"] == 1
    assert report["towns"][0]["moves"]["退出"] == 0 and report["towns"][0]["previous"] is None
