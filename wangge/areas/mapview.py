"""What the map needs for one view: outlines simplified to the zoom, buildings in the box or clustered.

A whole district is 774 grid outlines and tens of thousands of buildings; sending them all at full
detail was 1.37 MB. Outlines are repaired once (``gridding.repair``), simplified to about a pixel
at the requested zoom and cached per process by (area, last edit, zoom), so a pan re-sends only
cheap, already simplified shapes. Buildings are sent as points only when few enough fall in the
view; otherwise as clusters on a screen-sized lattice (count of buildings, a zoom-in target).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from wangge.areas.gridding.repair import UnrepairableGeometry, repair_geojson

#: Leaflet's tile size: degrees per pixel at zoom z are 360 / (TILE * 2**z) (east-west)
TILE = 256
MIN_ZOOM, MAX_ZOOM = 8, 19
#: points above this many in the view are clustered
POINT_LIMIT = 1500
#: cluster lattice cell, in pixels
CLUSTER_PX = 48
#: the width in pixels the first (bbox-less) view is fitted to
DEFAULT_VIEW_PX = 800


@dataclass(frozen=True, slots=True)
class Box:
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def parse(cls, text: str | None) -> Box | None:
        """``west,south,east,north`` in degrees, or None when absent or not a sane box."""
        if not text:
            return None
        try:
            west, south, east, north = (float(part) for part in text.split(","))
        except ValueError:
            return None
        if not all(math.isfinite(v) for v in (west, south, east, north)):
            return None
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            return None
        return cls(west, south, east, north)

    def grown(self, share: float) -> Box:
        dx, dy = (self.east - self.west) * share, (self.north - self.south) * share
        return Box(self.west - dx, self.south - dy, self.east + dx, self.north + dy)

    def touches(self, bounds: tuple[float, float, float, float]) -> bool:
        west, south, east, north = bounds
        return not (east < self.west or west > self.east or north < self.south or south > self.north)


def parse_zoom(text: str | None) -> int | None:
    try:
        return max(MIN_ZOOM, min(MAX_ZOOM, int(float(text or ""))))
    except (ValueError, OverflowError):
        return None


def zoom_to_fit(bounds: tuple[float, float, float, float] | None, pixels: int = DEFAULT_VIEW_PX) -> int:
    """The zoom at which ``bounds`` is about ``pixels`` wide (or tall)."""
    if bounds is None:
        return 12
    span = max(bounds[2] - bounds[0], (bounds[3] - bounds[1]) * 1.3, 1e-6)
    return max(MIN_ZOOM, min(MAX_ZOOM, math.floor(math.log2(360 * pixels / (TILE * span)))))


def degrees_per_pixel(zoom: int) -> float:
    return 360.0 / (TILE * 2**zoom)


def _digits(tolerance: float) -> int:
    """Decimal places worth sending at this tolerance (a tenth of it), at most 7 (about 1 cm)."""
    return max(3, min(7, math.ceil(-math.log10(tolerance)) + 1))


Bounds = tuple[float, float, float, float]

# (area pk, updated_at) -> (bounds, repaired geometry) or None; (area pk, updated_at, zoom) ->
# (bounds, simplified GeoJSON geometry) or None. Bounded per-process caches: a boundary is
# repaired once whatever the zooms it is drawn at (the district's first view repaired every outline
# twice, once for the extent and once to draw it).
_shapes: dict[tuple[int, Any], tuple[Bounds, BaseGeometry] | None] = {}
_outlines: dict[tuple[int, Any, int], tuple[Bounds, dict[str, Any]] | None] = {}
_OUTLINE_CACHE_MAX = 50_000


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _OUTLINE_CACHE_MAX:
        cache.clear()
    cache[key] = value
    return value


def needs_boundary(pk: int, updated_at: Any, zoom: int | None) -> bool:
    """Whether ``outline`` (or ``bounds``, for ``zoom`` None) must be given the stored boundary:
    callers read boundaries only for these (a district's are megabytes of JSON)."""
    if zoom is not None and (pk, updated_at, zoom) in _outlines:
        return False
    return (pk, updated_at) not in _shapes


def _shape(pk: int, updated_at: Any, boundary: Any) -> tuple[Bounds, BaseGeometry] | None:
    key = (pk, updated_at)
    if key in _shapes:
        return _shapes[key]
    if boundary is None:  # not read (the cache was emptied meanwhile) or not drawn: nothing to remember
        return None
    try:
        geom = repair_geojson(boundary)
    except UnrepairableGeometry:
        return _remember(_shapes, key, None)
    west, south, east, north = (float(v) for v in geom.bounds)
    return _remember(_shapes, key, ((west, south, east, north), geom))


def bounds(pk: int, updated_at: Any, boundary: Any) -> Bounds | None:
    """The repaired boundary's bounds; None if it cannot be drawn."""
    shaped = _shape(pk, updated_at, boundary)
    return shaped[0] if shaped is not None else None


def outline(pk: int, updated_at: Any, boundary: Any, zoom: int) -> tuple[Bounds, dict[str, Any]] | None:
    """(bounds, simplified GeoJSON) of a stored boundary at ``zoom``; None if it cannot be drawn.

    ``boundary`` is read only when ``needs_boundary`` says so (else None may be passed)."""
    key = (pk, updated_at, zoom)
    if key in _outlines:
        return _outlines[key]
    shaped = _shape(pk, updated_at, boundary)
    if shaped is None:
        return None if boundary is None else _remember(_outlines, key, None)
    box, geom = shaped
    tolerance = degrees_per_pixel(zoom)
    simple = shapely.simplify(geom, tolerance, preserve_topology=True)
    if simple.is_empty:
        simple = geom
    simple = shapely.set_precision(simple, 10.0 ** -_digits(tolerance), mode="pointwise")
    return _remember(_outlines, key, (box, dict(mapping(simple))))


def scope_bounds(boxes: Iterable[tuple[float, float, float, float]]) -> tuple[float, float, float, float] | None:
    boxes = list(boxes)
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@dataclass(slots=True)
class Cluster:
    lon: float
    lat: float
    buildings: int
    west: float
    south: float
    east: float
    north: float


def cluster(points: list[tuple[int, float, float]], zoom: int) -> list[Cluster]:
    """Buildings ``(pk, lon, lat)`` gathered into lattice cells ``CLUSTER_PX`` pixels wide."""
    cell = degrees_per_pixel(zoom) * CLUSTER_PX
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for _pk, lon, lat in points:
        cells.setdefault((math.floor(lon / cell), math.floor(lat / cell)), []).append((lon, lat))
    out = []
    for members in cells.values():
        lons = [p[0] for p in members]
        lats = [p[1] for p in members]
        out.append(
            Cluster(
                lon=round(sum(lons) / len(lons), 6),
                lat=round(sum(lats) / len(lats), 6),
                buildings=len(members),
                west=min(lons),
                south=min(lats),
                east=max(lons),
                north=max(lats),
            )
        )
    return out
