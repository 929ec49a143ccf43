"""Partitioning one community into balanced, contiguous grids.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from .graph import SiteGraph

#: cost of a grid outside the band (dominates everything else)
OUT_OF_BAND_COST = 1_000_000.0
#: cost per household outside the band
OUT_OF_BAND_HOUSEHOLD_COST = 1_000.0
#: cost of a split building; less than OUT_OF_BAND_COST so a split may fix one grid
SPLIT_COST = 400_000.0
#: weight of the squared, band-normalised distance to the community mean
CENTRE_WEIGHT = 50.0
#: cost per household moved away from its previous grid (rebalance mode)
MOVED_HOUSEHOLD_COST = 1.0
#: randomised restarts of the bisection when grids stay out of band
#: (cheap for small communities, where coarse granularity bites hardest)
RESTARTS_SMALL = 8
RESTARTS_LARGE = 1
SMALL_COMMUNITY = 300
#: a cost change counts as an improvement only below this (float noise)
EPSILON = 1e-9


def choose_k(total: int, target: int, lo: int, hi: int) -> int:
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
        outside = 0.0 if lo <= mean <= hi else min(abs(mean - lo), abs(mean - hi))
        return (outside, abs(mean - target))

    return min(sorted(candidates), key=deviation)


def piece_households(households: int, entrances: int, counts: Sequence[int]) -> list[int]:
    """Households of consecutive entrance ranges of sizes ``counts``.

    Households are spread evenly over the building's ``entrances``, the first
    ones holding the remainder (as :func:`.model.entrance_households`).
    """
    per_entrance, remainder = divmod(households, max(1, entrances))
    out = []
    start = 0
    for count in counts:
        out.append(count * per_entrance + max(0, min(start + count, remainder) - start))
        start += count
    return out


@dataclass(frozen=True, slots=True)
class Relocate:
    """Move the whole ``node`` to the adjacent grid ``destination``."""

    node: int
    destination: int

    def apply(self, solver: CommunitySolver) -> None:
        solver.assign(self.node, self.destination)


@dataclass(frozen=True, slots=True)
class Swap:
    """Exchange two boundary nodes: ``node`` (of ``grid``) and ``other`` (of ``other_grid``)."""

    node: int
    other: int
    grid: int
    other_grid: int

    def apply(self, solver: CommunitySolver) -> None:
        solver.assign(self.node, self.other_grid)
        solver.assign(self.other, self.grid)


@dataclass(frozen=True, slots=True)
class Chain:
    """Two whole-node moves through a middle grid (grid -> B -> C, or C -> B -> grid)."""

    first: int
    first_destination: int
    second: int
    second_destination: int

    def apply(self, solver: CommunitySolver) -> None:
        solver.assign(self.first, self.first_destination)
        solver.assign(self.second, self.second_destination)


@dataclass(frozen=True, slots=True)
class Split:
    """Hand the last ``entrances`` entrances of ``node`` to ``destination`` as a new piece."""

    node: int
    entrances: int
    destination: int

    def apply(self, solver: CommunitySolver) -> None:
        building = solver.node_building[self.node]
        solver.node_entrances[self.node] -= self.entrances
        solver.add_node(building, self.entrances, self.destination, after=self.node)
        solver.reweigh(building)


#: one change of the partition that the local search can apply
Move: TypeAlias = Relocate | Swap | Chain | Split


@dataclass(frozen=True, slots=True)
class Candidate:
    """A move and what it would change the total cost by (negative: better)."""

    cost_change: float
    move: Move


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One step of an ejection chain: ``node`` goes from ``source`` to ``destination``,
    whole when ``entrances`` is 0, else only its last ``entrances`` entrances."""

    node: int
    source: int
    destination: int
    entrances: int

    def move(self) -> Relocate | Split:
        if self.entrances == 0:
            return Relocate(self.node, self.destination)
        return Split(self.node, self.entrances, self.destination)


