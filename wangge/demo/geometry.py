"""Invented geometry for the demo district: streets, communities, buildings and grids.

Everything is generated inside Lishan's real extent. Work is done in metres on a local
equirectangular plane: over 25 km its distortion is far below anything a demo map shows, and
being linear it keeps straight edges straight, so polygons that tile in metres still tile
exactly in longitude/latitude (a projection such as UTM would bend shared edges differently
from the vertices we add when cutting grids).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPoint, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry

# The district's real extent (WGS-84) and the urban core, where communities are dense.
EXTENT = (122.987, 41.030, 123.230, 41.206)
CORE = (123.03, 41.15)
# An invented outline inside that extent, touching all four of its sides.
OUTLINE_LONLAT = [
    (122.987, 41.120),
    (122.996, 41.092),
    (123.022, 41.074),
    (123.060, 41.056),
    (123.095, 41.030),
    (123.152, 41.034),
    (123.204, 41.056),
    (123.230, 41.096),
    (123.224, 41.150),
    (123.188, 41.190),
    (123.122, 41.206),
    (123.060, 41.202),
    (123.012, 41.187),
    (122.990, 41.156),
]
# Rough anchors for the streets: the old urban streets in the west, 灵山 to the north, the
# mining and mountain streets (齐大山, 千山) with their villages to the east and south-east.
STREET_ANCHORS = {
    "210304001": (123.000, 41.122),  # 友好
    "210304004": (123.022, 41.108),  # 双山
    "210304006": (123.012, 41.138),  # 立山
    "210304008": (123.048, 41.132),  # 曙光
    "210304009": (123.045, 41.178),  # 灵山
    "210304014": (123.045, 41.100),  # 深沟寺
    "210304015": (123.005, 41.166),  # 沙河
    "210304017": (123.120, 41.065),  # 千山
    "210304019": (123.150, 41.150),  # 齐大山
}

LAT0 = (EXTENT[1] + EXTENT[3]) / 2
LON0 = (EXTENT[0] + EXTENT[2]) / 2
KX = 111_320.0 * math.cos(math.radians(LAT0))  # metres per degree of longitude
KY = 110_574.0  # metres per degree of latitude


def to_metres(lon: float | np.ndarray, lat: float | np.ndarray) -> tuple:
    return (np.asarray(lon) - LON0) * KX, (np.asarray(lat) - LAT0) * KY


def to_lonlat_array(xy: np.ndarray) -> np.ndarray:
    out = np.empty_like(xy, dtype=float)
    out[:, 0] = xy[:, 0] / KX + LON0
    out[:, 1] = xy[:, 1] / KY + LAT0
    return out


def geometry_to_lonlat(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, to_lonlat_array)


def geojson(geom: BaseGeometry, *, digits: int = 7) -> dict:
    """GeoJSON (WGS-84) of a metric geometry, coordinates rounded to about a centimetre."""
    lonlat = shapely.set_precision(geometry_to_lonlat(geom), 10**-digits, mode="pointwise")
    return mapping(lonlat)  # type: ignore[return-value]


def outline() -> Polygon:
    xs, ys = to_metres(np.array([p[0] for p in OUTLINE_LONLAT]), np.array([p[1] for p in OUTLINE_LONLAT]))
    return Polygon(np.column_stack([xs, ys]))


def core_xy() -> np.ndarray:
    x, y = to_metres(CORE[0], CORE[1])
    return np.array([float(x), float(y)])


def voronoi_tiles(seeds: np.ndarray, within: BaseGeometry) -> list[BaseGeometry]:
    """One cell per seed, in the seeds' order, clipped to ``within``: the cells tile it.

    GEOS can leave a site of a cocircular group (buildings on a regular lattice, as a full-scale
    demo places them) out of the diagram, more often at projected coordinates of ~10^7 m than
    around the seeds' own origin, where the diagram is therefore built. A seed left without a
    cell (such a site, or a building standing on another's spot) shares the nearest one.
    """
    if len(seeds) == 0:
        return []
    origin = seeds.mean(axis=0)
    local = seeds - origin
    clip = shapely.affinity.translate(within, -origin[0], -origin[1])
    cells = shapely.voronoi_polygons(MultiPoint(local), extend_to=clip)
    parts = list(shapely.get_parts(cells))
    if not parts:  # fewer than two distinct seeds: the one cell is everything
        return [within for _ in seeds]
    tree = shapely.STRtree(parts)
    out: list[BaseGeometry] = []
    for x, y in local:
        point = Point(x, y)
        hits = tree.query(point, predicate="intersects")
        cell = parts[int(hits[0]) if len(hits) else int(tree.nearest(point))]
        if not cell.is_valid:  # buildings in exact rows can leave a degenerate cell
            cell = polygonal(cell)
        out.append(shapely.affinity.translate(polygonal(cell.intersection(clip)), origin[0], origin[1]))
    return out


def sample_points(polygon: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside a polygon (rejection sampling on its bounds)."""
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    total = 0
    while total < n:
        batch = rng.uniform((minx, miny), (maxx, maxy), size=(max(64, 2 * n), 2))
        inside = batch[shapely.contains_xy(polygon, batch[:, 0], batch[:, 1])]
        found.append(inside)
        total += len(inside)
    return np.concatenate(found)[:n]


def spread_seeds(pool: np.ndarray, n: int, min_distance: float, rng: np.random.Generator) -> np.ndarray:
    """Pick ``n`` points from ``pool`` at least ``min_distance`` apart (relaxing it if needed)."""
    while True:
        chosen: list[np.ndarray] = []
        for index in rng.permutation(len(pool)):
            point = pool[index]
            if all(np.hypot(*(point - other)) >= min_distance for other in chosen):
                chosen.append(point)
                if len(chosen) == n:
                    return np.array(chosen)
        min_distance *= 0.7


def street_tiles(street_codes: Sequence[str], rng: np.random.Generator) -> tuple[Polygon, list[BaseGeometry]]:
    """The district outline and one polygon per street (Voronoi of jittered anchors)."""
    district = outline()
    seeds = []
    for code in street_codes:
        lon, lat = STREET_ANCHORS.get(code, CORE)
        x, y = to_metres(lon, lat)
        seeds.append((float(x) + rng.normal(0, 150), float(y) + rng.normal(0, 150)))
    return district, voronoi_tiles(np.array(seeds), district)


def community_tiles(street: BaseGeometry, kinds: Sequence[str], rng: np.random.Generator) -> list[BaseGeometry]:
    """One polygon per community of a street, tiling it; villages lie away from the urban core."""
    n = len(kinds)
    if n == 1:
        return [street]
    pool = sample_points(street, 60 * n, rng)
    distance = np.hypot(*(pool - core_xy()).T)
    order = np.argsort(distance)
    urban = sum(1 for kind in kinds if kind == "urban")
    has_villages = urban < n
    # Urban communities crowd the part of the street nearest the core; villages take the rest.
    split = int(len(pool) * (0.35 if has_villages else 0.8))
    near, far = pool[order[:split]], pool[order[split:]]
    spacing_near = math.sqrt(street.area * (split / len(pool)) / max(urban, 1)) * 0.5
    spacing_far = math.sqrt(street.area * (1 - split / len(pool)) / max(n - urban, 1)) * 0.5
    urban_seeds = spread_seeds(near, urban, spacing_near, rng) if urban else np.empty((0, 2))
    village_seeds = spread_seeds(far, n - urban, spacing_far, rng) if has_villages else np.empty((0, 2))
    seeds, u, v = [], 0, 0
    for kind in kinds:
        if kind == "urban":
            seeds.append(urban_seeds[u])
            u += 1
        else:
            seeds.append(village_seeds[v])
            v += 1
    return voronoi_tiles(np.array(seeds), street)


def building_specs(households: int, *, village: bool, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """(entrances, floors, rooms per floor) for enough buildings to house ``households`` with
    about 8% of dwellings empty, and at least one building."""
    specs: list[tuple[int, int, int]] = []
    capacity = 0
    needed = max(1, math.ceil(households / 0.92))
    while capacity < needed or not specs:
        if village:
            spec = (int(rng.integers(1, 4)), int(rng.integers(2, 6)), 2)
        else:
            entrances = int(rng.choice([1, 2, 3, 4, 5, 6], p=[0.08, 0.22, 0.28, 0.22, 0.12, 0.08]))
            spec = (entrances, int(rng.choice([6, 7], p=[0.6, 0.4])), int(rng.integers(2, 5)))
        specs.append(spec)
        capacity += spec[0] * spec[1] * spec[2]
    return specs


def place_buildings(community: BaseGeometry, count: int, *, village: bool, rng: np.random.Generator) -> np.ndarray:
    """``count`` building points in rows along a few parallel streets, clustered around a centre
    inside the community and kept clear of its boundary."""
    step, row = (30.0, 45.0) if village else (40.0, 60.0)
    centre_point = community.representative_point()
    centre = np.array([centre_point.x, centre_point.y])
    angle = rng.uniform(0, math.pi)
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    radius = math.sqrt(count * step * row / math.pi) * 1.3 + step
    for _attempt in range(60):
        zone = community.intersection(centre_point.buffer(radius))
        inner = zone.buffer(-min(12.0, step / 3))
        if inner.is_empty:
            inner = zone.buffer(-0.5)
        reach = radius + max(step, row)
        i = np.arange(-math.ceil(reach / step), math.ceil(reach / step) + 1)
        j = np.arange(-math.ceil(reach / row), math.ceil(reach / row) + 1)
        gi, gj = np.meshgrid(i, j)
        offset = rng.uniform(0, 1, size=2)
        points = (
            centre
            + np.outer((gi.ravel() + offset[0]) * step, direction)
            + np.outer((gj.ravel() + offset[1]) * row, normal)
        )
        keep = shapely.contains_xy(inner, points[:, 0], points[:, 1]) if not inner.is_empty else []
        points = points[keep] if len(keep) else points[:0]
        if len(points) >= count:
            nearest = np.argsort(np.hypot(*(points - centre).T))[:count]
            return points[nearest]
        if zone.area >= community.area * 0.999:
            step, row = step * 0.8, row * 0.8  # the whole community is full: build denser
        else:
            radius *= 1.4
    raise ValueError("community too small for its buildings")


def cut_grids(
    polygon: BaseGeometry, points: np.ndarray, weights: np.ndarray, target: int
) -> list[tuple[np.ndarray, BaseGeometry]]:
    """Cut a community into contiguous grids of about ``target`` households by recursive
    bisection: each cut is a straight line between two buildings, so buildings stay whole and
    every building is strictly inside its grid's polygon. Returns (building indices, polygon)."""
    total = float(weights.sum())
    k = max(1, min(len(points), round(total / target)))
    return _bisect(polygon, np.arange(len(points)), points, weights, k)


def _bisect(
    polygon: BaseGeometry, index: np.ndarray, points: np.ndarray, weights: np.ndarray, k: int
) -> list[tuple[np.ndarray, BaseGeometry]]:
    if k <= 1 or len(index) < 2:
        return [(index, polygon)]
    pts = points[index]
    w = weights[index]
    # Cut across the longer spread of the buildings; a slight tilt avoids ties along a row.
    centred = pts - pts.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axis = vt[0]
    tilt = 0.13
    axis = np.array(
        [axis[0] * math.cos(tilt) - axis[1] * math.sin(tilt), axis[0] * math.sin(tilt) + axis[1] * math.cos(tilt)]
    )
    proj = pts @ axis
    order = np.argsort(proj, kind="stable")
    sorted_proj = proj[order]
    cumulative = np.cumsum(w[order])
    k_left = k // 2
    goal = cumulative[-1] * k_left / k
    gaps = np.diff(sorted_proj)
    candidates = np.nonzero(gaps > 1.0)[0]  # split after position i
    if len(candidates) == 0:
        return [(index, polygon)]
    best = candidates[np.argmin(np.abs(cumulative[candidates] - goal))]
    cut = (sorted_proj[best] + sorted_proj[best + 1]) / 2
    left_idx, right_idx = index[order[: best + 1]], index[order[best + 1 :]]
    left_poly, right_poly = _halves(polygon, axis, cut)
    # Give each side a share of grids matching its households.
    left_weight = float(cumulative[best])
    share = round(k * left_weight / float(cumulative[-1]))
    share = min(max(share, 1), k - 1, len(left_idx))
    share = max(share, k - len(right_idx))
    return _bisect(left_poly, left_idx, points, weights, share) + _bisect(
        right_poly, right_idx, points, weights, k - share
    )


def _halves(polygon: BaseGeometry, axis: np.ndarray, cut: float) -> tuple[BaseGeometry, BaseGeometry]:
    minx, miny, maxx, maxy = polygon.bounds
    size = 4 * max(maxx - minx, maxy - miny) + 1000
    normal = np.array([-axis[1], axis[0]])
    # The point of the cut line nearest the polygon, so the rectangles cover all of it.
    centre = np.array(polygon.centroid.coords[0])
    base = centre + axis * (cut - centre @ axis)
    # Rectangles reaching far beyond the polygon on either side of the cut line.
    left = Polygon(
        [
            base + normal * size,
            base - normal * size,
            base - normal * size - axis * size,
            base + normal * size - axis * size,
        ]
    )
    right = Polygon(
        [
            base + normal * size,
            base - normal * size,
            base - normal * size + axis * size,
            base + normal * size + axis * size,
        ]
    )
    return polygonal(polygon.intersection(left)), polygonal(polygon.intersection(right))


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygon parts of an overlay result (dropping stray lines and points)."""
    geom = shapely.make_valid(geom)
    parts = [part for part in shapely.get_parts(geom) if part.geom_type in ("Polygon", "MultiPolygon")]
    if len(parts) == 1:
        return parts[0]
    return shapely.union_all(parts)
