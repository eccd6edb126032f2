"""Publishing: which resources may open, steward prepares, CDO approves batches, versions follow or stay pinned."""

from __future__ import annotations

from typing import Any

import pytest

from citybrain.audit.service import audit_list
from citybrain.auth.actor import ANONYMOUS
from citybrain.errors import Conflict, Invalid, NotAuthorized
from citybrain.opendata import service
from citybrain.opendata.schemas import DatasetPrepare, DatasetUpdate, FieldChoice
from tests.opendata.conftest import World, publish, stops_table


def test_closed_resources_are_refused_with_the_reason(run: Any, world: World) -> None:
    with pytest.raises(Conflict) as exc:
        run(service.open_dataset_prepare, DatasetPrepare(resource="stop_staff"), actor=world.steward)
    assert "不予开放" in exc.value.message and "含个人信息" in exc.value.message


def test_only_the_source_department_prepares(run: Any, world: World) -> None:
    with pytest.raises(NotAuthorized):
        run(service.open_dataset_prepare, DatasetPrepare(resource="bus_stops"), actor=world.other_steward)
    with pytest.raises(NotAuthorized):
        run(service.open_dataset_prepare, DatasetPrepare(resource="bus_stops"), actor=world.public)


def test_default_fields_mask_level_3_and_drop_level_4(run: Any, world: World) -> None:
    ds = run(service.open_dataset_prepare, DatasetPrepare(resource="bus_stops"), actor=world.steward)
    fields = {f["name"]: f for f in ds.fields}
    assert "manager_id" not in fields, "高敏感 fields are never published"
    assert fields["manager_name"]["mask"]["method"] == "name"
    assert fields["manager_mobile"]["mask"] == {"method": "mask", "params": {"keep_first": 3, "keep_last": 4}}
    assert fields["passengers"]["mask"] is None
    assert ds.status == "draft" and ds.version == 1 and ds.rows == 3


def test_steward_choices_are_checked(run: Any, world: World) -> None:
    with pytest.raises(Invalid, match="3 级敏感字段必须脱敏"):
        run(
            service.open_dataset_prepare,
            DatasetPrepare(resource="bus_stops", fields=[FieldChoice(name="manager_name", plain=True)]),
            actor=world.steward,
        )
    with pytest.raises(Invalid, match="4 级高敏感字段不得开放"):
        run(
            service.open_dataset_prepare,
            DatasetPrepare(resource="bus_stops", fields=[FieldChoice(name="manager_id")]),
            actor=world.steward,
        )
    ds = run(
        service.open_dataset_prepare,
        DatasetPrepare(
            resource="bus_stops",
            licence="cc0-1.0",
            topic="公共交通",
            description="说明",
            fields=[
                FieldChoice(name="note", include=False),
                FieldChoice(name="passengers", mask={"method": "truncate", "params": {"unit": 1000}}),
            ],
        ),
        actor=world.steward,
    )
    names = [f["name"] for f in ds.fields]
    assert "note" not in names and ds.licence == "cc0-1.0" and ds.topic == "公共交通"
    assert {f["name"]: f["mask"] for f in ds.fields}["passengers"]["method"] == "truncate"


def test_draft_is_invisible_until_the_cdo_approves_the_batch(run: Any, world: World) -> None:
    ds = run(service.open_dataset_prepare, DatasetPrepare(resource="bus_stops"), actor=world.steward)
    with pytest.raises(NotAuthorized):
        run(service.open_dataset_show, ds.name, actor=ANONYMOUS)
    batch = run(service.open_batch_submit, "2026 年第一批", [ds.name], actor=world.steward)
    assert run(service.open_dataset_show, ds.name, actor=world.steward).status == "pending"
    with pytest.raises(NotAuthorized):
        run(service.open_batch_approve, batch.id, actor=world.steward)
    run(service.open_batch_approve, batch.id, actor=world.cdo)
    shown = run(service.open_dataset_show, ds.name, actor=ANONYMOUS)
    assert shown.status == "published" and shown.published_at is not None
    actions = [e.action for e in run(audit_list, resource_id=batch.id)]
    assert "open_batch_submit" in actions and "open_batch_approve" in actions


def test_rejected_batch_returns_to_draft_with_the_reason(run: Any, world: World) -> None:
    ds = run(service.open_dataset_prepare, DatasetPrepare(resource="bus_stops"), actor=world.steward)
    batch = run(service.open_batch_submit, "批次", [ds.name], actor=world.steward)
    with pytest.raises(Invalid):
        run(service.open_batch_reject, batch.id, " ", actor=world.cdo)
    rejected = run(service.open_batch_reject, batch.id, "描述不完整", actor=world.cdo)
    assert rejected.status == "rejected" and rejected.reason == "描述不完整"
    assert run(service.open_dataset_show, ds.name, actor=world.steward).status == "draft"


