from citybrain.auth.rules import Role, rule

_AUDITORS = {Role.ADMIN, Role.CDO, Role.SECURITY}

RULES = {
    "audit_list": rule("audit:read", any_dept=_AUDITORS),
    "audit_verify": rule("audit:read", any_dept=_AUDITORS),
    "audit_export": rule("audit:read", any_dept=_AUDITORS),
}
