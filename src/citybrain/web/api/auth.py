from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from citybrain.auth import service
from citybrain.auth.schemas import TokenCreate, TokenIssued, TokenPublic, UserCreate, UserPublic, UserUpdate
from citybrain.web.deps import Ctx

router = APIRouter(prefix="/api/v1", tags=["identity 身份"])


class PasswordSet(BaseModel):
    password: str


@router.get("/me", response_model=UserPublic)
def me(ctx: Ctx) -> object:
    return service.user_show_self(ctx)


@router.get("/users", response_model=list[UserPublic])
def user_list(ctx: Ctx, dept: str | None = None) -> object:
    return service.user_list(ctx, dept)


@router.post("/users", response_model=UserPublic, status_code=201)
def user_create(ctx: Ctx, data: UserCreate) -> object:
    return service.user_create(ctx, data)


@router.get("/users/{ref}", response_model=UserPublic)
def user_show(ctx: Ctx, ref: str) -> object:
    return service.user_show(ctx, ref)


@router.patch("/users/{ref}", response_model=UserPublic)
def user_update(ctx: Ctx, ref: str, data: UserUpdate) -> object:
    return service.user_update(ctx, ref, data)


@router.put("/users/{ref}/password", status_code=204)
def user_password_set(ctx: Ctx, ref: str, data: PasswordSet) -> None:
    service.user_password_set(ctx, ref, data.password)


@router.get("/tokens", response_model=list[TokenPublic])
def token_list(ctx: Ctx) -> object:
    return service.token_list(ctx)


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def token_create(ctx: Ctx, data: TokenCreate) -> object:
    token, secret = service.token_create(ctx, data)
    return TokenIssued(**TokenPublic.model_validate(token).model_dump(), secret=secret)


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def token_revoke(ctx: Ctx, token_id: str) -> object:
    return service.token_revoke(ctx, token_id)