def test_approval_refused_when_the_resource_closed_meanwhile(run: Any, world: World, factory: Any) -> None:
    from citybrain.catalog.schemas import ResourceUpdate
    from citybrain.catalog.service import get_resource, resource_update

    ds = run(service.open_dataset_prepare, DatasetPrepare(resource="bus_stops"), actor=world.steward)
    batch = run(service.open_batch_submit, "批次", [ds.name], actor=world.steward)
    with run.db.session() as s:
        revision = get_resource(s, "bus_stops").revision
    run(resource_update, "bus_stops", ResourceUpdate(revision=revision, open_type="不予开放", open_basis="调整"))
    with pytest.raises(Conflict, match="不予开放"):
        run(service.open_batch_approve, batch.id, actor=world.cdo)


def test_following_datasets_pick_up_new_versions_and_pinned_ones_stay(run: Any, world: World) -> None:
    publish(run, world, "bus_stops", name="follow")
    publish(run, world, "bus_stops", name="pinned", follow_latest=False)
    world.lake.write("bus_stops", stops_table(extra=5), mode="full")
    follow = run(service.open_dataset_show, "follow", actor=ANONYMOUS)
    pinned = run(service.open_dataset_show, "pinned", actor=ANONYMOUS)
    assert follow.version == 2 and follow.rows == 8
    assert pinned.version == 1 and pinned.rows == 3
    assert run(service.open_dataset_rows, "follow", limit=100, actor=ANONYMOUS).total == 8
    assert run(service.open_dataset_rows, "pinned", limit=100, actor=ANONYMOUS).total == 3
    assert follow.data_updated_at > pinned.data_updated_at
    # a steward moves the pin forward explicitly
    moved = run(service.open_dataset_update, "pinned", DatasetUpdate(version=2), actor=world.steward)
    assert moved.version == 2 and not moved.follow_latest
    with run.db.session() as s:
        from citybrain.actions import Context

        ctx = Context(session=s, actor=world.steward, settings=run.settings)
        history = service.version_history(ctx, service.get_dataset(s, "follow"))
    assert [v.version for v in history] == [2, 1]


def test_sync_updates_following_datasets(run: Any, world: World) -> None:
    publish(run, world, "bus_stops", name="follow")
    world.lake.write("bus_stops", stops_table(extra=1), mode="full")
    assert run(service.open_dataset_sync, actor=world.steward) == ["follow"]
    assert run(service.open_dataset_sync, actor=world.steward) == []


def test_published_fields_can_only_shrink_without_new_approval(run: Any, world: World) -> None:
    publish(run, world, "bus_stops", name="stops")
    narrowed = run(
        service.open_dataset_update,
        "stops",
        DatasetUpdate(fields=[FieldChoice(name="note", include=False)], title="公交站点"),
        actor=world.steward,
    )
    assert "note" not in [f["name"] for f in narrowed.fields] and narrowed.title == "公交站点"
    with pytest.raises(Conflict, match="撤回"):
        run(service.open_dataset_update, "stops", DatasetUpdate(fields=[FieldChoice(name="note")]), actor=world.steward)


def test_withdrawn_datasets_disappear(run: Any, world: World) -> None:
    publish(run, world, "bus_stops", name="stops")
    run(service.open_dataset_withdraw, "stops", "数据有误", actor=world.steward)
    with pytest.raises(NotAuthorized):
        run(service.open_dataset_show, "stops", actor=ANONYMOUS)
    with pytest.raises(NotAuthorized):
        run(service.open_dataset_rows, "stops", actor=ANONYMOUS)


def test_unloaded_resource_cannot_open(run: Any, world: World, factory: Any) -> None:
    factory.resource(world.dept, key="empty_res", topic="交通出行")
    with pytest.raises(Conflict, match="尚未归集数据"):
        run(service.open_dataset_prepare, DatasetPrepare(resource="empty_res"), actor=world.steward)


def test_publish_demo_opens_every_openable_loaded_resource(run: Any, world: World) -> None:
    names = run(service.publish_demo)
    assert sorted(names) == ["bus-stops", "stop-permits"]
    assert run(service.publish_demo) == []
    metrics = run(service.open_metrics_show, actor=ANONYMOUS)
    assert metrics["resources_should_open"] == 2 and metrics["resources_opened"] == 2 and metrics["open_rate"] == 1.0
