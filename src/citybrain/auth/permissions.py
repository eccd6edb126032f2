from typing import Any

from citybrain.auth.rules import ALL_STAFF, Role, rule


def _own_token(actor: Any, token: Any) -> str | None:
    if token is None or Role.ADMIN in actor.roles or getattr(token, "user_id", None) == actor.user_id:
        return None
    return "只能管理自己的令牌"


RULES = {
    "session_login": rule("session", anonymous=True, any_dept=ALL_STAFF | {Role.PUBLIC}),
    "session_logout": rule("session", any_dept=ALL_STAFF | {Role.PUBLIC}),
    "user_show_self": rule("self", any_dept=ALL_STAFF | {Role.PUBLIC}),
    "user_list": rule("user:admin", any_dept={Role.ADMIN}),
    "user_show": rule("user:admin", any_dept={Role.ADMIN}),
    "user_create": rule("user:admin", any_dept={Role.ADMIN}),
    "user_update": rule("user:admin", any_dept={Role.ADMIN}),
    "user_password_set": rule("user:admin", any_dept={Role.ADMIN}),
    "public_user_register": rule("session", anonymous=True),
    "token_create": rule("token:self", any_dept=ALL_STAFF | {Role.PUBLIC}),
    "token_list": rule("token:self", any_dept=ALL_STAFF | {Role.PUBLIC}),
    "token_revoke": rule("token:self", any_dept=ALL_STAFF | {Role.PUBLIC}, check=_own_token),
}
