"""Building and reshaping a partition wholesale, before and around the local search.

:func:`bisect` gives every node an initial grid by recursive weighted bisection
(:func:`cut` chooses each cut); :func:`repair_fragments` hands the fragments of
a disconnected grid to their lightest neighbour; :func:`fill_unassigned` puts
new buildings in the lightest adjacent grid; :func:`adjust_grid_count` adds or
dissolves grids when a rebalanced community no longer fits its grid count.
"""

from __future__ import annotations

import math

import numpy as np

from .state import Partition


def bisect(partition: Partition, rng: np.random.Generator | None = None) -> None:
    """Initial partition of all nodes by recursive weighted bisection.

    With ``rng`` every cut direction is rotated at random (restarts)."""
    count = len(partition.node_site)
    xy = partition.site_xy[np.asarray(partition.node_site, dtype=np.int64)]
    weights = np.asarray(partition.node_households, dtype=float)
    labels = np.zeros(count, dtype=np.int64)
    stack: list[tuple[np.ndarray, int, int]] = [(np.arange(count), partition.grid_count, 0)]
    while stack:
        nodes, grids, offset = stack.pop()
        if grids <= 1 or nodes.size <= 1:
            labels[nodes] = offset
            continue
        if nodes.size <= grids:
            labels[nodes] = offset + np.arange(nodes.size)
            continue
        turn = float(rng.uniform(-math.pi / 2, math.pi / 2)) if rng is not None else 0.0
        left, left_grids = cut(partition, nodes, xy[nodes], weights[nodes], grids, turn)
        stack.append((nodes[~left], grids - left_grids, offset + left_grids))
        stack.append((nodes[left], left_grids, offset))
    for node in range(count):
        partition.assign(node, int(labels[node]))
    # drop empty grids (only when a community has fewer nodes than grids)
    used = sorted({int(x) for x in labels})
    if len(used) < partition.grid_count:
        remap = {grid: i for i, grid in enumerate(used)}
        members = [partition.grid_members[grid] for grid in used]
        households = [partition.grid_households[grid] for grid in used]
        partition.grid_count = len(used)
        partition.grid_members, partition.grid_households = members, households
        partition.node_grid = [remap[grid] for grid in partition.node_grid]
        partition.mean_households = partition.total_households / partition.grid_count


def cut(
    partition: Partition, nodes: np.ndarray, xy: np.ndarray, weights: np.ndarray, grids: int, turn: float = 0.0
) -> tuple[np.ndarray, int]:
    """Cut ``nodes`` (at ``xy``, weighing ``weights``) in two for ``grids`` grids.

    The cut is perpendicular to the principal axis turned by ``turn``, at the
    weighted quantile; with few grids and nodes, eight directions are scored
    for balance and (up to 64 nodes) connectivity.  Returns the mask of the
    left side and its number of grids (``grids // 2``).
    """
    left_grids = grids // 2
    right_grids = grids - left_grids
    count = nodes.size
    total = float(weights.sum())
    goal = total * left_grids / grids
    weight_sum = total if total > 0 else 1.0
    centred = xy - (xy * weights[:, None]).sum(axis=0) / weight_sum if total > 0 else xy - xy.mean(axis=0)
    covariance = (centred * (weights[:, None] if total > 0 else 1.0)).T @ centred
    _eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    base = math.atan2(eigenvectors[1, 1], eigenvectors[0, 1]) + turn
    small = grids <= 4 and count <= 400
    band_low, band_high = partition.band_low, partition.band_high
    positions = np.arange(1, count)  # left = order[:position]
    valid = (positions >= left_grids) & (count - positions >= right_grids)
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
            np.maximum(0, left_grids * band_low - left_sums)
            + np.maximum(0, left_sums - left_grids * band_high)
            + np.maximum(0, right_grids * band_low - right_sums)
            + np.maximum(0, right_sums - right_grids * band_high)
        )
        penalty = 0.25 * np.degrees(np.minimum(offsets, math.pi - offsets))
        score = np.abs(left_sums - goal) + 1000.0 * infeasible + penalty[None, :]
        score[~valid, :] = np.inf
        flat = score.ravel()
        shortlist = min(12, flat.size)
        candidates = np.argpartition(flat, shortlist - 1)[:shortlist]
        candidates = candidates[np.lexsort((candidates % 8, flat[candidates]))]
        top = [flat_index for flat_index in candidates.tolist() if np.isfinite(flat[flat_index])] or [
            int(np.argmin(flat))
        ]
        first_position, first_angle = divmod(top[0], 8)
        chosen = order[: first_position + 1, first_angle]
        if count <= 64:
            all_nodes = set(nodes.tolist())
            for flat_index in top:
                position, angle = divmod(flat_index, 8)
                selected = order[: position + 1, angle]
                left_nodes = set(nodes[selected].tolist())
                if partition.is_connected(left_nodes) and partition.is_connected(all_nodes - left_nodes):
                    chosen = selected
                    break
    mask = np.zeros(count, dtype=bool)
    mask[chosen] = True
    return mask, left_grids


