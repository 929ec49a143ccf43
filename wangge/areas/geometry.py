"""Point-in-area lookup on the stored GeoJSON boundaries, with shapely.

Boundaries are parsed once per process into a prepared STRtree and refreshed when the area
table changes (keyed on the newest boundary edit), so a lookup is a tree query, not a scan.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import Point, shape
from shapely.strtree import STRtree

_cache: dict[tuple[str, Any], tuple[STRtree, list[int], list[Any]]] = {}


def _tree(level: str) -> tuple[STRtree, list[int], list[Any]]:
    from django.db.models import Count, Max

    from wangge.areas.models import Area

    areas = Area.objects.filter(level=level).exclude(boundary=None)
    stamp = areas.aggregate(n=Count("id"), edited=Max("updated_at"))
    key = (level, (stamp["n"], stamp["edited"]))
    hit = _cache.get(key)
    if hit is None:
        ids, geoms = [], []
        for area_id, boundary in areas.values_list("id", "boundary"):
            try:
                geom = shape(boundary)
            except (ValueError, TypeError, KeyError, AttributeError):
                continue
            shapely.prepare(geom)
            ids.append(area_id)
            geoms.append(geom)
        hit = (STRtree(geoms), ids, geoms)
        _cache.clear()
        _cache[key] = hit
    return hit


def locate(*, lon: float, lat: float, level: str, within: Any = None) -> Any:
    from wangge.areas.models import Area

    tree, ids, _geoms = _tree(level)
    point = Point(lon, lat)
    for index in tree.query(point, predicate="intersects"):
        area_id = ids[int(index)]
        if within is not None and not within.filter(pk=area_id).exists():
            continue
        return Area.objects.get(pk=area_id)
    return None
