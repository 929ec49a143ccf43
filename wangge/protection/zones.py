"""Safe zones compiled for fast checks: metres outside a circle or polygon, and opening hours.

A polygon is projected once to a local metric plane (equirectangular around its centre, exact
to well under a metre across a city district), so the per-fix check is one shapely distance.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape

EARTH_RADIUS = 6371008.8
M_PER_DEG_LAT = 110574.0
M_PER_DEG_LON_EQUATOR = 111320.0


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(a)))


def haversine_many(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """``haversine`` over numpy arrays (degrees in, metres out)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * np.arcsin(np.minimum(1.0, np.sqrt(a)))


@dataclass(slots=True)
class CompiledZone:
    id: int
    enrolment_id: int
    name: str
    active_from: dt.time | None
    active_until: dt.time | None
    center: tuple[float, float] | None = None  # (lat, lon) of a circle
    radius: float = 0.0
    polygon: Any = None  # shapely geometry in local metres
    origin: tuple[float, float] = (0.0, 0.0)
    m_per_deg_lon: float = M_PER_DEG_LON_EQUATOR

    def active_at(self, local: dt.time) -> bool:
        start, end = self.active_from, self.active_until
        if start is None or end is None or start == end:
            return True
        if start < end:
            return start <= local < end
        return local >= start or local < end  # overnight, e.g. 20:00–07:00

    def metres_outside(self, lat: float, lon: float) -> float:
        if self.center is not None:
            return max(0.0, haversine(lat, lon, *self.center) - self.radius)
        x = (lon - self.origin[1]) * self.m_per_deg_lon
        y = (lat - self.origin[0]) * M_PER_DEG_LAT
        return float(self.polygon.distance(Point(x, y)))


def compile_zone(
    *,
    id: int,
    enrolment_id: int,
    name: str,
    kind: str,
    geojson: dict[str, Any] | None,
    center_lat: float | None,
    center_lon: float | None,
    radius_m: float | None,
    active_from: dt.time | None,
    active_until: dt.time | None,
) -> CompiledZone:
    zone = CompiledZone(id=id, enrolment_id=enrolment_id, name=name, active_from=active_from, active_until=active_until)
    if kind == "circle":
        if center_lat is None or center_lon is None or not radius_m:
            raise ValueError("a circle needs a centre and a radius")
        zone.center = (center_lat, center_lon)
        zone.radius = float(radius_m)
        return zone
    geometry = shape(geojson or {})
    if geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError("a polygon zone needs a GeoJSON Polygon or MultiPolygon")
    centre = geometry.centroid
    zone.origin = (centre.y, centre.x)
    zone.m_per_deg_lon = M_PER_DEG_LON_EQUATOR * math.cos(math.radians(centre.y))
    zone.polygon = shapely.transform(
        geometry,
        lambda xy: (xy - [centre.x, centre.y]) * [zone.m_per_deg_lon, M_PER_DEG_LAT],
    )
    shapely.prepare(zone.polygon)
    return zone


def circle_polygon(lat: float, lon: float, radius: float, points: int = 48) -> dict[str, Any]:
    """A GeoJSON polygon approximating a circle, for drawing on maps."""
    ring = []
    for i in range(points + 1):
        angle = 2 * math.pi * i / points
        d_lat = radius * math.cos(angle) / M_PER_DEG_LAT
        d_lon = radius * math.sin(angle) / (M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat)))
        ring.append([lon + d_lon, lat + d_lat])
    return {"type": "Polygon", "coordinates": [ring]}
