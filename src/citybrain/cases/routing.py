"""派遣路由 (routing): which department, locality or grid worker a case goes to.

Two principles, as the 数字城管 practice states them:

- 管理部件 "先属主、后属地": the owner (权属单位 from the 部件 registry, else the 主管部门 from the
  rules) first; the locality (属地: the grid worker, else the street) when there is no owner or the
  owner returned the case;
- 管理事项 "先属地、后属主": the locality first; the competent department from the rules when the
  locality returned it.

Rules are category × area → department (``RoutingRule``). A 回退 adds the target to
``case.returned_by`` so the reroute tries the next one; when none is left the case waits at the
centre (立案) for a person to dispatch it.

The grid index and gazetteer are built from the ``case_grid`` table and cached per database until
the grids change.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from citybrain.actions import Context, action
from citybrain.audit.service import AuditEntry, record_ctx
from citybrain.cases.gazetteer import Gazetteer, Place, PlaceKind
from citybrain.cases.models import Case, Component, GridArea, RoutingRule
from citybrain.cases.schemas import DispatchIn, RoutingRuleIn
from citybrain.cases.space import Area, GridIndex, Level
from citybrain.errors import Invalid, NotFound
from citybrain.org.models import Department

LEVELS = ("city", "district", "street", "community", "grid")
LOCALITY = "locality"
#: a case this close to its grid's edge (metres) shows the neighbouring grids to the operator
NEAR_BOUNDARY_M = 50.0


# ---- the grid space, cached ---------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    index: GridIndex | None
    gazetteer: Gazetteer


_SPACE: dict[str, tuple[tuple[Any, ...], Space, float]] = {}
_SPACE_LOCK = threading.Lock()
#: how long a process trusts its cached space before it asks the grid table again (seconds). Reading the
#: table's stamp was one query per intake; boundaries change rarely, and a change made in this process
#: takes effect at once (``invalidate_space``), one made in another within this many seconds.
SPACE_RECHECK_S = 2.0


def invalidate_space() -> None:
    """Make the next ``space`` call re-read the grid table's stamp (after importing boundaries)."""
    with _SPACE_LOCK:
        for key, (stamp, built, _checked) in list(_SPACE.items()):
            _SPACE[key] = (stamp, built, float("-inf"))


def space(session: Session) -> Space:
    """Grid index + gazetteer of the imported grids (rebuilt when the grid table changes)."""
    key = str(session.get_bind().url)
    now = time.monotonic()
    with _SPACE_LOCK:
        cached = _SPACE.get(key)
        if cached is not None and now - cached[2] < SPACE_RECHECK_S:
            return cached[1]
    stamp = tuple(session.execute(select(func.count(), func.max(GridArea.imported_at))).one())
    if cached is not None and cached[0] == stamp:
        with _SPACE_LOCK:
            _SPACE[key] = (stamp, cached[1], now)
        return cached[1]
    rows = list(session.scalars(select(GridArea)))
    areas = [
        Area(r.code, r.name, Level(r.level), shape(r.geometry), parent_code=r.parent_code, area_class=r.area_class)
        for r in rows
    ]
    places = []
    kinds = {"district": PlaceKind.DISTRICT, "street": PlaceKind.STREET, "community": PlaceKind.COMMUNITY}
    for area in areas:
        if area.level.value in kinds:
            point = area.geometry.representative_point()
            places.append(Place(area.name, kinds[area.level.value], point.x, point.y, area.code))
    places.extend(_demo_roads(areas))
    has_grids = any(a.level is Level.GRID for a in areas)
    built = Space(GridIndex(areas) if has_grids else None, Gazetteer(places))
    with _SPACE_LOCK:
        _SPACE[key] = (stamp, built, now)
    return built


@cache
def _demo_road_places() -> tuple[Place, ...]:
    from citybrain.cases.gridgen import build_demo_city

    return tuple(p for p in build_demo_city().places if p.kind is PlaceKind.ROAD)


