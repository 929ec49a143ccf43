"""Point-in-area lookup and nearest areas on the stored GeoJSON boundaries, with shapely.

Boundaries are parsed once per process into a prepared STRtree per level and refreshed when that
level's areas change (keyed on their count and newest edit), so a lookup is a tree query, not a
scan. Each level keeps its own tree: one page may measure from a grid and a community (an
incident's searchers), and a single shared slot rebuilt the other level's tree, ~1.5 s at 520k
residents, on every such call.
A caller that can live with an edit reaching it a moment late (the public doors' POSTs) passes
``max_age`` and skips the freshness query within that many seconds of the last one.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

import shapely
from shapely.geometry import Point
from shapely.strtree import STRtree

from wangge.areas.gridding.repair import UnrepairableGeometry, repair_geojson

_cache: dict[tuple[str, Any], tuple[STRtree, list[int], list[Any]]] = {}
# level → (monotonic time of its last freshness query, the key it found)
_checked: dict[str, tuple[float, tuple[str, Any]]] = {}
# tree key → the areas of the tree (without their boundaries), for ``locate(max_age=…)``
_rows: dict[tuple[str, Any], dict[int, Any]] = {}


def forget() -> None:
    """Check the area table again at the next lookup (areas were edited in this process)."""
    _checked.clear()


def _tree(level: str, *, max_age: float = 0.0) -> tuple[STRtree, list[int], list[Any]]:
    return _cache[_key(level, max_age=max_age)]


def _key(level: str, *, max_age: float = 0.0) -> tuple[str, Any]:
    """The cache key of ``level``'s current tree, building the tree when it is not cached."""
    from django.db.models import Count, Max

    from wangge.areas.models import Area

    seen = _checked.get(level)
    if max_age > 0 and seen is not None and time.monotonic() - seen[0] < max_age and seen[1] in _cache:
        return seen[1]
    areas = Area.objects.filter(level=level).exclude(boundary=None)
    stamp = areas.aggregate(n=Count("id"), edited=Max("updated_at"))
    key = (level, (stamp["n"], stamp["edited"]))
    _checked[level] = (time.monotonic(), key)
    hit = _cache.get(key)
    if hit is None:
        ids, geoms = [], []
        for area_id, boundary in areas.values_list("id", "boundary"):
            try:
                # an invalid stored boundary would make prepared predicates raise: repair it
                geom = repair_geojson(boundary)
            except UnrepairableGeometry:
                continue
            shapely.prepare(geom)
            ids.append(area_id)
            geoms.append(geom)
        hit = (STRtree(geoms), ids, geoms)
        for stale in [k for k in _cache if k[0] == level]:  # this level's older tree only
            del _cache[stale]
            _rows.pop(stale, None)
        _cache[key] = hit
    return key


def locate(*, lon: float, lat: float, level: str, within: Any = None, max_age: float = 0.0) -> Any:
    """The area of ``level`` containing the point, or None. With ``max_age`` (seconds) the
    area tree may be that old and the area comes from this process's copy of the table (no
    query at all); it then lacks its boundary (read on access)."""
    from wangge.areas.models import Area

    key = _key(level, max_age=max_age)
    tree, ids, _geoms = _cache[key]
    point = Point(lon, lat)
    for index in tree.query(point, predicate="intersects"):
        area_id = ids[int(index)]
        if within is not None and not within.filter(pk=area_id).exists():
            continue
        if max_age > 0:
            rows = _rows.get(key)
            if rows is None:
                rows = _rows[key] = Area.objects.defer("boundary").in_bulk(ids)
            found = rows.get(area_id)
            if found is not None:
                return copy.copy(found)
        return Area.objects.get(pk=area_id)
    return None


# Metres per degree of latitude; longitude is scaled by cos(latitude). Good to a few metres at
# the scale of a district, which is all ranking nearby areas needs.
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0


def _projected(geoms: Any, *, lat: float, lon: float) -> Any:
    """``geoms`` in a local metric projection centred on the point (the point is the origin)."""
    kx, ky = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat)), M_PER_DEG_LAT
    return shapely.transform(geoms, lambda xy: (xy - (lon, lat)) * (kx, ky))


def nearest_areas(*, level: str, lat: float, lon: float, count: int) -> list[tuple[int, float]]:
    """The ``count`` areas of ``level`` nearest to the point as (area id, metres), nearest first
    (0 = inside).

    A window around the point is widened on the cached boundary tree until it holds enough
    areas, and only those are measured.
    """
    tree, ids, geoms = _tree(level)
    if not ids:
        return []
    window = 0.01
    candidates: list[int] = []
    while window <= 2.0:
        box = shapely.box(lon - window, lat - window, lon + window, lat + window)
        candidates = [int(i) for i in tree.query(box)]
        if len(candidates) >= count:
            break
        window *= 2
    if not candidates:
        return []
    distances = shapely.distance(_projected([geoms[i] for i in candidates], lat=lat, lon=lon), Point(0.0, 0.0))
    ranked = sorted(zip(candidates, distances, strict=True), key=lambda pair: float(pair[1]))
    return [(ids[i], round(float(d), 1)) for i, d in ranked[:count]]


def distance_to_area(*, level: str, area_id: int, lat: float, lon: float) -> float | None:
    """Metres from the point to the area's boundary (0 = inside); None for an area without one."""
    _index, ids, geoms = _tree(level)
    try:
        geom = geoms[ids.index(area_id)]
    except ValueError:
        return None
    return round(float(shapely.distance(_projected(geom, lat=lat, lon=lon), Point(0.0, 0.0))), 1)