class CommunitySolver:
    """Mutable partition state of one community plus the search operators.

    Nodes are buildings or entrance ranges of one (pieces); ``node_grid[node]``
    is the node's grid (-1 while unassigned).  ``grid_members`` and
    ``grid_households`` are kept in step with it by :meth:`assign`.
    """

    def __init__(
        self,
        graph: SiteGraph,
        households: Sequence[int],
        entrances: Sequence[int],
        target: int,
        band_low: int,
        band_high: int,
        grid_count: int,
        rebalancing: bool = False,
    ) -> None:
        self.target = target
        self.band_low = band_low
        self.band_high = band_high
        self.grid_count = grid_count
        self.rebalancing = rebalancing
        self.building_households = [int(x) for x in households]
        self.building_entrances = [max(1, int(x)) for x in entrances]
        self.total_households = sum(self.building_households)
        self.mean_households = self.total_households / max(1, grid_count)
        self.half_band = max(1.0, (band_high - band_low) / 2.0)
        neighbours = graph.neighbours()
        #: per site: the site itself, then its adjacent sites
        self.site_neighbourhood = [[site, *adjacent] for site, adjacent in enumerate(neighbours)]
        self.site_xy = graph.xy
        self.building_site = [int(site) for site in graph.site_of]
        self.site_nodes: list[list[int]] = [[] for _ in range(graph.n_sites)]
        self.node_site: list[int] = []
        self.node_building: list[int] = []
        self.node_entrances: list[int] = []
        self.node_households: list[int] = []
        self.node_grid: list[int] = []
        #: nodes of each building in entrance order
        self.building_nodes: list[list[int]] = [[] for _ in self.building_households]
        self.grid_members: list[set[int]] = [set() for _ in range(grid_count)]
        self.grid_households: list[int] = [0] * grid_count
        #: rebalance: previous households per (building, grid) under new counts
        self.previous_allocation: list[dict[int, int]] | None = None

    # ------------------------------------------------------------------ nodes
    def add_node(self, building: int, entrances: int, grid: int, after: int | None = None) -> int:
        node = len(self.node_site)
        site = self.building_site[building]
        self.node_site.append(site)
        self.node_building.append(building)
        self.node_entrances.append(entrances)
        self.node_households.append(0)
        self.node_grid.append(grid)
        self.site_nodes[site].append(node)
        if after is None:
            self.building_nodes[building].append(node)
        else:
            nodes = self.building_nodes[building]
            nodes.insert(nodes.index(after) + 1, node)
        if grid >= 0:
            self.grid_members[grid].add(node)
        return node

    def reweigh(self, building: int) -> None:
        """Recompute piece households of ``building`` and grid totals."""
        nodes = self.building_nodes[building]
        weights = piece_households(
            self.building_households[building],
            self.building_entrances[building],
            [self.node_entrances[node] for node in nodes],
        )
        for node, households in zip(nodes, weights, strict=True):
            grid = self.node_grid[node]
            if grid >= 0:
                self.grid_households[grid] += households - self.node_households[node]
            self.node_households[node] = households

    def create_pieces(self) -> None:
        """One node per building; buildings above the band are pre-cut."""
        for building, (households, entrances) in enumerate(
            zip(self.building_households, self.building_entrances, strict=True)
        ):
            pieces = 1
            if households > self.band_high and entrances >= 2:
                pieces = min(entrances, math.ceil(households / self.target) + 1)
            base, extra = divmod(entrances, pieces)
            for i in range(pieces):
                self.add_node(building, base + (1 if i < extra else 0), -1)
            self.reweigh(building)

    def neighbour_nodes(self, node: int) -> Iterable[int]:
        site_nodes = self.site_nodes
        for site in self.site_neighbourhood[self.node_site[node]]:
            for other in site_nodes[site]:
                if other != node:
                    yield other

    def assign(self, node: int, grid: int) -> None:
        """Put ``node`` in ``grid`` (-1: unassigned), keeping grid totals in step."""
        old = self.node_grid[node]
        if old == grid:
            return
        households = self.node_households[node]
        if old >= 0:
            self.grid_members[old].discard(node)
            self.grid_households[old] -= households
        if grid >= 0:
            self.grid_members[grid].add(node)
            self.grid_households[grid] += households
        self.node_grid[node] = grid

    # ------------------------------------------------------------- structure
    def is_connected(self, nodes: set[int]) -> bool:
        if not nodes:
            return False
        start = next(iter(nodes))
        seen = {start}
        stack = [start]
        site_nodes = self.site_nodes
        neighbourhood = self.site_neighbourhood
        node_site = self.node_site
        while stack:
            node = stack.pop()
            for site in neighbourhood[node_site[node]]:
                for other in site_nodes[site]:
                    if other in nodes and other not in seen:
                        seen.add(other)
                        stack.append(other)
        return len(seen) == len(nodes)

    def components(self, nodes: set[int]) -> list[set[int]]:
        left = set(nodes)
        components = []
        site_nodes = self.site_nodes
        neighbourhood = self.site_neighbourhood
        node_site = self.node_site
        while left:
            start = left.pop()
            component = {start}
            stack = [start]
            while stack:
                node = stack.pop()
                for site in neighbourhood[node_site[node]]:
                    for other in site_nodes[site]:
                        if other in left:
                            left.discard(other)
                            component.add(other)
                            stack.append(other)
            components.append(component)
        return components

    def can_remove(self, grid: int, node: int) -> bool:
        """Whether ``grid`` stays non-empty and connected without ``node``."""
        rest = self.grid_members[grid] - {node}
        return bool(rest) and self.is_connected(rest)

    def repair_fragments(self) -> None:
        """Give every fragment of a grid to the lightest adjacent grid."""
        for grid in range(self.grid_count):
            components = self.components(self.grid_members[grid])
            if len(components) <= 1:
                continue
            components.sort(key=lambda c: (-sum(self.node_households[node] for node in c), min(c)))
            for fragment in components[1:]:
                candidates = {self.node_grid[other] for node in fragment for other in self.neighbour_nodes(node)} - {
                    grid,
                    -1,
                }
                if not candidates:
                    continue
                destination = min(candidates, key=lambda x: (self.grid_households[x], x))
                for node in fragment:
                    self.assign(node, destination)

    def fill_unassigned(self) -> None:
        """Give unassigned nodes the lightest adjacent grid (multi-source BFS)."""
        pending = [node for node in range(len(self.node_grid)) if self.node_grid[node] < 0]
        while pending:
            later = []
            changes = []
            for node in pending:
                candidates = {self.node_grid[other] for other in self.neighbour_nodes(node)} - {-1}
                if candidates:
                    changes.append((node, min(candidates, key=lambda x: (self.grid_households[x], x))))
                else:
                    later.append(node)
            if not changes:  # isolated from every grid: lightest grid overall
                for node in later:
                    self.assign(node, min(range(self.grid_count), key=lambda x: (self.grid_households[x], x)))
                return
            for node, grid in changes:
                self.assign(node, grid)
            pending = later

    # ------------------------------------------------------------------ cost
    def grid_cost(self, households: int) -> float:
        """Cost of a grid holding ``households``: outside the band, then off-centre."""
        if households < self.band_low:
            cost = OUT_OF_BAND_COST + OUT_OF_BAND_HOUSEHOLD_COST * (self.band_low - households)
        elif households > self.band_high:
            cost = OUT_OF_BAND_COST + OUT_OF_BAND_HOUSEHOLD_COST * (households - self.band_high)
        else:
            cost = 0.0
        if not self.rebalancing:
            distance = (households - self.mean_households) / self.half_band
            cost += CENTRE_WEIGHT * distance * distance
        return cost

    def out_of_band(self, grid: int) -> bool:
        households = self.grid_households[grid]
        return (households < self.band_low or households > self.band_high) and bool(self.grid_members[grid])

    def grids_holding(self, building: int, reassigned: dict[int, int] | None = None) -> int:
        """How many grids hold part of ``building`` (after ``reassigned``: node -> grid)."""
        if reassigned is None:
            return len({self.node_grid[node] for node in self.building_nodes[building]})
        return len({reassigned.get(node, self.node_grid[node]) for node in self.building_nodes[building]})

    def split_cost_change(self, building: int, reassigned: dict[int, int]) -> float:
        before = self.grids_holding(building) > 1
        after = self.grids_holding(building, reassigned) > 1
        return SPLIT_COST * (int(after) - int(before))

    def moved_households(self, building: int, allocation: dict[int, int]) -> int:
        """Households of ``building`` outside their previous grid under ``allocation``."""
        previous = self.previous_allocation[building] if self.previous_allocation is not None else {}
        return sum(max(0, households - previous.get(grid, 0)) for grid, households in allocation.items())

    def allocation_of(self, building: int, reassigned: dict[int, int] | None = None) -> dict[int, int]:
        """Grid -> households of ``building`` (after ``reassigned``: node -> grid)."""
        out: dict[int, int] = {}
        for node in self.building_nodes[building]:
            grid = self.node_grid[node] if reassigned is None else reassigned.get(node, self.node_grid[node])
            out[grid] = out.get(grid, 0) + self.node_households[node]
        return out

    def side_cost_change(self, reassigned: dict[int, int]) -> float:
        """Split and movement cost of reassigning nodes ``reassigned`` (node -> grid)."""
        extra = 0.0
        buildings = {self.node_building[node] for node in reassigned}
        for building in buildings:
            if len(self.building_nodes[building]) > 1:
                extra += self.split_cost_change(building, reassigned)
            if self.rebalancing:
                extra += MOVED_HOUSEHOLD_COST * (
                    self.moved_households(building, self.allocation_of(building, reassigned))
                    - self.moved_households(building, self.allocation_of(building))
                )
        return extra

    # ---------------------------------------------------------------- search
    def boundary(self, grid: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """``(outward, inward)``: (node of grid, adjacent grid) and (foreign node, its grid)."""
        outward: dict[tuple[int, int], None] = {}
        inward: dict[tuple[int, int], None] = {}
        node_grid = self.node_grid
        for node in self.grid_members[grid]:
            for other in self.neighbour_nodes(node):
                other_grid = node_grid[other]
                if other_grid != grid and other_grid >= 0:
                    outward[(node, other_grid)] = None
                    inward[(other, other_grid)] = None
        return list(outward), list(inward)

    def fix_grid(self, grid: int, allow_split: bool) -> bool:
        """Apply the cheapest improving move, swap, chain or (last) split for an out-of-band grid."""
        over = self.grid_households[grid] > self.band_high
        outward, inward = self.boundary(grid)
        cost = self.grid_cost
        grid_households = self.grid_households
        node_households = self.node_households
        best: Candidate | None = None
        # ---- single moves
        pairs = outward if over else inward
        for node, other_grid in pairs:
            source, destination = (grid, other_grid) if over else (other_grid, grid)
            households = node_households[node]
            change = (
                cost(grid_households[source] - households)
                + cost(grid_households[destination] + households)
                - cost(grid_households[source])
                - cost(grid_households[destination])
            )
            if best is not None and change >= best.cost_change:
                continue
            change += self.side_cost_change({node: destination})
            if change < -EPSILON and (best is None or change < best.cost_change) and self.can_remove(source, node):
                best = Candidate(change, Relocate(node, destination))
        # ---- swaps with each neighbouring grid
        outward_by_grid: dict[int, list[int]] = {}
        for node, other_grid in outward:
            outward_by_grid.setdefault(other_grid, []).append(node)
        inward_by_grid: dict[int, list[int]] = {}
        for other, other_grid in inward:
            inward_by_grid.setdefault(other_grid, []).append(other)
        for other_grid, nodes in outward_by_grid.items():
            others = inward_by_grid.get(other_grid, [])
            for node in nodes:
                for other in others:
                    difference = node_households[node] - node_households[other]
                    if (over and difference <= 0) or (not over and difference >= 0):
                        continue
                    change = (
                        cost(grid_households[grid] - difference)
                        + cost(grid_households[other_grid] + difference)
                        - cost(grid_households[grid])
                        - cost(grid_households[other_grid])
                    )
                    if change >= -EPSILON or (best is not None and change >= best.cost_change):
                        continue
                    change += self.side_cost_change({node: other_grid, other: grid})
                    if change >= -EPSILON or (best is not None and change >= best.cost_change):
                        continue
                    grid_after = (self.grid_members[grid] - {node}) | {other}
                    other_after = (self.grid_members[other_grid] - {other}) | {node}
                    if self.is_connected(grid_after) and self.is_connected(other_after):
                        best = Candidate(change, Swap(node, other, grid, other_grid))
        if best is None:
            best = self.best_chain(grid, over, outward, inward)
        if best is None and allow_split:
            best = self.best_split(grid, over, outward, inward)
        if best is None:
            return False
        best.move.apply(self)
        return True

    def best_chain(
        self, grid: int, over: bool, outward: list[tuple[int, int]], inward: list[tuple[int, int]]
    ) -> Candidate | None:
        """Two whole-node moves grid -> B -> C (or C -> B -> grid when under-full)."""
        cost = self.grid_cost
        grid_households = self.grid_households
        node_households = self.node_households
        best: Candidate | None = None
        pairs = outward if over else inward
        for node, middle in pairs:
            households = node_households[node]
            if over:
                grid_after, middle_after = grid_households[grid] - households, grid_households[middle] + households
            else:
                grid_after, middle_after = grid_households[grid] + households, grid_households[middle] - households
            first_change = cost(grid_after) - cost(grid_households[grid])
            if first_change >= 0:
                continue
            source_ok: bool | None = None
            # second step: the middle grid sheds (over) or pulls (under) one node
            middle_members = self.grid_members[middle] | {node} if over else self.grid_members[middle] - {node}
            seen: set[tuple[int, int]] = set()
            for member in middle_members:
                for other in self.neighbour_nodes(member):
                    far = self.node_grid[other]
                    if far in (grid, middle) or far < 0:
                        continue
                    if over:
                        if member == node:
                            continue
                        second, second_destination = member, far
                    else:
                        second, second_destination = other, middle
                    key = (second, second_destination)
                    if key in seen:
                        continue
                    seen.add(key)
                    second_households = node_households[second]
                    if over:
                        middle_final, far_final = (
                            middle_after - second_households,
                            grid_households[far] + second_households,
                        )
                    else:
                        middle_final, far_final = (
                            middle_after + second_households,
                            grid_households[far] - second_households,
                        )
                    change = (
                        first_change
                        + cost(middle_final)
                        + cost(far_final)
                        - cost(grid_households[middle])
                        - cost(grid_households[far])
                    )
                    if change >= -EPSILON or (best is not None and change >= best.cost_change):
                        continue
                    reassigned = {node: middle, second: far} if over else {node: grid, second: middle}
                    change += self.side_cost_change(reassigned)
                    if change >= -EPSILON or (best is not None and change >= best.cost_change):
                        continue
                    if source_ok is None:
                        source_ok = self.can_remove(grid if over else middle, node)
                    if not source_ok:
                        break
                    if over:
                        ok = self.is_connected((self.grid_members[middle] | {node}) - {second})
                    else:
                        ok = self.is_connected((self.grid_members[far]) - {second})
                    if ok:
                        best = Candidate(change, Chain(node, reassigned[node], second, reassigned[second]))
                if source_ok is False:
                    break
        return best

    def best_split(
        self, grid: int, over: bool, outward: list[tuple[int, int]], inward: list[tuple[int, int]]
    ) -> Candidate | None:
        """Move some entrances of a boundary node to the other grid."""
        cost = self.grid_cost
        grid_households = self.grid_households
        best: Candidate | None = None
        pairs = outward if over else inward
        for node, other_grid in pairs:
            entrances = self.node_entrances[node]
            if entrances < 2:
                continue
            building = self.node_building[node]
            source, destination = (grid, other_grid) if over else (other_grid, grid)
            nodes = self.building_nodes[building]
            position = nodes.index(node)
            counts = [self.node_entrances[piece] for piece in nodes]
            for moving in range(1, entrances):
                new_counts = [*counts[:position], entrances - moving, moving, *counts[position + 1 :]]
                weights = piece_households(
                    self.building_households[building], self.building_entrances[building], new_counts
                )
                moved = weights[position + 1]
                kept_change = weights[position] - self.node_households[node]  # always <= 0
                source_after = grid_households[source] + kept_change
                destination_after = grid_households[destination] + moved
                change = (
                    cost(source_after)
                    + cost(destination_after)
                    - cost(grid_households[source])
                    - cost(grid_households[destination])
                )
                if change >= 0:
                    continue
                grids_before = {self.node_grid[piece] for piece in nodes}
                change += SPLIT_COST * (int(len(grids_before | {destination}) > 1) - int(len(grids_before) > 1))
                if self.rebalancing:
                    before = self.allocation_of(building)
                    after = dict(before)
                    after[source] = after.get(source, 0) - moved
                    after[destination] = after.get(destination, 0) + moved
                    change += MOVED_HOUSEHOLD_COST * (
                        self.moved_households(building, after) - self.moved_households(building, before)
                    )
                if change < -EPSILON and (best is None or change < best.cost_change):
                    best = Candidate(change, Split(node, moving, destination))
        return best

    def handover_amounts(self, node: int, allow_split: bool) -> list[tuple[int, int]]:
        """``(households, entrances)`` ``node`` can hand over: whole (0) or some entrances."""
        out = [(self.node_households[node], 0)]
        entrances = self.node_entrances[node]
        if allow_split and entrances >= 2:
            building = self.node_building[node]
            nodes = self.building_nodes[building]
            position = nodes.index(node)
            counts = [self.node_entrances[piece] for piece in nodes]
            for moving in range(1, entrances):
                weights = piece_households(
                    self.building_households[building],
                    self.building_entrances[building],
                    [*counts[:position], entrances - moving, moving, *counts[position + 1 :]],
                )
                out.append((weights[position + 1], moving))
        return out

    def ejection_chain(self, grid: int, allow_split: bool, max_depth: int = 3) -> bool:
        """Ejection chain grid -> B -> C -> ... (whole nodes or entrances) that ends
        with every grid on the path inside the band; applies the cheapest found."""
        over = self.grid_households[grid] > self.band_high
        band_low, band_high = self.band_low, self.band_high
        grid_households = self.grid_households
        best_key: tuple[int, int, int] | None = None
        best_steps: list[ChainStep] | None = None
        budget = 4000

        def finish(steps: list[ChainStep]) -> None:
            nonlocal best_key, best_steps
            new_splits = 0
            moved = 0
            reassigned: dict[int, int] = {}
            for step in steps:
                if step.entrances == 0:
                    reassigned[step.node] = step.destination
            for step in steps:
                building = self.node_building[step.node]
                grids = {reassigned.get(piece, self.node_grid[piece]) for piece in self.building_nodes[building]}
                before = len({self.node_grid[piece] for piece in self.building_nodes[building]}) > 1
                if step.entrances:
                    grids.add(step.destination)
                new_splits += int(len(grids) > 1) - int(before)
                if self.rebalancing:
                    moved += self.node_households[step.node] if step.entrances == 0 else 1
            key = (new_splits, moved, len(steps))
            if best_key is not None and key >= best_key:
                return
            # connectivity of every grid on the path; a new piece stands at
            # its building's site, which its node represents in the check
            touched = {step.source for step in steps} | {step.destination for step in steps}
            for path_grid in touched:
                members = {
                    node for node in self.grid_members[path_grid] if reassigned.get(node, path_grid) == path_grid
                }
                members |= {node for node, destination in reassigned.items() if destination == path_grid}
                members |= {step.node for step in steps if step.entrances and step.destination == path_grid}
                if not self.is_connected(members):
                    return
            best_key, best_steps = key, list(steps)

        def extend(
            current: int, current_households: int, visited: set[int], steps: list[ChainStep], depth: int
        ) -> None:
            nonlocal budget
            budget -= 1
            if budget < 0:
                return
            outward, inward = self.boundary(current)
            moved_already = {step.node for step in steps}
            pairs = outward if over else inward
            for node, other_grid in pairs:
                if other_grid in visited or node in moved_already:
                    continue
                for households, entrances in self.handover_amounts(node, allow_split):
                    if over:
                        current_after = current_households - households
                        other_after = grid_households[other_grid] + households
                        source, destination = current, other_grid
                    else:
                        current_after = current_households + households
                        other_after = grid_households[other_grid] - households
                        source, destination = other_grid, current
                    if not band_low <= current_after <= band_high:
                        continue
                    if entrances == 0 and len(self.grid_members[source]) <= 1:
                        continue
                    step = ChainStep(node, source, destination, entrances)
                    if band_low <= other_after <= band_high:
                        finish([*steps, step])
                    elif depth < max_depth and (
                        (over and other_after > band_high) or (not over and other_after < band_low)
                    ):
                        extend(other_grid, other_after, visited | {other_grid}, [*steps, step], depth + 1)

        extend(grid, grid_households[grid], {grid}, [], 1)
        if best_steps is None:
            return False
        for step in best_steps:
            step.move().apply(self)
        return True

    def improve(self, allow_split: bool, max_rounds: int = 30) -> None:
        """Local search on out-of-band grids until none is left or nothing helps."""
        for _ in range(max_rounds):
            bad = [grid for grid in range(self.grid_count) if self.out_of_band(grid)]
            if not bad:
                return
            changed = False
            for grid in bad:
                if self.out_of_band(grid) and self.fix_grid(grid, allow_split):
                    changed = True
            if not changed:
                break
        for _ in range(3):
            changed = False
            for grid in range(self.grid_count):
                if self.out_of_band(grid) and self.ejection_chain(grid, allow_split):
                    changed = True
            if not changed:
                return

    # ------------------------------------------------------------ bisection
    def bisect(self, rng: np.random.Generator | None = None) -> None:
        """Initial partition of all nodes by recursive weighted bisection.

        With ``rng`` every cut direction is rotated at random (restarts)."""
        n = len(self.node_site)
        xy = self.site_xy[np.asarray(self.node_site, dtype=np.int64)]
        weights = np.asarray(self.node_households, dtype=float)
        labels = np.zeros(n, dtype=np.int64)
        stack: list[tuple[np.ndarray, int, int]] = [(np.arange(n), self.grid_count, 0)]
        while stack:
            index, k, offset = stack.pop()
            if k <= 1 or index.size <= 1:
                labels[index] = offset
                continue
            if index.size <= k:
                labels[index] = offset + np.arange(index.size)
                continue
            turn = float(rng.uniform(-math.pi / 2, math.pi / 2)) if rng is not None else 0.0
            left, k_left = self.cut(index, xy[index], weights[index], k, turn)
            stack.append((index[~left], k - k_left, offset + k_left))
            stack.append((index[left], k_left, offset))
        for node in range(n):
            self.assign(node, int(labels[node]))
        # drop empty grids (only when a community has fewer nodes than grids)
        used = sorted({int(x) for x in labels})
        if len(used) < self.grid_count:
            remap = {grid: i for i, grid in enumerate(used)}
            members = [self.grid_members[grid] for grid in used]
            households = [self.grid_households[grid] for grid in used]
            self.grid_count = len(used)
            self.grid_members, self.grid_households = members, households
            self.node_grid = [remap[grid] for grid in self.node_grid]
            self.mean_households = self.total_households / self.grid_count

    def cut(
        self, index: np.ndarray, xy: np.ndarray, weights: np.ndarray, k: int, turn: float = 0.0
    ) -> tuple[np.ndarray, int]:
        """Split nodes ``index`` for ``k`` grids: (mask of the left side, grids on the left)."""
        k_left = k // 2
        k_right = k - k_left
        n = index.size
        total = float(weights.sum())
        goal = total * k_left / k
        weight_sum = total if total > 0 else 1.0
        centred = xy - (xy * weights[:, None]).sum(axis=0) / weight_sum if total > 0 else xy - xy.mean(axis=0)
        covariance = (centred * (weights[:, None] if total > 0 else 1.0)).T @ centred
        _eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        base = math.atan2(eigenvectors[1, 1], eigenvectors[0, 1]) + turn
        small = k <= 4 and n <= 400
        band_low, band_high = self.band_low, self.band_high
        positions = np.arange(1, n)  # left = order[:position]
        valid = (positions >= k_left) & (n - positions >= k_right)
        if not small:
            projection = centred[:, 0] * math.cos(base) + centred[:, 1] * math.sin(base)
            order = np.argsort(projection, kind="stable")
            left_sums = np.cumsum(weights[order])[:-1]
            position = int(np.argmin(np.where(valid, np.abs(left_sums - goal), np.inf)))
            chosen = order[: position + 1]
        else:
            # all eight directions at once: columns are directions
            offsets = np.arange(8) * (math.pi / 8)
            angles = base + offsets
            projection = centred @ np.stack((np.cos(angles), np.sin(angles)))
            order = np.argsort(projection, axis=0, kind="stable")
            left_sums = np.cumsum(weights[order], axis=0)[:-1]
            right_sums = total - left_sums
            infeasible = (
                np.maximum(0, k_left * band_low - left_sums)
                + np.maximum(0, left_sums - k_left * band_high)
                + np.maximum(0, k_right * band_low - right_sums)
                + np.maximum(0, right_sums - k_right * band_high)
            )
            penalty = 0.25 * np.degrees(np.minimum(offsets, math.pi - offsets))
            score = np.abs(left_sums - goal) + 1000.0 * infeasible + penalty[None, :]
            score[~valid, :] = np.inf
            flat = score.ravel()
            m = min(12, flat.size)
            candidates = np.argpartition(flat, m - 1)[:m]
            candidates = candidates[np.lexsort((candidates % 8, flat[candidates]))]
            top = [t for t in candidates.tolist() if np.isfinite(flat[t])] or [int(np.argmin(flat))]
            first_position, first_angle = divmod(top[0], 8)
            chosen = order[: first_position + 1, first_angle]
            if n <= 64:
                all_nodes = set(index.tolist())
                for t in top:
                    position, angle = divmod(t, 8)
                    selected = order[: position + 1, angle]
                    left_nodes = set(index[selected].tolist())
                    if self.is_connected(left_nodes) and self.is_connected(all_nodes - left_nodes):
                        chosen = selected
                        break
        mask = np.zeros(n, dtype=bool)
        mask[chosen] = True
        return mask, k_left

    def score(self) -> tuple[int, int, int]:
        """(grids outside the band, households outside it, split buildings)."""
        bad = [grid for grid in range(self.grid_count) if self.out_of_band(grid)]
        outside = sum(
            max(self.band_low - self.grid_households[grid], self.grid_households[grid] - self.band_high) for grid in bad
        )
        splits = sum(1 for building in range(len(self.building_households)) if self.grids_holding(building) > 1)
        return len(bad), outside, splits

    # --------------------------------------------------------------- output
    def allocation(self) -> list[list[tuple[int, int]]]:
        """Per building: ``[(grid, households), ...]`` merged by grid."""
        out = []
        for building in range(len(self.building_households)):
            by_grid: dict[int, int] = {}
            for node in self.building_nodes[building]:
                if self.node_households[node] > 0 or not by_grid:
                    grid = self.node_grid[node]
                    by_grid[grid] = by_grid.get(grid, 0) + self.node_households[node]
            parts = [(grid, households) for grid, households in by_grid.items() if households > 0] or [
                (self.node_grid[self.building_nodes[building][0]], 0)
            ]
            out.append(parts)
        return out


def solve_divide(
    graph: SiteGraph,
    households: Sequence[int],
    entrances: Sequence[int],
    target: int,
    lo: int,
    hi: int,
) -> tuple[list[list[tuple[int, int]]], int]:
    """Divide one community; returns per-building allocation and grid count."""
    total = int(sum(households))
    k = choose_k(total, target, lo, hi)
    k = max(1, min(k, int(sum(max(1, int(e)) for e in entrances))))
    best: tuple[tuple[int, int, int], CommunitySolver] | None = None
    restarts = RESTARTS_SMALL if len(households) <= SMALL_COMMUNITY else RESTARTS_LARGE
    if not lo <= total / k <= hi:
        restarts = 0  # some grid must stay out of band whatever the partition
    for attempt in range(restarts + 1):
        solver = CommunitySolver(graph, households, entrances, target, lo, hi, k)
        solver.create_pieces()
        if solver.grid_count <= 1:
            for node in range(len(solver.node_site)):
                solver.assign(node, 0)
            return solver.allocation(), solver.grid_count
        solver.bisect(np.random.default_rng(attempt) if attempt else None)
        solver.repair_fragments()
        solver.improve(allow_split=False)
        solver.improve(allow_split=True)
        score = solver.score()
        if best is None or score < best[0]:
            best = (score, solver)
        if score[0] == 0:
            break
    assert best is not None
    return best[1].allocation(), best[1].grid_count


def solve_rebalance(
    graph: SiteGraph,
    households: Sequence[int],
    entrances: Sequence[int],
    previous: Sequence[Sequence[tuple[int, int]] | None],
    k: int,
    target: int,
    lo: int,
    hi: int,
) -> tuple[list[list[tuple[int, int]]], int, list[dict[int, int]]]:
    """Rebalance one community from a previous allocation.

    ``previous[b]`` is ``[(grid, entrance_count), ...]`` for buildings that
    existed before (entrance counts sum to the building's entrances), ``None``
    for new buildings.  Grids are ``0..k-1``.  Returns the new allocation,
    the grid count and the previous allocation re-expressed in new household
    counts (for measuring moved households).
    """
    solver = CommunitySolver(graph, households, entrances, target, lo, hi, k, rebalancing=True)
    previous_allocation: list[dict[int, int]] = []
    for building, parts in enumerate(previous):
        if parts:
            for grid, entrance_count in parts:
                solver.add_node(building, entrance_count, grid)
            solver.reweigh(building)
            previous_allocation.append(solver.allocation_of(building))
        else:
            solver.add_node(building, solver.building_entrances[building], -1)
            solver.reweigh(building)
            previous_allocation.append({})
    solver.previous_allocation = previous_allocation
    solver.fill_unassigned()
    # new buildings are not "moved": count them as previously where they are now
    for building, parts in enumerate(previous):
        if not parts:
            previous_allocation[building] = solver.allocation_of(building)
    solver.repair_fragments()
    _adjust_grid_count(solver)
    solver.improve(allow_split=False)
    solver.improve(allow_split=True)
    return solver.allocation(), solver.grid_count, previous_allocation


def _adjust_grid_count(solver: CommunitySolver) -> None:
    """Add or dissolve grids when the community total no longer fits the grid count."""
    wanted = choose_k(solver.total_households, solver.target, solver.band_low, solver.band_high)
    mean = solver.total_households / max(1, solver.grid_count)
    if solver.band_low <= mean <= solver.band_high or wanted == solver.grid_count:
        return
    if wanted > solver.grid_count:
        for _ in range(wanted - solver.grid_count):
            heaviest = max(range(solver.grid_count), key=lambda x: solver.grid_households[x])
            members = solver.grid_members[heaviest]
            if len(members) < 2:
                return
            # carve roughly half of the heaviest grid (by weight) off, grown from its far end
            points = {node: solver.site_xy[solver.node_site[node]] for node in members}
            centre = np.mean(list(points.values()), axis=0)
            start = max(members, key=lambda node: float(np.hypot(*(points[node] - centre))))
            new = solver.grid_count
            solver.grid_count += 1
            solver.grid_members.append(set())
            solver.grid_households.append(0)
            goal = solver.grid_households[heaviest] / 2
            grabbed = 0
            frontier = [start]
            seen = {start}
            while frontier and grabbed < goal:
                node = frontier.pop(0)
                if len(solver.grid_members[heaviest]) <= 1 or not solver.can_remove(heaviest, node):
                    continue
                solver.assign(node, new)
                grabbed += solver.node_households[node]
                for other in solver.neighbour_nodes(node):
                    if other not in seen and solver.node_grid[other] == heaviest:
                        seen.add(other)
                        frontier.append(other)
            if not solver.grid_members[new]:
                solver.grid_members.pop()
                solver.grid_households.pop()
                solver.grid_count -= 1
                return
    else:
        live = solver.grid_count
        for _ in range(solver.grid_count - wanted):
            if live <= 1:
                break
            lightest = min(
                (x for x in range(solver.grid_count) if solver.grid_members[x]),
                key=lambda x: (solver.grid_households[x], x),
            )
            for node in list(solver.grid_members[lightest]):
                solver.assign(node, -1)
            # hand its nodes to neighbouring grids; the grid stays empty (its id dies)
            pending = [node for node in range(len(solver.node_grid)) if solver.node_grid[node] < 0]
            while pending:
                rest = []
                for node in pending:
                    candidates = {solver.node_grid[other] for other in solver.neighbour_nodes(node)} - {-1}
                    if candidates:
                        solver.assign(node, min(candidates, key=lambda x: (solver.grid_households[x], x)))
                    else:
                        rest.append(node)
                if len(rest) == len(pending):
                    for node in rest:
                        solver.assign(
                            node,
                            max(
                                (x for x in range(solver.grid_count) if solver.grid_members[x]),
                                key=lambda x: -solver.grid_households[x],
                            ),
                        )
                    break
                pending = rest
            live -= 1
    solver.mean_households = solver.total_households / max(1, sum(1 for m in solver.grid_members if m))
