"""Grid polygons tile each community without overlaps, one Polygon per grid."""

from __future__ import annotations

import numpy as np
import shapely

from wangge.areas.gridding import divide
from wangge.areas.gridding.graph import project
from wangge.areas.gridding.polygons import grid_polygons
from wangge.areas.gridding.synthetic import generate_district


def test_polygons_do_not_overlap_and_tile_the_community():
    bs = generate_district(30_000, seed=5, sigma=0.7)
    d = divide(bs)
    polys = grid_polygons(bs, d.assignment)
    assert set(polys) == set(d.grids)
    lon0 = float(np.mean([b.lon for b in bs]))
    lat0 = float(np.mean([b.lat for b in bs]))

    def to_m(g):
        return shapely.transform(g, lambda a: project(a[:, 0], a[:, 1], lon0, lat0))

    assert all(p.geometry.geom_type == "Polygon" and p.geometry.is_valid for p in polys.values())
    geoms = [shapely.make_valid(to_m(p.geometry)) for p in polys.values()]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            assert geoms[i].intersection(geoms[j]).area < 1.0  # m^2
    # per community: the grids' union has no holes between grids (areas add up)
    by_comm: dict[str, list] = {}
    for p, g in zip(polys.values(), geoms, strict=True):
        by_comm.setdefault(p.community, []).append(g)
    for gs in by_comm.values():
        union = shapely.union_all(gs)
        assert abs(union.area - sum(g.area for g in gs)) < 1e-6 * union.area + 1
        assert union.geom_type == "Polygon" or union.area > 0.999 * max(g.area for g in union.geoms)
    # each building lies in the polygon of its (largest) grid
    for b in bs:
        gid = max(d.assignment[b.id], key=lambda p: p[1])[0]
        assert polys[gid].geometry.buffer(1e-7).contains(shapely.Point(b.lon, b.lat))
    assert all(0 < p.polsby_popper <= 1 for p in polys.values())
