"""The catalog: registration, 一数一源, OIDs, history, optimistic locking, search and visibility."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from citybrain.catalog import service
from citybrain.catalog.models import OidAllocation, Resource
from citybrain.catalog.oid import validate_oid
from citybrain.catalog.schemas import ResourceCreate, ResourceUpdate, SearchQuery
from citybrain.errors import Conflict, Invalid, NotAuthorized

PERSON_FIELDS = [
    {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id", "required": True},
    {"name": "name", "title": "姓名", "standard": "person_name"},
    {"name": "address", "title": "住址", "standard": "address"},
]


def population(dept, key="population", **kw):
    return dict(
        key=key,
        name="人口基础信息",
        dept=dept.id,
        category="基础库",
        base_library="人口",
        share_type="有条件共享",
        share_basis="《常州市公共数据管理办法》",
        open_type="不予开放",
        open_basis="含个人信息",
        grade="重要",
        fields=PERSON_FIELDS,
        primary_key=["citizen_id"],
        **kw,
    )


def count(db, model=Resource) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_register_assigns_a_valid_unique_oid_and_binds_standards(run, factory, settings) -> None:
    dept = factory.dept(code="gaj", name="市公安局")
    res = run(service.resource_create, ResourceCreate.model_validate(population(dept)))
    assert res.oid == f"{settings.oid_arc}.3.{dept.oid_code}.1"
    validate_oid(res.oid)
    pub = run(service.resource_show, "population")
    assert [f.standard for f in pub.fields] == ["citizen_id", "person_name", "address"]
    assert pub.fields[0].is_primary_key and pub.fields[0].required
    # sensitivity defaults from the standard: a citizen ID is level 3
    assert pub.fields[0].sensitivity == 3
    # base-library items are data elements with this department as their authoritative source
    assert pub.fields[1].element == "人口.name" and pub.fields[1].role == "authoritative"


def test_oids_are_never_reused_after_retirement(run, factory) -> None:
    dept = factory.dept()
    first = factory.resource(dept, key="first_one")
    run(service.resource_retire, "first_one", "数据已迁移")
    second = factory.resource(dept, key="second_one")
    assert first.oid != second.oid
    assert second.oid.endswith(".2")


def test_one_source_per_data_element(run, factory, db) -> None:
    police = factory.dept(code="gaj", name="市公安局")
    civil = factory.dept(code="mzj", name="市民政局")
    run(service.resource_create, ResourceCreate.model_validate(population(police)))
    before = count(db)
    with pytest.raises(Conflict) as exc:
        run(service.resource_create, ResourceCreate.model_validate(population(civil, key="population_mz")))
    # the refusal names the existing authoritative source
    assert "市公安局" in exc.value.message and "population" in exc.value.message
    assert count(db) == before, "nothing changed"
    # a copy that references the authoritative element is fine
    copy_fields = [
        {"name": "citizen_id", "title": "公民身份号码", "standard": "citizen_id"},
        {"name": "name", "title": "姓名", "standard": "person_name", "element": "人口.name", "role": "copy"},
    ]
    run(
        service.resource_create,
        ResourceCreate.model_validate(
            dict(
                key="assistance_households",
                name="低保家庭成员",
                dept=civil.id,
                category="部门库",
                share_type="有条件共享",
                share_basis="社会救助",
                open_type="不予开放",
                open_basis="个人信息",
                fields=copy_fields,
                primary_key=["citizen_id"],
            )
        ),
    )
    # a copy of an element nobody is authoritative for is refused
    with pytest.raises(Invalid, match="尚无权威来源"):
        run(
            service.resource_create,
            ResourceCreate.model_validate(
                dict(
                    key="orphan_copy",
                    name="孤儿副本",
                    dept=civil.id,
                    category="部门库",
                    share_type="无条件共享",
                    open_type="无条件开放",
                    fields=[{"name": "x", "title": "某项", "element": "法人.nothing", "role": "copy"}],
                )
            ),
        )


def test_unknown_standard_and_missing_basis_are_refused(run, factory, db) -> None:
    dept = factory.dept()
    before = count(db)
    with pytest.raises(Invalid, match="未知的数据元标准"):
        factory.resource(dept, fields=[{"name": "a", "title": "甲", "standard": "no_such_standard"}], primary_key=[])
    with pytest.raises(ValueError, match="必须说明依据"):
        ResourceCreate.model_validate(
            dict(
                key="abc",
                name="无依据",
                dept="x",
                category="部门库",
                share_type="有条件共享",
                open_type="无条件开放",
                fields=[{"name": "a", "title": "甲"}],
            )
        )
    assert count(db) == before


def test_update_is_versioned_with_history_and_optimistic_lock(run, factory) -> None:
    dept = factory.dept()
    factory.resource(dept, key="firms")
    run(service.resource_update, "firms", ResourceUpdate(revision=1, description="全市企业名录", tags=["企业"]))
    with pytest.raises(Conflict, match="已被他人修改"):
        run(service.resource_update, "firms", ResourceUpdate(revision=1, description="stale"))
    history = run(service.resource_history, "firms")
    assert [h.change for h in history] == ["update", "create"]
    assert history[0].diff["description"] == ["", "全市企业名录"]
    assert run(service.resource_show, "firms").revision == 2


def test_search_finds_through_aliases_words_and_filters(run, factory) -> None:
    police = factory.dept(code="gaj", name="市公安局")
    market = factory.dept(code="scjgj", name="市市场监管局")
    run(service.resource_create, ResourceCreate.model_validate(population(police)))
    factory.resource(market, key="market_entities", name="市场主体登记信息", tags=["营商环境"])
    q = lambda **kw: run(service.resource_search, SearchQuery(**kw))  # noqa: E731
    # "身份证" is an alias of the 公民身份号码 standard bound to a field
    assert [r.key for r in q(q="身份证").items] == ["population"]
    # substring and word search
    assert [r.key for r in q(q="市场主体").items] == ["market_entities"]
    assert [r.key for r in q(q="主体登记").items] == ["market_entities"]
    assert [r.key for r in q(q="营商").items] == ["market_entities"]
    assert q(q="不存在的东西").total == 0
    # filters and facets
    assert [r.key for r in q(dept="gaj").items] == ["population"]
    assert [r.key for r in q(share_type="有条件共享").items] == ["population"]
    result = q()
    assert result.facets["dept"] == {"市公安局": 1, "市市场监管局": 1}


def test_unshared_metadata_is_hidden_from_other_departments(run, factory) -> None:
    police = factory.dept()
    other = factory.dept()
    factory.resource(
        police, key="secret_stuff", share_type="不予共享", share_basis="涉密", open_type="不予开放", open_basis="涉密"
    )
    _u, own_actor = factory.user("consumer", police)
    _v, other_actor = factory.user("consumer", other)
    assert run(service.resource_search, SearchQuery(), actor=own_actor).total == 1
    assert run(service.resource_search, SearchQuery(), actor=other_actor).total == 0
    with pytest.raises(NotAuthorized, match="不予共享"):
        run(service.resource_show, "secret_stuff", actor=other_actor)


def test_steward_registers_only_for_own_department(run, factory) -> None:
    own, other = factory.dept(), factory.dept()
    _u, steward = factory.user("steward", own)
    factory.resource(own, key="mine", actor=steward)
    with pytest.raises(NotAuthorized):
        factory.resource(other, key="theirs", actor=steward)


def test_oid_allocation_is_recorded(run, factory, db) -> None:
    dept = factory.dept()
    factory.resource(dept)
    factory.resource(dept)
    assert count(db, OidAllocation) == 2
