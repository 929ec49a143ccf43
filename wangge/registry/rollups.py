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
    """Rollup rows for these areas if they give exactly what the user would count, else None."""
    if not exact_for(user, areas):
        return None
    rows = {row.area_id: row for row in AreaCount.objects.filter(area__in=[a.pk for a in areas])}
    return rows if len(rows) == len({a.pk for a in areas}) else None


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
