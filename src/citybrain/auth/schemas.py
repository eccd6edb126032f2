from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from citybrain.auth.rules import Role


class UserCreate(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    dept: str | None = Field(default=None, description="department id, code or 统一社会信用代码")
    roles: list[Role] = Field(min_length=1)
    divisions: list[str] = Field(default_factory=list)
    email: str | None = None
    phone: str | None = None


class UserUpdate(BaseModel):
    display_name: str | None = None
    roles: list[Role] | None = None
    divisions: list[str] | None = None
    is_active: bool | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    username: str
    display_name: str
    dept_id: str | None
    roles: list[str]
    divisions: list[str]
    is_active: bool
    last_login_at: datetime | None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    days: int | None = Field(default=None, ge=1, le=3650)


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str
    scopes: list[str]
    grant_id: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenIssued(TokenPublic):
    secret: str = Field(description="shown once; only its hash is stored")
