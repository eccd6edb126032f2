from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DivisionCreate(BaseModel):
    code: str = Field(
        pattern=r"^\d{6}(\d{3}(\d{3})?)?$", description="GB/T 2260 code (6), street (9) or community (12)"
    )
    name: str = Field(min_length=1, max_length=64)
    level: str = Field(pattern="^(city|district|street|community)$")
    parent_code: str | None = None


class DivisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    parent_code: str | None


class DepartmentCreate(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$", description="short code, e.g. gaj")
    name: str = Field(min_length=2, max_length=128)
    name_en: str | None = None
    uscc: str = Field(description="18-character 统一社会信用代码 (GB 32100)")
    level: str = Field(pattern="^(市|区)$", default="市")
    division_code: str = "320400"


class DepartmentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=128)
    name_en: str | None = None
    division_code: str | None = None


class DepartmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    code: str
    name: str
    name_en: str | None
    uscc: str
    level: str
    division_code: str
    oid_code: int
