"""Local search on out-of-band grids: find the cheapest improving move and apply it.

:func:`improve` repeatedly calls :func:`fix_grid` on every grid outside the
band: the best single :class:`.moves.Relocate` or :class:`.moves.Swap` across
its boundary, else a two-step :class:`.moves.Chain` (:func:`best_chain`), else,
when splits are allowed, moving some entrances of a boundary node
(:func:`best_split`).  Grids that stay out of band then get a deeper
:func:`ejection_chain` (up to three grids, whole nodes or entrances).  Every
move keeps every grid connected and is taken only if it lowers the cost of
:mod:`.state`.
"""

from __future__ import annotations

from .moves import Candidate, Chain, ChainStep, Relocate, Split, Swap
from .state import EPSILON, MOVED_HOUSEHOLD_COST, SPLIT_COST, Partition, piece_households


def fix_grid(partition: Partition, grid: int, allow_split: bool) -> bool:
    """Apply the cheapest improving move, swap, chain or (last) split for an out-of-band grid."""
    over = partition.grid_households[grid] > partition.band_high
    outward, inward = partition.boundary(grid)
    cost = partition.grid_cost
    grid_households = partition.grid_households
    node_households = partition.node_households
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
        change += partition.side_cost_change({node: destination})
        if change < -EPSILON and (best is None or change < best.cost_change) and partition.can_remove(source, node):
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
                change += partition.side_cost_change({node: other_grid, other: grid})
                if change >= -EPSILON or (best is not None and change >= best.cost_change):
                    continue
                grid_after = (partition.grid_members[grid] - {node}) | {other}
                other_after = (partition.grid_members[other_grid] - {other}) | {node}
                if partition.is_connected(grid_after) and partition.is_connected(other_after):
                    best = Candidate(change, Swap(node, other, grid, other_grid))
    if best is None:
        best = best_chain(partition, grid, over, outward, inward)
    if best is None and allow_split:
        best = best_split(partition, grid, over, outward, inward)
    if best is None:
        return False
    best.move.apply(partition)
    return True


def best_chain(
    partition: Partition, grid: int, over: bool, outward: list[tuple[int, int]], inward: list[tuple[int, int]]
) -> Candidate | None:
    """Two whole-node moves grid -> B -> C (or C -> B -> grid when under-full)."""
    cost = partition.grid_cost
    grid_households = partition.grid_households
    node_households = partition.node_households
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
        middle_members = partition.grid_members[middle] | {node} if over else partition.grid_members[middle] - {node}
        seen: set[tuple[int, int]] = set()
        for member in middle_members:
            for other in partition.neighbour_nodes(member):
                far = partition.node_grid[other]
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
                change += partition.side_cost_change(reassigned)
                if change >= -EPSILON or (best is not None and change >= best.cost_change):
                    continue
                if source_ok is None:
                    source_ok = partition.can_remove(grid if over else middle, node)
                if not source_ok:
                    break
                if over:
                    ok = partition.is_connected((partition.grid_members[middle] | {node}) - {second})
                else:
                    ok = partition.is_connected((partition.grid_members[far]) - {second})
                if ok:
                    best = Candidate(change, Chain(node, reassigned[node], second, reassigned[second]))
            if source_ok is False:
                break
    return best


def best_split(
    partition: Partition, grid: int, over: bool, outward: list[tuple[int, int]], inward: list[tuple[int, int]]
) -> Candidate | None:
    """Move some entrances of a boundary node to the other grid."""
    cost = partition.grid_cost
    grid_households = partition.grid_households
    best: Candidate | None = None
    pairs = outward if over else inward
    for node, other_grid in pairs:
        entrances = partition.node_entrances[node]
        if entrances < 2:
            continue
        building = partition.node_building[node]
        source, destination = (grid, other_grid) if over else (other_grid, grid)
        nodes = partition.building_nodes[building]
        position = nodes.index(node)
        counts = [partition.node_entrances[piece] for piece in nodes]
        for moving in range(1, entrances):
            new_counts = [*counts[:position], entrances - moving, moving, *counts[position + 1 :]]
            weights = piece_households(
                partition.building_households[building], partition.building_entrances[building], new_counts
            )
            moved = weights[position + 1]
            kept_change = weights[position] - partition.node_households[node]  # always <= 0
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
            grids_before = {partition.node_grid[piece] for piece in nodes}
            change += SPLIT_COST * (int(len(grids_before | {destination}) > 1) - int(len(grids_before) > 1))
            if partition.rebalancing:
                before = partition.allocation_of(building)
                after = dict(before)
                after[source] = after.get(source, 0) - moved
                after[destination] = after.get(destination, 0) + moved
                change += MOVED_HOUSEHOLD_COST * (
                    partition.moved_households(building, after) - partition.moved_households(building, before)
                )
            if change < -EPSILON and (best is None or change < best.cost_change):
                best = Candidate(change, Split(node, moving, destination))
    return best


