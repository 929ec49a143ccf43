"""Point-in-area lookup and nearest areas on the stored GeoJSON boundaries, with shapely.

Boundaries are parsed once per process into a prepared STRtree per level and refreshed when that
level's areas change (keyed on their count and newest edit), so a lookup is a tree query, not a
scan. Each level keeps its own tree: one page may measure from a grid and a community (an
incident's searchers), and a single shared slot rebuilt the other level's tree, ~1.5 s at 520k
residents, on every such call.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import Point
from shapely.strtree import STRtree

from wangge.areas.gridding.repair import UnrepairableGeometry, repair_geojson

# level -> (stamp, (tree, area ids, geometries))
_cache: dict[str, tuple[Any, tuple[STRtree, list[int], list[Any]]]] = {}


def _tree(level: str) -> tuple[STRtree, list[int], list[Any]]:
    from django.db.models import Count, Max

    from wangge.areas.models import Area

    areas = Area.objects.filter(level=level).exclude(boundary=None)
    stamp = areas.aggregate(n=Count("id"), edited=Max("updated_at"))
    key = (stamp["n"], stamp["edited"])
    cached = _cache.get(level)
    if cached is not None and cached[0] == key:
        return cached[1]
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
    _cache[level] = (key, hit)
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
