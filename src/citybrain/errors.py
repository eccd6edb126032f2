"""Domain errors.

Every refusal the platform makes is one of these. The web layer turns them into HTTP in one place
(``citybrain.web.errors``); the CLI prints them. Each carries a stable ``code`` for clients, a
human message (Chinese first) and structured ``details`` (for example every bad row of an import).
"""

from __future__ import annotations

from typing import Any


class CityBrainError(Exception):
    """Base of all domain errors."""

    code: str = "error"
    http_status: int = 400
    #: transient errors may succeed when retried (a locked file, a busy database); terminal ones never will
    transient: bool = False

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class Invalid(CityBrainError):
    """Input failed validation. ``details`` lists every problem found, not just the first."""

    code = "invalid"
    http_status = 422


class NotFound(CityBrainError):
    code = "not_found"
    http_status = 404


class NotAuthenticated(CityBrainError):
    code = "not_authenticated"
    http_status = 401


class NotAuthorized(CityBrainError):
    code = "not_authorized"
    http_status = 403


class Conflict(CityBrainError):
    """The request conflicts with current state (a duplicate, a stale version, an illegal transition)."""

    code = "conflict"
    http_status = 409


class RateLimited(CityBrainError):
    code = "rate_limited"
    http_status = 429
    transient = True


class Unavailable(CityBrainError):
    """A dependency (database, broker, storage) is temporarily unavailable."""

    code = "unavailable"
    http_status = 503
    transient = True


def validation_details(exc: Any) -> list[dict[str, Any]]:
    """Pydantic's error list in our shape: field path, message, input."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = err.get("msg", "")
        if msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
        out.append({"field": loc, "message": msg, "type": err.get("type")})
    return out


def parse(model: Any, data: Any) -> Any:
    """Validate ``data`` into ``model``, raising Invalid with every problem instead of ValidationError."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc)
        summary = "；".join(f"{d['field'] or '输入'}: {d['message']}" for d in details[:5])
        raise Invalid(f"输入有误：{summary}", details=details) from None
