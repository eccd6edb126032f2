"""Import every domain's tables so ``Base.metadata`` is complete (for migrations and tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "citybrain.org.models",
    "citybrain.auth.models",
    "citybrain.audit.models",
    "citybrain.catalog.models",
    "citybrain.ingest.models",
    "citybrain.quality.models",
    "citybrain.share.models",
    "citybrain.opendata.models",
    "citybrain.cases.models",
    "citybrain.efficiency.models",
)

for _module in MODEL_MODULES:
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as _exc:
        if _exc.name is None or not _module.startswith(_exc.name):
            raise
