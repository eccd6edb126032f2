"""一网统管 settings: merging of duplicate reports, the classification threshold, 督办 and webhooks.

Kept beside the domain (``CITYBRAIN_CASES_*``) rather than in the platform's Settings so that a city
can tune case handling without touching the rest of the platform. Each value is documented where it
is declared.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CasesConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYBRAIN_CASES_", extra="ignore")

    merge_distance_m: float = Field(
        default=50.0,
        ge=0,
        description="Two reports of the same category closer than this (metres) are one problem (合并).",
    )
    merge_window_hours: float = Field(
        default=72.0,
        ge=0,
        description="…and reported within this many hours of the open case they would join.",
    )
    classify_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Below this confidence of the suggested 事项 a person decides (人工分类队列).",
    )
    warn_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="A case is 即将超期 (预警) when at most this share of its stage's time is left.",
    )
    webhook_url: str | None = Field(
        default=None,
        description="Optional URL that receives case events (派遣, 督办, 结案) as JSON, through the outbox.",
    )
    open311_jurisdiction: str = Field(
        default="changzhou.gov.cn", description="Open311 jurisdiction_id this endpoint answers for."
    )


@lru_cache(maxsize=1)
def get_config() -> CasesConfig:
    return CasesConfig()


def reset_config() -> None:
    get_config.cache_clear()
