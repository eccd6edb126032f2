"""The demo city's sharing exchange (共享交换): requests granted, approved in part, refused, a demand,
verification calls and one caller walking the key space, which raises an anomaly alert.

Every step goes through the share actions as the people who would take it: a consumer files, the
source steward and the chief data officer decide, the consumer calls with the grant.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from sqlalchemy import select

from citybrain.actions import Context
from citybrain.auth.actor import Actor
from citybrain.auth.models import User
from citybrain.auth.service import actor_for_user
from citybrain.db import Database
from citybrain.errors import Conflict, NotFound
from citybrain.lake.store import Lake
from citybrain.settings import Settings
from citybrain.share.access import share_lookup, share_verify
from citybrain.share.schemas import ApprovalIn, DemandAnswer, DemandCreate, RowCondition, ShareRequestCreate, VerifyIn
from citybrain.share.service import (
    demand_answer,
    demand_create,
    share_request_approve,
    share_request_create,
    share_request_refuse,
)

#: (consumer, request, [(approver, decision)]) — decision: an ApprovalIn, or a str refusal reason
_REQUESTS: list[tuple[str, dict[str, Any], list[tuple[str, ApprovalIn | str]]]] = [
    (
        "consumer.mzj",
        {
            "resource": "population",
            "fields": ["citizen_id", "name", "sex", "birth_date", "address", "mobile"],
            "purpose": "最低生活保障对象家庭成员身份核查",
            "legal_basis": "《社会救助暂行办法》第十一条：民政部门对申请人家庭经济状况进行调查核实",
            "row_filter": [RowCondition(field="division_code", op="prefix", values=["320402"])],
            "days": 365,
            "expected_volume": 200,
        },
        # 公安 grants fewer fields than asked (no phone numbers) and half the period; the CDO agrees
        [("steward.gaj", ApprovalIn(fields=["citizen_id", "name", "sex", "birth_date", "address"], days=180)),
         ("cdo", ApprovalIn())],
    ),
    (
        "consumer.swj",
        {
            "resource": "legal_entities",
            "fields": ["uscc", "name", "legal_rep_name", "status", "address"],
            "purpose": "税务登记信息与市场主体登记信息比对",
            "legal_basis": "《税收征收管理法》第十五条",
            "modes": ["lookup", "query", "verify"],
        },
        [],  # 无条件共享: granted at once
    ),
    (
        "consumer.rsj",
        {
            "resource": "licenses",
            "fields": ["license_id", "license_type", "license_number", "holder_id", "valid_until"],
            "purpose": "了解证照数据情况",
            "legal_basis": "业务需要",
        },
        [("steward.spj", "申请未说明具体办件事项和法定依据，电子证照仅用于政务服务办件核验，请补充后重新申请")],
    ),
    (
        "consumer.wjw",
        {
            "resource": "population",
            "fields": ["citizen_id", "name", "birth_date"],
            "purpose": "老年人健康管理服务对象核对",
            "legal_basis": "国家基本公共卫生服务规范（第三版）老年人健康管理",
        },
        [],  # waits in 公安's approval inbox
    ),
]  # fmt: skip


def demo_actor(session: Any, username: str) -> Actor:
    """The demo account ``username`` as an actor: demo steps act as the people who would take them."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise Conflict(f"演示账号 {username} 不存在", details={"username": username})
    return actor_for_user(user)


def _in(db: Database, settings: Settings, username: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    # one unit of work per step, like a request: the access actions commit their own audit trail
    with db.session() as session:
        ctx = Context(session=session, actor=demo_actor(session, username), settings=settings)
        return fn(ctx, *args, **kwargs)


def build_sharing(db: Database, settings: Settings, seed: str) -> dict[str, int]:
    counts = {"requests": 0, "grants": 0, "refused": 0, "pending": 0, "calls": 0, "demands": 0}
    grants: dict[str, str] = {}
    for consumer, body, decisions in _REQUESTS:
        req = _in(db, settings, consumer, share_request_create, ShareRequestCreate(**body))
        counts["requests"] += 1
        for approver, decision in decisions:
            if isinstance(decision, str):
                req = _in(db, settings, approver, share_request_refuse, req.id, decision)
            else:
                req = _in(db, settings, approver, share_request_approve, req.id, decision)
        if req.grant_id:
            grants[consumer] = req.grant_id
            counts["grants"] += 1
        elif req.status == "refused":
            counts["refused"] += 1
        else:
            counts["pending"] += 1

    rng = random.Random(f"citybrain.demo.sharing:{seed}")
    entities = Lake(settings.lake_dir).read("legal_entities", columns=["uscc", "name"]).to_pylist()
    # 税务 verifies registrations: most match, some were renamed
    for row in rng.sample(entities, min(20, len(entities))):
        name = row["name"] if rng.random() < 0.8 else f"{row['name']}（原名）"
        _in(db, settings, "consumer.swj", share_verify, grants["consumer.swj"],
            VerifyIn(record={"uscc": row["uscc"], "name": name}))  # fmt: skip
        counts["calls"] += 1
    # someone at 民政 walks the key space with made-up numbers: the enumeration alert goes to 公安 and security
    for i in range(40):
        with contextlib.suppress(NotFound):  # a miss is "not found": exactly what the monitor counts
            _in(db, settings, "consumer.mzj", share_lookup, grants["consumer.mzj"], f"32040219900101{i:04d}")
        counts["calls"] += 1

    demand = _in(db, settings, "consumer.jtj", demand_create, DemandCreate(
        title="网约车车辆营运轨迹数据", description="用于城市交通运行监测和拥堵治理，需按日汇总的车辆轨迹",
        purpose="城市交通运行监测"))  # fmt: skip
    counts["demands"] += 1
    answered = _in(db, settings, "consumer.zjj", demand_create, DemandCreate(
        title="企业登记住所信息", description="核对建筑工地施工单位的登记住所", purpose="建筑市场监管",
        dept="scjgj"))  # fmt: skip
    supplied = DemandAnswer(outcome="supplied", resource="legal_entities", reason="法人基础信息无条件共享，可直接申请")
    _in(db, settings, "steward.scjgj", demand_answer, answered.id, supplied)
    counts["demands"] += 1
    del demand
    return counts
