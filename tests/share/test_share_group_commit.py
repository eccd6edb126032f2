"""Group commit (``citybrain.web.group_commit``): concurrent share calls' usage rows and audit entries
are committed together, each call answered only once its own are in, and one call's failure is its own."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from citybrain.actions import Context
from citybrain.audit.models import AuditEvent
from citybrain.audit.service import AuditEntry, append, audit_verify
from citybrain.auth.actor import SYSTEM
from citybrain.share import service
from citybrain.share.models import ShareCall, ShareGrant
from citybrain.web import group_commit
from citybrain.web.group_commit import GroupCommit

from .test_share_lookup_index import IN_SCOPE, OUT_OF_SCOPE, _people_grant


def _serve(app: Any, calls: list[tuple[str, dict[str, str]]], concurrency: int) -> list[int]:
    """The calls' status codes, ``concurrency`` callers at once on the app's own event loop."""

    async def main() -> list[int]:
        statuses: list[int] = [0] * len(calls)
        todo = iter(range(len(calls)))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://citybrain") as client:

                async def caller() -> None:
                    for i in todo:
                        url, headers = calls[i]
                        statuses[i] = (await client.get(url, headers=headers)).status_code

                await asyncio.gather(*(caller() for _ in range(concurrency)))
        return statuses

    return asyncio.run(main())


def test_concurrent_lookups_share_commits_and_every_one_is_counted_and_audited(run, world, app, db) -> None:
    gid = _people_grant(run, world)
    with db.session() as s:  # 90 calls at once: above the grant's rate limit, which is not under test here
        s.execute(update(ShareGrant).where(ShareGrant.id == gid).values(rate_limit=10_000))
    token = run(service.grant_token_issue, gid, actor=world.consumer[1]).token
    h = {"authorization": f"Bearer {token}"}
    keys = [IN_SCOPE, OUT_OF_SCOPE, "no-such-key"] * 30
    statuses = _serve(app, [(f"/api/v1/share/grants/-/records/{k}", h) for k in keys], concurrency=8)

    assert statuses == [200, 404, 404] * 30  # out of the grant's rows reads as missing
    shared = app.state.group_commit
    assert shared.calls > shared.commits  # several calls' writes went in one transaction
    with db.session() as s:
        calls = s.execute(select(ShareCall.hit, func.count()).where(ShareCall.grant_id == gid).group_by(ShareCall.hit))
        assert dict(calls.all()) == {True: 30, False: 60}  # misses are counted too
        audited = s.scalar(select(func.count()).where(AuditEvent.action == "share_lookup", AuditEvent.result == "ok"))
        assert audited == 90
    assert run(audit_verify)["ok"]


def _entry_writes(name: str, fail: bool = False) -> list[tuple[Context, Any]]:
    def write(ctx: Context) -> None:
        append(ctx.session, ctx.actor, AuditEntry(name))
        if fail:
            raise RuntimeError(f"{name} could not be written")

    return [(Context(session=None, actor=SYSTEM), write)]  # type: ignore[arg-type]


async def _on_loop(fn: Any) -> None:
    fn()


def _actions(db) -> list[str]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        named = select(AuditEvent.action).where(AuditEvent.action.like("call_%"))
        return list(s.scalars(named.order_by(AuditEvent.seq)))


def test_one_calls_failing_writes_fail_that_call_only(db, run) -> None:
    shared = GroupCommit(db, _on_loop)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(shared.commit(_entry_writes(f"call_{i}", fail=i == 1)) for i in range(4)), return_exceptions=True
        )

    results = asyncio.run(main())
    assert results[0] is None and results[2] is None and results[3] is None
    assert isinstance(results[1], RuntimeError) and "call_1" in str(results[1])
    # the shared transaction was rolled back and each call written alone, in the order they came
    assert _actions(db) == ["call_0", "call_2", "call_3"]
    assert run(audit_verify)["ok"]


def test_writes_are_committed_in_the_order_the_calls_came_and_before_any_answer(db) -> None:
    shared = GroupCommit(db, _on_loop)
    seen: list[list[str]] = []

    async def call(i: int) -> None:
        await shared.commit(_entry_writes(f"call_{i}"))
        seen.append(_actions(db))  # the answer: by now this call's entry is committed

    async def main() -> None:
        await asyncio.gather(*(call(i) for i in range(5)))

    asyncio.run(main())
    assert _actions(db) == [f"call_{i}" for i in range(5)]
    assert all(f"call_{i}" in found for i, found in enumerate(seen))
    assert (shared.calls, shared.commits) == (5, 1)


def test_a_caller_that_goes_away_does_not_take_its_writes_with_it(db) -> None:
    shared = GroupCommit(db, _on_loop)

    async def main() -> None:
        first = asyncio.ensure_future(shared.commit(_entry_writes("call_a")))
        second = asyncio.ensure_future(shared.commit(_entry_writes("call_b")))
        await asyncio.sleep(0)  # both queued, the commit not yet under way
        first.cancel()
        await second
        with pytest.raises(asyncio.CancelledError):
            await first

    asyncio.run(main())
    assert _actions(db) == ["call_a", "call_b"]


def test_calls_that_come_one_at_a_time_stop_waiting_for_others(db, monkeypatch) -> None:
    monkeypatch.setattr(group_commit, "LONE_COMMITS", 3)
    monkeypatch.setattr(group_commit, "UNGROUPED_CALLS", 4)
    shared = GroupCommit(db, _on_loop)

    async def one_at_a_time(n: int) -> list[bool]:
        grouped = []
        for i in range(n):
            grouped.append(shared.grouping())
            if grouped[-1]:
                await shared.commit(_entry_writes(f"call_{i}"))
        return grouped

    # three lone commits, then four calls that write in their own unit of work, then grouping again
    assert asyncio.run(one_at_a_time(9)) == [True] * 3 + [False] * 4 + [True] * 2

    async def together() -> None:
        await asyncio.gather(*(shared.commit(_entry_writes(f"call_t{i}")) for i in range(3)))

    asyncio.run(together())  # a commit shared by three calls starts the count of lone ones again
    assert asyncio.run(one_at_a_time(3)) == [True] * 3
