"""``citybrain open``: prepare, submit, approve, list, metrics, DCAT, publish-demo."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from citybrain.cli.main import app
from tests.opendata.conftest import World


def test_cli_publishing_round_trip(world: World, settings: Any) -> None:
    runner = CliRunner(env={"COLUMNS": "200"})

    def call(*args: str) -> str:
        result = runner.invoke(app, ["open", *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "已创建草稿 stops" in call(
        "prepare", "bus_stops", "--name", "stops", "--exclude", "note", "--as", "jt_steward"
    )
    refused = runner.invoke(app, ["open", "prepare", "stop_staff", "--as", "jt_steward"])
    assert refused.exit_code == 1 and "不予开放" in refused.output
    submitted = call("submit", "第一批", "stops", "--as", "jt_steward")
    batch_id = submitted.split("批次 ")[1].split("（")[0]
    assert "已批准" in call("approve", batch_id, "--as", "cdo")
    assert "stops" in call("list")
    assert '"datasets": 1' in call("metrics")
    assert "dcat:Dataset" in call("dcat")
    assert "stop-permits" in call("publish-demo")
