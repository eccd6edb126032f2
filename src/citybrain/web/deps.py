"""Request → Context: one unit of work per request, and who is acting.

The session commits when the endpoint returns (``scope="function"``: before the response is
sent, so a failed commit is reported, never hidden behind a 200) and rolls back on any error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from citybrain.actions import Context
from citybrain.auth.actor import ANONYMOUS, Actor
from citybrain.auth.service import actor_from_session, actor_from_token, touch_token
from citybrain.db import first_transaction_reads_only
from citybrain.errors import CityBrainError
from citybrain.logging import request_id_var
from citybrain.waiting import WouldWait, refuse_waits
from citybrain.web.group_commit import GroupCommit, Writes

T = TypeVar("T")

SESSION_COOKIE = "cb_session"
LANG_COOKIE = "cb_lang"


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret("session"), salt="citybrain-session")


def sign_session(request: Request, session_id: str) -> str:
    return _serializer(request).dumps(session_id)


def read_session_cookie(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        return str(_serializer(request).loads(raw, max_age=request.app.state.settings.session_max_age))
    except BadSignature:
        return None


def request_lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if lang in ("zh", "en"):
        return lang
    return request.app.state.settings.default_lang


def resolve_actor(request: Request, session: object, *, touch: bool = True) -> Actor:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return actor_from_token(session, auth[7:].strip(), touch=touch)
    api_key = request.headers.get("x-api-key")
    if api_key:
        return actor_from_token(session, api_key.strip(), touch=touch)
    session_id = read_session_cookie(request)
    if session_id:
        actor = actor_from_session(session, session_id)
        if actor is not None:
            return actor
    return ANONYMOUS


def request_context(
    request: Request, resolve: Callable[[Request, Session], Actor] = resolve_actor, *, one_connection: bool = False
) -> Iterator[Context]:
    """One request, one unit of work: the actor ``resolve`` finds, committed if the handler returns,
    rolled back if it raises.

    ``one_connection``: the session keeps one pooled connection for all its transactions instead of
    checking one out and back in for each (for the share calls, which have two each); its
    ``get_bind()`` is then that connection, not the engine."""
    db = request.app.state.db
    connection = db.engine.connect() if one_connection else None
    session = db.sessionmaker(bind=connection) if connection is not None else db.sessionmaker()
    try:
        actor = resolve(request, session)
        request.state.actor = actor
        ctx = Context(
            session=session,
            actor=actor,
            settings=request.app.state.settings,
            ip=request.client.host if request.client else None,
            request_id=request_id_var.get(),
            lang=request_lang(request),
        )
        yield ctx
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if connection is not None:
            connection.close()


def get_context(request: Request) -> Iterator[Context]:
    yield from request_context(request)


async def in_unit_of_work(request: Request, work: Callable[[Context], T], *, on_loop: bool = False) -> T:
    """``work(ctx)`` in one worker thread, with the unit of work ``Ctx`` would give it, at most
    ``share_access_threads`` at once; its last writes (``Context.write_last``) are committed with
    other calls' (:mod:`citybrain.web.group_commit`) before it returns.

    For the hottest endpoints (share lookups): a sync ``Ctx`` dependency and a sync endpoint hand the
    request to a worker thread three times (enter, endpoint, exit), each a wake-up of the event loop
    costing about as much as a point query; here it is once.

    ``on_loop``: on SQLite, first try the work on the event loop itself, refusing every wait (see
    :mod:`citybrain.waiting`); work that would wait is rolled back and done in the worker thread."""

    def run() -> tuple[T | None, CityBrainError | None, Writes]:
        # these actions end their first transaction — the token and the checks — before reading data
        # (see share.access._Guard.release), and write only in the next one, or set their writes aside:
        # the first one only reads
        unit = contextmanager(request_context)(request, _resolve_untouched, one_connection=True)
        with first_transaction_reads_only(), unit as ctx:
            if grouped:
                ctx.group_writes()
            try:
                result = work(ctx)
            except CityBrainError as refused:
                # a refusal the action chose to count (a lookup's miss) keeps the writes it set aside
                ctx.session.rollback()
                return None, refused, ctx.grouped_writes()
            token = ctx.session.info.get("auth_token")
            if token is not None:
                ctx.write_last(lambda c: touch_token(c.session, token))
            return result, None, ctx.grouped_writes()

    state = request.app.state
    group = _group_commit(state)
    grouped = group.grouping()
    result, refused, writes = await run_unblocked(state, run, on_loop=on_loop)
    if writes:
        await group.commit(writes)
    if refused is not None:
        raise refused
    return result  # type: ignore[return-value]


async def run_unblocked(state: Any, fn: Callable[[], T], *, on_loop: bool = False) -> T:
    """``fn()`` without blocking the event loop: in a worker thread (``share_access_threads`` at once);
    ``on_loop``, on SQLite, first on the loop itself, refusing every wait (see :mod:`citybrain.waiting`):
    ``fn`` must then leave nothing behind when it raises :class:`WouldWait`, as a rolled-back unit of
    work does."""
    if on_loop and state.db.engine.dialect.name == "sqlite":
        for pause in (*_ON_LOOP_PAUSES, None):
            try:
                with refuse_waits():
                    return fn()
            except WouldWait as exc:  # nothing was written: do it again
                if not exc.brief or pause is None:
                    break
            # a write turn: another request's transaction ends within a millisecond or so. Trying again
            # here beats a worker thread, which would wait for the interpreter lock while the event loop
            # is busy with the other requests (milliseconds per statement)
            await anyio.sleep(pause)
    return await anyio.to_thread.run_sync(fn, limiter=_access_limiter(state))


def _group_commit(state: Any) -> GroupCommit:
    """The app's group commit, its writes run as :func:`run_unblocked` runs units of work (made on first
    use, not in create_app: it belongs to the event loop that serves the requests)."""
    found = getattr(state, "group_commit", None)
    if found is None:

        async def run(fn: Callable[[], None]) -> None:
            await run_unblocked(state, fn, on_loop=True)

        found = state.group_commit = GroupCommit(state.db, run)
    return found


#: seconds between tries on the event loop when the write turn was taken; then a worker thread
_ON_LOOP_PAUSES = (0.0005, 0.001, 0.002, 0.004)


def _resolve_untouched(request: Request, session: Session) -> Actor:
    return resolve_actor(request, session, touch=False)


def _access_limiter(state: Any) -> anyio.CapacityLimiter:
    """How many such units of work run at once (``share_access_threads``); the rest wait their turn in
    the event loop. On SQLite one thread serves 8 concurrent callers a third faster than eight, with a
    p99 less than half as long: the calls serialise on the write lock anyway, and every SQLite call
    that gives up the interpreter lock waits to get it back from the other threads."""
    limiter = getattr(state, "share_access_limiter", None)
    if limiter is None:
        # made here, not in create_app: a limiter belongs to the event loop that serves the requests
        limiter = state.share_access_limiter = anyio.CapacityLimiter(state.settings.resolved_share_access_threads)
    return limiter


Ctx = Annotated[Context, Depends(get_context, scope="function")]