def _demo_roads(areas: list[Area]) -> list[Place]:
    # the demo city's roads are schematic lines inside its district boxes; only add them when those
    # boxes are the imported districts, so a real import never gets invented roads
    from citybrain.cases.gridgen import DISTRICT_BOXES

    demo = {
        a.code
        for a in areas
        if a.level is Level.DISTRICT
        and a.code in DISTRICT_BOXES
        and tuple(round(v, 6) for v in a.geometry.bounds) == DISTRICT_BOXES[a.code]
    }
    return [p for p in _demo_road_places() if p.code in demo] if demo else []


# ---- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a case is sent: a department, a division of the locality chain, or a grid worker."""

    level: str
    division: str | None
    dept_id: str | None
    user_id: str | None
    key: str  # "dept:<id>" or "locality": what ``returned_by`` remembers
    reason: str


def _code_rank(pattern: str, code: str | None) -> int | None:
    if pattern == "*":
        return 0
    if code is None:
        return None
    if pattern.endswith("*"):
        return 1 if code.startswith(pattern[:-1]) else None
    return 2 if code == pattern else None


def match_rules(session: Session, case: Case, exclude: set[str] = frozenset()) -> list[RoutingRule]:
    """Active rules matching the case's category and area, most specific first."""
    ranked = []
    area = case.grid_id or case.street_code or case.district_code or ""
    for r in session.scalars(select(RoutingRule).where(RoutingRule.active.is_(True))):
        rank = _code_rank(r.code, case.code)
        if rank is None or r.kind not in ("*", case.kind) or not area.startswith(r.area_prefix):
            continue
        if f"dept:{r.dept_id}" in exclude:
            continue
        ranked.append(((-rank, -len(r.area_prefix), r.kind == "*", r.priority, r.id), r))
    return [r for _, r in sorted(ranked, key=lambda item: item[0])]


def owner_target(session: Session, case: Case, exclude: set[str]) -> Target | None:
    """属主: the registered owner of the 部件, else the department the rules name."""
    if case.kind == "部件" and case.component_id:
        component = session.get(Component, case.component_id)
        if component is not None and f"dept:{component.owner_dept_id}" not in exclude:
            return _dept_target(session, component.owner_dept_id, f"部件 {component.ident} 的权属单位")
    rules = match_rules(session, case, exclude)
    if rules:
        rule = rules[0]
        return _dept_target(session, rule.dept_id, f"路由规则 {rule.kind}/{rule.code}/{rule.area_prefix or '全市'}")
    return None


def _dept_target(session: Session, dept_id: str, reason: str) -> Target:
    dept = session.get(Department, dept_id)
    if dept is None:
        raise NotFound(f"部门 {dept_id} 不存在", details={"field": "dept"})
    level = "district" if dept.level == "区" else "city"
    return Target(level, dept.division_code, dept.id, None, f"dept:{dept.id}", f"{reason}：{dept.name}")


def locality_target(session: Session, case: Case, exclude: set[str]) -> Target | None:
    """属地: the grid worker of the case's grid, else its street (街道) for the street's operators."""
    if LOCALITY in exclude or case.grid_id is None:
        return None
    grid = session.get(GridArea, case.grid_id)
    if grid is not None and grid.worker_user_id:
        return Target("grid", grid.code, None, grid.worker_user_id, LOCALITY, f"属地网格员（{grid.name}）")
    return Target("street", case.street_code, None, None, LOCALITY, f"属地街道 {case.street_code}")


def route(session: Session, case: Case) -> Target | None:
    """The next target by 先属主后属地 (部件) or 先属地后属主 (事项), skipping those that returned it."""
    exclude = set(case.returned_by or ())
    order = (owner_target, locality_target) if case.kind == "部件" else (locality_target, owner_target)
    for pick in order:
        target = pick(session, case, exclude)
        if target is not None:
            return target
    return None


