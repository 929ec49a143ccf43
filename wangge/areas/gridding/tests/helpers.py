"""Independent checks used by the tests (deliberately not the engine's graph code)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np
from scipy.spatial import Delaunay

from wangge.areas.gridding.model import Allocation, Building


def delaunay_graph(buildings: Sequence[Building], metric: bool) -> nx.Graph:
    """Delaunay graph of buildings (co-located buildings adjacent), in degrees or metres."""
    g = nx.Graph()
    g.add_nodes_from(b.id for b in buildings)
    pts = np.array([[b.lon, b.lat] for b in buildings], dtype=float)
    if metric and len(pts):
        lat0 = pts[:, 1].mean()
        pts = np.column_stack((pts[:, 0] * np.cos(np.radians(lat0)) * 111_195, pts[:, 1] * 111_195))
    uniq, inv = np.unique(pts, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    at: dict[int, list[str]] = {}
    for b, s in zip(buildings, inv.tolist(), strict=True):
        at.setdefault(s, []).append(b.id)
    site_edges: set[tuple[int, int]] = set()
    if len(uniq) == 2:
        site_edges.add((0, 1))
    elif len(uniq) >= 3:
        try:
            tri = Delaunay(uniq)
            for s in tri.simplices:
                for i in range(3):
                    a, c = sorted((int(s[i]), int(s[(i + 1) % 3])))
                    site_edges.add((a, c))
        except Exception:  # collinear: chain along the line
            order = np.argsort(uniq[:, 0] + uniq[:, 1] * 1e-3)
            site_edges.update(zip(order[:-1].tolist(), order[1:].tolist(), strict=True))
    for ids in at.values():  # co-located buildings are all adjacent
        g.add_edges_from((x, y) for i, x in enumerate(ids) for y in ids[i + 1 :])
    for a, c in site_edges:
        g.add_edges_from((x, y) for x in at[a] for y in at[c])
    return g


def non_contiguous_grids(
    buildings: Sequence[Building], assignment: Mapping[str, Allocation], metric: bool = True
) -> list[str]:
    bad = []
    by_comm: dict[str, list[Building]] = {}
    for b in buildings:
        by_comm.setdefault(b.community, []).append(b)
    for bs in by_comm.values():
        g = delaunay_graph(bs, metric)
        members: dict[str, list[str]] = {}
        for b in bs:
            for gid, _ in assignment[b.id]:
                members.setdefault(gid, []).append(b.id)
        for gid, ids in members.items():
            if not nx.is_connected(g.subgraph(ids)):
                bad.append(gid)
    return bad


def grid_totals(assignment: Mapping[str, Allocation]) -> dict[str, int]:
    out: dict[str, int] = {}
    for parts in assignment.values():
        for gid, hh in parts:
            out[gid] = out.get(gid, 0) + hh
    return out
