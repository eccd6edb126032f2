"""The closed loop 归集 → 治理 → 反馈: a load opens 整改工单 for its findings, a corrected load closes them."""

from __future__ import annotations

from tests.ingest.test_ingest_support import csv_text, uscc, world

from citybrain.ingest import service
from citybrain.quality.tickets import ticket_list


def test_a_load_opens_tickets_for_the_source_department_and_a_fix_closes_them(run, factory, tmp_path) -> None:
    w = world(factory)
    good = [uscc() for _ in range(3)]
    broken = good[1][:-1] + ("0" if good[1][-1] != "0" else "1")  # wrong 校验码, right shape
    first = tmp_path / "v1.csv"
    first.write_text(csv_text([[good[0], "甲", "", "", ""], [broken, "乙", "", "", ""], [good[2], "丙", "", "", ""]]))
    load = run(service.resource_load, w.key, first, actor=w.steward)
    assert load.version == 1 and load.rows_accepted == 3

    tickets = run(ticket_list, resource=w.key, actor=w.steward)
    assert tickets, "the bad check character must reach the source department as a ticket"
    [ticket] = [t for t in tickets if "uscc" in t.rule_id]
    assert ticket.status == "open" and ticket.failed == 1 and ticket.dept_id == w.dept.id

    fixed = tmp_path / "v2.csv"
    fixed.write_text(csv_text([[good[0], "甲", "", "", ""], [good[1], "乙", "", "", ""], [good[2], "丙", "", "", ""]]))
    assert run(service.resource_load, w.key, fixed, actor=w.steward).version == 2
    after = {t.id: t for t in run(ticket_list, resource=w.key, actor=w.steward)}
    assert after[ticket.id].status == "closed" and after[ticket.id].closed_version == 2
