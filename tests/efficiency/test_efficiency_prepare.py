"""Department records → scoring units: scope, 占地面积 with leases and shared plots, related firms."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from efficiency_helpers import City, row

from citybrain.efficiency import EvaluationInputs, prepare, schemas, score_year
from citybrain.errors import Invalid


def test_scope_excludes_utilities_non_industrial_and_landless(params, city: City):
    city.firm("OK", area=10.0, tax=100.0)
    city.firm("POWER", area=10.0, tax=100.0, utility=True)
    city.firm("SHOP", area=10.0, tax=100.0, industrial=False)
    city.firm("NOLAND", area=None, tax=100.0)
    result = score_year(city.inputs(), params)
    assert list(result.firms["uscc"]) == ["OK"]
    reasons = dict(zip(result.excluded["uscc"], result.excluded["reason"], strict=True))
    assert reasons == {
        "NOLAND": "未实际使用土地或厂房资源",
        "POWER": "主营电力、热力、燃气及水的生产和供应",
        "SHOP": "非工业企业",
    }


def test_shared_plot_split_by_building_area(params, city: City):
    # "若多个工业企业共用一个地块的，按各企业所占建筑面积分摊土地面积。" 30 亩, 1000 ㎡ : 2000 ㎡ → 10 : 20
    city.firm("S1", area=None, tax=200.0)
    city.firm("S2", area=None, tax=200.0)
    city.land += [
        {"uscc": "S1", "plot_id": "ZD-7", "area_mu": 30.0, "building_area": 1000.0},
        {"uscc": "S2", "plot_id": "ZD-7", "area_mu": 30.0, "building_area": 2000.0},
    ]
    result = score_year(city.inputs(), params)
    assert row(result, "S1")["area_mu"] == 10.0 and row(result, "S1")["total_score"] == 80.0
    assert row(result, "S2")["area_mu"] == 20.0 and row(result, "S2")["total_score"] == 60.0


def test_shared_plot_without_building_area(params, city: City):
    city.firm("S1", area=None, tax=200.0)
    city.firm("S2", area=None, tax=200.0)
    city.land += [
        {"uscc": "S1", "plot_id": "ZD-8", "area_mu": 30.0, "building_area": 1000.0},
        {"uscc": "S2", "plot_id": "ZD-8", "area_mu": 30.0},
    ]
    with pytest.raises(Invalid) as exc:
        score_year(city.inputs(), params)
    assert exc.value.details[0]["plots"] == ["ZD-8"]
    equal = score_year(city.inputs(), params.replace({"land": {"shared_plot_without_building_area": "equal"}}))
    assert row(equal, "S1")["area_mu"] == 15.0


def test_uncertified_counts_attached_does_not(params, city: City):
    city.firm("F", area=None, tax=100.0)
    city.land += [
        {"uscc": "F", "plot_id": "A", "area_mu": 6.0, "certified": True},
        {"uscc": "F", "plot_id": "B", "area_mu": 4.0, "certified": False},
        {"uscc": "F", "plot_id": "C", "area_mu": 5.0, "attached": True},
    ]
    assert row(score_year(city.inputs(), params), "F")["area_mu"] == 10.0


def test_partial_lease_moves_area(params, city: City):
    # "企业出租部分厂房的，面积予以扣除" — lessor 20 − 5 = 15 亩, tenant 5 亩 (含租赁)
    city.firm("LESSOR", area=20.0, tax=150.0)
    city.firm("TENANT", area=None, tax=100.0)
    city.leases += [{"lessor_uscc": "LESSOR", "tenant_uscc": "TENANT", "area_mu": 5.0}]
    result = score_year(city.inputs(), params)
    assert row(result, "LESSOR")["area_mu"] == 15.0 and row(result, "LESSOR")["total_score"] == 60.0
    assert row(result, "TENANT")["area_mu"] == 5.0 and row(result, "TENANT")["total_score"] == 80.0
    area = result.breakdown("LESSOR")["area"]
    assert area == {"leased_in_mu": 0.0, "leased_out_mu": 5.0, "own_mu": 15.0, "total_mu": 15.0}


def test_whole_plant_lease_scores_the_tenant(params, city: City):
    # "整厂出租的，对租赁企业实施综合评价。"
    city.firm("OWNER", area=20.0, tax=1.0)
    city.firm("TENANT", area=None, tax=400.0)
    city.leases += [{"lessor_uscc": "OWNER", "tenant_uscc": "TENANT", "area_mu": 20.0, "whole_plant": True}]
    result = score_year(city.inputs(), params)
    assert list(result.firms["uscc"]) == ["TENANT"]
    assert row(result, "TENANT")["area_mu"] == 20.0 and row(result, "TENANT")["total_score"] == 80.0
    assert result.excluded.set_index("uscc").loc["OWNER", "reason"] == "整厂出租，对租赁企业实施综合评价"


def test_lease_larger_than_holding_refused(params, city: City):
    city.firm("LESSOR", area=5.0, tax=10.0)
    city.firm("TENANT", area=None, tax=10.0)
    city.leases += [{"lessor_uscc": "LESSOR", "tenant_uscc": "TENANT", "area_mu": 8.0}]
    with pytest.raises(Invalid) as exc:
        score_year(city.inputs(), params)
    assert exc.value.details[0]["uscc"] == ["LESSOR"]


def test_related_firms_merged_and_share_result(params, city: City):
    # "同一实际控制人控制的多家关联企业…合并数据计算后予以评价，关联企业共享评价结果。"
    city.firm("GA", area=5.0, tax=50.0)  # alone: v = 10 → 60 (B)
    city.firm("GB", area=5.0, tax=150.0, above=True, energy=50.0)  # alone: v = 30
    city.firm("SOLO", area=10.0, tax=100.0)
    city.related += [{"group_id": "实控人-1", "uscc": "GA"}, {"group_id": "实控人-1", "uscc": "GB"}]
    city.honours += [{"uscc": "GA", "level": "municipal", "record_id": "H-GA"}]
    city.penalties += [{"uscc": "GB", "category": "tax", "kind": "penalised", "record_id": "T-GB"}]
    result = score_year(city.inputs(), params)
    a, b = row(result, "GA"), row(result, "GB")
    assert a["unit_id"] == b["unit_id"] == "group:实控人-1"
    assert a["group_id"] == "实控人-1"
    assert a["breakdown"] == b["breakdown"]
    # merged: 10 亩, 200 万元 → v = 20; 规上 (any member) → 80 × 0.8 = 64; sole 规上 unit: sales 0, energy
    # 200/50 = 4 = half its own 基准值 8 → 5; +1 honour −5 tax penalty
    assert a["area_mu"] == 10.0 and a["tax_paid"] == 200.0
    assert a["firm_type"] == "above_scale_clean"
    assert a["total_score"] == 64.0 + 0.0 + 5.0 + 1.0 - 5.0
    bd = result.breakdown("GA")
    assert bd["members"] == ["GA", "GB"]
    assert bd["bonuses"][0]["uscc"] == "GA" and bd["deductions"][0]["uscc"] == "GB"
    assert pd.isna(row(result, "SOLO")["group_id"])
    assert row(result, "SOLO")["unit_id"] == "SOLO"


def test_schemas_document_every_table(params):
    assert set(schemas) == {f for f in EvaluationInputs.__dataclass_fields__ if f != "year"}
    for name, spec in schemas.items():
        assert spec["title"] and spec["provider"], name
        for column, col in spec["columns"].items():
            assert col["type"] in {"string", "float", "bool", "date"}, (name, column)
            assert col["doc"], (name, column)


def test_pyarrow_tables_accepted(params, city: City):
    city.firm("F", area=10.0, tax=100.0)
    inputs = city.inputs()
    arrow = EvaluationInputs(
        year=inputs.year,
        registration=pa.Table.from_pandas(inputs.registration),
        land=pa.Table.from_pandas(inputs.land),
        tax=pa.Table.from_pandas(inputs.tax),
    )
    assert row(score_year(arrow, params), "F")["total_score"] == 60.0


def test_missing_required_column_reported_in_chinese(params, city: City):
    city.firm("F", area=10.0, tax=100.0)
    inputs = city.inputs()
    bad = EvaluationInputs(year=2022, registration=inputs.registration, land=inputs.land.drop(columns="area_mu"))
    with pytest.raises(Invalid) as exc:
        prepare(bad, params)
    assert exc.value.details[0]["field"] == ["area_mu"]
    assert "缺少必填列" in exc.value.details[0]["message"]


def test_duplicate_registration_refused(params, city: City):
    city.firm("F", area=10.0, tax=100.0)
    city.registration.append(dict(city.registration[0]))
    with pytest.raises(Invalid) as exc:
        score_year(city.inputs(), params)
    assert exc.value.details[0]["uscc"] == ["F"]
