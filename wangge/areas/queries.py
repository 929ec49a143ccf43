"""Scoped reads of areas and buildings.

Area outlines and names are not personal data, but a worker's pages show only their part of
the tree: the areas assigned to them, everything below, and the path above for context.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from wangge.accounts import policy
from wangge.areas.models import Area, Building
from wangge.core.scope import NOTHING, area_filter, assigned_areas


def _assigned_and_below(user: Any) -> Q:
    """The assigned areas and their descendants, through the denormalised ancestor columns."""
    query = NOTHING
    for level, ids in assigned_areas(user).items():
        query |= Q(pk__in=ids)
        if level != Area.Level.GRID:  # a grid has no areas below it
            query |= Q(**{f"{level}__in": ids})
    return query


def areas_visible_to(user: Any) -> QuerySet[Area]:
    if not policy.can_browse_areas(user):
        return Area.objects.none()
    query = _assigned_and_below(user)
    for ids in assigned_areas(user).values():
        # ancestors, for breadcrumbs and the tree
        for column in ("district", "street", "community"):
            query |= Q(pk__in=Area.objects.filter(pk__in=ids).exclude(**{column: None}).values(column))
    return Area.objects.filter(query)


def areas_within(user: Any) -> QuerySet[Area]:
    """Areas the user is responsible for: their assignments and below (no ancestors)."""
    if not policy.can_browse_areas(user):
        return Area.objects.none()
    return Area.objects.filter(_assigned_and_below(user))


def buildings_visible_to(user: Any) -> QuerySet[Building]:
    if not policy.can_browse_areas(user):
        return Building.objects.none()
    return Building.objects.filter(area_filter(user))


def get_area(user: Any, pk: Any) -> Area:
    try:
        return areas_visible_to(user).get(pk=pk)
    except (Area.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_building(user: Any, pk: Any) -> Building:
    try:
        return buildings_visible_to(user).select_related("grid", "community").get(pk=pk)
    except (Building.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def grid_at(*, lon: float, lat: float, within: QuerySet[Area] | None = None, max_age: float = 0.0) -> Area | None:
    """Which grid contains this WGS-84 coordinate (shapely point-in-polygon). ``max_age``: see
    ``geometry.locate`` (a grid edited in the last ``max_age`` seconds may be seen as it was)."""
    from wangge.areas.geometry import locate

    return locate(lon=lon, lat=lat, level=Area.Level.GRID, within=within, max_age=max_age)
