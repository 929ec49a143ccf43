"""Grid polygons: dual cells of buildings, dissolved per grid.

Why median-dual cells of the community's Delaunay triangulation (each
triangle cut into three quadrilaterals by its centroid and edge midpoints)
rather than Voronoi cells: two buildings adjacent in the triangulation always
share a cell boundary segment (the one through their edge's midpoint), so a
contiguous grid always dissolves into ONE polygon; clipped Voronoi cells of
buildings on the hull often touch only outside the clip and split grids in
two.  The cells tile the community's convex hull exactly; a margin ring
(hull buffered by ``HULL_BUFFER_M``) is shared among the hull buildings by
nearest-neighbour (Voronoi) rule, so buildings do not sit on the edge of the
map.  Where the buffered hulls of two communities overlap, both are cut back
to their Voronoi territory (union of the Voronoi cells of all their buildings
in the whole district), so polygons of different grids never overlap.  A site
holding buildings of several grids (a split building or co-located buildings)
goes to the grid holding most of its households there.  Compactness
(Polsby-Popper, 4*pi*A/P^2) is computed in local metres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import Delaunay
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from .graph import QhullError, project, unproject
from .model import Allocation, Building
from .repair import polygonal, repair

#: margin around a community's convex hull, metres
HULL_BUFFER_M = 30.0


@dataclass(slots=True)
class GridPolygon:
    grid_id: str
    community: str
    households: int
    #: geometry in WGS-84 lon/lat (a Polygon; MultiPolygon only if clipping
    #: separated a grid's cells, which the caller can detect)
    geometry: BaseGeometry
    polsby_popper: float
    area_m2: float


def polsby_popper(geom: BaseGeometry) -> float:
    """4*pi*area / perimeter^2 of a geometry in metric coordinates."""
    p = geom.length
    return float(4 * math.pi * geom.area / (p * p)) if p > 0 else 0.0


def _community_pieces(xy: np.ndarray, buffer_m: float) -> tuple[list[BaseGeometry], list[list[int]]]:
    """Cells (pieces) of one community's sites.

    Returns the pieces and, per piece, ``[site, corner, corner]``: the site it
    belongs to and the other corners of its triangle (-1 for margin pieces),
    so a site shared by several grids can hand each piece to the grid that
    continues beyond it.
    """
    n = xy.shape[0]
    pts = shapely.multipoints(xy)
    hull = shapely.convex_hull(pts)
    tri = None
    if n >= 3 and np.all(np.ptp(xy, axis=0) > 0):
        try:
            tri = Delaunay(xy)
        except (QhullError, ValueError):
            tri = None
        if tri is not None and hull.geom_type != "Polygon":
            tri = None
    if tri is None:
        region = shapely.buffer(hull, buffer_m)
        if n == 1:
            return [region], [[0, -1, -1]]
        coll = shapely.voronoi_polygons(pts, extend_to=region, ordered=True)
        cells = shapely.intersection(shapely.get_parts(coll), region)
        return list(cells), [[i, -1, -1] for i in range(n)]
    s = tri.simplices
    a, b, c = xy[s[:, 0]], xy[s[:, 1]], xy[s[:, 2]]
    cen = (a + b + c) / 3.0
    mab, mbc, mca = (a + b) / 2.0, (b + c) / 2.0, (c + a) / 2.0
    quads = np.concatenate(
        (
            np.stack((a, mab, cen, mca, a), axis=1),
            np.stack((b, mbc, cen, mab, b), axis=1),
            np.stack((c, mca, cen, mbc, c), axis=1),
        )
    )
    # owner site of each quad, plus the two other corners of its triangle
    owners = np.concatenate((s, s[:, [1, 2, 0]], s[:, [2, 0, 1]])).tolist()
    pieces = list(shapely.polygons(quads))
    hv = np.unique(tri.convex_hull)
    ring = shapely.difference(shapely.buffer(hull, buffer_m), hull)
    coll = shapely.voronoi_polygons(
        shapely.multipoints(xy[hv]), extend_to=shapely.buffer(hull, 2 * buffer_m), ordered=True
    )
    rings = shapely.intersection(shapely.get_parts(coll), ring)
    pieces.extend(rings)
    owners.extend([v, -1, -1] for v in hv.tolist())
    return pieces, owners


def grid_polygons(
    buildings: Sequence[Building],
    assignment: Mapping[str, Allocation],
    hull_buffer_m: float = HULL_BUFFER_M,
) -> dict[str, GridPolygon]:
    """One polygon per grid id found in ``assignment`` (geometry in lon/lat)."""
    if not buildings:
        return {}
    lon = np.array([b.lon for b in buildings])
    lat = np.array([b.lat for b in buildings])
    lon0, lat0 = float(lon.mean()), float(lat.mean())
    grid_comm: dict[str, str] = {}
    grid_hh: dict[str, int] = {}
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(buildings):
        groups.setdefault(b.community, []).append(i)
        for g, hh in assignment[b.id]:
            grid_comm.setdefault(g, b.community)
            grid_hh[g] = grid_hh.get(g, 0) + hh
    pieces_by_grid: dict[str, list[BaseGeometry]] = {}
    regions: dict[str, BaseGeometry] = {}
    comm_of_grid_pieces: dict[str, str] = {}
    shared_sites: dict[str, list[np.ndarray]] = {}
    all_xy: list[np.ndarray] = []
    all_comm: list[str] = []
    for community, idx in groups.items():
        ll = np.column_stack((lon[idx], lat[idx]))
        sites_ll, site_of = np.unique(ll, axis=0, return_inverse=True)
        site_of = site_of.reshape(-1)
        xy = project(sites_ll[:, 0], sites_ll[:, 1], lon0, lat0)
        all_xy.append(xy)
        all_comm.extend([community] * xy.shape[0])
        share: list[dict[str, int]] = [{} for _ in range(xy.shape[0])]
        for j, i in enumerate(idx):
            d = share[site_of[j]]
            for g, hh in assignment[buildings[i].id]:
                d[g] = d.get(g, 0) + hh + 1
        owner = [max(sorted(d), key=lambda g: d[g]) for d in share]
        pieces, owners = _community_pieces(xy, hull_buffer_m)
        for p, (o, t, u) in zip(pieces, owners, strict=True):
            if p is None or p.is_empty:
                continue
            g = owner[o]
            if len(share[o]) > 1:
                near = {x for x in share[o] if (t >= 0 and x in share[t]) or (u >= 0 and x in share[u])}
                if near:
                    g = max(sorted(near), key=lambda x: share[o][x])
            pieces_by_grid.setdefault(g, []).append(p)
            comm_of_grid_pieces[g] = community
        for o, d in enumerate(share):
            if len(d) > 1:
                for g in d:
                    shared_sites.setdefault(g, []).append(xy[o])
        regions[community] = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), hull_buffer_m)
    # communities whose regions overlap are cut back to their Voronoi territory
    names = list(regions)
    geoms = np.array([regions[c] for c in names], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    clash = {names[i] for i, j in zip(left.tolist(), right.tolist(), strict=True) if i != j}
    territory: dict[str, BaseGeometry] = {}
    if clash:
        xy_all = np.vstack(all_xy)
        comm_arr = np.array(all_comm, dtype=object)
        extent = shapely.buffer(shapely.multipoints(xy_all).envelope, 10 * hull_buffer_m)
        coll = shapely.voronoi_polygons(shapely.multipoints(xy_all), extend_to=extent, ordered=True)
        cells = shapely.get_parts(coll)
        for c in clash:
            territory[c] = shapely.union_all(cells[comm_arr == c])
    out: dict[str, GridPolygon] = {}
    for g in sorted(grid_hh):
        ps = pieces_by_grid.get(g)
        if not ps:
            geom_m: BaseGeometry = shapely.Polygon()
        else:
            c = comm_of_grid_pieces[g]
            try:
                geom_m = shapely.union_all(ps)
                if c in territory:
                    geom_m = shapely.intersection(geom_m, territory[c])
            except GEOSException:
                # near-degenerate cells (almost collinear buildings): repair them (1 cm grid) and retry
                fixed_ps = [f for f in (repair(p, grid_size=0.01) for p in ps) if f is not None]
                geom_m = repair(shapely.union_all(fixed_ps), grid_size=0.01) or shapely.Polygon()
                if c in territory and not geom_m.is_empty:
                    geom_m = polygonal(shapely.intersection(geom_m, repair(territory[c], grid_size=0.01) or geom_m))
            if geom_m.geom_type == "MultiPolygon" and g in shared_sites:
                # parts meeting only at a site shared with other grids (a split
                # building): join them with a 5 cm disc there
                discs = shapely.buffer(shapely.points(np.array(shared_sites[g])), 0.05)
                fixed = shapely.union_all([geom_m, *discs])
                if fixed.geom_type == "Polygon":
                    geom_m = fixed
        ll_geom = shapely.transform(geom_m, lambda a: np.column_stack(unproject(a, lon0, lat0)))
        if not ll_geom.is_valid:
            # Round-off where a ring touches itself makes a bow-tie or a self-touching ring, on
            # which set_precision alone raises "side location conflict": repair, then snap.
            ll_geom = repair(ll_geom, grid_size=1e-9) or shapely.Polygon()
        if ll_geom.geom_type == "MultiPolygon" and len(ll_geom.geoms) == 1:
            ll_geom = ll_geom.geoms[0]
        out[g] = GridPolygon(
            g,
            grid_comm[g],
            grid_hh[g],
            ll_geom,
            polsby_popper(geom_m) if not geom_m.is_empty else 0.0,
            float(geom_m.area),
        )
    return out
