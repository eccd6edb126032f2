"""Builders for small, hand-checkable evaluation inputs (money 万元, area 亩)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from citybrain.efficiency import EvaluationInputs

YEAR = 2022


@dataclass
class City:
    """Department records assembled firm by firm."""

    registration: list[dict[str, Any]] = field(default_factory=list)
    land: list[dict[str, Any]] = field(default_factory=list)
    leases: list[dict[str, Any]] = field(default_factory=list)
    tax: list[dict[str, Any]] = field(default_factory=list)
    stats: list[dict[str, Any]] = field(default_factory=list)
    emissions: list[dict[str, Any]] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)
    listings: list[dict[str, Any]] = field(default_factory=list)
    hightech: list[dict[str, Any]] = field(default_factory=list)
    honours: list[dict[str, Any]] = field(default_factory=list)
    penalties: list[dict[str, Any]] = field(default_factory=list)
    accidents: list[dict[str, Any]] = field(default_factory=list)
    catalogue: list[dict[str, Any]] = field(default_factory=list)
    deferrals: list[dict[str, Any]] = field(default_factory=list)

    def firm(
        self,
        uscc: str,
        *,
        area: float | None = 10.0,
        tax: float = 0.0,
        sales: float = 0.0,
        above: bool = False,
        energy: float | None = None,
        emissions: float = 0.0,
        registered_on: str = "2010-05-01",
        supplied_on: str = "2005-01-01",
        merger: bool = False,
        industrial: bool = True,
        utility: bool = False,
    ) -> City:
        self.registration.append(
            {
                "uscc": uscc,
                "name": f"企业{uscc}",
                "town": "溧城街道",
                "registered_on": registered_on,
                "is_industrial": industrial,
                "industry": "C34",
                "is_utility": utility,
            }
        )
        if area is not None:
            self.land.append(
                {
                    "uscc": uscc,
                    "plot_id": f"P-{uscc}",
                    "area_mu": area,
                    "certified": True,
                    "building_area": 1000.0,
                    "land_supplied_on": supplied_on,
                    "acquired_by_merger": merger,
                }
            )
        self.tax.append(
            {
                "uscc": uscc,
                "tax_paid_in": tax,
                "exempt_offset": 0.0,
                "other_refunds": 0.0,
                "excluded_taxes": 0.0,
                "taxable_sales": sales,
            }
        )
        if above:
            self.stats.append({"uscc": uscc, "above_scale": True, "energy_tce": energy})
        if emissions:
            self.emissions.append({"uscc": uscc, "cod": emissions})
        return self

    def inputs(self, year: int = YEAR) -> EvaluationInputs:
        tables = {
            name: pd.DataFrame(rows) if rows else None for name, rows in vars(self).items() if name != "registration"
        }
        return EvaluationInputs(year=year, registration=pd.DataFrame(self.registration), **tables)


def row(result: Any, uscc: str) -> dict[str, Any]:
    """One firm's output row as a dict."""
    hit = result.firms[result.firms["uscc"] == uscc]
    assert len(hit) == 1, f"{uscc} not evaluated"
    return hit.iloc[0].to_dict()
