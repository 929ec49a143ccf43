"""The partition of one community while it is being divided: who is where, at what cost.

:class:`Partition` holds the *nodes* (buildings, or ranges of a building's
entrances: *pieces*) standing on the *sites* of the contiguity graph, the grid
of each node, each grid's members and household total, and, when rebalancing,
the previous allocation.  It changes one node at a time (:meth:`Partition.assign`,
which keeps the grid totals in step), answers structural questions (is a set of
nodes connected? which nodes lie on a grid's boundary?) and prices changes with
the cost model below.  What changes it: the moves in :mod:`.moves`, chosen by
the local search in :mod:`.operators`, after the construction in
:mod:`.construction`.

Cost model: a grid outside the band costs ``OUT_OF_BAND_COST`` plus
``OUT_OF_BAND_HOUSEHOLD_COST`` per household outside it; when dividing afresh a
grid also pays ``CENTRE_WEIGHT`` times its squared, band-normalised distance to
the community mean; a split building costs ``SPLIT_COST``; when rebalancing,
each household moved away from its previous grid costs ``MOVED_HOUSEHOLD_COST``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

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
#: a cost change counts as an improvement only below this (float noise)
EPSILON = 1e-9


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


class Partition:
    """Mutable partition of one community: nodes, their grids, grid totals, costs.

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
        """New node for ``entrances`` entrances of ``building`` in ``grid``, after piece ``after``.

        Its households stay 0 until :meth:`reweigh` spreads the building's over its pieces.
        """
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
        """Nodes on the same site as ``node`` or on an adjacent site."""
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
        """Whether ``nodes`` (non-empty) form one connected piece of the graph."""
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
        """The connected parts of ``nodes``."""
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
        """Whether a non-empty ``grid`` holds households outside the band."""
        households = self.grid_households[grid]
        return (households < self.band_low or households > self.band_high) and bool(self.grid_members[grid])

    def grids_holding(self, building: int, reassigned: dict[int, int] | None = None) -> int:
        """How many grids hold part of ``building`` (after ``reassigned``: node -> grid)."""
        if reassigned is None:
            return len({self.node_grid[node] for node in self.building_nodes[building]})
        return len({reassigned.get(node, self.node_grid[node]) for node in self.building_nodes[building]})

    def split_cost_change(self, building: int, reassigned: dict[int, int]) -> float:
        """``SPLIT_COST`` if ``reassigned`` splits ``building``, minus it if it makes it whole."""
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

    # ------------------------------------------------------ boundary, score
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
