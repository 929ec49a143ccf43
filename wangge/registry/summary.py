"""Counts for the home page and the area pages, always through the scoped queries.

One grouped query per table, so a district page costs the same few queries as a grid page; where
the user sees whole areas, the worker's rollups (``registry.rollups``, at most five minutes old)
stand in for counting, and ``counted_at`` says when they were taken.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import ngettext

from wangge.areas.models import Area, Building
from wangge.areas.queries import areas_visible_to, buildings_visible_to
from wangge.registry import rollups
from wangge.registry.models import Resident
from wangge.registry.queries import households_visible_to, residents_visible_to

LEVEL_ORDER = [Area.Level.DISTRICT, Area.Level.STREET, Area.Level.COMMUNITY, Area.Level.GRID]


@dataclass
class AreaSummary:
    area: Area
    households: int = 0
    residents: int = 0
    grids: int = 0
    children: list[AreaSummary] = field(default_factory=list)
    #: when the counts were taken, for counts from the rollups (None: counted just now)
    counted_at: dt.datetime | None = None


def _counts(queryset: Any, column: str) -> dict[int, int]:
    return {row[column]: row["n"] for row in queryset.values(column).annotate(n=Count("id")).order_by()}


def children_of(user: Any, area: Area) -> list[AreaSummary]:
    """The area's children the user may see, each with household and resident counts."""
    children = list(areas_visible_to(user).filter(parent=area).order_by("code", "name"))
    if not children:
        return []
    rolled = rollups.counts(user, children)
    if rolled is not None:
        return [
            AreaSummary(
                area=c,
                households=rolled[c.pk].households,
                residents=rolled[c.pk].residents,
                grids=rolled[c.pk].grids,
                counted_at=rolled[c.pk].refreshed_at,
            )
            for c in children
        ]
    column = children[0].level
    within = {area.level: area.pk}  # scoped tables have a column named after each level
    households = _counts(households_visible_to(user).filter(**within), column)
    residents = _counts(residents_visible_to(user).filter(status=Resident.Status.LIVING, **within), column)
    grids: dict[int, int] = {}
    if column != Area.Level.GRID:
        grids = _counts(areas_visible_to(user).filter(level=Area.Level.GRID, **{column + "__in": children}), column)
    return [
        AreaSummary(
            area=c, households=households.get(c.pk, 0), residents=residents.get(c.pk, 0), grids=grids.get(c.pk, 0)
        )
        for c in children
    ]


def area_totals(user: Any, area: Area) -> AreaSummary:
    rolled = rollups.counts(user, [area])
    if rolled is not None:
        row = rolled[area.pk]
        return AreaSummary(
            area=area,
            households=row.households,
            residents=row.residents,
            grids=row.grids if area.level != Area.Level.GRID else 1,
            counted_at=row.refreshed_at,
        )
    within = {area.level: area}
    return AreaSummary(
        area=area,
        households=households_visible_to(user).filter(**within).count(),
        residents=residents_visible_to(user).filter(status=Resident.Status.LIVING, **within).count(),
        grids=areas_visible_to(user).filter(level=Area.Level.GRID, **within).count()
        if area.level != Area.Level.GRID
        else 1,
    )


def buildings_with_counts(user: Any, grid: Area | None = None, community: Area | None = None) -> list[Building]:
    """Buildings in scope (optionally of one grid), each with ``household_count``."""
    buildings = buildings_visible_to(user)
    if grid is not None:
        buildings = buildings.filter(grid=grid)
    if community is not None:
        buildings = buildings.filter(community=community)
    result = list(buildings.order_by("name"))
    counts = _counts(households_visible_to(user).filter(building__in=[b.pk for b in result]), "building")
    for building in result:
        building.household_count = counts.get(building.pk, 0)  # type: ignore[attr-defined]
    result.sort(key=lambda b: natural_key(b.name))
    return result


def natural_key(text: str) -> tuple[Any, ...]:
    """``2号楼`` before ``10号楼``."""
    import re

    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def tree(user: Any) -> list[dict[str, Any]]:
    """The visible area tree as nested dicts with household counts rolled up from the grids."""
    nodes: dict[int, dict[str, Any]] = {
        a["id"]: {**a, "children": [], "households": 0}
        for a in areas_visible_to(user).values("id", "name", "level", "parent_id", "code")
    }
    grid_ids = [pk for pk, node in nodes.items() if node["level"] == Area.Level.GRID]
    per_grid = rollups.grid_households(user, grid_ids)
    if per_grid is None:
        per_grid = _counts(households_visible_to(user), "grid")
    for grid_id, n in per_grid.items():
        node = nodes.get(grid_id)
        while node is not None:
            node["households"] += n
            node = nodes.get(node["parent_id"])
    roots: list[dict[str, Any]] = []
    for node in sorted(nodes.values(), key=lambda n: (n["code"] or "~", natural_key(n["name"]))):
        parent = nodes.get(node["parent_id"])
        (parent["children"] if parent else roots).append(node)
    return roots


@dataclass
class TreeRow:
    """One node of ``tree`` in document order, for a template that loops once: ``closes`` counts
    the ``<ul>`` lists (with their ``<details>`` and ``<li>``) that end after this node."""

    url: str
    name: str
    households: str
    has_children: bool
    open: bool
    closes: range


def tree_rows(roots: list[dict[str, Any]]) -> list[TreeRow]:
    """``tree`` flattened, links and counts written here: 900 nested includes for a district took
    130-160 ms of CPU, and a ``{% url %}`` and ``{% blocktranslate %}`` per node half of what was left."""
    rows: list[TreeRow] = []
    # one reverse for all: the area page's URL with a marker where the id goes
    url = reverse("registry:area", args=[999999999]).replace("999999999", "{}")

    def walk(node: dict[str, Any], depth: int, closes: int) -> None:
        children = node["children"]
        n = node["households"]
        households = ngettext("%(n)s 户", "%(n)s 户", n) % {"n": n}
        rows.append(TreeRow(url.format(node["id"]), node["name"], households, bool(children), depth == 0, range(0)))
        if not children:
            rows[-1].closes = range(closes)
            return
        for index, child in enumerate(children):
            walk(child, depth + 1, closes + 1 if index == len(children) - 1 else 0)

    for root in roots:
        walk(root, 0, 0)
    return rows


def ancestors(user: Any, area: Area) -> list[Area]:
    """District → … → parent, only those the user may see (for breadcrumbs)."""
    ids = [i for i in (area.district_id, area.street_id, area.community_id) if i and i != area.pk]
    visible = {a.pk: a for a in areas_visible_to(user).filter(pk__in=ids)}
    return [visible[i] for i in ids if i in visible]


def group_by(items: list[Any], key: str) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        groups[getattr(item, key)].append(item)
    return dict(groups)
