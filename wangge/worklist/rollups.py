"""Visit coverage per area in ``CoverageCount``, refreshed by the worker every ``EVERY`` seconds.

Counting a district's 231,555 households against 155,000 visits took ~3 s on every visit to the
coverage page (issue 16). The refresh reads households, visits and the last months' tasks once,
adds each row to its grid, community, street and district, and replaces the rows in one
transaction. Coverage is shown to community, street and district staff, who see whole areas, so a
row is exactly what they would count live. Where no row exists yet (a new area, before the first
refresh) the page counts those areas live with the same code (``figures``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from wangge.areas.models import Area
from wangge.registry.models import Household
from wangge.worklist.models import CoverageCount, Task, Visit

#: seconds between refreshes by the worker: how stale the coverage figures may be (plus one refresh)
EVERY = 600
#: visits and tasks of the last this many days count towards coverage
COVERAGE_DAYS = 90
#: months shown by the figures over time
MONTHS = 6
LEVELS = ("grid", "community", "street", "district")


def months_start(today: dt.date, months: int = MONTHS) -> dt.date:
    """The first day of the earliest month of the figures over time."""
    return (today.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)


def _areas_of(row: Iterable[Any]) -> Iterable[int]:
    return (pk for pk in row if pk is not None)


def figures(today: dt.date, *, within: Q | None = None, now: dt.datetime | None = None) -> dict[int, CoverageCount]:
    """Unsaved coverage rows for every area with households, visits or tasks (``within``: a
    filter on the area columns, to count a few areas live)."""
    now = now or timezone.now()
    scope = within if within is not None else Q()
    since = today - dt.timedelta(days=COVERAGE_DAYS)
    since_at = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    start = months_start(today)
    rows: dict[int, CoverageCount] = {}

    def row(pk: int) -> CoverageCount:
        found = rows.get(pk)
        if found is None:
            found = rows[pk] = CoverageCount(area_id=pk, day=today, months={}, refreshed_at=now)
        return found

    households = Household.objects.filter(scope)
    for *areas, n in households.values_list(*LEVELS).annotate(n=Count("id")).order_by().values_list(*LEVELS, "n"):
        for pk in _areas_of(areas):
            row(pk).households += n
    never = households.exclude(Exists(Visit.objects.filter(household=OuterRef("pk"))))
    for *areas, n in never.values_list(*LEVELS).annotate(n=Count("id")).order_by().values_list(*LEVELS, "n"):
        for pk in _areas_of(areas):
            row(pk).never += n
    # Distinct households per area (a household re-divided into another grid counts in both).
    seen: dict[int, set[int]] = defaultdict(set)
    recent = Visit.objects.filter(scope, visited_at__gte=since_at).values_list("household_id", *LEVELS).distinct()
    for household, *areas in recent.iterator(chunk_size=5000):
        for pk in _areas_of(areas):
            seen[pk].add(household)
    for pk, households_seen in seen.items():
        row(pk).visited = len(households_seen)
    tasks = (
        Task.objects.filter(scope, due__gte=min(since, start), due__lt=today)
        .exclude(status=Task.Status.LAPSED)
        .values_list(*LEVELS, "due", "status", "visit__visited_at")
    )
    for *areas, due, status, visited in tasks.iterator(chunk_size=5000):
        on_time = status == Task.Status.DONE and visited is not None and timezone.localdate(visited) <= due
        month = due.strftime("%Y-%m") if due >= start else None
        for pk in _areas_of(areas):
            entry = row(pk)
            if due >= since:
                entry.due += 1
                entry.on_time += on_time
            if month is not None:
                cell = entry.months.setdefault(month, [0, 0])
                cell[0] += 1
                cell[1] += on_time
    return rows


def refresh(now: dt.datetime | None = None) -> int:
    """Recount every area; returns the number of rows written."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counted = figures(today, now=now)
    rows = [counted.get(pk) or CoverageCount(area_id=pk, day=today, refreshed_at=now) for pk in _all_areas()]
    with transaction.atomic():
        CoverageCount.objects.all().delete()
        CoverageCount.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _all_areas() -> list[int]:
    return list(Area.objects.values_list("pk", flat=True))


def coverage_of(areas: list[Area], *, today: dt.date) -> dict[int, CoverageCount]:
    """The rows of these areas: from the rollup, and those it lacks counted live now."""
    found = {row.area_id: row for row in CoverageCount.objects.filter(area__in=[a.pk for a in areas])}
    missing = [a for a in areas if a.pk not in found]
    if missing:
        within = Q(pk__in=[])
        for area in missing:
            within |= Q(**{area.level: area.pk})
        live = figures(today, within=within)
        for area in missing:
            found[area.pk] = live.get(area.pk) or CoverageCount(area_id=area.pk, day=today, refreshed_at=timezone.now())
    return found
