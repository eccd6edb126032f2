"""Group commit: the last transaction of several share calls, committed as one.

Each share call ends with writes nothing in it reads back — its usage row, its rate counter, its audit
entry, the anomaly checks (``Context.write_last``). Committed one call at a time they cost about as
much as the rest of the call together: a transaction begun and committed, and on SQLite the same
table and index pages written to the log again for every call. Here the calls that reach that point
while the event loop is busy with others queue up, and one transaction writes them all, in the order
they queued (so the audit chain's order is theirs); each call answers only once that transaction has
committed, so no answer leaves unrecorded. Under load several calls share each commit; while calls
come one at a time, each writes in its own unit of work, as outside the web layer (see
:meth:`GroupCommit.grouping`).

If the shared transaction fails, each call's writes are tried again alone, so that one call's error
(say, a write refused by the database) fails that call only. Writes are run where the web layer runs
units of work that must not block the event loop (``deps.run_unblocked``): on the loop when they need
not wait, else in a worker thread.

This is the pattern databases use for their own logs (PostgreSQL's ``commit_delay``); it is written
here because it needs this application's transactions, not the database's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from citybrain.actions import Context
from citybrain.db import Database

log = logging.getLogger(__name__)

#: commits in a row of one call each after which calls stop waiting for others to join …
LONE_COMMITS = 8
#: … for this many calls
UNGROUPED_CALLS = 256
#: one call's writes, each with the context it is run in
Writes = list[tuple[Context, Callable[[Context], None]]]
#: runs a function of no arguments where it must not block the event loop; its result, or its error
Runner = Callable[[Callable[[], None]], Awaitable[None]]


class GroupCommit:
    """The queue of calls waiting to commit their writes, for one event loop."""

    def __init__(self, db: Database, run: Runner) -> None:
        self._db = db
        self._run = run
        self._queue: list[tuple[Writes, asyncio.Future[None]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._lone = 0  # commits in a row of one call each
        self._ungrouped = 0  # calls left to write in their own unit of work
        #: calls committed, and transactions that committed them (what the tests look at)
        self.calls = 0
        self.commits = 0

    def grouping(self) -> bool:
        """Whether the call starting now sets its writes aside for a group commit, or writes them in its
        own unit of work, as outside the web layer. The calls of a process take turns on its event loop, so
        a call cannot tell whether others will reach their writes while it waits for them; what the last
        commits found tells. After :data:`LONE_COMMITS` commits in a row of one call each, the next
        :data:`UNGROUPED_CALLS` calls write alone; then grouping is tried again."""
        if self._ungrouped:
            self._ungrouped -= 1
            return False
        return True

    async def commit(self, writes: Writes) -> None:
        """Return once ``writes`` are committed; raise what committing them raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.append((writes, done))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        # shielded: a caller that goes away (a closed connection) does not take its writes with it
        await asyncio.shield(done)

    async def _drain(self) -> None:
        try:
            while self._queue:
                # one turn of the loop first: the calls already under way reach their writes and join
                await asyncio.sleep(0)
                batch, self._queue = self._queue, []
                await self._commit(batch)
        finally:
            self._draining = None

    async def _commit(self, batch: list[tuple[Writes, asyncio.Future[None]]]) -> None:
        try:
            await self._run(lambda: self._write([w for writes, _ in batch for w in writes]))
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            log.warning("a group commit of %d calls failed (%s); committing each alone", len(batch), exc)
            for writes, done in batch:
                try:
                    await self._run(lambda writes=writes: self._write(writes))  # type: ignore[misc]
                except Exception as one:
                    _settle(done, one)
                else:
                    self._count(1, retried=True)
                    _settle(done, None)
            return
        except BaseException as exc:  # cancelled while committing: nobody may wait for ever
            for _, done in batch:
                _settle(done, exc)
            raise
        self._count(len(batch))
        for _, done in batch:
            _settle(done, None)

    def _count(self, calls: int, *, retried: bool = False) -> None:
        self.calls += calls
        self.commits += 1
        if retried:  # alone because its group failed, not for want of company
            return
        self._lone = self._lone + 1 if calls == 1 else 0
        if self._lone >= LONE_COMMITS:
            # nobody joins: waiting a turn of the loop for them costs a lone call more than it saves
            self._lone, self._ungrouped = 0, UNGROUPED_CALLS

    def _write(self, writes: Writes) -> None:
        with self._db.session() as session:
            for ctx, write in writes:
                ctx.session = session  # the call's own unit of work has ended; its context is free to reuse
                write(ctx)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(error)


__all__ = ["GroupCommit", "Runner", "Writes"]
