"""First-run setup of a metadata store: schema, built-in standards and the division tree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from citybrain.catalog.service import install_builtin_standards
from citybrain.db import Database
from citybrain.org.models import Division
from citybrain.standards.divisions import all_divisions


def install_divisions(session: Session) -> int:
    existing = set(session.scalars(select(Division.code)))
    added = 0
    # parents first: the tree is listed top-down, and the FK needs the parent row
    for d in sorted(all_divisions(), key=lambda d: len(d.code) * 10 + {"city": 0, "district": 1}.get(d.level, 2)):
        if d.code not in existing:
            session.add(Division(code=d.code, name=d.name, level=d.level, parent_code=d.parent_code))
            existing.add(d.code)
            added += 1
            session.flush()
    return added


def init_platform(db: Database) -> dict[str, int]:
    """Idempotent: migrate, then add whatever reference data is missing."""
    db.migrate()
    with db.session() as session:
        return {"standards": install_builtin_standards(session), "divisions": install_divisions(session)}
