"""工业企业效益综合评价 ("亩均效益"): the scoring method of 溧政发〔2023〕6号 as a pure, vectorized engine.

>>> from citybrain.efficiency import EvaluationInputs, load_params, score_year
>>> result = score_year(EvaluationInputs(year=2022, registration=reg, land=land, tax=tax), load_params("2023"))
>>> result.firms[["uscc", "total_score", "class"]]

Inputs are department records (see :data:`schemas`); the output has one row per firm with the total,
the class (A/B/C/D/T) and a JSON breakdown naming every indicator, bonus, deduction and 调档 rule.
"""

from citybrain.efficiency.method import (
    Adjustment,
    EvaluationResult,
    score_prepared,
    score_year,
    tax_per_mu_score,
)
from citybrain.efficiency.params import INDICATORS, Params, available_versions, load_params
from citybrain.efficiency.prepare import EvaluationInputs, Prepared, prepare, schemas

__all__ = [
    "INDICATORS",
    "Adjustment",
    "EvaluationInputs",
    "EvaluationResult",
    "Params",
    "Prepared",
    "available_versions",
    "load_params",
    "prepare",
    "schemas",
    "score_prepared",
    "score_year",
    "tax_per_mu_score",
]
