"""Polygon repair: any boundary, from any source, made valid before it is used.

Real boundary files are often invalid (self-touching rings, bow-ties, duplicate points, slivers
between neighbours) and GEOS operations on invalid input raise ``TopologyException``s such as
"side location conflict" in ``set_precision``, intersections and unions.  ``repair`` runs
``make_valid``, snaps to a fine grid (``set_precision`` on an already valid geometry, so it
cannot raise on the same defect again) and keeps only the polygonal parts; what is left with no
area is unrepairable and comes back as ``None`` for the caller to refuse with its own message.
No Django here: the engine stays usable on files.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

#: snapping grid in degrees (about a centimetre): far below survey precision, far above round-off
GRID_DEGREES = 1e-7


class UnrepairableGeometry(ValueError):
    """The geometry has no area left after repair (or could not be read at all)."""


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal parts of ``geom`` as one Polygon or MultiPolygon (empty if none)."""
    if geom.is_empty:
        return shapely.Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    if not parts:
        return shapely.Polygon()
    merged = shapely.union_all(parts)
    return polygonal(merged) if merged.geom_type not in ("Polygon", "MultiPolygon") else merged


def repair(geom: BaseGeometry | None, *, grid_size: float = GRID_DEGREES) -> BaseGeometry | None:
    """A valid Polygon or MultiPolygon covering ``geom``'s area, or None if it has no area.

    ``grid_size`` is in the geometry's units (the default suits lon/lat degrees; pass 0 to skip
    snapping).
    """
    if geom is None or geom.is_empty:
        return None
    try:
        fixed = polygonal(shapely.make_valid(geom))
        if grid_size > 0 and not fixed.is_empty:
            fixed = polygonal(shapely.make_valid(shapely.set_precision(fixed, grid_size)))
    except GEOSException:
        try:
            fixed = polygonal(shapely.make_valid(shapely.buffer(geom, 0)))
        except GEOSException:
            return None
    if fixed.is_empty or fixed.area <= 0:
        return None
    if fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 1:
        fixed = fixed.geoms[0]
    return fixed


def repair_geojson(geometry: Any, *, grid_size: float = GRID_DEGREES) -> BaseGeometry:
    """A GeoJSON geometry (a dict) read and repaired; ``UnrepairableGeometry`` if it cannot be."""
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, GEOSException) as exc:
        raise UnrepairableGeometry(f"not a GeoJSON geometry: {exc}") from None
    fixed = repair(geom, grid_size=grid_size)
    if fixed is None:
        raise UnrepairableGeometry("no area left after repair")
    return fixed
