"""Per-area counts kept in ``AreaCount``: refreshed every ``EVERY`` seconds and after bulk loads.

A district administrator's pages used to count 231,555 households and 520,000 residents on every
visit. The refresh is a few grouped queries (one per level and table) and replaces the rows in one
transaction. Pages use a row only when the user sees every household of the area (an area inside
their assignment, not a guardian's wards), so a rollup never shows more than the live scoped
count would; where no row exists yet (a new area, before the first refresh) they count live.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.core.scope import assigned_areas
from wangge.registry.models import AreaCount, Household, Resident

#: seconds between refreshes by the worker: how stale a page's counts may be (plus one refresh)
EVERY = 300
LEVELS = (Area.Level.GRID, Area.Level.COMMUNITY, Area.Level.STREET, Area.Level.DISTRICT)


def _grouped(queryset: Any, column: str) -> dict[int, int]:
    return {
        pk: n
        for pk, n in queryset.exclude(**{column: None})
        .values(column)
        .annotate(n=Count("id"))
        .order_by()
        .values_list(column, "n")
    }


def _by_type(living: Any) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, dict[str, int]]]]:
    """Living residents per area and population type, and per child area (the headcount table).

    One grouped query per level pair: (grid), (community, grid), (street, community) and
    (district, street); residents not yet in a child area are under the key ``"none"``.
    """
    own: dict[int, dict[str, int]] = {}
    children: dict[int, dict[str, dict[str, int]]] = {}
    pairs: tuple[tuple[str, str | None], ...] = (
        (Area.Level.DISTRICT, Area.Level.STREET),
        (Area.Level.STREET, Area.Level.COMMUNITY),
        (Area.Level.COMMUNITY, Area.Level.GRID),
        (Area.Level.GRID, None),
    )
    for level, child in pairs:
        columns = [level, "population_type", *([child] if child else [])]
        rows = living.exclude(**{level: None}).values(*columns).annotate(n=Count("id")).order_by()
        for row in rows:
            area, code, n = row[level], row["population_type"], row["n"]
            mine = own.setdefault(area, {})
            mine[code] = mine.get(code, 0) + n
            if child:
                key = str(row[child]) if row[child] is not None else "none"
                cell = children.setdefault(area, {}).setdefault(key, {})
                cell[code] = cell.get(code, 0) + n
    return own, children


def refresh(now: dt.datetime | None = None, *, analyze: bool = False) -> int:
    """Recount every area; returns the number of rows written. ``analyze`` refreshes the
    planner's statistics too (after a bulk load)."""
    now = now or timezone.now()
    households: dict[int, int] = {}
    residents: dict[int, int] = {}
    grids: dict[int, int] = {}
    living = Resident.objects.filter(status=Resident.Status.LIVING)
    for level in LEVELS:
        households.update(_grouped(Household.objects.all(), level))
        residents.update(_grouped(living, level))
        if level != Area.Level.GRID:
            grids.update(_grouped(Area.objects.filter(level=Area.Level.GRID), level))
    by_type, children_by_type = _by_type(living)
    ids = list(Area.objects.values_list("pk", flat=True))
    rows = [
        AreaCount(
            area_id=pk,
            households=households.get(pk, 0),
            residents=residents.get(pk, 0),
            grids=grids.get(pk, 0),
            by_type=by_type.get(pk, {}),
            children_by_type=children_by_type.get(pk, {}),
            refreshed_at=now,
        )
        for pk in ids
    ]
    with transaction.atomic():
        AreaCount.objects.all().delete()
        AreaCount.objects.bulk_create(rows, batch_size=2000)
    if analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return len(rows)


def exact_for(user: Any, areas: list[Area]) -> bool:
    """Whether ``user``'s scoped counts of these areas equal the whole areas' counts."""
    if not areas or not policy.can_view_registry(user) or policy.sees_only_wards(user):
        return False
    pks = {a.pk for a in areas}
    return areas_within(user).filter(pk__in=pks).count() == len(pks)


