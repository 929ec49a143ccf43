"""The worklist above the grid: per child area, open tasks, those due today, overdue and escalated
(counted live from one index, ``worklist_task_summary_idx``), and visit coverage (from the
worker's rollup, ``worklist.rollups``). A grid worker walks a list; community, street and district
staff read this and drill down to a grid's list (issue 16: listing the district's 28,000 open
tasks took 8 s and 4.4 MB).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.core.scope import assigned_areas
from wangge.worklist import queries, rollups
from wangge.worklist.models import CoverageCount, Task

#: the level whose areas a page of this level's area lists
CHILD = {
    Area.Level.DISTRICT: Area.Level.STREET,
    Area.Level.STREET: Area.Level.COMMUNITY,
    Area.Level.COMMUNITY: Area.Level.GRID,
}
ANCESTORS = ("district", "street", "community")


def above_grid(user: Any) -> bool:
    """Whether the user's worklist is a summary by area: staff assigned a community, a street or
    the district (a grid worker, a party member or a volunteer walks a list)."""
    if not policy.is_worklist_staff(user):
        return False
    return any(level != Area.Level.GRID for level in assigned_areas(user))


def within(area: Area) -> Q:
    """Rows inside ``area``, filtered on its ancestors' columns too: the summary index's prefix."""
    columns = {column: getattr(area, f"{column}_id") for column in ANCESTORS if getattr(area, f"{column}_id")}
    return Q(**columns, **{area.level: area.pk})


@dataclass
class Row:
    area: Area | None  # None: tasks in no child area (a building not yet in a grid)
    open: int = 0
    due_today: int = 0
    overdue: int = 0
    escalated: int = 0
    coverage: CoverageCount | None = None

    def add(self, other: Row) -> None:
        self.open += other.open
        self.due_today += other.due_today
        self.overdue += other.overdue
        self.escalated += other.escalated

    @property
    def visited_percent(self) -> int | None:
        """Households visited in the last ``COVERAGE_DAYS`` days, in per cent (None: no figure)."""
        figures = self.coverage
        return round(100 * figures.visited / figures.households) if figures and figures.households else None

    @property
    def on_time_percent(self) -> int | None:
        """Tasks due in the last ``COVERAGE_DAYS`` days done by their day, in per cent."""
        figures = self.coverage
        return round(100 * figures.on_time / figures.due) if figures and figures.due else None


@dataclass
class Summary:
    parent: Area | None  # None: the user's own assigned areas, one row each
    rows: list[Row]
    total: Row
    #: when the oldest coverage figure shown was counted (None: no coverage shown)
    counted_at: dt.datetime | None = None
    months: list[tuple[str, int, int]] = field(default_factory=list)


def _counts(user: Any, *, where: Q, by: str | None, today: dt.date) -> dict[int | None, Row]:
    """Open tasks the user may see, ``where``, grouped ``by`` an area column (None: one row)."""
    tasks = Task.objects.filter(where, status=Task.Status.OPEN).filter(queries.task_policy(user))
    figures = {
        "n": Count("due"),
        "today_n": Count("due", filter=Q(due=today)),
        "overdue_n": Count("due", filter=Q(due__lt=today)),
        "escalated_n": Count("due", filter=Q(escalated_at__isnull=False)),
    }
    if by is None:
        total = tasks.aggregate(**figures)
        grouped = [{"key": None, **total}]
    else:
        grouped = [{"key": row.pop(by), **row} for row in tasks.values(by).annotate(**figures).order_by()]
    return {
        row["key"]: Row(
            area=None,
            open=row["n"] or 0,
            due_today=row["today_n"] or 0,
            overdue=row["overdue_n"] or 0,
            escalated=row["escalated_n"] or 0,
        )
        for row in grouped
    }


def home(user: Any) -> list[Area]:
    """The areas assigned to the user: the rows of their summary when there are several."""
    ids = [pk for pks in assigned_areas(user).values() for pk in pks]
    depth = Area.LEVEL_DEPTH
    return sorted(Area.objects.filter(pk__in=ids), key=lambda a: (depth[Area.Level(a.level)], a.code, a.name))


def within_any(areas: list[Area]) -> Q:
    query = Q(pk__in=[])
    for area in areas:
        query |= within(area)
    return query


def summary(user: Any, *, parent: Area | None, today: dt.date) -> Summary:
    """Per child area of ``parent`` (in the user's areas: the caller checked), or per area
    assigned to the user when ``parent`` is None; the parent's totals; coverage if the user may
    see it."""
    total = Row(area=parent)
    if parent is None:
        areas = home(user)
        rows = []
        for area in areas:
            row = _counts(user, where=within(area), by=None, today=today)[None]
            row.area = area
            rows.append(row)
        # once over all of them: assigned areas may nest (a street and one of its communities)
        total.add(_counts(user, where=within_any(areas), by=None, today=today)[None])
    else:
        child = CHILD[Area.Level(parent.level)]
        areas = list(Area.objects.filter(parent=parent, level=child).order_by("code", "name"))
        counts = _counts(user, where=within(parent), by=child, today=today)
        rows = [counts.get(area.pk) or Row(area=area) for area in areas]
        for area, row in zip(areas, rows, strict=True):
            row.area = area
        for row in counts.values():
            total.add(row)
        if None in counts:  # tasks of buildings not yet in a child area: a row of their own
            rows.append(counts[None])
    result = Summary(parent=parent, rows=rows, total=total)
    if policy.can_see_coverage(user):
        shown = areas + ([parent] if parent is not None else [])
        coverage = rollups.coverage_of(shown, today=today)
        for row in rows:
            row.coverage = coverage.get(row.area.pk) if row.area is not None else None
        if parent is not None:
            total.coverage = coverage.get(parent.pk)
        if coverage:
            result.counted_at = min(figures.refreshed_at for figures in coverage.values())
        result.months = _months([total.coverage] if total.coverage else [r.coverage for r in rows if r.coverage])
    return result


def _months(figures: list[CoverageCount]) -> list[tuple[str, int, int]]:
    """(YYYY-MM, tasks due, done on time), summed over the rows' rollups."""
    months: dict[str, list[int]] = {}
    for row in figures:
        for month, (due, done) in (row.months or {}).items():
            cell = months.setdefault(month, [0, 0])
            cell[0] += due
            cell[1] += done
    return [(month, due, done) for month, (due, done) in sorted(months.items())]
