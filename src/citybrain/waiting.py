"""Work that must not wait: a unit of work run on the server's event loop, not in a worker thread.

Handing a share lookup to a worker thread and back costs about a seventh of the lookup, and under load
the thread waits for the interpreter lock while the event loop parses other requests. A lookup that
finds its answer in a key index and its write turn free never waits on anything, so the web layer runs
it on the event loop itself, inside :func:`refuse_waits`. Anything in it that would wait — a SQLite
write turn another thread or process holds, a scan of Parquet files, a recount of a day of calls —
calls :func:`may_wait` first, which raises :class:`WouldWait` there; the unit of work is rolled back
(``may_wait`` is only called before its last transaction commits, so none of it has taken effect) and
run again: a moment later on the event loop
when the wait would have been brief (a write turn), else in a worker thread, where waiting is harmless.
Blocking the event loop instead would stall every request of the process, and could deadlock
with a worker thread that needs the loop to finish the transaction it holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_refused: ContextVar[bool] = ContextVar("citybrain_waits_refused", default=False)


class WouldWait(Exception):
    """The work would have to wait (for ``what``): run it where waiting is allowed."""

    def __init__(self, what: str, *, brief: bool = False) -> None:
        super().__init__(what)
        self.what = what
        #: what it would wait for ends within milliseconds (a write turn): trying again soon may do
        self.brief = brief


@contextmanager
def refuse_waits() -> Iterator[None]:
    """Within the block, :func:`may_wait` raises :class:`WouldWait` instead of letting the work wait."""
    token = _refused.set(True)
    try:
        yield
    finally:
        _refused.reset(token)


def waits_refused() -> bool:
    return _refused.get()


def may_wait(what: str, *, brief: bool = False) -> None:
    """Called before something that may wait (``what`` names it; ``brief``: for milliseconds at most)."""
    if _refused.get():
        raise WouldWait(what, brief=brief)
