"""Who is acting: a logged-in user, an API token, the system itself, or an anonymous visitor."""

from __future__ import annotations

from dataclasses import dataclass, field

from citybrain.auth.rules import Role


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "token" | "system" | "anonymous"
    user_id: str | None = None
    username: str | None = None
    dept_id: str | None = None
    roles: frozenset[Role] = frozenset()
    #: token scopes; None means "all scopes the roles allow" (an interactive login)
    scopes: frozenset[str] | None = None
    token_id: str | None = None
    #: division codes the actor is limited to (e.g. a street's grid operators); empty = no limit
    divisions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.kind in {"user", "token", "system"}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    def label(self) -> str:
        return self.username or self.kind


ANONYMOUS = Actor(kind="anonymous")
SYSTEM = Actor(kind="system", username="system", roles=frozenset({Role.ADMIN}))
