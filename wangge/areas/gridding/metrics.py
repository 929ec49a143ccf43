"""Quality figures of a division, computed independently of how it was made.

The same function scores the engine, the benchmark peers and user edits, so
contiguity is checked on the *plain* Delaunay triangulation (in metres) of
each community's buildings, not on the engine's internal robust graph; a
split building counts as a member of every grid that holds part of it, and
co-located buildings are adjacent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .graph import build_site_graph
from .model import Allocation, Building, band


def contiguity(buildings: Sequence[Building], assignment: Mapping[str, Allocation]) -> dict[str, bool]:
    """grid id -> whether its buildings are connected in their community's Delaunay graph."""
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(buildings):
        groups.setdefault(b.community, []).append(i)
    result: dict[str, bool] = {}
    for idx in groups.values():
        bs = [buildings[i] for i in idx]
        graph = build_site_graph(np.array([b.lon for b in bs]), np.array([b.lat for b in bs]), robust=False)
        # units: distinct (grid, site) pairs
        gids: dict[str, int] = {}
        unit_grid = []
        unit_site = []
        for j, b in enumerate(bs):
            for gid, _ in assignment[b.id]:
                unit_grid.append(gids.setdefault(gid, len(gids)))
                unit_site.append(int(graph.site_of[j]))
        ns = max(1, graph.n_sites)
        key = np.asarray(unit_grid, dtype=np.int64) * ns + np.asarray(unit_site, dtype=np.int64)
        ukey = np.unique(key)
        ug, us = ukey // ns, ukey % ns
        deg = np.diff(graph.indptr)
        rows = np.repeat(np.arange(ukey.size), deg[us])
        starts = graph.indptr[us]
        offs = np.arange(rows.size) - np.repeat(np.cumsum(deg[us]) - deg[us], deg[us])
        nbr_site = graph.indices[np.repeat(starts, deg[us]) + offs]
        nkey = ug[rows] * ns + nbr_site
        pos = np.searchsorted(ukey, nkey)
        pos = np.minimum(pos, ukey.size - 1)
        hit = ukey[pos] == nkey
        m = coo_matrix((np.ones(int(hit.sum())), (rows[hit], pos[hit])), shape=(ukey.size, ukey.size))
        _, label = connected_components(m, directed=False)
        ncomp = np.zeros(len(gids), dtype=np.int64)
        pairs = np.unique(np.column_stack((ug, label)), axis=0)
        np.add.at(ncomp, pairs[:, 0], 1)
        for gid, gi in gids.items():
            result[gid] = bool(ncomp[gi] == 1)
    return result


def evaluate(
    buildings: Sequence[Building],
    assignment: Mapping[str, Allocation],
    target: int = 300,
    tolerance: float = 0.10,
    polygons: bool = False,
) -> dict[str, Any]:
    """Summary figures: grids, min/max households, share within tolerance,
    share contiguous, split buildings, and (with ``polygons``) mean
    Polsby-Popper compactness of the Voronoi grid polygons."""
    lo, hi = band(target, tolerance)
    totals: dict[str, int] = {}
    split = 0
    for b in buildings:
        parts = assignment[b.id]
        if len({g for g, _ in parts}) > 1:
            split += 1
        for g, hh in parts:
            totals[g] = totals.get(g, 0) + hh
    values = np.array(list(totals.values()), dtype=np.int64)
    cont = contiguity(buildings, assignment)
    out: dict[str, Any] = {
        "grids": len(totals),
        "households": int(sum(b.households for b in buildings)),
        "buildings": len(buildings),
        "communities": len({b.community for b in buildings}),
        "min": int(values.min()) if values.size else 0,
        "max": int(values.max()) if values.size else 0,
        "within_tolerance": float(np.mean((values >= lo) & (values <= hi))) if values.size else 1.0,
        "contiguous": float(np.mean(list(cont.values()))) if cont else 1.0,
        "split_buildings": split,
    }
    if polygons:
        from .polygons import grid_polygons

        polys = grid_polygons(buildings, assignment)
        pp = [p.polsby_popper for p in polys.values()]
        out["mean_polsby_popper"] = round(float(np.mean(pp)), 4) if pp else None
    return out