def counts(user: Any, areas: list[Area]) -> dict[int, AreaCount] | None:
    """Rollup rows for these areas if they give exactly what the user would count, else None.

    An area the user sees whole is its own row. An area the user sees only part of (a street
    officer on the district's page, a grid worker on their community's) is the sum of the rows of
    their assigned areas inside it, as an unsaved ``AreaCount``: counting the street's 60,000
    residents live there took ~300 ms at 520,000 residents.
    """
    if not areas or not policy.can_view_registry(user) or policy.sees_only_wards(user):
        return None
    found = _parts(user, areas)
    if found is None:
        return None
    parts, placed = found
    needed = {pk for pks in parts.values() for pk in pks}
    rows = {row.area_id: row for row in AreaCount.objects.filter(area__in=needed)}
    if len(rows) != len(needed):
        return None
    return {area.pk: _sum(area, [rows[pk] for pk in parts[area.pk]], placed) for area in areas}


#: an assigned area's id, level and ancestors' ids (district, street, community)
_Placed = tuple[int, str, int | None, int | None, int | None]


def _parts(user: Any, areas: list[Area]) -> tuple[dict[int, list[int]], dict[int, _Placed]] | None:
    """For each area, the areas whose rollup rows add up to the user's part of it: itself when it
    lies in one of the user's assignments, else the user's assignments inside it (none: None);
    and the assignments, by id."""
    assigned = [pk for ids in assigned_areas(user).values() for pk in ids]
    placed: list[_Placed] = list(
        Area.objects.filter(pk__in=assigned).values_list("pk", "level", "district_id", "street_id", "community_id")
    )
    ids = {row[0] for row in placed}
    # an assignment inside another adds nothing to it
    outermost = [row for row in placed if not ids.intersection(row[2:])]
    parts: dict[int, list[int]] = {}
    for area in areas:
        if ids.intersection((area.pk, area.district_id, area.street_id, area.community_id)):
            parts[area.pk] = [area.pk]
            continue
        inside = [row[0] for row in outermost if area.pk in row[2:]]
        if not inside:
            return None
        parts[area.pk] = inside
    return parts, {row[0]: row for row in placed}


def _sum(area: Area, rows: list[AreaCount], placed: dict[int, _Placed]) -> AreaCount:
    if len(rows) == 1 and rows[0].area_id == area.pk:
        return rows[0]
    child = {"district": "street", "street": "community", "community": "grid"}.get(area.level)
    by_type: dict[str, int] = {}
    children: dict[str, dict[str, int]] = {}
    for row in rows:
        pk, level, district, street, community = placed[row.area_id]
        for code, n in row.by_type.items():
            by_type[code] = by_type.get(code, 0) + n
        if child is not None:
            above = {"district": district, "street": street, "community": community}.get(child)
            key = str(pk if level == child else above)
            cell = children.setdefault(key, {})
            for code, n in row.by_type.items():
                cell[code] = cell.get(code, 0) + n
    return AreaCount(
        area=area,
        households=sum(row.households for row in rows),
        residents=sum(row.residents for row in rows),
        grids=sum(row.grids if placed[row.area_id][1] != Area.Level.GRID else 1 for row in rows),
        by_type=by_type,
        children_by_type=children,
        refreshed_at=min(row.refreshed_at for row in rows),
    )


def refreshed_at(areas: list[Area]) -> dt.datetime | None:
    return (
        AreaCount.objects.filter(area__in=[a.pk for a in areas])
        .order_by("refreshed_at")
        .values_list("refreshed_at", flat=True)
    ).first()


def grid_households(user: Any, grid_ids: list[int]) -> dict[int, int] | None:
    """Households per grid from the rollups, if exact for the user and all rows exist, else None."""
    if not grid_ids or not policy.can_view_registry(user) or policy.sees_only_wards(user):
        return None
    if areas_within(user).filter(pk__in=grid_ids).count() != len(set(grid_ids)):
        return None
    rows = dict(AreaCount.objects.filter(area__in=grid_ids).values_list("area_id", "households"))
    return rows if len(rows) == len(set(grid_ids)) else None
