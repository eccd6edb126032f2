from __future__ import annotations

import pytest
from efficiency_helpers import City

from citybrain.efficiency import Params, load_params


@pytest.fixture
def params() -> Params:
    return load_params("2023")


@pytest.fixture
def city() -> City:
    return City()
