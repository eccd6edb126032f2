"""Migration 0003_ingest_problem_kind adds the kind of problem and fills it in for rows already in
quarantine, so an upgraded platform groups its old quarantine like its new one."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from citybrain.db import alembic_config
from citybrain.ingest.checks import problem_kind

REASONS = {
    "成立日期：不是有效的日期：2020-02-31": "不是有效的日期",
    "统一社会信用代码：长度应为 18 个字符，实际 17 个": "长度应为 18 个字符",
    "单位名称：必填项为空": "必填项为空",
    "公民身份号码：校验码错误：应为 X": "校验码错误",
    "主键 统一社会信用代码 重复：第 2、5 条数据的主键都是 91320400MA1X": "主键 统一社会信用代码 重复",
}


@pytest.mark.parametrize(("reason", "kind"), [(r, k) for r, k in REASONS.items() if not r.startswith("主键")])
def test_problem_kind_drops_the_value(reason: str, kind: str) -> None:
    # a stored reason is "<field label>：<problem>"; the checks name the kind from the problem
    assert problem_kind(reason.split("：", 1)[1]) == kind


def test_upgrade_fills_in_the_kind_of_rows_already_quarantined(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(alembic_config(url), "0002_ingest")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for i, reason in enumerate(REASONS):
                conn.execute(
                    text(
                        "INSERT INTO ingest_quarantine (id, load_id, resource_id, row_number, field, reason, problems, "
                        "raw, status) VALUES (:id, 'l', 'r', :n, 'f', :reason, '[]', '{}', 'open')"
                    ),
                    {"id": f"q{i}", "n": i + 1, "reason": reason},
                )
        command.upgrade(alembic_config(url), "0003_ingest_problem_kind")
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT reason, problem_kind FROM ingest_quarantine")).fetchall())
        assert got == REASONS
        command.downgrade(alembic_config(url), "0002_ingest")
    finally:
        engine.dispose()
