from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

import citybrain
from citybrain.db import first_transaction_reads_only

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="Liveness and database check")
def healthz(request: Request) -> dict[str, object]:
    # a read: it must answer while a writer holds SQLite's write lock
    with first_transaction_reads_only(), request.app.state.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "version": citybrain.__version__, "database": request.app.state.db.engine.dialect.name}
