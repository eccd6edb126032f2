"""Inputs of the open-data operations."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

#: licences a steward may choose; the first is the default
LICENCES: dict[str, tuple[str, str]] = {
    "cc-by-4.0": ("知识共享署名 4.0 国际许可协议", "https://creativecommons.org/licenses/by/4.0/"),
    "odc-by": ("开放数据共享署名许可", "https://opendatacommons.org/licenses/by/1-0/"),
    "cc0-1.0": ("CC0 公共领域贡献", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "city-open-1.0": ("常州市公共数据开放授权协议 1.0", "https://data.changzhou.gov.cn/licence/1.0"),
}

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{1,99}$")


class FieldChoice(BaseModel):
    """One field of the resource in the open dataset: left out, shown as is, or masked with ``mask``."""

    name: str
    include: bool = True
    #: a MaskSpec as {"method", "params"}; None = the policy default for the field's level
    mask: dict[str, Any] | None = None
    #: explicitly show a level-1/2 field unmasked even if a mask was given before
    plain: bool = False


class DatasetPrepare(BaseModel):
    resource: str = Field(description="资源代码、ID 或 OID")
    name: str | None = Field(default=None, description="数据集标识（小写字母、数字、-、_），默认取资源代码")
    title: str | None = None
    title_en: str | None = None
    description: str | None = None
    licence: str = "cc-by-4.0"
    topic: str | None = None
    tags: list[str] | None = None
    #: None: every field with its default masking
    fields: list[FieldChoice] | None = None
    follow_latest: bool = True
    #: the lake version to pin to (when not following); default the current one
    version: int | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError("数据集标识只能包含小写字母、数字、- 和 _，长度 2–100")
        return value

    @field_validator("licence")
    @classmethod
    def _licence(cls, value: str) -> str:
        if value not in LICENCES:
            raise ValueError(f"未知的许可协议 {value}，可选：{'、'.join(LICENCES)}")
        return value


class DatasetUpdate(BaseModel):
    title: str | None = None
    title_en: str | None = None
    description: str | None = None
    licence: str | None = None
    topic: str | None = None
    tags: list[str] | None = None
    fields: list[FieldChoice] | None = None
    follow_latest: bool | None = None
    version: int | None = None

    @field_validator("licence")
    @classmethod
    def _licence(cls, value: str | None) -> str | None:
        if value is not None and value not in LICENCES:
            raise ValueError(f"未知的许可协议 {value}，可选：{'、'.join(LICENCES)}")
        return value


#: the usage terms an applicant accepts; bump the version when the text changes
TERMS_VERSION = "2026-1"
TERMS_TEXT = (
    "1. 仅将数据用于申请中所述用途，不得转让、出售或向第三方提供原始数据；"
    "2. 不得尝试重新识别个人或还原已脱敏的信息；"
    "3. 使用数据形成的成果须注明数据来源“常州市公共数据开放平台”；"
    "4. 遵守接口调用限额，发现数据安全事件须立即报告数据提供部门；"
    "5. 违反上述条款的，开放平台有权终止授权并依法追究责任。"
)


class ApplicationCreate(BaseModel):
    dataset: str
    applicant_kind: Literal["person", "company"] = "person"
    organization: str | None = None
    uscc: str | None = None
    purpose: str = Field(min_length=4, description="申请用途")
    intended_use: str = Field(min_length=4, description="预期使用场景与成果")
    accept_terms: bool = False


class ApplicationDecision(BaseModel):
    approve: bool
    reason: str = ""
    daily_calls: int = Field(default=1000, ge=1, le=1_000_000)
    max_rows: int = Field(default=1000, ge=1, le=100_000)
    days: int = Field(default=365, ge=1, le=3 * 365)


class AppRegister(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    description: str = ""
    url: str | None = None
    developer: str = Field(min_length=2, max_length=200)
    datasets: list[str] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("应用地址须以 http:// 或 https:// 开头")
        return value or None
