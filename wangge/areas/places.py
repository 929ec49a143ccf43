"""Positions in words: the building nearest a point, so a person reads "near 3号楼, 灵西社区"
instead of two numbers.

Building names and places are the map of the district, not anyone's personal data, so the
search is over every located building; callers decide who may see the point itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wangge.areas.models import Area, Building

EARTH_RADIUS = 6371008.8  # metres, the mean radius
# The search starts in a box about 500 m across and widens to about 8 km before giving up.
_FIRST_BOX_M = 250.0
_LAST_BOX_M = 4000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Nearest:
    building: Building
    distance_m: float


def nearest_building(*, lat: float, lon: float) -> Nearest | None:
    """The located building nearest (lat, lon) within a few kilometres, with its community and
    street loaded; None when there is none that close.

    A box around the point is searched on the lat/lon columns (a district's few thousand
    buildings filter in milliseconds), doubling until it holds a building; the nearest in the box
    is nearest overall once its distance is within the box's half-width (a building just outside
    a corner could otherwise be closer)."""
    half = _FIRST_BOX_M
    while half <= _LAST_BOX_M:
        d_lat = half / 111_320.0
        d_lon = half / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
        candidates = list(
            Building.objects.filter(
                lat__gte=lat - d_lat, lat__lte=lat + d_lat, lon__gte=lon - d_lon, lon__lte=lon + d_lon
            )
            .order_by()  # no sort: the nearest is picked below
            .select_related("community", "street")[:2000]
        )
        if candidates:
            best = min(candidates, key=lambda b: distance_m(lat, lon, b.lat or 0.0, b.lon or 0.0))
            distance = distance_m(lat, lon, best.lat or 0.0, best.lon or 0.0)
            if distance <= half or half >= _LAST_BOX_M:
                return Nearest(best, distance)
        half *= 2
    return None


def surroundings(*, lat: float, lon: float, radius_m: float = 800.0, limit: int = 400) -> dict[str, Any]:
    """What a map without a base map draws around a point so a person recognises the place:
    the outlines of the streets and communities there and the buildings within ``radius_m``
    (at most ``limit``, nearest first), with their names, as a GeoJSON FeatureCollection."""
    d_lat = radius_m / 111_320.0
    d_lon = radius_m / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
    rows = list(
        Building.objects.filter(lat__gte=lat - d_lat, lat__lte=lat + d_lat, lon__gte=lon - d_lon, lon__lte=lon + d_lon)
        .order_by()
        .values_list("name", "lat", "lon", "community_id", "street_id")[: limit * 4]
    )
    rows.sort(key=lambda r: distance_m(lat, lon, r[1] or 0.0, r[2] or 0.0))  # never None: filtered on
    rows = rows[:limit]
    area_ids = {r[3] for r in rows} | {r[4] for r in rows}
    nearest = nearest_building(lat=lat, lon=lon)
    if nearest is not None:
        area_ids |= {nearest.building.community_id, nearest.building.street_id}
    features: list[dict[str, Any]] = []
    areas = Area.objects.filter(pk__in=area_ids).exclude(boundary=None).only("name", "level", "boundary")
    for area in sorted(areas, key=lambda a: a.level != Area.Level.STREET):  # streets under communities
        features.append(
            {"type": "Feature", "geometry": area.boundary, "properties": {"kind": area.level, "name": area.name}}
        )
    for name, b_lat, b_lon, _community, _street in rows:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [b_lon, b_lat]},
                "properties": {"kind": "building", "name": name},
            }
        )
    return {"type": "FeatureCollection", "features": features}
