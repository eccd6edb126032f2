"""A five-firm 溧阳 for the cycle tests, every figure small enough to check by hand (see
``test_efficiency_year_on_year``): 工商登记, 宗地 and 税收 per year, as the three departments deliver them."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa

from citybrain.standards.generate import uscc

LC = ("溧城街道", "320481002")
KL = ("昆仑街道", "320481001")
_rng = random.Random("efficiency-year-on-year")
F1, F2, F3, F4, F5 = (uscc(_rng, division="320481") for _ in range(5))

#: firm → (town, registered_on, {year: (area 亩, 实缴税金 万元)})
FIRMS: dict[str, tuple[tuple[str, str], str, dict[int, tuple[float, float]]]] = {
    F1: (LC, "2010-05-01", {2022: (10.0, 60.0), 2023: (10.0, 130.0)}),
    F2: (LC, "2008-03-01", {2022: (10.0, 250.0), 2023: (10.0, 150.0)}),
    F3: (KL, "2012-07-01", {2022: (10.0, 30.0), 2023: (10.0, 35.0)}),
    F4: (KL, "2011-01-01", {2022: (5.0, 60.0)}),
    F5: (KL, "2015-09-01", {2023: (4.0, 90.0)}),
}


def tables(year: int) -> dict[str, pa.Table]:
    """The three departments' deliveries for ``year``: 工商登记 (行政审批局), 宗地 (资规局), 税收 (税务局)."""
    reg, land, tax = [], [], []
    for code, ((town, town_code), registered, years) in FIRMS.items():
        if year not in years:
            continue
        area, paid = years[year]
        reg.append(
            {
                "uscc": code,
                "name": f"溧阳同比测试{code[-4:]}有限公司",
                "town": town,
                "town_code": town_code,
                "registered_on": dt.date.fromisoformat(registered),
                "is_industrial": True,
                "industry": "C34",
                "is_utility": False,
            }
        )
        land.append(
            {
                "uscc": code,
                "plot_id": f"320481-{code[-6:]}",
                "area_mu": area,
                "certified": True,
                "building_area": 3000.0,
                "land_supplied_on": dt.date(2005, 1, 1),
                "acquired_by_merger": False,
                "attached": False,
            }
        )
        # sales well under 2000 万: 调档 3 (规下 不得评为 A) stays out of the way
        tax.append(
            {
                "uscc": code,
                "tax_paid_in": paid,
                "exempt_offset": 0.0,
                "other_refunds": 0.0,
                "excluded_taxes": 0.0,
                "taxable_sales": 1000.0,
            }
        )
    return {
        "ly_eff_registration": pa.Table.from_pylist(reg),
        "ly_eff_land": pa.Table.from_pylist(land),
        "ly_eff_tax": pa.Table.from_pylist(tax),
    }


#: the department delivering each resource (its 数据管理员 loads it)
OWNER = {"ly_eff_registration": "lyspj", "ly_eff_land": "lyzrzyj", "ly_eff_tax": "lyswj"}