def handover_amounts(partition: Partition, node: int, allow_split: bool) -> list[tuple[int, int]]:
    """``(households, entrances)`` ``node`` can hand over: whole (0) or some entrances."""
    out = [(partition.node_households[node], 0)]
    entrances = partition.node_entrances[node]
    if allow_split and entrances >= 2:
        building = partition.node_building[node]
        nodes = partition.building_nodes[building]
        position = nodes.index(node)
        counts = [partition.node_entrances[piece] for piece in nodes]
        for moving in range(1, entrances):
            weights = piece_households(
                partition.building_households[building],
                partition.building_entrances[building],
                [*counts[:position], entrances - moving, moving, *counts[position + 1 :]],
            )
            out.append((weights[position + 1], moving))
    return out


def ejection_chain(partition: Partition, grid: int, allow_split: bool, max_depth: int = 3) -> bool:
    """Ejection chain grid -> B -> C -> ... (whole nodes or entrances) that ends
    with every grid on the path inside the band; applies the cheapest found."""
    over = partition.grid_households[grid] > partition.band_high
    band_low, band_high = partition.band_low, partition.band_high
    grid_households = partition.grid_households
    # chains are ranked by (new split buildings, moved households, length), fewer first
    best_key: tuple[int, int, int] | None = None
    best_steps: list[ChainStep] | None = None
    budget = 4000  # grids expanded at most, so a dense neighbourhood cannot blow up

    def finish(steps: list[ChainStep]) -> None:
        nonlocal best_key, best_steps
        new_splits = 0
        moved = 0
        reassigned: dict[int, int] = {}
        for step in steps:
            if step.entrances == 0:
                reassigned[step.node] = step.destination
        for step in steps:
            building = partition.node_building[step.node]
            grids = {reassigned.get(piece, partition.node_grid[piece]) for piece in partition.building_nodes[building]}
            before = len({partition.node_grid[piece] for piece in partition.building_nodes[building]}) > 1
            if step.entrances:
                grids.add(step.destination)
            new_splits += int(len(grids) > 1) - int(before)
            if partition.rebalancing:
                moved += partition.node_households[step.node] if step.entrances == 0 else 1
        key = (new_splits, moved, len(steps))
        if best_key is not None and key >= best_key:
            return
        # connectivity of every grid on the path; a new piece stands at
        # its building's site, which its node represents in the check
        touched = {step.source for step in steps} | {step.destination for step in steps}
        for path_grid in touched:
            members = {
                node for node in partition.grid_members[path_grid] if reassigned.get(node, path_grid) == path_grid
            }
            members |= {node for node, destination in reassigned.items() if destination == path_grid}
            members |= {step.node for step in steps if step.entrances and step.destination == path_grid}
            if not partition.is_connected(members):
                return
        best_key, best_steps = key, list(steps)

    def extend(current: int, current_households: int, visited: set[int], steps: list[ChainStep], depth: int) -> None:
        nonlocal budget
        budget -= 1
        if budget < 0:
            return
        outward, inward = partition.boundary(current)
        moved_already = {step.node for step in steps}
        pairs = outward if over else inward
        for node, other_grid in pairs:
            if other_grid in visited or node in moved_already:
                continue
            for households, entrances in handover_amounts(partition, node, allow_split):
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
                if entrances == 0 and len(partition.grid_members[source]) <= 1:
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
        step.move().apply(partition)
    return True


def improve(partition: Partition, allow_split: bool, max_rounds: int = 30) -> None:
    """Local search on out-of-band grids until none is left or nothing helps."""
    for _ in range(max_rounds):
        bad = [grid for grid in range(partition.grid_count) if partition.out_of_band(grid)]
        if not bad:
            return
        changed = False
        for grid in bad:
            if partition.out_of_band(grid) and fix_grid(partition, grid, allow_split):
                changed = True
        if not changed:
            break
    for _ in range(3):
        changed = False
        for grid in range(partition.grid_count):
            if partition.out_of_band(grid) and ejection_chain(partition, grid, allow_split):
                changed = True
        if not changed:
            return