def manual_target(ctx: Context, case: Case, data: DispatchIn) -> Target:
    """A target chosen by an operator: down the locality chain, or across to a department."""
    from citybrain.auth.service import get_user
    from citybrain.org.service import get_department

    if data.dept is not None:
        dept = get_department(ctx, data.dept)
        return _dept_target(ctx.session, dept.id, data.reason or "人工派遣")
    assert data.level is not None
    if case.grid_id is None:
        raise Invalid("案件没有所属网格，只能派遣给部门", details={"field": "level"})
    division = {
        "district": case.district_code,
        "street": case.street_code,
        "community": case.community_code,
        "grid": case.grid_id,
    }.get(data.level)
    if division is None:
        raise Invalid("不能派遣到市级，请选择区县、街道、社区或网格", details={"field": "level"})
    current = LEVELS.index(case.level) if case.level in LEVELS else 0
    if case.assignee_dept_id is None and case.dispatch_count and LEVELS.index(data.level) <= current:
        raise Invalid(
            f"只能向下级派遣：当前在{case.level}级，目标 {data.level}",
            details={"field": "level", "current": case.level},
        )
    user_id = None
    if data.user:
        user_id = get_user(ctx, data.user).id
    elif data.level == "grid":
        grid = ctx.session.get(GridArea, case.grid_id)
        user_id = grid.worker_user_id if grid is not None else None
    return Target(data.level, division, None, user_id, LOCALITY, data.reason or "人工派遣")


def assign(case: Case, target: Target) -> None:
    case.level = target.level
    case.assignee_division = target.division
    case.assignee_dept_id = target.dept_id
    case.assignee_user_id = target.user_id


# ---- rules CRUD ---------------------------------------------------------------------------------


def _rule_values(ctx: Context, data: RoutingRuleIn) -> dict[str, Any]:
    from citybrain.org.service import get_department

    dept = get_department(ctx, data.dept)
    values = data.model_dump(exclude={"dept"})
    values["dept_id"] = dept.id
    return values


def _get_rule(ctx: Context, rule_id: str) -> RoutingRule:
    found = ctx.session.get(RoutingRule, rule_id)
    if found is None:
        raise NotFound(f"路由规则 {rule_id} 不存在", details={"field": "id"})
    return found


@action("routing_rule_list")
def routing_rule_list(ctx: Context) -> list[RoutingRule]:
    ctx.authorize("routing_rule_list")
    q = select(RoutingRule).order_by(RoutingRule.kind, RoutingRule.code, RoutingRule.area_prefix)
    return list(ctx.session.scalars(q))


@action("routing_rule_create")
def routing_rule_create(ctx: Context, data: RoutingRuleIn) -> RoutingRule:
    ctx.authorize("routing_rule_create")
    found = RoutingRule(**_rule_values(ctx, data))
    ctx.session.add(found)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "routing_rule_create", resource_type="case_routing_rule", resource_id=found.id, details=data.model_dump()
        ),
    )
    return found


@action("routing_rule_update")
def routing_rule_update(ctx: Context, rule_id: str, data: RoutingRuleIn) -> RoutingRule:
    ctx.authorize("routing_rule_update")
    found = _get_rule(ctx, rule_id)
    for key, value in _rule_values(ctx, data).items():
        setattr(found, key, value)
    ctx.session.flush()
    record_ctx(
        ctx,
        AuditEntry(
            "routing_rule_update", resource_type="case_routing_rule", resource_id=found.id, details=data.model_dump()
        ),
    )
    return found


@action("routing_rule_delete")
def routing_rule_delete(ctx: Context, rule_id: str) -> None:
    ctx.authorize("routing_rule_delete")
    found = _get_rule(ctx, rule_id)
    ctx.session.delete(found)
    record_ctx(ctx, AuditEntry("routing_rule_delete", resource_type="case_routing_rule", resource_id=rule_id))


# ---- batch routing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRoutes:
    """Where each of a batch of events goes: one entry per event, ``None`` where there is no value."""

    grid_id: list[str | None]
    level: list[str | None]
    division: list[str | None]
    dept_id: list[str | None]
    user_id: list[str | None]

    def __len__(self) -> int:
        return len(self.grid_id)


