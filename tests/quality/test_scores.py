"""Scores per GB/T 36344 dimension, weighted by severity."""

from __future__ import annotations

import pytest

from citybrain.quality.engine import RuleResult, RunResult
from citybrain.quality.rules import Dimension, Severity
from citybrain.quality.scores import QualityScore, score, weighted_score


def result(rule_id: str, dim: Dimension, sev: Severity, checked: int, failed: int) -> RuleResult:
    return RuleResult(rule_id, "x", dim, sev, (), checked, failed)


def test_dimension_and_overall_scores() -> None:
    run = RunResult(
        backend="duckdb",
        rows=100,
        results=(
            result("a", Dimension.COMPLETENESS, Severity.HIGH, 100, 10),  # 0.90, weight 3
            result("b", Dimension.COMPLETENESS, Severity.LOW, 100, 50),  # 0.50, weight 1
            result("c", Dimension.ACCURACY, Severity.MEDIUM, 80, 0),  # 1.00, weight 2
            result("d", Dimension.UNIQUENESS, Severity.HIGH, 0, 0),  # nothing checked: left out
        ),
    )
    s = score(run)
    # completeness (3×0.9 + 1×0.5) / 4 = 0.8; overall (2.7 + 0.5 + 2) / 6 = 0.8667
    assert s == QualityScore(overall=86.67, dimensions={Dimension.COMPLETENESS: 80.0, Dimension.ACCURACY: 100.0})
    assert s.labelled() == {"完整性": 80.0, "准确性": 100.0}


def test_no_checked_rule_means_no_score() -> None:
    assert score(RunResult("duckdb", 0, ())).overall is None
    assert weighted_score([result("a", Dimension.TIMELINESS, Severity.HIGH, 1, 1)]) == 0.0


def test_custom_weights() -> None:
    rows = [
        result("a", Dimension.ACCURACY, Severity.HIGH, 10, 10),
        result("b", Dimension.ACCURACY, Severity.LOW, 10, 0),
    ]
    assert weighted_score(rows) == 25.0
    assert weighted_score(rows, {Severity.HIGH: 1, Severity.MEDIUM: 1, Severity.LOW: 1}) == pytest.approx(50.0)
