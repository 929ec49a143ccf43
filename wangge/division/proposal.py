"""Grid division on the registry: feed a community's buildings to the engine, preview the result.

The engine (``wangge.areas.gridding``) knows nothing of Django; this module turns the database
into its input (one engine building per located building, households counted from the
registry) and its output back into proposals that ``actions.grids_apply`` can carry out.
Engine grid ids for existing grids are ``"g<pk>"``, so a rebalance keeps their identity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.db.models import Count
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from wangge.areas import gridding
from wangge.areas.gridding.polygons import grid_polygons
from wangge.areas.gridding.repair import UnrepairableGeometry, polygonal, repair, repair_geojson
from wangge.areas.models import Area, Building
from wangge.registry.queries import household_counts

MODES = ("rebalance", "divide")


def engine_id(grid_pk: int) -> str:
    return f"g{grid_pk}"


def grid_pk(engine_grid_id: str) -> int | None:
    """The existing grid behind an engine id, or None for a grid the engine made up."""
    if engine_grid_id.startswith("g") and engine_grid_id[1:].isdigit():
        return int(engine_grid_id[1:])
    return None


@dataclass
class Proposal:
    """A division of some communities, ready to preview and to apply."""

    mode: str
    target: int
    tolerance: float
    communities: list[Area]
    buildings: list[gridding.Building]
    division: gridding.Division
    figures: dict[str, Any]
    unlocated: int = 0
    #: engine building id -> engine grid id of each household now (for moved counts)
    current: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: communities whose stored boundary could not be repaired (filled by ``polygons()``)
    unusable_boundaries: list[Area] = field(default_factory=list)

    @property
    def new_grids(self) -> list[str]:
        return [gid for gid in self.division.grids if grid_pk(gid) is None]

    @property
    def kept_grids(self) -> list[int]:
        return [pk for gid in self.division.grids if (pk := grid_pk(gid)) is not None]

    def polygons(self) -> dict[str, BaseGeometry]:
        """One polygon per proposed grid: tiling its community's boundary where there is one."""
        engine = grid_polygons(self.buildings, self.division.assignment) if self.buildings else {}
        result = {gid: polygon.geometry for gid, polygon in engine.items()}
        by_community: dict[str, list[gridding.Building]] = defaultdict(list)
        for building in self.buildings:
            by_community[building.community].append(building)
        for community in self.communities:
            members = by_community.get(str(community.pk), [])
            if community.boundary and members:
                try:
                    area = repair_geojson(community.boundary)
                except UnrepairableGeometry:
                    # The engine's own polygons stand in; the preview page says which boundary failed.
                    self.unusable_boundaries.append(community)
                    continue
                result.update(tile_community(area, members, self.division.assignment))
        return result

    def geojson(self) -> dict[str, Any]:
        """Proposed grid polygons and their figures, for the preview map."""
        features = []
        for gid, geometry in self.polygons().items():
            grid = self.division.grids.get(gid)
            features.append(
                {
                    "type": "Feature",
                    "geometry": mapping(geometry),
                    "properties": {
                        "grid_id": gid,
                        "households": grid.households if grid else 0,
                        "new": grid_pk(gid) is None,
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}


def tile_community(
    area: BaseGeometry, buildings: list[gridding.Building], assignment: dict[str, list[tuple[str, int]]]
) -> dict[str, BaseGeometry]:
    """Cut a community's boundary into grid polygons: Voronoi cells of its buildings, by owner.

    Each building's cell goes to the grid holding most of its households, so the grids tile the
    community exactly, with no gaps or overlaps, whatever the shape of the boundary. ``area`` is
    the community's boundary already repaired (``gridding.repair``).
    """
    owner_at: dict[tuple[float, float], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for building in buildings:
        for gid, households in assignment[building.id]:
            owner_at[(building.lon, building.lat)][gid] += households + 1
    sites = list(owner_at)
    owners = [max(sorted(shares), key=lambda g: shares[g]) for shares in owner_at.values()]
    if len(sites) == 1:
        return {owners[0]: area}
    cells = shapely.voronoi_polygons(shapely.MultiPoint(sites), extend_to=area, ordered=True)
    pieces: dict[str, list[BaseGeometry]] = defaultdict(list)
    for cell, owner in zip(cells.geoms, owners, strict=True):
        piece = polygonal(cell.intersection(area))
        if not piece.is_empty:
            pieces[owner].append(piece)
    return {gid: repair(shapely.union_all(parts)) or shapely.Polygon() for gid, parts in pieces.items()}


def _engine_buildings(communities: Iterable[Area]) -> tuple[list[gridding.Building], dict[str, list], int]:
    community_ids = [c.pk for c in communities]
    rows = (
        Building.objects.filter(community_id__in=community_ids)
        .annotate(n=Count("households"))
        .values_list("pk", "community_id", "lon", "lat", "entrances", "n")
    )
    per_grid: dict[int, dict[int | None, int]] = defaultdict(dict)
    for building_id, grid_id, n in household_counts(community_ids):
        per_grid[building_id][grid_id] = n
    buildings: list[gridding.Building] = []
    current: dict[str, list] = {}
    unlocated = 0
    for pk, community_id, lon, lat, entrances, n in rows:
        if lon is None or lat is None:
            unlocated += 1
            continue
        bid = str(pk)
        buildings.append(
            gridding.Building(
                id=bid, lon=lon, lat=lat, households=n, community=str(community_id), entrances=max(1, entrances)
            )
        )
        current[bid] = [(engine_id(g), h) for g, h in sorted(per_grid[pk].items(), key=lambda kv: kv[0] or 0) if g]
    return buildings, current, unlocated


def communities_of(area: Area) -> list[Area]:
    """The communities a preview of ``area`` divides: itself, or those of its street or district."""
    if area.level == Area.Level.COMMUNITY:
        return [area]
    column = {"district": "district", "street": "street"}[area.level]
    return list(Area.objects.filter(level=Area.Level.COMMUNITY, **{column: area}).select_related("district"))


def propose(
    *, communities: list[Area], mode: str = "rebalance", target: int | None = None, tolerance: float = 0.10
) -> Proposal:
    """Run the engine on these communities; ``rebalance`` keeps today's grids where it can."""
    if mode not in MODES:
        raise ValueError(mode)
    target = target or (communities[0].district.target_households if communities and communities[0].district else 300)
    buildings, current, unlocated = _engine_buildings(communities)
    previous = {bid: parts for bid, parts in current.items() if parts}
    if mode == "rebalance" and previous:
        division = gridding.rebalance(buildings, previous, target=target, tolerance=tolerance)
    else:
        division = gridding.divide(buildings, target=target, tolerance=tolerance)
        division = _keep_identities(division, current)
    figures = gridding.evaluate(buildings, division.assignment, target=target, tolerance=tolerance) if buildings else {}
    figures["moved_households"] = moved_households(current, division.assignment)
    figures["seconds"] = round(division.seconds, 3)
    return Proposal(
        mode=mode,
        target=target,
        tolerance=tolerance,
        communities=communities,
        buildings=buildings,
        division=division,
        figures=figures,
        unlocated=unlocated,
        current=current,
    )


def moved_households(current: dict[str, list[tuple[str, int]]], proposed: dict[str, list[tuple[str, int]]]) -> int:
    """Households whose grid changes, per building: the increase summed over grids."""
    return sum(moved_to(current, proposed).values())


def moved_to(current: dict[str, list[tuple[str, int]]], proposed: dict[str, list[tuple[str, int]]]) -> dict[str, int]:
    """Households whose grid changes, by the engine id of the grid they move to."""
    moved: dict[str, int] = defaultdict(int)
    for bid, parts in proposed.items():
        before: dict[str, int] = defaultdict(int)
        for gid, n in current.get(bid, []):
            before[gid] += n
        if not before:
            continue
        for gid, n in parts:
            if n > before.get(gid, 0):
                moved[gid] += n - before.get(gid, 0)
    return dict(moved)


def _keep_identities(division: gridding.Division, current: dict[str, list[tuple[str, int]]]) -> gridding.Division:
    """A fresh division still keeps the names, workers and branches of the grids it overlaps most."""
    from scipy.optimize import linear_sum_assignment

    new_ids = list(division.grids)
    old_ids = sorted({gid for parts in current.values() for gid, _ in parts})
    if not new_ids or not old_ids:
        return division
    overlap = [[0] * len(old_ids) for _ in new_ids]
    new_index = {g: i for i, g in enumerate(new_ids)}
    old_index = {g: j for j, g in enumerate(old_ids)}
    for bid, parts in division.assignment.items():
        before = current.get(bid, [])
        for new_gid, n_new in parts:
            for old_gid, n_old in before:
                overlap[new_index[new_gid]][old_index[old_gid]] += min(n_new, n_old)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    rename = {new_ids[r]: old_ids[c] for r, c in zip(rows, cols, strict=True) if overlap[r][c] > 0}
    assignment = {bid: [(rename.get(gid, gid), n) for gid, n in parts] for bid, parts in division.assignment.items()}
    grids = {}
    for gid, grid in division.grids.items():
        grid.id = rename.get(gid, gid)
        grids[grid.id] = grid
    return gridding.Division(
        division.target, division.tolerance, assignment, grids, division.moved_households, division.seconds
    )
