"""Input and output shapes of the efficiency actions (the engine's table layouts are ``prepare.schemas``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from citybrain.efficiency.params import DEFAULT_VERSION


class CycleCreate(BaseModel):
    year: int = Field(ge=2000, le=2100, description="评价年度（数据所属年度）")
    #: None: the parameter set in force for the year (:func:`citybrain.efficiency.params.version_for_year`)
    params_version: str | None = Field(default=None, description=f"参数版本（如 {DEFAULT_VERSION}），缺省按年度选用")
    check_deadline: dt.date | None = Field(default=None, description="数据核对截止日期，逾期视为认可")


class TransitionIn(BaseModel):
    to: str
    note: str | None = Field(default=None, max_length=500)
    check_deadline: dt.date | None = None


class ObjectionCreate(BaseModel):
    uscc: str = Field(min_length=18, max_length=18)
    resource_key: str | None = None
    field: str | None = None
    message: str = Field(min_length=2, max_length=2000)

    @field_validator("uscc")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()


class ObjectionReply(BaseModel):
    status: Literal["accepted", "rejected"]
    reply: str = Field(min_length=2, max_length=2000)


class DecisionIn(BaseModel):
    """A 领导小组 decision. ``t_confirm``/``t_reject`` act on a T candidate; ``adjust`` is 调档 4."""

    kind: Literal["t_confirm", "t_reject", "adjust"]
    uscc: str = Field(min_length=18, max_length=18)
    new_class: Literal["A", "B", "C", "D", "T"] | None = None
    basis: Literal["科技领军", "重点培育"] | None = None
    reason: str = Field(min_length=2, max_length=2000, description="领导小组研究意见")


class ClearoutUpdate(BaseModel):
    status: Literal["待整治", "整治中", "已提升", "已腾退"]
    note: str | None = Field(default=None, max_length=500)


class FirmBind(BaseModel):
    username: str
    uscc: str = Field(min_length=18, max_length=18)


class CyclePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    year: int
    params_version: str
    state: str
    state_name: str = ""
    allowed_next: list[str] = Field(default_factory=list)
    check_deadline: dt.date | None
    collecting_at: dt.datetime
    checking_at: dt.datetime | None
    evaluating_at: dt.datetime | None
    published_at: dt.datetime | None
    check_versions: dict[str, Any] | None
    confirmed_run_id: str | None
    confirmed_at: dt.datetime | None


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    year: int
    seq: int
    params_version: str
    params_fingerprint: str
    data_versions: dict[str, Any]
    decisions: list[Any]
    checksum: str
    firm_count: int
    excluded_count: int
    class_counts: dict[str, Any]
    baselines: dict[str, Any]
    results_version: int | None
    seconds: float
    created_by: str | None
    created_at: dt.datetime


class ResultPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    uscc: str
    name: str
    town: str
    town_code: str | None
    unit_id: str
    firm_type: str
    area_mu: float
    tax_paid: float
    total_score: float
    score_class: str
    cls: str = Field(serialization_alias="class")
    override_rule: str | None


class ObjectionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    uscc: str
    town_code: str | None
    resource_key: str | None
    field: str | None
    message: str
    status: str
    raised_by: str | None
    raised_at: dt.datetime
    reply: str | None
    replied_by: str | None
    replied_at: dt.datetime | None
    dept_id: str | None = None
    quality_number: str | None = None


class DecisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    kind: str
    uscc: str
    new_class: str | None
    basis: str | None
    reason: str
    by: str | None
    at: dt.datetime


class ClearoutPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    year: int
    uscc: str
    name: str
    town: str
    town_code: str | None
    area_mu: float
    status: str
    note: str | None
    updated_by: str | None
    updated_at: dt.datetime


class ExceptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    resource_key: str
    dept_id: str | None
    data_version: int
    column: str
    value: str
    problem: str
    message: str
    rows: int
