"""Partitioning one community into balanced, contiguous grids: the entry points.

:func:`solve_divide` and :func:`solve_rebalance` run the stages below on one
community's buildings; :func:`choose_k` is its number of grids.  The stages
live beside this module: the partition and its cost model in :mod:`.state`,
the moves in :mod:`.moves`, bisection, repair and grid-count changes in
:mod:`.construction`, the local search in :mod:`.operators`.

Why this shape: grids hold ~300 households, i.e. only ~5 buildings, so the
granularity of whole buildings (10-400 households) is coarse compared with
the +/-10% band.  Graph partitioners (METIS) balance the totals on average but
leave many grids outside the band; balancing on entrances instead splits a
third of the buildings.  This engine therefore works in three stages:

1. **Recursive weighted bisection** (k1 = k // 2, k2 = k - k1) along the
   principal axis at the weighted quantile.  Near the leaves (k <= 4) it tries
   eight cut directions and prefers cuts whose sides can be balanced and are
   connected, so most grids start inside the band and compact.
2. **Contiguity repair**: fragments of a grid that are not connected to its
   largest part join the lightest adjacent grid.
3. **Local search** on out-of-band grids only: boundary moves, swaps and
   two-step chains of whole buildings that keep every grid connected
   (articulation check by BFS inside the small grid).  Only then, as a last
   resort, a boundary building is split at entrance boundaries between two
   adjacent grids (a split building counts as belonging to both grids, and it
   touches both, so contiguity is preserved).

Buildings larger than the band's upper bound are pre-cut into entrance
"pieces" (they cannot be whole in a balanced grid anyway); pieces of one
building that end up in the same grid are merged back in the output.

Rebalancing uses the same search in a mode where the cost also counts
households moved away from their previous grid, and existing splits can be
re-proportioned entrance by entrance (the cheapest possible correction).

The unit of work is a *node*: a building or a piece of one.  Nodes sit on
*sites* (distinct locations, see :mod:`.graph`); two nodes are adjacent when
they share a site or their sites are adjacent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .construction import adjust_grid_count, bisect, fill_unassigned, repair_fragments
from .graph import SiteGraph
from .operators import improve
from .state import Partition

#: randomised restarts of the bisection when grids stay out of band
#: (cheap for small communities, where coarse granularity bites hardest)
RESTARTS_SMALL = 8
RESTARTS_LARGE = 1
SMALL_COMMUNITY = 300


def choose_k(total: int, target: int, band_low: int, band_high: int) -> int:
    """Number of grids for a community of ``total`` households.

    ``round(total / target)`` adjusted so that ``total / k`` lies in the band
    when any neighbouring k allows it; a community below the target is one
    grid.
    """
    if total <= target:
        return 1
    candidates = {max(1, math.floor(total / target)), max(1, math.ceil(total / target))}

    def deviation(k: int) -> tuple[float, float]:
        mean = total / k
        outside = 0.0 if band_low <= mean <= band_high else min(abs(mean - band_low), abs(mean - band_high))
        return (outside, abs(mean - target))

    return min(sorted(candidates), key=deviation)


def solve_divide(
    graph: SiteGraph,
    households: Sequence[int],
    entrances: Sequence[int],
    target: int,
    band_low: int,
    band_high: int,
) -> tuple[list[list[tuple[int, int]]], int]:
    """Divide one community; returns per-building allocation and grid count.

    Small communities are divided again from randomly turned bisections while
    grids stay out of band; the best by :meth:`.state.Partition.score` wins.
    """
    total = int(sum(households))
    grid_count = choose_k(total, target, band_low, band_high)
    grid_count = max(1, min(grid_count, int(sum(max(1, int(e)) for e in entrances))))
    best_score: tuple[int, int, int] | None = None
    best: Partition | None = None
    restarts = RESTARTS_SMALL if len(households) <= SMALL_COMMUNITY else RESTARTS_LARGE
    if not band_low <= total / grid_count <= band_high:
        restarts = 0  # some grid must stay out of band whatever the partition
    for attempt in range(restarts + 1):
        partition = Partition(graph, households, entrances, target, band_low, band_high, grid_count)
        partition.create_pieces()
        if partition.grid_count <= 1:
            for node in range(len(partition.node_site)):
                partition.assign(node, 0)
            return partition.allocation(), partition.grid_count
        bisect(partition, np.random.default_rng(attempt) if attempt else None)
        repair_fragments(partition)
        improve(partition, allow_split=False)
        improve(partition, allow_split=True)
        score = partition.score()
        if best_score is None or score < best_score:
            best_score, best = score, partition
        if score[0] == 0:
            break
    assert best is not None
    return best.allocation(), best.grid_count


def solve_rebalance(
    graph: SiteGraph,
    households: Sequence[int],
    entrances: Sequence[int],
    previous: Sequence[Sequence[tuple[int, int]] | None],
    grid_count: int,
    target: int,
    band_low: int,
    band_high: int,
) -> tuple[list[list[tuple[int, int]]], int, list[dict[int, int]]]:
    """Rebalance one community from a previous allocation.

    ``previous[b]`` is ``[(grid, entrance_count), ...]`` for buildings that
    existed before (entrance counts sum to the building's entrances), ``None``
    for new buildings.  Grids are ``0..grid_count-1``.  Returns the new
    allocation, the grid count and the previous allocation re-expressed in new
    household counts (for measuring moved households).
    """
    partition = Partition(graph, households, entrances, target, band_low, band_high, grid_count, rebalancing=True)
    previous_allocation: list[dict[int, int]] = []
    for building, parts in enumerate(previous):
        if parts:
            for grid, entrance_count in parts:
                partition.add_node(building, entrance_count, grid)
            partition.reweigh(building)
            previous_allocation.append(partition.allocation_of(building))
        else:
            partition.add_node(building, partition.building_entrances[building], -1)
            partition.reweigh(building)
            previous_allocation.append({})
    partition.previous_allocation = previous_allocation
    fill_unassigned(partition)
    # new buildings are not "moved": count them as previously where they are now
    for building, parts in enumerate(previous):
        if not parts:
            previous_allocation[building] = partition.allocation_of(building)
    repair_fragments(partition)
    adjust_grid_count(partition, choose_k(partition.total_households, target, band_low, band_high))
    improve(partition, allow_split=False)
    improve(partition, allow_split=True)
    return partition.allocation(), partition.grid_count, previous_allocation
