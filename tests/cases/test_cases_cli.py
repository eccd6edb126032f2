"""``citybrain cases``: report, list, take steps with a version, 督办 and 考核 from the command line."""

from __future__ import annotations

import json
from typing import Any

import test_cases_support as support
from test_cases_support import City
from typer.testing import CliRunner

from citybrain.cli.main import app

city = support.city  # the shared fixture


def test_cli_reports_works_and_measures_a_case(city: City) -> None:
    runner = CliRunner()
    reported = runner.invoke(
        app,
        ["cases", "report", "垃圾桶满了溢出来", "--lon", str(city.lon), "--lat", str(city.lat), "--as", "zuoxi"],
    )
    assert reported.exit_code == 0, reported.output
    request_id = json.loads(reported.output)["request_id"]
    listed = runner.invoke(app, ["cases", "list", "--open"])
    assert listed.exit_code == 0 and "共 1 件" in listed.output
    for step in ("accept", "register", "dispatch"):
        done = runner.invoke(app, ["cases", "act", request_id, step, "--as", "zuoxi"])
        assert done.exit_code == 0, done.output
    shown: dict[str, Any] = json.loads(runner.invoke(app, ["cases", "show", request_id]).output)
    assert shown["assignee_user_id"] == city.worker.user_id and shown["state"] == "dispatched"
    stale = runner.invoke(app, ["cases", "act", request_id, "sign", "--version", "1", "--as", "wanggeyuan"])
    assert stale.exit_code == 1 and "已被他人更新" in stale.output
    illegal = runner.invoke(app, ["cases", "act", request_id, "close"])
    assert illegal.exit_code == 1 and "可执行" in illegal.output
    sign = runner.invoke(app, ["cases", "act", request_id, "sign", "--as", "wanggeyuan"])
    assert sign.exit_code == 0 and "处置中" in sign.output
    assert runner.invoke(app, ["cases", "supervise"]).exit_code == 0
    period = ["--start", "2000-01-01", "--end", "2100-01-01", "--by", "source"]
    assert runner.invoke(app, ["cases", "kpi", *period]).exit_code == 0
    measured = json.loads(runner.invoke(app, ["cases", "kpi", *period, "--json"]).output)
    assert measured["rows"][0]["counts"]["dispatched"] == 1


def test_demo_cases_fill_the_queue_and_the_kpis(factory: Any) -> None:
    factory.dept("cgj", "常州市城市管理局")
    runner = CliRunner()
    made = runner.invoke(app, ["cases", "demo", "--count", "15"])
    assert made.exit_code == 0, made.output
    assert "演示案件" in made.output
    measured = json.loads(
        runner.invoke(
            app, ["cases", "kpi", "--start", "2000-01-01", "--end", "2100-01-01", "--by", "city", "--json"]
        ).output
    )
    counts = measured["rows"][0]["counts"]
    assert counts["reported"] >= 10 and counts["closed"] >= 1 and counts["dispatched"] >= counts["closed"]
