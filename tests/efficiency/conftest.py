from __future__ import annotations

from typing import Any

import pytest
from efficiency_helpers import City

from citybrain.auth.rules import Role
from citybrain.efficiency import Params, load_params


@pytest.fixture
def params() -> Params:
    return load_params("2023")


@pytest.fixture
def city() -> City:
    return City()


@pytest.fixture
def liyang(run: Any, factory: Any) -> dict[str, Any]:
    """溧阳's departments, the catalog resources, and a 数据管理员 for each department that delivers."""
    from citybrain.demo.departments import departments
    from citybrain.efficiency import service as svc
    from citybrain.org.schemas import DepartmentCreate
    from citybrain.org.service import department_create

    depts = {
        d.code: run(department_create, DepartmentCreate(**d.as_create()))
        for d in departments()
        if d.division_code == "320481"
    }
    run(svc.efficiency_catalog_install)
    stewards = {code: factory.user(Role.STEWARD, dept=depts[code])[1] for code in ("lyspj", "lyzrzyj", "lyswj")}
    office = factory.user(Role.STEWARD, dept=depts["lygxj"])[1]
    return {"depts": depts, "stewards": stewards, "office": office}
