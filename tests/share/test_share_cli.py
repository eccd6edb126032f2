"""``citybrain share``: request, approve, query, verify, export, revoke from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from citybrain.cli.main import app


def test_cli_round_trip(world) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})
    consumer, steward, cdo = world.consumer[0].username, world.steward[0].username, world.cdo[0].username
    made = runner.invoke(
        app,
        ["share", "request", "population", "--fields", "citizen_id,name", "--purpose", "低保资格核查",
         "--basis", "《社会救助暂行办法》", "--modes", "query,verify,export", "--as", consumer],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    rid = json.loads(made.output)["id"]
    assert runner.invoke(app, ["share", "requests", "--box", "inbox", "--as", steward]).exit_code == 0
    denied = runner.invoke(app, ["share", "approve", rid, "--as", consumer])
    assert denied.exit_code == 1 and "无权" in denied.output
    ok = runner.invoke(
        app, ["share", "approve", rid, "--as", steward, "--fields", "citizen_id,name", "--days", "30", "--mask",
              '{"citizen_id": {"method": "pseudonym", "params": {"prefix": "id_"}}}'],
    )  # fmt: skip
    assert ok.exit_code == 0 and "pending_cdo" in ok.output, ok.output
    ok = runner.invoke(app, ["share", "approve", rid, "--as", cdo])
    assert ok.exit_code == 0 and "granted" in ok.output, ok.output
    gid = ok.output.strip().split("授权 ")[-1].strip()
    q = runner.invoke(app, ["share", "query", gid, "--limit", "3", "--as", consumer])
    assert q.exit_code == 0, q.output
    rows = json.loads(q.output)["rows"]
    assert len(rows) == 3 and all(r["citizen_id"].startswith("id_") for r in rows)
    v = runner.invoke(app, ["share", "verify", gid, '{"citizen_id": "320402199001010001", "name": "李四1"}',
                            "--as", consumer])  # fmt: skip
    assert v.exit_code == 0 and "一致" in v.output and "不一致" not in v.output
    e = runner.invoke(app, ["share", "export", gid, "--format", "parquet", "--as", consumer])
    assert e.exit_code == 0 and "succeeded，40 行" in e.output, e.output
    assert runner.invoke(app, ["share", "grants", "--as", steward]).exit_code == 0
    assert runner.invoke(app, ["share", "revoke", gid, "--reason", "业务结束", "--as", steward]).exit_code == 0
    after = runner.invoke(app, ["share", "query", gid, "--as", consumer])
    assert after.exit_code == 1 and "授权已撤销" in after.output
    m = runner.invoke(app, ["share", "metrics", "--as", cdo])
    assert m.exit_code == 0 and json.loads(m.output)["requests"]["fulfilled"] == 1


def test_cli_builds_the_key_index(world, settings, monkeypatch) -> None:
    from citybrain.share import lookup

    monkeypatch.setattr(lookup, "INDEX_MIN_ROWS", 0)
    runner = CliRunner(env={"COLUMNS": "200"})
    try:
        refused = runner.invoke(app, ["share", "index", "population", "--as", world.consumer[0].username])
        assert refused.exit_code == 1 and "无权" in refused.output
        built = runner.invoke(app, ["share", "index", "population", "--as", world.steward[0].username])
        assert built.exit_code == 0, built.output
        assert json.loads(built.output) == {"resource": "population", "index": True, "rows": 40, "version": 1}
        assert lookup.index_path(settings, "population", 1).is_file()
    finally:
        lookup.reset()
