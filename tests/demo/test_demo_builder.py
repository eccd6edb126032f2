"""The demo city: what a newcomer gets from ``citybrain demo`` on an empty data directory."""

from __future__ import annotations

import json
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.factories import login

from citybrain.catalog.models import AuthoritativeSource, Resource
from citybrain.db import Database
from citybrain.demo.builder import CREDENTIALS, MANIFEST, DemoSummary, build_demo
from citybrain.errors import Conflict
from citybrain.lake.store import Lake
from citybrain.org.models import Department
from citybrain.settings import Settings
from citybrain.standards.checks import check_citizen_id

SCALE = 300
CASES = 80


class Built:
    """One demo build shared by the read-only tests of this module (a build hashes ~70 passwords)."""

    def __init__(self, home: Path) -> None:
        self.settings = Settings(home=home, log_json=False)
        self.db = Database(self.settings.resolved_database_url)
        self.summary = build_demo(SCALE, settings=self.settings, database=self.db, echo=lambda _msg: None, cases=CASES)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    b = Built(tmp_path_factory.mktemp("demo"))
    yield b
    b.db.dispose()


@pytest.fixture
def demo(built: Built) -> DemoSummary:
    return built.summary


@pytest.fixture
def demo_settings(built: Built) -> Settings:
    return built.settings


@pytest.fixture
def demo_db(built: Built) -> Database:
    return built.db


@pytest.fixture
def demo_client(built: Built) -> Iterator[TestClient]:
    from citybrain.web.app import create_app

    with TestClient(create_app(built.settings, built.db), raise_server_exceptions=False) as c:
        yield c


def _accounts(settings) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {a["username"]: a for a in json.loads((settings.home / CREDENTIALS).read_text())["accounts"]}


def test_demo_has_the_city_departments_and_an_account_for_every_role(demo, demo_settings, demo_db) -> None:
    with demo_db.session() as s:
        names = set(s.scalars(select(Department.name)))
    # the demo's own departments, plus any an application adds (亩均效益 brings 溧阳's 科技局 and 金融局)
    assert len(names) >= demo.departments >= 40
    for name in (
        "常州市大数据管理中心",
        "常州市公安局",
        "常州市市场监督管理局",
        "国家税务总局常州市税务局",
        "溧阳市行政审批局",
    ):
        assert name in names
    accounts = _accounts(demo_settings)
    roles = Counter(r for a in accounts.values() for r in a["roles"])
    assert set(roles) == {"admin", "cdo", "security", "steward", "consumer", "grid_operator", "public"}
    # the credentials file holds secrets: owner-only
    assert stat.S_IMODE((demo_settings.home / CREDENTIALS).stat().st_mode) == 0o600


def test_demo_credentials_log_in_and_call_the_api(demo, demo_settings, demo_client) -> None:
    accounts = _accounts(demo_settings)
    login(demo_client, "steward.gaj", accounts["steward.gaj"]["password"])
    assert demo_client.get("/catalog").status_code == 200
    demo_client.cookies.clear()
    r = demo_client.get("/api/v1/me", headers={"Authorization": f"Bearer {accounts['cdo']['api_token']}"})
    assert r.status_code == 200 and r.json()["username"] == "cdo"
    r = demo_client.get("/api/v1/me", headers={"Authorization": "Bearer cb_not-a-real-token"})
    assert r.status_code == 401


def test_demo_registers_the_five_base_libraries_with_one_source_each(demo, demo_db) -> None:
    with demo_db.session() as s:
        base = {r.base_library: r for r in s.scalars(select(Resource).where(Resource.category == "基础库"))}
        assert set(base) == {"人口", "法人", "信用", "电子证照", "空间地理"}
        depts = {d.id: d.name for d in s.scalars(select(Department))}
        assert depts[base["人口"].dept_id] == "常州市公安局"
        assert depts[base["法人"].dept_id] == "常州市市场监督管理局"
        claims = list(s.scalars(select(AuthoritativeSource)))
        # every element of a base library has exactly one authoritative source
        elements = Counter(c.element for c in claims)
        assert elements["人口.name"] == 1 and max(elements.values()) == 1
        civil = s.scalar(select(Resource).where(Resource.key == "civil_affairs_residents"))
        assert civil is not None and civil.category == "部门库"
        assert all(c.resource_id != civil.id for c in claims)


def test_demo_data_arrive_through_the_connectors_with_the_documented_defects(demo, demo_settings) -> None:
    lake = Lake(demo_settings.lake_dir)
    population = lake.read("population")
    defects = json.loads((demo_settings.home / "demo" / "defects.json").read_text())
    planted = Counter(d["kind"] for d in defects if d["table"] == "population")
    # rows that cannot be stored (a required value missing, a key held twice) are quarantined, not lost
    assert demo.quarantined["population"] == planted["missing_required"] + 2 * planted["duplicate_id"]
    assert population.num_rows == demo.rows["population"] == SCALE - demo.quarantined["population"]
    # a wrong check character is a quality finding: the row is kept for the source department to fix
    bad_check_char = [v for v in population["citizen_id"].to_pylist() if v and "校验" in (check_citizen_id(v) or "")]
    keys = {d["key"] for d in defects if d["table"] == "population" and d["kind"] == "check_digit"}
    assert set(bad_check_char) == keys and len(keys) == planted["check_digit"] >= 1
    info = lake.current("population")
    assert info is not None and info.lineage["connector"] == "file"
    delivered = (demo_settings.home / "demo" / "inbox" / "population.csv").read_bytes()
    assert delivered.decode("gb18030").lstrip('"').startswith("公民身份号码")


