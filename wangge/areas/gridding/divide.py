"""Public entry points: divide a set of buildings afresh, or rebalance.

This module only groups buildings by community, names grids and translates
between building ids / grid ids and the engine's per-community indices; the
partitioning itself is in :mod:`.engine`.  Grids never cross a community
because every community is solved independently.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence

import numpy as np

from .engine import solve_divide, solve_rebalance
from .graph import build_site_graph
from .model import Allocation, Building, Division, Grid, GriddingError, band, entrance_households


def grid_id(community: str, number: int, width: int = 2) -> str:
    """Readable, stable grid id: ``<community>-G01`` (``G01`` without community)."""
    label = f"G{number:0{width}d}"
    return f"{community}-{label}" if community else label


def _check(buildings: Sequence[Building], target: int, tolerance: float) -> None:
    if target <= 0:
        raise GriddingError("target must be a positive number of households")
    if not 0 <= tolerance < 1:
        raise GriddingError("tolerance must be in [0, 1)")
    seen: set[str] = set()
    for i, b in enumerate(buildings):
        if b.id in seen:
            raise GriddingError(f"building #{i} (id {b.id!r}): duplicate id")
        seen.add(b.id)
        if b.households < 0:
            raise GriddingError(f"building #{i} (id {b.id!r}): negative households")
        if b.entrances < 1:
            raise GriddingError(f"building #{i} (id {b.id!r}): entrances must be >= 1")


def _by_community(buildings: Sequence[Building]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, b in enumerate(buildings):
        groups.setdefault(b.community, []).append(i)
    return dict(sorted(groups.items()))


def _collect(
    buildings: Sequence[Building],
    idx: list[int],
    alloc: list[list[tuple[int, int]]],
    names: Mapping[int, str],
    community: str,
    assignment: dict[str, Allocation],
    grids: dict[str, Grid],
) -> None:
    for b, parts in zip(idx, alloc, strict=True):
        bid = buildings[b].id
        assignment[bid] = [(names[g], hh) for g, hh in parts]
        for g, hh in parts:
            grid = grids.setdefault(names[g], Grid(names[g], community))
            grid.households += hh
            grid.building_ids.append(bid)


def divide(buildings: Sequence[Building], target: int = 300, tolerance: float = 0.10) -> Division:
    """Divide every community of ``buildings`` into balanced contiguous grids."""
    t0 = time.perf_counter()
    _check(buildings, target, tolerance)
    lo, hi = band(target, tolerance)
    assignment: dict[str, Allocation] = {}
    grids: dict[str, Grid] = {}
    for community, idx in _by_community(buildings).items():
        bs = [buildings[i] for i in idx]
        graph = build_site_graph(np.array([b.lon for b in bs]), np.array([b.lat for b in bs]))
        alloc, k = solve_divide(graph, [b.households for b in bs], [b.entrances for b in bs], target, lo, hi)
        width = max(2, len(str(k)))
        names = {g: grid_id(community, g + 1, width) for g in range(k)}
        _collect(buildings, idx, alloc, names, community, assignment, grids)
    return Division(target, tolerance, assignment, dict(sorted(grids.items())), None, time.perf_counter() - t0)


def entrance_counts(parts: Sequence[int], households: int, entrances: int) -> list[int]:
    """Entrances covered by consecutive parts of a building (evenly spread households).

    Each part boundary is snapped to the nearest entrance boundary; parts
    left without an entrance get 0.
    """
    sizes = entrance_households(households, entrances)
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    out = []
    prev_idx = 0
    acc = 0
    for j, p in enumerate(parts):
        acc += p
        if j == len(parts) - 1:
            idx = entrances
        else:
            idx = int(np.argmin(np.abs(bounds - acc)))
            idx = max(prev_idx, min(idx, entrances))
        out.append(idx - prev_idx)
        prev_idx = idx
    return out


_NUM = re.compile(r"G(\d+)$")


def rebalance(
    buildings: Sequence[Building],
    previous: Mapping[str, Sequence[tuple[str, int]]],
    target: int = 300,
    tolerance: float = 0.10,
    previous_households: Mapping[str, int] | None = None,
) -> Division:
    """Restore balance after household counts changed, keeping grid ids.

    ``previous`` maps building id -> its earlier allocation ``[(grid_id,
    households)]``.  The earlier split of a building is kept at the same
    entrance boundaries and re-expressed in the new household counts (using
    ``previous_households`` or, by default, the sum of the earlier parts as
    the old count).  Buildings not in ``previous`` join an adjacent grid and
    are not counted as moved.  ``moved_households`` is the number of
    households, summed over buildings, now in a grid other than the one they
    were in before (per building: sum over grids of the increase).
    """
    t0 = time.perf_counter()
    _check(buildings, target, tolerance)
    lo, hi = band(target, tolerance)
    groups = _by_community(buildings)
    # each previous grid id belongs to the community holding most of it
    weight: dict[str, dict[str, int]] = {}
    for b in buildings:
        for gid, hh in previous.get(b.id, ()):
            w = weight.setdefault(gid, {})
            w[b.community] = w.get(b.community, 0) + hh + 1
    owner = {gid: max(sorted(w), key=lambda c: w[c]) for gid, w in weight.items()}
    assignment: dict[str, Allocation] = {}
    grids: dict[str, Grid] = {}
    moved = 0
    for community, idx in groups.items():
        bs = [buildings[i] for i in idx]
        own = sorted({gid for b in bs for gid, _ in previous.get(b.id, ()) if owner.get(gid) == community})
        graph = build_site_graph(np.array([b.lon for b in bs]), np.array([b.lat for b in bs]))
        households = [b.households for b in bs]
        ent = [b.entrances for b in bs]
        if not own:
            alloc, k = solve_divide(graph, households, ent, target, lo, hi)
            width = max(2, len(str(k)))
            names = {g: grid_id(community, g + 1, width) for g in range(k)}
            _collect(buildings, idx, alloc, names, community, assignment, grids)
            continue
        local = {gid: i for i, gid in enumerate(own)}
        prev_nodes: list[list[tuple[int, int]] | None] = []
        for b in bs:
            parts = [(gid, h) for gid, h in previous.get(b.id, ()) if gid in local]
            if not parts or len(parts) != len(previous.get(b.id, ())):
                prev_nodes.append(None)
                continue
            old_h = (
                previous_households[b.id]
                if previous_households is not None and b.id in previous_households
                else sum(h for _, h in parts)
            )
            counts = entrance_counts([h for _, h in parts], old_h, b.entrances)
            nodes = [(local[gid], c) for (gid, _), c in zip(parts, counts, strict=True) if c > 0]
            prev_nodes.append(nodes or None)
        alloc, k, orig = solve_rebalance(graph, households, ent, prev_nodes, len(own), target, lo, hi)
        names = dict(enumerate(own))
        if k > len(own):
            nums = [int(m.group(1)) for gid in own if (m := _NUM.search(gid))]
            start = max(nums, default=0) + 1
            width = max(2, len(str(start + k)))
            taken = set(previous_id for previous_id in owner)
            n = start
            for g in range(len(own), k):
                while grid_id(community, n, width) in taken:
                    n += 1
                names[g] = grid_id(community, n, width)
                taken.add(names[g])
                n += 1
        _collect(buildings, idx, alloc, names, community, assignment, grids)
        for position, local_parts in enumerate(alloc):
            before = orig[position]
            moved += sum(max(0, h - before.get(g, 0)) for g, h in local_parts)
    return Division(
        target,
        tolerance,
        assignment,
        dict(sorted(grids.items())),
        moved,
        time.perf_counter() - t0,
    )
