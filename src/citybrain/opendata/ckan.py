"""CKAN's shapes for open datasets: package, resource, organization, group and tag dictionaries.

Each open dataset is one CKAN package with three resources — CSV (the DataStore resource, whose
id is the dataset's id), XLSX and JSON downloads — so harvesters and ``ckanapi`` see the usual
structure. Only published fields appear in the data dictionary; 高敏感 and left-out fields are
absent, masked ones are named with their masking.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from citybrain.opendata import query as q
from citybrain.opendata.models import OpenDataset
from citybrain.opendata.schemas import LICENCES
from citybrain.org.models import Department

CKAN_VERSION = "2.10.4"
FORMATS = (
    ("csv", "CSV", "text/csv"),
    ("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("json", "JSON", "application/json"),
)


def iso(value: datetime | None) -> str | None:
    # CKAN writes naive UTC timestamps without the offset
    return value.replace(tzinfo=None).isoformat() if value is not None else None


def org_dict(dept: Department, package_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": dept.id,
        "name": dept.code,
        "title": dept.name,
        "display_name": dept.name,
        "description": dept.name_en or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "created": iso(dept.created_at),
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def group_dict(topic: str, package_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": topic,
        "name": topic,
        "title": topic,
        "display_name": topic,
        "description": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "image_display_url": "",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def resource_id(ds: OpenDataset, fmt: str) -> str:
    return ds.id if fmt == "csv" else f"{ds.id}-{fmt}"


def split_resource_id(rid: str) -> tuple[str, str]:
    """(dataset id, format) of a resource id; a bare dataset id or name is its CSV resource."""
    for fmt in ("xlsx", "json"):
        if rid.endswith(f"-{fmt}"):
            return rid[: -len(fmt) - 1], fmt
    return rid, "csv"


def download_url(base: str, ds: OpenDataset, fmt: str) -> str:
    return f"{base}/api/v1/open/datasets/{ds.name}/download.{fmt}"


def resource_dicts(ds: OpenDataset, base: str) -> list[dict[str, Any]]:
    out = []
    for position, (fmt, label, mimetype) in enumerate(FORMATS):
        out.append(
            {
                "id": resource_id(ds, fmt),
                "package_id": ds.id,
                "name": f"{ds.title}（{label}）",
                "description": "数据下载" if fmt != "csv" else "数据下载，可用 datastore_search 接口分页查询",
                "format": label,
                "mimetype": mimetype,
                "url": download_url(base, ds, fmt),
                "url_type": None,
                "datastore_active": fmt == "csv",
                "state": "active",
                "position": position,
                "created": iso(ds.published_at or ds.created_at),
                "last_modified": iso(ds.data_updated_at),
                "metadata_modified": iso(ds.updated_at),
                "size": None,
                "restricted": ds.open_type == "有条件开放",
            }
        )
    return out


def dictionary(served: list[q.ServedField]) -> list[dict[str, Any]]:
    return [
        {
            "id": f.name,
            "title": f.title,
            "type": f.data_type,
            "masked": f.masked,
            "masking": q.describe_mask(f.mask),
        }
        for f in served
    ]


def package_dict(
    ds: OpenDataset, dept: Department, base: str, served: list[q.ServedField] | None = None
) -> dict[str, Any]:
    licence_title, licence_url = LICENCES.get(ds.licence, (ds.licence, ""))
    extras = {
        "open_type": ds.open_type,
        "update_frequency": ds.update_frequency,
        "data_version": str(ds.version or ""),
        "follow_latest": "true" if ds.follow_latest else "false",
        "data_updated": iso(ds.data_updated_at) or "",
        "rows": str(ds.rows or 0),
        "resource_key": ds.resource_key,
    }
    tags = [{"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": None} for t in ds.tags]
    out = {
        "id": ds.id,
        "name": ds.name,
        "title": ds.title,
        "title_en": ds.title_en,
        "notes": ds.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "url": f"{base}/portal/datasets/{ds.name}",
        "version": str(ds.version or ""),
        "license_id": ds.licence,
        "license_title": licence_title,
        "license_url": licence_url,
        "isopen": ds.open_type == "无条件开放",
        "author": dept.name,
        "author_email": None,
        "maintainer": dept.name,
        "maintainer_email": None,
        "metadata_created": iso(ds.published_at or ds.created_at),
        "metadata_modified": iso(ds.updated_at),
        "owner_org": dept.id,
        "organization": org_dict(dept),
        "groups": [group_dict(ds.topic)] if ds.topic else [],
        "tags": tags,
        "num_tags": len(tags),
        "resources": resource_dicts(ds, base),
        "num_resources": len(FORMATS),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "open_type": ds.open_type,
        "update_frequency": ds.update_frequency,
        "tracking_summary": {"total": ds.views, "recent": ds.views},
        "downloads": ds.downloads,
    }
    if served is not None:
        # only package_show carries the dictionary: it is computed from the catalog's current sensitivity
        out["data_dictionary"] = dictionary(served)
    return out
