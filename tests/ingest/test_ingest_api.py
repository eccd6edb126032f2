"""The HTTP API under /api/v1/ingest and the ``citybrain ingest`` CLI, including background jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import select
from tests.factories import login
from tests.ingest.test_ingest_support import csv_text, uscc, world
from typer.testing import CliRunner

from citybrain.audit.models import AuditEvent
from citybrain.auth.rules import Role
from citybrain.ingest import jobs
from citybrain.lake import Lake


def _upload(client, key: str, content: bytes, name: str = "企业.csv", **form: str):
    return client.post(f"/api/v1/ingest/resources/{key}/loads", files={"file": (name, content, "text/csv")}, data=form)


def test_upload_quarantine_resubmit_versions_over_http(client, factory, settings) -> None:
    w = world(factory)
    login(client, w.steward.username)
    good, fix = uscc(), uscc()
    body = csv_text([[good, "甲", "2020-01-01", "", ""], [fix, "乙", "2020-02-31", "", ""]]).encode("gb18030")

    r = _upload(client, w.key, body)
    assert r.status_code == 201, r.text
    load = r.json()
    assert (load["status"], load["rows_accepted"], load["rows_quarantined"], load["version"]) == ("succeeded", 1, 1, 1)
    assert load["source"] == "企业.csv" and load["info"]["encoding"] == "gb18030"
    assert list(Path(settings.home / "ingest" / "uploads").iterdir()) == []  # the upload is not kept

    q = client.get(f"/api/v1/ingest/resources/{w.key}/quarantine").json()
    assert q["total"] == 1 and q["items"][0]["row_number"] == 2 and "日期" in q["items"][0]["reason"]
    assert client.get(f"/api/v1/ingest/loads/{load['id']}/quarantine").json()["total"] == 1

    r = client.post(
        f"/api/v1/ingest/resources/{w.key}/quarantine/resubmit",
        json={"rows": [{"id": q["items"][0]["id"], "values": {"reg_date": "2020-02-29"}}]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["rows_accepted"] == 1

    versions = client.get(f"/api/v1/ingest/resources/{w.key}/versions").json()
    assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]
    assert versions[1]["lineage"]["who"]["user"] == w.steward.username
    assert [c["name"] for c in versions[0]["schema"]] == ["uscc", "org_name", "reg_date", "capital", "staff"]
    old = client.get(f"/api/v1/ingest/resources/{w.key}/versions/1").json()
    assert old["total"] == 1 and old["rows"][0]["reg_date"] == "2020-01-01"
    now = client.get(f"/api/v1/ingest/resources/{w.key}/preview", params={"limit": 5}).json()
    assert {r["uscc"] for r in now["rows"]} == {good, fix}

    assert client.post(f"/api/v1/ingest/resources/{w.key}/prune", json={"keep_last": 1}).json() == {"removed": [1]}
    r = client.get(f"/api/v1/ingest/resources/{w.key}/versions/1")
    assert r.status_code == 404 and "可能已被清理" in r.json()["error"]["message"]

    listed = client.get("/api/v1/ingest/loads", params={"resource": w.key}).json()
    assert listed["total"] == 2 and {i["connector"] for i in listed["items"]} == {"file", "resubmit"}


def test_failed_upload_answers_422_and_is_recorded(client, factory) -> None:
    w = world(factory)
    login(client, w.steward.username)
    r = _upload(client, w.key, "统一社会信用代码,无关列\r\nx,y\r\n".encode())
    assert r.status_code == 422
    err = r.json()["error"]
    assert "目录中没有这些列：无关列" in err["message"] and err["details"]["load"]["status"] == "failed"
    listed = client.get("/api/v1/ingest/loads", params={"resource": w.key, "status": "failed"}).json()
    assert listed["total"] == 1


def test_other_departments_steward_gets_403_and_the_refusal_is_audited(client, factory, db) -> None:
    w = world(factory)
    other = factory.dept(name="市交通运输局")
    user, _outsider = factory.user(Role.STEWARD, dept=other)
    login(client, user.username)
    r = _upload(client, w.key, csv_text([[uscc(), "甲", "", "", ""]]).encode())
    assert r.status_code == 403
    assert "资源 scj_qydj 的来源部门是市市场监督管理局" in r.json()["error"]["message"]
    with db.session() as s:
        refused = s.scalars(select(AuditEvent).where(AuditEvent.action == "access_refused")).all()
        assert any(e.username == user.username and e.details["action"] == "resource_load" for e in refused)
    assert client.get(f"/api/v1/ingest/resources/{w.key}/quarantine").status_code == 403


def test_background_upload_reports_progress_through_the_job(client, factory, settings) -> None:
    w = world(factory)
    login(client, w.steward.username)
    rows = [[uscc(), f"企业{i}", "", "", str(i)] for i in range(3000)]
    r = _upload(client, w.key, csv_text(rows).encode(), background="true")
    assert r.status_code == 202, r.text
    job_url = r.json()["job_url"]
    assert jobs.wait(r.json()["job_id"], timeout=120)
    deadline = time.monotonic() + 30
    while (job := client.get(job_url).json())["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job["status"] == "succeeded" and job["progress"] == 100.0, job
    assert "接收 3000 行" in job["message"]
    load = client.get(f"/api/v1/ingest/loads/{job['load_id']}").json()
    assert load["status"] == "succeeded" and load["job_id"] == job["id"] and load["rows_accepted"] == 3000
    assert Lake(settings.lake_dir).current(w.key).rows == 3000
    # another department's steward cannot watch the job either
    other = factory.dept(name="市税务局")
    user, _ = factory.user(Role.STEWARD, dept=other)
    client.cookies.clear()
    login(client, user.username)
    assert client.get(job_url).status_code == 403


def test_background_load_that_fails_ends_its_job_as_failed(client, factory) -> None:
    w = world(factory)
    login(client, w.steward.username)
    r = _upload(client, w.key, "无关列\r\n1\r\n".encode(), background="true")
    assert r.status_code == 202
    assert jobs.wait(r.json()["job_id"], timeout=60)
    job = client.get(r.json()["job_url"]).json()
    assert job["status"] == "failed" and "目录中没有这些列：无关列" in job["error"]
    assert client.get(f"/api/v1/ingest/loads/{job['load_id']}").json()["status"] == "failed"


def test_cli_load_with_progress_then_loads_quarantine_resubmit_versions(
    factory, settings, tmp_path, monkeypatch
) -> None:
    from citybrain.cli import common
    from citybrain.cli.main import app

    # a wide terminal for this test only: setting console.width would outlive it (monkeypatch restores the
    # width it read, 80, as a fixed width for every later test)
    monkeypatch.setattr(common.console, "_width", None)
    monkeypatch.setenv("COLUMNS", "200")

    w = world(factory)
    good, bad = uscc(), uscc()
    path = tmp_path / "企业登记.csv"
    path.write_text(csv_text([[good, "甲", "", "", ""], [bad, "乙", "", "", "很多"]]), encoding="utf-8-sig")
    cli = CliRunner()
    as_user = ["--as", w.steward.username]

    result = cli.invoke(app, ["ingest", "load", str(path), w.key, *as_user])
    assert result.exit_code == 0, result.output
    assert "归集完成" in result.output and "接收 1 行，隔离 1 行，数据湖版本 1" in result.output

    result = cli.invoke(app, ["ingest", "quarantine", w.key, "--json", *as_user])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)["items"]
    assert row["field"] == "staff" and row["raw"]["从业人数"] == "很多"

    fixes = tmp_path / "fix.json"
    fixes.write_text(json.dumps([{"id": row["id"], "values": {"从业人数": "12"}}]), encoding="utf-8")
    result = cli.invoke(app, ["ingest", "resubmit", w.key, str(fixes), *as_user])
    assert result.exit_code == 0, result.output
    assert "数据湖版本 2" in result.output

    result = cli.invoke(app, ["ingest", "versions", w.key, *as_user])
    assert result.exit_code == 0 and "resubmit:隔离区修正" in result.output
    result = cli.invoke(app, ["ingest", "loads", "--resource", w.key, *as_user])
    assert result.exit_code == 0 and "succeeded" in result.output

    bad_file = tmp_path / "wrong.csv"
    bad_file.write_text("无关列\r\n1\r\n", encoding="utf-8")
    result = cli.invoke(app, ["ingest", "load", str(bad_file), w.key, "--no-progress", *as_user])
    assert result.exit_code == 1 and "归集失败" in result.output


def test_cli_sources_run_and_bounded_scheduler(factory, settings, tmp_path) -> None:
    from sqlalchemy import create_engine, text

    from citybrain.cli.main import app

    w = world(factory)
    url = f"sqlite:///{tmp_path / 'dept.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE qy (uscc TEXT, org_name TEXT)"))
        conn.execute(text("INSERT INTO qy VALUES (:u, '甲')"), {"u": uscc()})
    engine.dispose()
    spec = tmp_path / "source.json"
    spec.write_text(
        json.dumps({"name": "dept-db", "resource": w.key, "kind": "database", "config": {"url": url, "table": "qy"}}),
        encoding="utf-8",
    )
    cli = CliRunner()
    as_user = ["--as", w.steward.username]
    assert cli.invoke(app, ["ingest", "source-add", str(spec), *as_user]).exit_code == 0
    result = cli.invoke(app, ["ingest", "sources", *as_user])
    assert result.exit_code == 0 and "dept-db" in result.output
    result = cli.invoke(app, ["ingest", "run", "dept-db", "--no-progress", *as_user])
    assert result.exit_code == 0, result.output
    assert "接收 1 行" in result.output
    # nothing is scheduled (no cron), so one bounded look starts nothing and returns
    result = cli.invoke(app, ["ingest", "scheduler", "--iterations", "1", "--interval", "0.01"])
    assert result.exit_code == 0, result.output
    assert "共运行 0 次拉取" in result.output


def test_large_uploads_go_to_the_background_unless_asked_otherwise(client, factory, monkeypatch) -> None:
    from citybrain.web.api import ingest as api

    w = world(factory)
    login(client, w.steward.username)
    monkeypatch.setattr(api, "BACKGROUND_BYTES", 100)
    big = csv_text([[uscc(), f"企业{i}", "", "", ""] for i in range(10)]).encode()
    r = _upload(client, w.key, big)
    assert r.status_code == 202 and jobs.wait(r.json()["job_id"], timeout=60)
    assert _upload(client, w.key, big, background="false").status_code == 201
