"""The audit chain catches edits, deletions and insertions, through the API and the CLI."""

from __future__ import annotations

from sqlalchemy import text
from tests.factories import login
from typer.testing import CliRunner

from citybrain.audit.service import audit_verify


def _make_events(factory, n: int = 4) -> None:
    dept = factory.dept()
    for _ in range(n):
        factory.resource(dept)


def test_chain_verifies_and_detects_tampering(run, factory, db) -> None:
    _make_events(factory)
    assert run(audit_verify)["ok"]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET username = 'someone_else' WHERE seq = 3"))
    report = run(audit_verify)
    assert not report["ok"] and {p["seq"] for p in report["problems"]} == {3}
    assert "改动" in report["problems"][0]["message"]


def test_deleted_and_inserted_entries_are_found(run, factory, db) -> None:
    _make_events(factory)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    report = run(audit_verify)
    assert any(p["kind"] == "missing" and p["seq"] == 2 for p in report["problems"])


def test_auditor_api_and_cli_verify(client, factory, db, settings) -> None:
    _make_events(factory, 2)
    factory.user("security", username="sec1")
    login(client, "sec1")
    assert client.get("/api/v1/audit/verify").json()["ok"] is True
    lines = client.get("/api/v1/audit/export").text.splitlines()
    assert len(lines) >= 3 and '"hash"' in lines[0]
    from citybrain.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET action = 'nothing' WHERE seq = 1"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 2 and "序号 1" in bad.output


def test_consumers_cannot_read_the_audit_log(client, factory) -> None:
    factory.user("consumer", username="cons9")
    login(client, "cons9")
    assert client.get("/api/v1/audit/events").status_code == 403
