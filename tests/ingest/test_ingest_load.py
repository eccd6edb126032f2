"""resource_load end to end: department files in, checked rows in the lake, the rest in quarantine."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from tests.ingest.test_ingest_support import HEADER_ZH, csv_text, uscc, world

from citybrain.audit.models import AuditEvent
from citybrain.auth.rules import Role
from citybrain.errors import NotAuthorized, NotFound
from citybrain.ingest import service
from citybrain.ingest.models import IngestLoad, QuarantineRow
from citybrain.lake import Lake


def lake(settings) -> Lake:
    return Lake(settings.lake_dir)


def test_gb18030_csv_loads_with_chinese_headers_and_lineage(run, factory, settings, tmp_path: Path) -> None:
    w = world(factory)
    codes = [uscc(), uscc()]
    path = tmp_path / "企业登记.csv"
    path.write_bytes(
        csv_text(
            [[codes[0], "常州䶮光科技有限公司", "2020-03-01", "100.50", 12], [codes[1], "溧阳𠮷祥餐饮店", "", "", ""]]
        ).encode("gb18030")
    )
    load = run(service.resource_load, w.key, path, actor=w.steward)

    assert load.status == "succeeded", load.error
    assert (load.rows_read, load.rows_accepted, load.rows_quarantined, load.version) == (2, 2, 0, 1)
    assert load.info["encoding"] == "gb18030"
    rows = lake(settings).read(w.key).to_pylist()
    assert rows[0] == {
        "uscc": codes[0],
        "org_name": "常州䶮光科技有限公司",  # characters outside GBK survive GB18030 decoding
        "reg_date": dt.date(2020, 3, 1),
        "capital": decimal.Decimal("100.50"),
        "staff": 12,
    }
    assert rows[1]["org_name"] == "溧阳𠮷祥餐饮店" and rows[1]["reg_date"] is None and rows[1]["staff"] is None

    info = lake(settings).current(w.key)
    assert info is not None and info.checksum == load.checksum
    lineage = info.lineage
    assert lineage["load_id"] == load.id and lineage["connector"] == "file" and lineage["source"] == "企业登记.csv"
    assert lineage["who"]["user"] == w.steward.username and lineage["who"]["dept_name"] == "市市场监督管理局"
    assert (lineage["rows_read"], lineage["rows_accepted"], lineage["rows_quarantined"]) == (2, 2, 0)
    assert lineage["resource_revision"] == w.resource.revision and lineage["schema_hash"].startswith("sm3:")
    assert lineage["source_checksum"].startswith("sm3:") and lineage["encoding"] == "gb18030"


def test_utf8_bom_csv_with_code_name_headers(run, factory, settings, tmp_path: Path) -> None:
    w = world(factory)
    code = uscc()
    path = tmp_path / "excel-utf8.csv"
    header = ["uscc", "org_name", "reg_date", "capital", "staff"]
    path.write_bytes(b"\xef\xbb\xbf" + csv_text([[code, "金坛茶叶合作社", "20190105", "0", "3"]], header).encode())
    load = run(service.resource_load, w.key, path, actor=w.steward)
    assert load.status == "succeeded", load.error
    assert load.info["encoding"] == "utf-8-sig"
    # the BOM must not end up in the first column's name, or uscc would count as an unknown column
    assert lake(settings).read(w.key).to_pylist() == [
        {"uscc": code, "org_name": "金坛茶叶合作社", "reg_date": dt.date(2019, 1, 5), "capital": 0, "staff": 3}
    ]


def test_xlsx_with_title_row_loads(run, factory, settings, tmp_path: Path) -> None:
    w = world(factory)
    codes = [uscc(), uscc()]
    wb = Workbook()
    ws = wb.active
    ws.append(["2026年常州市企业登记信息表"])
    ws.merge_cells("A1:E1")
    ws.append(["填报单位：市市场监督管理局"])
    ws.append(HEADER_ZH)
    ws.append([codes[0], "武进机械厂", dt.datetime(2001, 7, 1), 5000, 80])
    ws.append([codes[1], "天宁书店", "2011年5月3日", 12.5, None])
    path = tmp_path / "企业登记.xlsx"
    wb.save(path)

    load = run(service.resource_load, w.key, path, actor=w.steward)
    assert load.status == "succeeded", load.error
    assert load.info["header_row"] == 3 and load.info["format"] == "xlsx"
    rows = lake(settings).read(w.key).to_pylist()
    assert [(r["uscc"], r["reg_date"], r["capital"], r["staff"]) for r in rows] == [
        (codes[0], dt.date(2001, 7, 1), decimal.Decimal(5000), 80),
        (codes[1], dt.date(2011, 5, 3), decimal.Decimal("12.5"), None),
    ]


def test_bad_rows_go_to_quarantine_with_reasons_and_nothing_is_dropped(run, factory, settings, tmp_path) -> None:
    settings.ingest_standards = "quarantine"  # standard conformance is a load-time check in this mode
    w = world(factory)
    good, dup = uscc(), uscc()
    rows = [
        [good, "好企业", "2020-01-01", "1", "1"],  # 1
        ["91320400ABC", "格式错", "2020-01-01", "1", "1"],  # 2: uscc pattern / length
        [uscc(), "", "2020-01-01", "1", "1"],  # 3: required name empty
        [uscc(), "日期错", "2020-02-30", "1", "1"],  # 4: no such date
        [uscc(), "人数错", "2020-01-01", "1", "1.5"],  # 5: not an integer
        [dup, "重复一", "", "", ""],  # 6: duplicate key …
        [dup, "重复二", "", "", ""],  # 7: … of row 6
        [uscc(), "金额错", "", "十万", ""],  # 8: not a number
    ]
    path = tmp_path / "mixed.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    load = run(service.resource_load, w.key, path, actor=w.steward)

    assert load.status == "succeeded"
    assert (load.rows_read, load.rows_accepted, load.rows_quarantined) == (8, 1, 7)
    assert load.rows_accepted + load.rows_quarantined == load.rows_read
    assert lake(settings).read(w.key, columns=["uscc"]).to_pylist() == [{"uscc": good}]

    page = run(service.quarantine_list, w.key, actor=w.steward)
    assert page.total == 7
    by_row = {q.row_number: q for q in page.items}
    assert sorted(by_row) == [2, 3, 4, 5, 6, 7, 8]
    assert all(q.load_id == load.id and q.status == "open" for q in page.items)
    assert by_row[2].field == "uscc" and "不符合数据元标准“统一社会信用代码”的格式" in by_row[2].reason
    assert by_row[3].field == "org_name" and by_row[3].reason == "单位名称（org_name）：必填项为空"
    assert by_row[4].field == "reg_date" and "不是有效的日期：2020-02-30" in by_row[4].reason
    assert by_row[5].field == "staff" and "不是有效的整数：1.5" in by_row[5].reason
    assert by_row[8].field == "capital" and "不是有效的数值：十万" in by_row[8].reason
    for n in (6, 7):
        assert by_row[n].field == "uscc" and "第 6、7 条数据的主键都是" in by_row[n].reason
    # the raw row is kept as read, under the file's own column names
    assert by_row[5].raw == dict(zip(HEADER_ZH, rows[4], strict=True))

    first = run(service.quarantine_list, w.key, limit=3, offset=0, actor=w.steward)
    second = run(service.quarantine_list, None, load_id=load.id, limit=3, offset=3, actor=w.steward)
    assert [q.row_number for q in first.items] == [2, 3, 4] and [q.row_number for q in second.items] == [5, 6, 7]


def test_row_with_several_problems_lists_them_all(run, factory, tmp_path) -> None:
    w = world(factory)
    path = tmp_path / "bad.csv"
    path.write_text(csv_text([["", "", "昨天", "-5", "很多"]]), encoding="utf-8")
    load = run(service.resource_load, w.key, path, actor=w.steward)
    assert load.status == "rejected" and load.version is None
    [q] = run(service.quarantine_list, w.key, actor=w.steward).items
    assert [p["field"] for p in q.problems] == ["uscc", "org_name", "reg_date", "staff"]


def test_all_rows_rejected_keeps_the_previous_version(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    code = uscc()
    good = tmp_path / "good.csv"
    good.write_text(csv_text([[code, "原有企业", "", "", ""]]), encoding="utf-8")
    assert run(service.resource_load, w.key, good, actor=w.steward).version == 1
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([[uscc(), "", "", "", ""], [uscc(), "", "", "", ""]]), encoding="utf-8")
    load = run(service.resource_load, w.key, bad, actor=w.steward)
    assert load.status == "rejected" and load.version is None and load.rows_quarantined == 2
    assert "未写入新版本" in load.error
    assert lake(settings).current(w.key).version == 1
    assert lake(settings).read(w.key).to_pylist()[0]["uscc"] == code


def test_unknown_and_missing_columns_fail_the_load_with_a_clear_error(run, factory, settings, db, tmp_path) -> None:
    w = world(factory)
    path = tmp_path / "wrong.csv"
    path.write_text(csv_text([["1", "2", "3"]], header=["统一社会信用代码", "法定代表人", "备注"]), encoding="utf-8")
    load = run(service.resource_load, w.key, path, actor=w.steward)
    assert load.status == "failed" and load.version is None
    assert "目录中没有这些列：法定代表人、备注" in load.error
    assert "缺少必填列：单位名称（org_name）" in load.error
    assert load.error_details["unknown"] == ["法定代表人", "备注"]
    assert lake(settings).current(w.key) is None
    with db.session() as s:  # the failed load is recorded (committed), not rolled back with the error
        stored = s.get(IngestLoad, load.id)
        assert stored is not None and stored.status == "failed"
        assert s.scalar(select(QuarantineRow.id).where(QuarantineRow.load_id == load.id)) is None


def test_unreadable_file_fails_with_the_readers_message(run, factory, tmp_path) -> None:
    w = world(factory)
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    load = run(service.resource_load, w.key, path, actor=w.steward)
    assert load.status == "failed" and "不支持旧版 .xls 格式" in load.error


def test_merge_by_primary_key_and_time_travel(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    a, b, c = uscc(), uscc(), uscc()
    first = tmp_path / "v1.csv"
    first.write_text(csv_text([[a, "甲公司", "", "", "10"], [b, "乙公司", "", "", "20"]]), encoding="utf-8")
    second = tmp_path / "v2.csv"
    second.write_text(csv_text([[b, "乙公司（更名）", "", "", "21"], [c, "丙公司", "", "", "30"]]), encoding="utf-8")
    run(service.resource_load, w.key, first, actor=w.steward)
    load = run(service.resource_load, w.key, second, mode="merge", actor=w.steward)
    assert load.status == "succeeded" and load.version == 2

    now = {r["uscc"]: (r["org_name"], r["staff"]) for r in lake(settings).read(w.key).to_pylist()}
    assert now == {a: ("甲公司", 10), b: ("乙公司（更名）", 21), c: ("丙公司", 30)}

    old = run(service.version_read, w.key, 1, actor=w.steward)
    assert old.version == 1 and old.total == 2
    assert [(r["uscc"], r["org_name"], r["staff"]) for r in old.rows] == [(a, "甲公司", 10), (b, "乙公司", 20)]
    preview = run(service.resource_preview, w.key, limit=1, actor=w.steward)
    assert preview.version == 2 and preview.total == 3 and len(preview.rows) == 1

    versions = run(service.version_list, w.key, actor=w.steward)
    assert [(v.version, v.current, v.parent) for v in versions] == [(2, True, 1), (1, False, None)]
    assert versions[0].lineage["load_mode"] == "merge" and versions[0].lineage["load_id"] == load.id
    with pytest.raises(NotFound):
        run(service.version_read, w.key, 9, actor=w.steward)


def test_replace_replaces_and_merge_needs_a_primary_key(run, factory, settings, tmp_path) -> None:
    w = world(factory, key="no_pk_res", primary_key=[])
    path = tmp_path / "x.csv"
    path.write_text(csv_text([[uscc(), "甲", "", "", ""]]), encoding="utf-8")
    from citybrain.errors import Invalid

    with pytest.raises(Invalid, match="没有主键"):
        run(service.resource_load, w.key, path, mode="merge", actor=w.steward)
    run(service.resource_load, w.key, path, actor=w.steward)
    run(service.resource_load, w.key, path, actor=w.steward)
    assert lake(settings).current(w.key).rows == 1  # replace, not append


def test_resubmit_fixes_rows_and_merges_them_as_a_new_version(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    good, fixable, hopeless = uscc(), uscc(), uscc()
    path = tmp_path / "load.csv"
    path.write_text(
        csv_text([[good, "好", "", "", ""], [fixable, "待修正", "2020-13-01", "", ""], [hopeless, "", "", "", ""]]),
        encoding="utf-8",
    )
    first = run(service.resource_load, w.key, path, actor=w.steward)
    assert (first.rows_accepted, first.rows_quarantined, first.version) == (1, 2, 1)
    items = {q.row_number: q for q in run(service.quarantine_list, w.key, actor=w.steward).items}

    load = run(
        service.quarantine_resubmit,
        w.key,
        [
            {"id": items[2].id, "values": {"成立日期": "2020-12-01"}},  # by 中文名称
            {"id": items[3].id, "values": {"staff": "abc"}},  # name still empty, and now staff is wrong too
        ],
        actor=w.steward,
    )
    assert load.connector == "resubmit" and load.status == "succeeded" and load.version == 2
    assert (load.rows_read, load.rows_accepted, load.rows_quarantined) == (2, 1, 1)
    rows = {r["uscc"]: r for r in lake(settings).read(w.key).to_pylist()}
    assert set(rows) == {good, fixable} and rows[fixable]["reg_date"] == dt.date(2020, 12, 1)
    assert rows[fixable]["org_name"] == "待修正"  # values not corrected are kept from the quarantined row

    resolved = run(service.quarantine_list, w.key, status="resolved", actor=w.steward).items
    assert [(q.row_number, q.resolved_version, q.resolved_load_id) for q in resolved] == [(2, 2, load.id)]
    still = run(service.quarantine_list, w.key, actor=w.steward).items
    assert [q.row_number for q in still] == [3]
    assert {p["field"] for p in still[0].problems} == {"org_name", "staff"}

    from citybrain.errors import Conflict

    with pytest.raises(Conflict, match="已处理过"):
        run(service.quarantine_resubmit, w.key, [{"id": items[2].id, "values": {}}], actor=w.steward)


def test_prune_keeps_the_last_versions(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    for i in range(4):
        path = tmp_path / f"v{i}.csv"
        path.write_text(csv_text([[uscc(), f"第{i}版", "", "", ""]]), encoding="utf-8")
        run(service.resource_load, w.key, path, actor=w.steward)
    assert run(service.version_prune, w.key, keep_last=2, actor=w.steward) == [1, 2]
    assert [v.version for v in run(service.version_list, w.key, actor=w.steward)] == [4, 3]
    with pytest.raises(NotFound, match="可能已被清理"):
        run(service.version_read, w.key, 1, actor=w.steward)
    assert run(service.version_read, w.key, 3, actor=w.steward).rows[0]["org_name"] == "第2版"


def test_steward_of_another_department_is_refused(run, factory, settings, tmp_path) -> None:
    w = world(factory)
    other = factory.dept(name="市民政局")
    _u, outsider = factory.user(Role.STEWARD, dept=other)
    path = tmp_path / "x.csv"
    path.write_text(csv_text([[uscc(), "甲", "", "", ""]]), encoding="utf-8")
    with pytest.raises(NotAuthorized) as exc:
        run(service.resource_load, w.key, path, actor=outsider)
    assert exc.value.message == (
        f"无权向该资源归集数据：资源 {w.key} 的来源部门是市市场监督管理局，"
        "只有市市场监督管理局的数据管理员或平台管理员可以向该资源归集数据"
    )
    assert lake(settings).current(w.key) is None
    for fn, args in ((service.quarantine_list, (w.key,)), (service.version_prune, (w.key,))):
        with pytest.raises(NotAuthorized, match="市市场监督管理局"):
            run(fn, *args, actor=outsider)
    # a consumer of the owning department may look but not load
    _u, consumer = factory.user(Role.CONSUMER, dept=w.dept)
    with pytest.raises(NotAuthorized):
        run(service.resource_load, w.key, path, actor=consumer)
    # a platform administrator may load for any department
    _u, admin = factory.user(Role.ADMIN)
    assert run(service.resource_load, w.key, path, actor=admin).status == "succeeded"


def test_loads_and_data_reads_are_audited(run, factory, db, tmp_path) -> None:
    w = world(factory)
    path = tmp_path / "x.csv"
    path.write_text(csv_text([[uscc(), "甲", "", "", ""], [uscc(), "", "", "", ""]]), encoding="utf-8")
    load = run(service.resource_load, w.key, path, actor=w.steward)
    run(service.version_read, w.key, 1, actor=w.steward)
    with db.session() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.resource_id == w.key).order_by(AuditEvent.seq)))
    actions = [(e.action, e.username) for e in events]
    assert ("resource_load", w.steward.username) in actions and ("version_read", w.steward.username) in actions
    ev = next(e for e in events if e.action == "resource_load")
    assert ev.result == "ok" and ev.row_count == 1 and ev.dept_id == w.steward.dept_id
    assert ev.details["load_id"] == load.id and ev.details["rows_quarantined"] == 1 and ev.details["version"] == 1
    read = next(e for e in events if e.action == "version_read")
    assert read.row_count == 1 and read.fields == ["uscc", "org_name", "reg_date", "capital", "staff"]


def test_load_list_is_per_department(run, factory, tmp_path) -> None:
    w = world(factory)
    other = world(factory, key="mzj_other", dept_name="市民政局")
    for target in (w, other):
        path = tmp_path / f"{target.key}.csv"
        path.write_text(csv_text([[uscc(), "甲", "", "", ""]]), encoding="utf-8")
        run(service.resource_load, target.key, path, actor=target.steward)
    mine = run(service.load_list, actor=w.steward)
    assert [i.resource_key for i in mine.items] == [w.key] and mine.total == 1
    _u, cdo = factory.user(Role.CDO)
    assert run(service.load_list, actor=cdo).total == 2
    shown = run(service.load_show, mine.items[0].id, actor=w.steward)
    assert shown.rows_accepted == 1
    with pytest.raises(NotAuthorized):
        run(service.load_show, mine.items[0].id, actor=other.steward)


def test_progress_is_reported_from_start_to_finish(factory, settings, db, tmp_path) -> None:
    from citybrain.catalog.service import get_resource
    from citybrain.ingest.checks import ResourceSchema, process
    from citybrain.ingest.connectors import open_file

    w = world(factory)
    with db.session() as s:
        schema = ResourceSchema.from_resource(get_resource(s, w.key))
    path = tmp_path / "big.csv"
    path.write_text(csv_text([[uscc(), f"企业{i}", "", "", ""] for i in range(20_000)]), encoding="utf-8")
    data = open_file(path)
    assert data.estimated_rows == 20_000
    # the reader hands over one block for a file this small; split it so progress has steps to report
    data.batches = (b.slice(i, 2000) for b in data.batches for i in range(0, b.num_rows, 2000))
    seen: list[tuple[float, str]] = []
    out = process(
        schema,
        data,
        lake(settings),
        tmp_path / "staging",
        mode="replace",
        lineage={},
        source="big.csv",
        progress=lambda f, m: seen.append((f, m)),
        progress_every=0.0,
    )
    fractions = [f for f, _ in seen]
    assert out.rows_accepted == 20_000
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 10
    assert any("已读取 10000 行" in m for _, m in seen) and seen[-1][1] == "已写入版本 1"


def test_a_key_repeated_many_times_is_reported_briefly(run, factory, tmp_path) -> None:
    w = world(factory)
    dup = uscc()
    path = tmp_path / "dups.csv"
    path.write_text(csv_text([[dup, f"副本{i}", "", "", ""] for i in range(7)] + [[uscc(), "唯一", "", "", ""]]))
    load = run(service.resource_load, w.key, path, actor=w.steward)
    assert (load.rows_accepted, load.rows_quarantined) == (1, 7)
    reasons = {q.reason for q in run(service.quarantine_list, w.key, actor=w.steward).items}
    assert reasons == {f"主键 统一社会信用代码（uscc） 重复：共 7 条（第 1、2、3、4、5 条等）数据的主键都是 {dup}"}


def test_by_default_a_value_breaking_its_standard_is_kept_for_quality(run, factory, settings, tmp_path) -> None:
    # a malformed code is a finding for the source department's 整改工单, not a reason to lose the row;
    # a missing required value still cannot be stored and is quarantined
    assert settings.ingest_standards == "govern"
    w = world(factory)
    rows = [
        [uscc(), "好企业", "2020-01-01", "1", "1"],
        ["91320400ABC", "格式错", "2020-01-01", "1", "1"],
        [uscc(), "", "2020-01-01", "1", "1"],
    ]
    path = tmp_path / "govern.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    load = run(service.resource_load, w.key, path, actor=w.steward)
    assert (load.rows_read, load.rows_accepted, load.rows_quarantined) == (3, 2, 1)
    kept = {r["uscc"] for r in lake(settings).read(w.key, columns=["uscc"]).to_pylist()}
    assert "91320400ABC" in kept
    [q] = run(service.quarantine_list, w.key, actor=w.steward).items
    assert q.row_number == 3 and "必填项为空" in q.reason
