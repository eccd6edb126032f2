"""Catalog input and output shapes, split by direction (Create / Update / Public)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from citybrain.catalog.models import BaseLibrary, Category, DataType, FieldRole, Frequency, Grade, OpenType, ShareType


class StandardCreate(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    title: str = Field(min_length=1, max_length=64)
    title_en: str | None = None
    definition: str = ""
    data_type: DataType = DataType.STRING
    pattern: str | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    code_list: list[dict[str, str]] | None = None
    check: str | None = None
    aliases: list[str] = Field(default_factory=list)
    reference: str | None = None
    sensitivity: int = Field(default=1, ge=1, le=4)


class StandardUpdate(BaseModel):
    title: str | None = None
    title_en: str | None = None
    definition: str | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    code_list: list[dict[str, str]] | None = None
    aliases: list[str] | None = None
    sensitivity: int | None = Field(default=None, ge=1, le=4)


class StandardPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    title: str
    title_en: str | None
    definition: str
    data_type: str
    pattern: str | None
    min_length: int | None
    max_length: int | None
    code_list: list[dict[str, str]] | None
    check: str | None
    aliases: list[str]
    reference: str | None
    sensitivity: int


class FieldIn(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="code name of the data item")
    title: str = Field(min_length=1, max_length=100)
    description: str = ""
    standard: str | None = Field(default=None, description="data element standard name, e.g. citizen_id")
    data_type: DataType | None = Field(default=None, description="defaults to the standard's type, else string")
    required: bool = False
    sensitivity: int | None = Field(default=None, ge=1, le=4)
    element: str | None = Field(default=None, description="data element identity, e.g. 法人.name")
    role: FieldRole | None = None


class ResourceBase(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    name_en: str | None = None
    description: str = ""
    category: Category
    base_library: BaseLibrary | None = None
    topic: str | None = None
    update_frequency: Frequency = Frequency.IRREGULAR
    share_type: ShareType
    share_basis: str | None = None
    open_type: OpenType
    open_basis: str | None = None
    grade: Grade = Grade.GENERAL
    tags: list[str] = Field(default_factory=list)
    document_number: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ResourceBase:
        if self.category == Category.BASE and self.base_library is None:
            raise ValueError("基础库资源必须指明所属基础库（人口、法人、信用、电子证照、空间地理）")
        if self.category != Category.BASE and self.base_library is not None:
            raise ValueError("只有基础库资源才能指定基础库")
        if self.share_type != ShareType.UNCONDITIONAL and not (self.share_basis or "").strip():
            raise ValueError(f"共享属性为“{self.share_type.value}”时必须说明依据（share_basis）")
        if self.open_type == OpenType.NONE and not (self.open_basis or "").strip():
            raise ValueError("开放属性为“不予开放”时必须说明依据（open_basis）")
        return self


class ResourceCreate(ResourceBase):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{2,63}$", description="stable code name")
    dept: str = Field(description="source department: id, code or 统一社会信用代码")
    fields: list[FieldIn] = Field(min_length=1)
    primary_key: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _keys(self) -> ResourceCreate:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"字段名重复：{', '.join(dupes)}")
        missing = [k for k in self.primary_key if k not in names]
        if missing:
            raise ValueError(f"主键字段不存在：{', '.join(missing)}")
        return self


class ResourceUpdate(BaseModel):
    """Partial update; ``revision`` must match the current one (optimistic locking)."""

    revision: int
    name: str | None = None
    name_en: str | None = None
    description: str | None = None
    topic: str | None = None
    update_frequency: Frequency | None = None
    share_type: ShareType | None = None
    share_basis: str | None = None
    open_type: OpenType | None = None
    open_basis: str | None = None
    grade: Grade | None = None
    tags: list[str] | None = None
    fields: list[FieldIn] | None = None
    primary_key: list[str] | None = None


class FieldPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    title: str
    description: str
    standard: str | None = None
    standard_title: str | None = None
    data_type: str
    required: bool
    sensitivity: int
    element: str | None
    role: str | None
    is_primary_key: bool = False


class ResourcePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    key: str
    oid: str
    name: str
    name_en: str | None
    description: str
    dept_id: str
    dept_code: str | None = None
    dept_name: str | None = None
    category: str
    base_library: str | None
    topic: str | None
    update_frequency: str
    share_type: str
    share_basis: str | None
    open_type: str
    open_basis: str | None
    grade: str
    tags: list[str]
    primary_key: list[str]
    document_number: str | None
    status: str
    revision: int
    created_at: datetime
    updated_at: datetime
    fields: list[FieldPublic] = Field(default_factory=list)


class SearchQuery(BaseModel):
    q: str = ""
    dept: str | None = None
    category: Category | None = None
    base_library: BaseLibrary | None = None
    share_type: ShareType | None = None
    open_type: OpenType | None = None
    grade: Grade | None = None
    topic: str | None = None
    tag: str | None = None
    include_retired: bool = False
    limit: int = Field(default=20, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class SearchResult(BaseModel):
    total: int
    items: list[ResourcePublic]
    facets: dict[str, dict[str, int]] = Field(default_factory=dict)


class ChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    revision: int
    change: str
    changed_by: str | None
    changed_at: datetime
    diff: dict[str, Any]
