"""Administrative divisions (GB/T 2260 and below) and departments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from citybrain.db import Base, IdMixin, utcnow


class Division(Base):
    """行政区划: city (6 digits), district (6), street/town (9), community/village (12)."""

    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # city | district | street | community
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)


class Department(IdMixin, Base):
    """部门: identified by its 18-character 统一社会信用代码 and a short code used in URLs and OIDs."""

    __tablename__ = "department"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    level: Mapped[str] = mapped_column(String(8))  # 市 | 区
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"))
    #: numeric arc used in resource OIDs (R.3.{oid_code}.{item}); assigned once, never reused
    oid_code: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def dept_id(self) -> str:
        # a department "belongs" to itself for own-department authorization rules
        return self.id
