"""Open-data rules. Reading published open data is anonymous; preparing is the source department's
steward; approving open-catalog batches is the chief data officer's; 有条件开放 data needs an approved
application (checked by the service, which knows the applicant's key)."""

from typing import Any

from citybrain.auth.rules import ALL_STAFF, Role, rule

_EVERYONE = ALL_STAFF | {Role.PUBLIC}
_OVERSEERS = {Role.ADMIN, Role.CDO}


def dataset_visible(actor: Any, dataset: Any) -> str | None:
    """Published datasets are public; drafts only for the source department and overseers."""
    if dataset is None or getattr(dataset, "status", "published") == "published":
        return None
    if actor.is_authenticated and (
        actor.kind == "system" or actor.roles & (_OVERSEERS | {Role.SECURITY}) or actor.dept_id == dataset.dept_id
    ):
        return None
    return "该数据集尚未开放"


def _own_application(actor: Any, application: Any) -> str | None:
    if application is None or getattr(application, "user_id", None) == actor.user_id:
        return None
    if actor.roles & {Role.ADMIN} or (actor.roles & {Role.STEWARD} and actor.dept_id == application.dept_id):
        return None
    return "只能查看自己的申请"


RULES = {
    # public reading (portal, CKAN API, DCAT); the scope is what a personal open-data key carries
    "open_dataset_search": rule("open:read", any_dept=_EVERYONE, anonymous=True),
    "open_dataset_show": rule("open:read", any_dept=_EVERYONE, anonymous=True, check=dataset_visible),
    "open_dataset_rows": rule("open:read", any_dept=_EVERYONE, anonymous=True, check=dataset_visible),
    "open_dataset_download": rule("open:read", any_dept=_EVERYONE, anonymous=True, check=dataset_visible),
    "open_org_list": rule("open:read", any_dept=_EVERYONE, anonymous=True),
    "open_metrics_show": rule("open:read", any_dept=_EVERYONE, anonymous=True),
    "open_app_list": rule("open:read", any_dept=_EVERYONE, anonymous=True),
    # publishing
    "open_dataset_prepare": rule("open:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "open_dataset_update": rule("open:write", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "open_dataset_withdraw": rule("open:write", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "open_dataset_sync": rule("open:write", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "open_batch_submit": rule("open:write", any_dept={Role.ADMIN, Role.CDO}, own_dept={Role.STEWARD}),
    "open_batch_list": rule("open:write", any_dept={Role.ADMIN, Role.CDO, Role.SECURITY}, own_dept={Role.STEWARD}),
    "open_batch_approve": rule("open:approve", any_dept={Role.CDO, Role.ADMIN}),
    "open_batch_reject": rule("open:approve", any_dept={Role.CDO, Role.ADMIN}),
    "open_metrics_detail": rule("open:approve", any_dept={Role.CDO, Role.ADMIN, Role.SECURITY}),
    # 有条件开放: registered members of the public (and staff acting for a company) apply; the source decides
    "open_application_create": rule("open:apply", any_dept=_EVERYONE),
    "open_application_list": rule("open:apply", any_dept=_EVERYONE),
    "open_application_show": rule("open:apply", any_dept=_EVERYONE, check=_own_application),
    "open_application_key": rule("open:apply", any_dept=_EVERYONE, check=_own_application),
    "open_application_decide": rule("open:review", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "open_application_revoke": rule("open:review", any_dept={Role.ADMIN}, own_dept={Role.STEWARD}),
    "open_app_register": rule("open:apply", any_dept=_EVERYONE),
}
