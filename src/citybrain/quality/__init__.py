"""数据治理 (data governance): quality rules written once as Ibis expressions, run on DuckDB or Spark,
scored along the GB/T 36344 dimensions."""

from citybrain.quality.engine import (
    DuckDBBackend,
    FailingRow,
    RuleResult,
    RunResult,
    SparkBackend,
    check_timeliness,
    failing_keys,
    run_rules,
)
from citybrain.quality.rules import (
    Dimension,
    Rule,
    Severity,
    rule_from_dict,
    rules_from_dicts,
    standard_population_rules,
)
from citybrain.quality.scores import QualityScore, score

__all__ = [
    "Dimension",
    "DuckDBBackend",
    "FailingRow",
    "QualityScore",
    "Rule",
    "RuleResult",
    "RunResult",
    "Severity",
    "SparkBackend",
    "check_timeliness",
    "failing_keys",
    "rule_from_dict",
    "rules_from_dicts",
    "run_rules",
    "score",
    "standard_population_rules",
]
