"""HTTP API of the 工业企业效益综合评价: a thin adapter over :mod:`citybrain.efficiency.service`."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import pyarrow as pa
from fastapi import APIRouter, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from citybrain.efficiency import service
from citybrain.efficiency.api_schemas import (
    ClearoutPublic,
    ClearoutUpdate,
    CycleCreate,
    DecisionIn,
    DecisionPublic,
    ExceptionPublic,
    FirmBind,
    ObjectionCreate,
    ObjectionPublic,
    ObjectionReply,
    ResultPublic,
    RunPublic,
    TransitionIn,
)
from citybrain.efficiency.reports import to_xlsx
from citybrain.errors import Invalid
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1/efficiency", tags=["efficiency 亩均效益评价"])


class DemoIn(BaseModel):
    year: int
    seed: int | str = 2024
    n_firms: int = 3000


class RunIn(BaseModel):
    data_versions: dict[str, int] | None = None


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


@router.post("/catalog", summary="Register the method's input resources under their source departments")
def catalog_install(ctx: Ctx) -> dict[str, Any]:
    created = service.efficiency_catalog_install(ctx)
    return {"created": created, "count": len(created)}


@router.post("/demo", summary="Generate and load a demo 溧阳 population for one year")
def demo_load(ctx: Ctx, data: DemoIn) -> dict[str, Any]:
    return service.efficiency_demo_load(ctx, data.year, seed=data.seed, n_firms=data.n_firms)


@router.post("/data/{key}", summary="Load one input resource from a CSV, Excel or Parquet file")
async def data_load(ctx: Ctx, key: str, file: UploadFile) -> dict[str, Any]:
    raw = await file.read()
    name = (file.filename or "").lower()
    import pandas as pd

    try:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            table = pq.read_table(io.BytesIO(raw))
        elif name.endswith(".xlsx"):
            table = pa.Table.from_pandas(pd.read_excel(io.BytesIO(raw), dtype={"uscc": str}), preserve_index=False)
        else:
            table = pa.Table.from_pandas(pd.read_csv(io.BytesIO(raw), dtype=str), preserve_index=False)
    except Exception as exc:
        raise Invalid(f"无法读取上传文件：{exc}", details={"field": "file"}) from None
    return {"resource": key, "version": service.efficiency_data_load(ctx, key, table), "rows": table.num_rows}


@router.post("/firm-accounts", summary="Bind a portal account to the firm it acts for")
def firm_bind(ctx: Ctx, data: FirmBind) -> dict[str, Any]:
    acc = service.efficiency_firm_bind(ctx, data)
    return {"user_id": acc.user_id, "uscc": acc.uscc}


@router.get("/cycles")
def cycle_list(ctx: Ctx) -> list[dict[str, Any]]:
    return [service.cycle_public(c) for c in service.efficiency_cycle_list(ctx)]


@router.post("/cycles", status_code=201)
def cycle_create(ctx: Ctx, data: CycleCreate) -> dict[str, Any]:
    return service.cycle_public(service.efficiency_cycle_create(ctx, data))


@router.get("/cycles/{year}")
def cycle_show(ctx: Ctx, year: int) -> dict[str, Any]:
    return service.efficiency_cycle_show(ctx, year)


@router.post("/cycles/{year}/transition", summary="Move the cycle (数据采集 → 数据核对 → 评价分类 → 结果通报)")
def cycle_advance(ctx: Ctx, year: int, data: TransitionIn) -> dict[str, Any]:
    return service.cycle_public(service.efficiency_cycle_advance(ctx, year, data))


@router.get("/cycles/{year}/exceptions", response_model=list[ExceptionPublic])
def exception_list(ctx: Ctx, year: int, dept: str | None = None) -> object:
    return service.efficiency_exception_list(ctx, year, dept=dept)


@router.get("/cycles/{year}/firms/{uscc}/data", summary="The data used for one firm (数据核对)")
def firm_data(ctx: Ctx, year: int, uscc: str) -> dict[str, Any]:
    return service.efficiency_firm_data(ctx, year, uscc)


@router.post("/cycles/{year}/firms/{uscc}/confirm", summary="Confirm the firm's data")
def confirm_data(ctx: Ctx, year: int, uscc: str) -> dict[str, Any]:
    return service.efficiency_confirm_data(ctx, year, uscc)


@router.get("/cycles/{year}/objections", response_model=list[ObjectionPublic])
def objection_list(ctx: Ctx, year: int, status: str | None = None) -> object:
    return service.efficiency_objection_list(ctx, year, status=status)


@router.post("/cycles/{year}/objections", response_model=ObjectionPublic, status_code=201)
def objection_create(ctx: Ctx, year: int, data: ObjectionCreate) -> object:
    return service.efficiency_objection_create(ctx, year, data)


@router.post("/objections/{objection_id}/reply", response_model=ObjectionPublic)
def objection_reply(ctx: Ctx, objection_id: str, data: ObjectionReply) -> object:
    return service.efficiency_objection_reply(ctx, objection_id, data)


@router.post("/cycles/{year}/runs", response_model=RunPublic, status_code=201, summary="Compute every firm")
def run_create(ctx: Ctx, year: int, data: RunIn | None = None) -> object:
    return service.efficiency_run(ctx, year, data_versions=data.data_versions if data else None)


@router.get("/cycles/{year}/runs", response_model=list[RunPublic])
def run_list(ctx: Ctx, year: int) -> object:
    return service.efficiency_run_list(ctx, year)


@router.get("/cycles/{year}/decisions", response_model=list[DecisionPublic])
def decision_list(ctx: Ctx, year: int) -> object:
    return service.efficiency_decision_list(ctx, year)


@router.post("/cycles/{year}/decisions", response_model=DecisionPublic, status_code=201)
def decide(ctx: Ctx, year: int, data: DecisionIn) -> object:
    return service.efficiency_decide(ctx, year, data)


@router.post("/cycles/{year}/confirm", response_model=RunPublic, summary="领导小组 confirms the latest run")
def confirm(ctx: Ctx, year: int) -> object:
    return service.efficiency_confirm(ctx, year)


@router.get("/cycles/{year}/results")
def result_list(
    ctx: Ctx,
    year: int,
    town_code: str | None = None,
    cls: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    page = service.efficiency_result_list(ctx, year, town_code=town_code, cls=cls, q=q, limit=limit, offset=offset)
    return {
        "year": page["year"],
        "run": RunPublic.model_validate(page["run"]).model_dump(mode="json") if page["run"] else None,
        "total": page["total"],
        "items": [ResultPublic.model_validate(r).model_dump(mode="json", by_alias=True) for r in page["items"]],
    }


@router.get("/cycles/{year}/results/{uscc}", summary="One firm's result with its full breakdown")
def result_show(ctx: Ctx, year: int, uscc: str) -> dict[str, Any]:
    return service.efficiency_result_show(ctx, year, uscc)


@router.get("/cycles/{year}/report", summary="Per town report; format=xlsx for the Excel download")
def report(ctx: Ctx, year: int, town_code: str | None = None, format: str = "json") -> Any:
    data = service.efficiency_report(ctx, year, town_code=town_code)
    if format == "xlsx":
        return _xlsx(to_xlsx(data), f"{year}年度工业企业效益综合评价{('-' + town_code) if town_code else ''}.xlsx")
    return data


@router.get("/clearout", response_model=list[ClearoutPublic], summary="危污乱散低 clear-out register")
def clearout_list(ctx: Ctx, year: int | None = None, town_code: str | None = None, status: str | None = None) -> object:
    return service.efficiency_clearout_list(ctx, year=year, town_code=town_code, status=status)


@router.patch("/clearout/{entry_id}", response_model=ClearoutPublic)
def clearout_update(ctx: Ctx, entry_id: str, data: ClearoutUpdate) -> object:
    return service.efficiency_clearout_update(ctx, entry_id, data)