def route_batch(
    session: Session,
    kinds: list[str],
    codes: list[str | None],
    lons: Any,
    lats: Any,
    component_ids: list[str | None] | None = None,
) -> BatchRoutes:
    """``route`` for many fresh events at once (none returned yet): the same targets, without a query per event.

    The points are located in one vectorized ``GridIndex.locate_many`` call; rules, grid workers,
    departments and 部件 owners are read once; the rule choice is made once per distinct
    (kind, code, grid), which a city has far fewer of than events. An event outside every grid has
    no locality, so only rules without an area prefix apply to it, as in ``match_rules``.
    """
    import numpy as np

    n = len(kinds)
    if not (len(codes) == n == len(lons) == len(lats)) or (component_ids is not None and len(component_ids) != n):
        raise Invalid("批量路由的各列长度须一致", details={"field": "batch"})
    city = space(session)
    if city.index is not None:
        grids = city.index.locate_many(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)).tolist()
    else:
        grids = [None] * n
    workers = dict(
        session.execute(select(GridArea.code, GridArea.worker_user_id).where(GridArea.level == Level.GRID.value)).all()
    )
    depts = {d.id: d for d in session.scalars(select(Department))}
    rules = list(session.scalars(select(RoutingRule).where(RoutingRule.active.is_(True))))
    owners: dict[str, str] = {}
    # IN lists in chunks: SQLite and PostgreSQL both cap the parameters of one statement
    wanted = sorted({c for c in component_ids or () if c})
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        rows = session.execute(select(Component.ident, Component.owner_dept_id).where(Component.ident.in_(chunk)))
        owners.update({ident: owner for ident, owner in rows})

    def dept_route(dept_id: str) -> tuple[str, str | None, str, None]:
        dept = depts.get(dept_id)
        if dept is None:
            raise NotFound(f"部门 {dept_id} 不存在", details={"field": "dept"})
        return ("district" if dept.level == "区" else "city", dept.division_code, dept.id, None)

    # rules for one (kind, code), in match_rules' order less the area part; the area decides below
    by_category: dict[tuple[str, str | None], list[RoutingRule]] = {}

    def candidates(kind: str, code: str | None) -> list[RoutingRule]:
        found = by_category.get((kind, code))
        if found is None:
            ranked = []
            for r in rules:
                rank = _code_rank(r.code, code)
                if rank is not None and r.kind in ("*", kind):
                    ranked.append(((-rank, -len(r.area_prefix), r.kind == "*", r.priority, r.id), r))
            found = by_category[(kind, code)] = [r for _, r in sorted(ranked, key=lambda item: item[0])]
        return found

    def owner(kind: str, code: str | None, grid: str | None) -> tuple[str, str | None, str | None, None] | None:
        area = grid or ""
        for rule in candidates(kind, code):
            if area.startswith(rule.area_prefix):
                return dept_route(rule.dept_id)
        return None

    def locality(kind: str, code: str | None, grid: str | None) -> tuple[str, str | None, None, str | None] | None:
        if grid is None:
            return None
        worker = workers.get(grid)
        return ("grid", grid, None, worker) if worker else ("street", grid[:9], None, None)

    decided: dict[tuple[str, str | None, str | None], tuple[Any, ...] | None] = {}
    level: list[str | None] = [None] * n
    division: list[str | None] = [None] * n
    dept_id: list[str | None] = [None] * n
    user_id: list[str | None] = [None] * n
    components = component_ids or [None] * n
    for i, (kind, code, grid, component) in enumerate(zip(kinds, codes, grids, components, strict=True)):
        if kind == "部件" and component and component in owners:
            target: tuple[Any, ...] | None = dept_route(owners[component])
        else:
            key = (kind, code, grid)
            if key in decided:
                target = decided[key]
            else:
                # 部件 先属主后属地, 事项 先属地后属主, as in ``route``
                order = (owner, locality) if kind == "部件" else (locality, owner)
                target = order[0](kind, code, grid) or order[1](kind, code, grid)
                decided[key] = target
        if target is not None:
            level[i], division[i], dept_id[i], user_id[i] = target
    return BatchRoutes(grids, level, division, dept_id, user_id)
