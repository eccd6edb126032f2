from citybrain.auth.rules import ALL_STAFF, Role, rule

RULES = {
    "division_list": rule("org:read", any_dept=ALL_STAFF | {Role.PUBLIC}, anonymous=True),
    "division_create": rule("org:write", any_dept={Role.ADMIN}),
    "department_list": rule("org:read", any_dept=ALL_STAFF | {Role.PUBLIC}, anonymous=True),
    "department_show": rule("org:read", any_dept=ALL_STAFF | {Role.PUBLIC}, anonymous=True),
    "department_create": rule("org:write", any_dept={Role.ADMIN}),
    "department_update": rule("org:write", any_dept={Role.ADMIN}),
}