def repair_fragments(partition: Partition) -> None:
    """Give every fragment of a grid to the lightest adjacent grid."""
    for grid in range(partition.grid_count):
        components = partition.components(partition.grid_members[grid])
        if len(components) <= 1:
            continue
        components.sort(key=lambda c: (-sum(partition.node_households[node] for node in c), min(c)))
        for fragment in components[1:]:
            candidates = {
                partition.node_grid[other] for node in fragment for other in partition.neighbour_nodes(node)
            } - {
                grid,
                -1,
            }
            if not candidates:
                continue
            destination = min(candidates, key=lambda x: (partition.grid_households[x], x))
            for node in fragment:
                partition.assign(node, destination)


def fill_unassigned(partition: Partition) -> None:
    """Give unassigned nodes the lightest adjacent grid (multi-source BFS)."""
    pending = [node for node in range(len(partition.node_grid)) if partition.node_grid[node] < 0]
    while pending:
        later = []
        changes = []
        for node in pending:
            candidates = {partition.node_grid[other] for other in partition.neighbour_nodes(node)} - {-1}
            if candidates:
                changes.append((node, min(candidates, key=lambda x: (partition.grid_households[x], x))))
            else:
                later.append(node)
        if not changes:  # isolated from every grid: lightest grid overall
            for node in later:
                partition.assign(
                    node, min(range(partition.grid_count), key=lambda x: (partition.grid_households[x], x))
                )
            return
        for node, grid in changes:
            partition.assign(node, grid)
        pending = later


def adjust_grid_count(partition: Partition, wanted: int) -> None:
    """Add or dissolve grids towards ``wanted`` when the community total no longer fits the grid count."""
    mean = partition.total_households / max(1, partition.grid_count)
    if partition.band_low <= mean <= partition.band_high or wanted == partition.grid_count:
        return
    if wanted > partition.grid_count:
        for _ in range(wanted - partition.grid_count):
            heaviest = max(range(partition.grid_count), key=lambda x: partition.grid_households[x])
            members = partition.grid_members[heaviest]
            if len(members) < 2:
                return
            # carve roughly half of the heaviest grid (by weight) off, grown from its far end
            points = {node: partition.site_xy[partition.node_site[node]] for node in members}
            centre = np.mean(list(points.values()), axis=0)
            start = max(members, key=lambda node: float(np.hypot(*(points[node] - centre))))
            new = partition.grid_count
            partition.grid_count += 1
            partition.grid_members.append(set())
            partition.grid_households.append(0)
            goal = partition.grid_households[heaviest] / 2
            grabbed = 0
            frontier = [start]
            seen = {start}
            while frontier and grabbed < goal:
                node = frontier.pop(0)
                if len(partition.grid_members[heaviest]) <= 1 or not partition.can_remove(heaviest, node):
                    continue
                partition.assign(node, new)
                grabbed += partition.node_households[node]
                for other in partition.neighbour_nodes(node):
                    if other not in seen and partition.node_grid[other] == heaviest:
                        seen.add(other)
                        frontier.append(other)
            if not partition.grid_members[new]:
                partition.grid_members.pop()
                partition.grid_households.pop()
                partition.grid_count -= 1
                return
    else:
        live = partition.grid_count
        for _ in range(partition.grid_count - wanted):
            if live <= 1:
                break
            lightest = min(
                (x for x in range(partition.grid_count) if partition.grid_members[x]),
                key=lambda x: (partition.grid_households[x], x),
            )
            for node in list(partition.grid_members[lightest]):
                partition.assign(node, -1)
            # hand its nodes to neighbouring grids; the grid stays empty (its id dies)
            pending = [node for node in range(len(partition.node_grid)) if partition.node_grid[node] < 0]
            while pending:
                rest = []
                for node in pending:
                    candidates = {partition.node_grid[other] for other in partition.neighbour_nodes(node)} - {-1}
                    if candidates:
                        partition.assign(node, min(candidates, key=lambda x: (partition.grid_households[x], x)))
                    else:
                        rest.append(node)
                if len(rest) == len(pending):
                    for node in rest:
                        partition.assign(
                            node,
                            max(
                                (x for x in range(partition.grid_count) if partition.grid_members[x]),
                                key=lambda x: -partition.grid_households[x],
                            ),
                        )
                    break
                pending = rest
            live -= 1
    partition.mean_households = partition.total_households / max(1, sum(1 for m in partition.grid_members if m))
