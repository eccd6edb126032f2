"""The registry of every operation.

Each operation is a ``noun_verb`` function taking a :class:`Context` first. It must call
``ctx.authorize(...)`` before doing anything else; the wrapper below refuses to return the
result of an action that never asked (CKAN's "did not call its auth function" safeguard), and
``tests/test_actions.py`` runs every registered action to prove it. The HTTP API, the web
console and the CLI call only these functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from citybrain.auth import policy
from citybrain.auth.actor import Actor
from citybrain.settings import Settings, get_settings

P = ParamSpec("P")
R = TypeVar("R")

ACTIONS: dict[str, Callable[..., Any]] = {}


@dataclass
class Context:
    """What an action needs besides its input: the unit of work, who acts, and request facts."""

    session: Session
    actor: Actor
    settings: Settings = field(default_factory=get_settings)
    ip: str | None = None
    request_id: str | None = None
    lang: str = "zh"
    _authorized: list[str] = field(default_factory=list)
    #: the final writes set aside for a group commit (see :meth:`write_last`); None: written at once
    _grouped: list[tuple[Context, Callable[[Context], None]]] | None = None

    def authorize(self, action: str, resource: Any = None) -> None:
        """Raise NotAuthorized / NotAuthenticated unless the actor may do ``action`` on ``resource``."""
        self._authorized.append(action)
        policy.require(self.actor, action, resource)

    def allowed(self, action: str, resource: Any = None) -> bool:
        return policy.allowed(self.actor, action, resource)

    def write_last(self, write: Callable[[Context], None]) -> None:
        """``write(ctx)``: the last thing the action writes, which nothing after it reads back (a share
        call's usage row and audit entry). Run at once in this unit of work; or, where the web layer
        groups calls (:meth:`group_writes`), set aside to be committed together with other calls' in one
        transaction, before any of their answers leave (see :mod:`citybrain.web.group_commit`)."""
        if self._grouped is None:
            write(self)
        else:
            self._grouped.append((self, write))

    def group_writes(self) -> None:
        """From now on, :meth:`write_last` sets writes aside for :meth:`grouped_writes`."""
        self._grouped = []

    def grouped_writes(self) -> list[tuple[Context, Callable[[Context], None]]]:
        """The writes set aside, each with the context to run it in (given its own session by then)."""
        return list(self._grouped or ())


class AuthNotChecked(RuntimeError):
    """An action returned without asking the policy: a bug, never shown to a user as success."""


def action(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        if name in ACTIONS:
            raise RuntimeError(f"action {name!r} registered twice")

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            ctx = args[0] if args else kwargs.get("ctx")
            if not isinstance(ctx, Context):
                raise TypeError(f"{name}: first argument must be a Context")
            mark = len(ctx._authorized)
            result = fn(*args, **kwargs)
            if len(ctx._authorized) == mark:
                raise AuthNotChecked(f"action {name} did not call ctx.authorize()")
            return result

        wrapper.action_name = name  # type: ignore[attr-defined]
        ACTIONS[name] = wrapper
        return wrapper

    return decorate


def get_action(name: str) -> Callable[..., Any]:
    load_all()
    return ACTIONS[name]


@functools.cache
def load_all() -> None:
    """Import every domain's service module so the registry is complete."""
    import importlib

    for module in SERVICE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


SERVICE_MODULES = (
    "citybrain.org.service",
    "citybrain.auth.service",
    "citybrain.catalog.service",
    "citybrain.catalog.transfer",
    "citybrain.audit.service",
    "citybrain.ingest.service",
    "citybrain.quality.service",
    "citybrain.share.service",
    "citybrain.opendata.service",
    "citybrain.cases.service",
    "citybrain.efficiency.service",
)
