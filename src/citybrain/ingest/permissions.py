"""Aggregation rules.

Only the source department's steward (or a platform administrator) loads data into a resource
and manages its quarantine, pulls and retention: 一数一源 means one department answers for it.
Quarantined rows and lake rows are data, not metadata, so reading them stays with the source
department (other departments get data through sharing, not here); load records and version
lineage are metadata that overseers (CDO, security) may also review.
"""

from citybrain.auth.rules import Role, rule

_WRITE = {"any_dept": {Role.ADMIN}, "own_dept": {Role.STEWARD}}
_META = {"any_dept": {Role.ADMIN, Role.CDO, Role.SECURITY}, "own_dept": {Role.STEWARD, Role.CONSUMER}}
_DATA = {"any_dept": {Role.ADMIN}, "own_dept": {Role.STEWARD, Role.CONSUMER}}

RULES = {
    "resource_load": rule("ingest:write", **_WRITE, description="归集数据（上传文件）"),
    "load_list": rule("ingest:read", **_META),
    "load_show": rule("ingest:read", **_META),
    "quarantine_list": rule("ingest:read", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "quarantine_summary": rule("ingest:read", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "quarantine_resubmit": rule("ingest:write", **_WRITE),
    "version_list": rule("ingest:read", **_META),
    "version_read": rule("ingest:read", **_DATA),
    "resource_preview": rule("ingest:read", **_DATA),
    "version_prune": rule("ingest:write", **_WRITE),
    "source_create": rule("ingest:write", **_WRITE),
    "source_list": rule("ingest:read", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "source_run": rule("ingest:write", **_WRITE),
    "job_show": rule("ingest:read", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
}
