"""One Settings class; every field is documented where it is declared.

Values come from the environment (``CITYBRAIN_*``), then an optional TOML file named by
``CITYBRAIN_CONFIG``, then the defaults below. ``tests/test_settings.py`` checks that every field
has a description, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYBRAIN_", extra="ignore")

    home: Path = Field(
        default=Path("./var"),
        description="Data directory: metadata database (SQLite), the data lake, keys, logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata store. Empty: SQLite file under `home`. "
        "Production: postgresql+psycopg://user@host/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address the web server binds to.")
    port: int = Field(default=8000, description="Port the web server listens on.")
    oid_arc: str = Field(
        default="1.2.156.3204",
        description="The city's OID arc (GB/T 26231). Data resources get R.3.{dept}.{item} under it.",
    )
    default_lang: str = Field(default="zh", description="UI language when the user chose none: zh or en.")
    session_max_age: int = Field(default=8 * 3600, description="Web session lifetime in seconds.")
    token_default_days: int = Field(default=90, description="Default lifetime of a new API token in days.")
    log_level: str = Field(default="INFO", description="Log level of the structured (JSON) log.")
    log_json: bool = Field(default=True, description="Write logs as JSON lines (false: plain text).")
    ingest_standards: Literal["govern", "quarantine"] = Field(
        default="govern",
        description=(
            "What a load does with values that break their data element standard (format, length, code list, "
            "check character): 'govern' keeps the row and leaves the finding to the quality rules, which open "
            "整改工单 to the source department; 'quarantine' rejects the row at load time. Missing required "
            "values, wrong types, unknown columns and duplicate keys are quarantined either way."
        ),
    )
    seeds_scale: int = Field(
        default=2000, description="Demo city: number of persons in the 人口 base library (companies scale with it)."
    )

    # -- 异常监测 (share/anomalies.py): when a grant's usage raises an alert --------------------------
    share_volume_factor: float = Field(
        default=3.0,
        gt=1.0,
        description="volume_jump: alert when a consumer's rows over the last 24 hours exceed this many times its "
        "baseline (its daily average over the baseline days; before it has that much history, the daily volume "
        "declared in its request).",
    )
    share_volume_min_rows: int = Field(
        default=1000, ge=0, description="volume_jump: below this many rows in 24 hours nothing is a jump."
    )
    share_volume_baseline_days: int = Field(
        default=7, ge=1, description="volume_jump: days of history the baseline daily average is taken over."
    )
    share_enum_window_minutes: int = Field(
        default=10, ge=1, description="key_enumeration: the window (minutes) of lookups and verifications looked at."
    )
    share_enum_min_calls: int = Field(
        default=30,
        ge=1,
        description="key_enumeration: fewer lookups/verifications than this in the window never alert.",
    )
    share_enum_miss_ratio: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="key_enumeration: alert when at least this share of the window's lookups/verifications miss.",
    )
    share_work_start_hour: int = Field(
        default=8, ge=0, le=23, description="off_hours_export: working hours start at this hour (Beijing time)."
    )
    share_work_end_hour: int = Field(
        default=20,
        ge=1,
        le=24,
        description="off_hours_export: working hours end at this hour (Beijing time); exports outside them, or at "
        "a weekend, alert.",
    )

    @field_validator("oid_arc")
    @classmethod
    def _oid_arc_valid(cls, value: str) -> str:
        from citybrain.catalog.oid import validate_oid

        validate_oid(value)
        return value

    share_access_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Worker threads that serve share lookups and verifications at once in one process. Unset: 1 "
        "on SQLite, where every call's usage row and audit entry take the one write lock anyway and more threads "
        "only contend for the interpreter, and 8 on PostgreSQL, where calls overlap their network round trips.",
    )

    @model_validator(mode="after")
    def _work_hours_valid(self) -> Settings:
        if self.share_work_start_hour >= self.share_work_end_hour:
            raise ValueError("share_work_start_hour must be before share_work_end_hour")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("CITYBRAIN_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    # -- derived locations -------------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'citybrain.db').resolve()}"

    @property
    def resolved_share_access_threads(self) -> int:
        if self.share_access_threads:
            return self.share_access_threads
        return 1 if self.resolved_database_url.startswith("sqlite") else 8

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    def secret(self, name: str, nbytes: int = 32) -> bytes:
        """A named secret kept under ``home/keys`` (created on first use, mode 0600).

        Secrets never live in the repository or in the database; an operator can replace the
        file, or set ``CITYBRAIN_SECRET_<NAME>`` (hex) to supply one from a vault.
        """
        env = os.environ.get(f"CITYBRAIN_SECRET_{name.upper()}")
        if env:
            return bytes.fromhex(env)
        path = self.keys_dir / f"{name}.key"
        if not path.exists():
            self.keys_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(nbytes))
            os.replace(tmp, path)
        return bytes.fromhex(path.read_text().strip())

    def public_dict(self) -> dict[str, Any]:
        return {name: str(getattr(self, name)) for name in type(self).model_fields}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