def test_demo_runs_the_governance_loop_out_of_the_box(demo, demo_db) -> None:
    from citybrain.quality.models import QualityTicket

    with demo_db.session() as s:
        tickets = list(s.scalars(select(QualityTicket).where(QualityTicket.status == "open")))
        gaj = s.scalar(select(Department).where(Department.code == "gaj"))
    mine = [t for t in tickets if t.resource_key == "population"]
    assert mine and all(t.dept_id == gaj.id for t in mine)
    assert any("citizen_id" in t.rule_id for t in mine)
    # the 民政 copy disagrees with 公安's authoritative names: a 比对 ticket for 民政
    assert any(t.resource_key == "civil_affairs_residents" and t.kind == "compare" for t in tickets)


def test_demo_loads_the_real_gazette_tables_with_their_document_numbers(demo, demo_db, demo_settings) -> None:
    lake = Lake(demo_settings.lake_dir)
    assert lake.read("cz_key_projects").num_rows == 31
    assert demo.rows["ly_ponding_points"] == 24
    with demo_db.session() as s:
        parcels = s.scalar(select(Resource).where(Resource.key == "ly_land_supply_parcels_2023"))
        assert parcels is not None and parcels.document_number == "溧政发〔2023〕8号"
        assert parcels.open_type == "无条件开放"


def test_demo_is_reused_and_refuses_a_store_that_is_not_a_demo(demo, demo_settings, demo_db) -> None:
    again = build_demo(SCALE, settings=demo_settings, database=demo_db, echo=lambda _msg: None)
    assert again.reused and again.rows == demo.rows
    assert (demo_settings.home / MANIFEST).exists()


def test_demo_refuses_to_take_over_a_store_with_other_data(settings, db, factory) -> None:
    factory.user("admin", username="admin")
    with pytest.raises(Conflict) as err:
        build_demo(SCALE, settings=settings, database=db, echo=lambda _msg: None)
    assert "rebuild" in err.value.message


def test_demo_data_are_deterministic_for_a_seed(built, tmp_path) -> None:
    checksums = [_checksums(Lake(built.settings.lake_dir))]
    for name in ("again",):
        home = tmp_path / name
        s = Settings(home=home, log_json=False)
        database = Database(s.resolved_database_url)
        try:
            build_demo(SCALE, settings=s, database=database, echo=lambda _msg: None, cases=0)
        finally:
            database.dispose()
        checksums.append(_checksums(Lake(s.lake_dir)))
    assert checksums[0] == checksums[1]


def _checksums(lake: Lake) -> dict[str, str]:
    return {key: lake.current(key).checksum for key in ("population", "legal_entities", "places")}  # type: ignore[union-attr]


def test_demo_has_requests_grants_refusals_and_an_anomaly(demo, demo_db) -> None:
    from citybrain.share.models import ShareAlert, ShareGrant, ShareRequest

    with demo_db.session() as s:
        statuses = Counter(r.status for r in s.scalars(select(ShareRequest)))
        grants = list(s.scalars(select(ShareGrant)))
        alerts = {a.kind for a in s.scalars(select(ShareAlert))}
    assert statuses["refused"] >= 1 and len(grants) >= 2
    assert sum(statuses.values()) - statuses["refused"] - len(grants) >= 1  # one still waits for approval
    assert "key_enumeration" in alerts
    assert demo.sharing["grants"] == len(grants)


def test_demo_has_cases_in_many_states_from_every_channel(demo, demo_db) -> None:
    from citybrain.cases.models import Case, Report

    with demo_db.session() as s:
        cases = list(s.scalars(select(Case)))
        channels = set(s.scalars(select(Report.channel)))
    assert len(cases) == demo.cases["total"] >= CASES * 0.9  # a few merge into earlier reports
    assert len({c.state for c in cases}) >= 5
    assert len(channels) >= 3


def test_demo_publishes_two_efficiency_years_with_objections_and_decisions(demo, demo_db, demo_settings) -> None:
    from citybrain.actions import Context
    from citybrain.auth.actor import SYSTEM
    from citybrain.efficiency import service as eff
    from citybrain.efficiency.models import Decision, Objection
    from citybrain.quality.models import QualityObjection

    assert list(demo.efficiency["years"]) == [2022, 2023]
    with demo_db.session() as s:
        ctx = Context(session=s, actor=SYSTEM, settings=demo_settings)
        assert [c.state for c in eff.efficiency_cycle_list(ctx)] == ["published", "published"]
        report = eff.efficiency_report(ctx, 2023)
        objections = list(s.scalars(select(Objection)))
        routed = {o.resource_key: s.get(QualityObjection, o.quality_objection_id) for o in objections}
        depts = {d.id: d.code for d in s.scalars(select(Department))}
        kinds = Counter(d.kind for d in s.scalars(select(Decision)))
    # 结果通报 of 2023 is compared with 2022's: the same firms with moved figures, so some move each way
    assert report["previous_year"] == 2022 and report["run"]["published"]
    assert report["total"]["moves"]["升档"] > 0 and report["total"]["moves"]["降档"] > 0
    assert sum(report["total"]["counts"].values()) == report["total"]["firms"] > 0
    # one objection upheld and corrected by the 税务局, one rejected by the 资规局, each its own department's
    assert {o.resource_key: o.status for o in objections} == {"ly_eff_tax": "accepted", "ly_eff_land": "rejected"}
    assert (depts[routed["ly_eff_tax"].dept_id], routed["ly_eff_tax"].status) == ("lyswj", "fixed")
    assert (depts[routed["ly_eff_land"].dept_id], routed["ly_eff_land"].status) == ("lyzrzyj", "rejected")
    # the 领导小组 认定 T candidates (and turned one down) with reasons, per year
    assert kinds["t_confirm"] >= 2 and kinds["t_reject"] == 2
