"""质量评分: scores per GB/T 36344 dimension and overall, as pure functions over a :class:`RunResult`.

For each rule with something checked, its pass rate is ``1 − failed / checked``. A dimension's score is
the severity-weighted mean of its rules' pass rates × 100; the overall score is the same weighted mean
over all rules (so a dimension with more, or more severe, rules counts for more). Weights:

=========  ======
severity   weight
=========  ======
high       3
medium     2
low        1
=========  ======

Rules that checked nothing (an empty column, a timeliness rule not judged) carry no information and are
left out; a dimension with no such rule has no score (absent, not 100).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from citybrain.quality.engine import RuleResult, RunResult
from citybrain.quality.rules import Dimension, Severity

SEVERITY_WEIGHTS: Mapping[Severity, float] = {Severity.HIGH: 3.0, Severity.MEDIUM: 2.0, Severity.LOW: 1.0}


@dataclass(frozen=True)
class QualityScore:
    """Scores 0–100, rounded to two decimals; ``overall`` is None when no rule checked anything."""

    overall: float | None
    dimensions: dict[Dimension, float] = field(default_factory=dict)

    def labelled(self) -> dict[str, float]:
        """Dimension scores keyed by their Chinese names (完整性, 准确性, …)."""
        return {d.label: s for d, s in self.dimensions.items()}


def pass_rate(result: RuleResult) -> float:
    """Share of checked rows that passed (1.0 when nothing was checked)."""
    return 1.0 - result.failed / result.checked if result.checked else 1.0


def weighted_score(results: Iterable[RuleResult], weights: Mapping[Severity, float] = SEVERITY_WEIGHTS) -> float | None:
    """Severity-weighted mean pass rate × 100 over results that checked something."""
    total = weight_sum = 0.0
    for r in results:
        if r.checked <= 0:
            continue
        w = weights[r.severity]
        total += w * pass_rate(r)
        weight_sum += w
    return round(100.0 * total / weight_sum, 2) if weight_sum else None


def dimension_scores(run: RunResult, weights: Mapping[Severity, float] = SEVERITY_WEIGHTS) -> dict[Dimension, float]:
    """Score per dimension, in :class:`Dimension` order, only for dimensions with a checked rule."""
    out: dict[Dimension, float] = {}
    for dim in Dimension:
        s = weighted_score((r for r in run.results if r.dimension == dim), weights)
        if s is not None:
            out[dim] = s
    return out


def score(run: RunResult, weights: Mapping[Severity, float] = SEVERITY_WEIGHTS) -> QualityScore:
    """Per-dimension and overall scores of one run."""
    return QualityScore(overall=weighted_score(run.results, weights), dimensions=dimension_scores(run, weights))


__all__ = ["SEVERITY_WEIGHTS", "QualityScore", "dimension_scores", "pass_rate", "score", "weighted_score"]
