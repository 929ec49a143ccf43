"""The division's write: carry out a previewed division of communities into grids as one change."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _
from shapely.geometry import mapping

from wangge.accounts.models import AreaAssignment, Role, User
from wangge.areas.gridding.divide import entrance_counts
from wangge.areas.models import Area, Building, Organisation, models_with_a_grid
from wangge.core.audit import Action, audit
from wangge.division.proposal import Proposal, grid_pk
from wangge.registry.actions import households_regrid
from wangge.registry.models import Household
from wangge.registry.queries import households_in_buildings


def _entrance_rank(households: list[Household]) -> dict[str, int]:
    """Entrances of a building in their natural order (1, 2, … 10), as the engine counts them."""

    def key(label: str) -> tuple[int, str]:
        digits = re.sub(r"\D", "", label)
        return (int(digits) if digits else 10**6, label)

    labels = sorted({h.entrance for h in households}, key=key)
    return {label: i for i, label in enumerate(labels)}


def _grid_for_households(
    households: list[Household], parts: list[tuple[str, int]], entrances: int, grid_of: dict[str, Area]
) -> dict[int, Area]:
    """Household pk -> grid. A split building is cut at entrance boundaries, as the engine planned."""
    if len(parts) == 1:
        return {h.pk: grid_of[parts[0][0]] for h in households}
    counts = entrance_counts([n for _, n in parts], sum(n for _, n in parts), entrances)
    part_of_entrance: list[str] = []
    for (gid, _n), count in zip(parts, counts, strict=True):
        part_of_entrance += [gid] * count
    rank = _entrance_rank(households)
    majority = max(parts, key=lambda p: p[1])[0]
    result = {}
    for h in households:
        index = rank.get(h.entrance, -1)
        gid = part_of_entrance[index] if 0 <= index < len(part_of_entrance) else majority
        result[h.pk] = grid_of[gid]
    return result


def grids_apply(*, by: Any, proposal: Proposal) -> dict[str, Any]:
    """Carry out a previewed division as one audited change.

    Buildings, households, residents, search keys and everything else that carries a resident's
    grid move with it. Grids whose identity the proposal keeps keep their name, workers and
    organisations; new grids are created; grids left empty are removed, their organisations
    handed to the community and their workers listed for reassignment.
    """
    division = proposal.division
    polygons = proposal.polygons()
    communities = {str(c.pk): c for c in proposal.communities}
    with transaction.atomic():
        grid_of: dict[str, Area] = {}
        created: list[Area] = []
        numbers: dict[str, int] = defaultdict(int)
        for existing in Area.objects.filter(level=Area.Level.GRID, community__in=proposal.communities):
            numbers[str(existing.community_id)] += 1
        for gid, planned in division.grids.items():
            pk = grid_pk(gid)
            if pk is not None:
                grid_of[gid] = Area.objects.select_for_update().get(pk=pk, level=Area.Level.GRID)
                continue
            community = communities[planned.community]
            numbers[planned.community] += 1
            name = _("%(community)s第%(n)d网格") % {
                "community": community.short_name or community.name,
                "n": numbers[planned.community],
            }
            area = Area.objects.create(level=Area.Level.GRID, name=name, parent=community)
            grid_of[gid] = area
            created.append(area)
        for gid, area in grid_of.items():
            polygon = polygons.get(gid)
            if polygon is not None:
                area.boundary = mapping(polygon)
                area.save(update_fields=["boundary", "updated_at"])

        building_ids = [int(b.id) for b in proposal.buildings]
        households_by_building: dict[int, list[Household]] = defaultdict(list)
        for household in households_in_buildings(building_ids):
            households_by_building[household.building_id].append(household)
        entrances = dict(Building.objects.filter(pk__in=building_ids).values_list("pk", "entrances"))
        new_grid: dict[int, int] = {}
        building_grid: dict[int, list[int]] = defaultdict(list)
        for bid, parts in division.assignment.items():
            pk = int(bid)
            majority = max(parts, key=lambda p: p[1])[0]
            building_grid[grid_of[majority].pk].append(pk)
            for household_pk, area in _grid_for_households(
                households_by_building[pk], parts, entrances[pk], grid_of
            ).items():
                new_grid[household_pk] = area.pk
        for area_pk, pks in building_grid.items():
            Building.objects.filter(pk__in=pks).update(grid_id=area_pk)
        community_pks = [c.pk for c in proposal.communities]
        households_regrid(grid_of=new_grid, community_ids=community_pks)

        kept = {area.pk for area in grid_of.values()}
        emptied = list(Area.objects.filter(level=Area.Level.GRID, community_id__in=community_pks).exclude(pk__in=kept))
        unassigned_workers = list(
            User.objects.filter(assignments__area__in=emptied, role=Role.GRID_WORKER).values_list("username", flat=True)
        )
        Organisation.objects.filter(area__in=emptied).update(area_id=Subquery(
            Area.objects.filter(pk=OuterRef("area_id")).values("community_id")[:1]
        ))  # fmt: skip
        AreaAssignment.objects.filter(area__in=emptied).delete()
        for model in models_with_a_grid():  # e.g. unlocated buildings of removed grids
            model._default_manager.filter(grid__in=emptied).update(grid=None)
        removed = [str(area) for area in emptied]
        Area.objects.filter(pk__in=[a.pk for a in emptied]).delete()

        result = {
            "mode": proposal.mode,
            "figures": proposal.figures,
            "created": [str(a) for a in created],
            "created_ids": [a.pk for a in created],
            "removed": removed,
            "unassigned_workers": unassigned_workers,
            "unlocated_buildings": proposal.unlocated,
        }
        names = "、".join(str(c) for c in proposal.communities[:5])
        audit(
            actor=by,
            action=Action.UPDATE,
            object_type="areas.division",
            object_id=",".join(str(pk) for pk in community_pks[:50]),
            summary=_("调整网格：%(names)s，%(grids)d 个网格，移动 %(moved)d 户")
            % {"names": names, "grids": len(grid_of), "moved": proposal.figures.get("moved_households", 0)},
            detail={k: v for k, v in result.items() if k != "figures"} | {"figures": proposal.figures},
        )
    return result
