"""Every scoped read of the worklist: tasks, visits, households to visit and coverage.

Staff read their areas (``area_filter``); a party member or volunteer reads only the households
linked to them and their tasks, and only the visits they recorded. ``get_*`` raise ``Http404``
for anything out of scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.core.scope import NOTHING, area_filter
from wangge.registry.models import Household
from wangge.worklist.models import Rule, Task, Visit

COVERAGE_DAYS = 90
UPCOMING_DAYS = 7


def _scoped(objects: QuerySet[Any], user: Any, *, helper: Q) -> QuerySet[Any]:
    """Staff see their areas; a party member or volunteer sees what ``helper`` opens to them."""
    if policy.is_worklist_staff(user):
        return objects.filter(area_filter(user))
    if policy.is_helper(user):
        return objects.filter(helper)
    return objects.filter(NOTHING)


def tasks_visible_to(user: Any) -> QuerySet[Task]:
    return _scoped(Task.objects.all(), user, helper=Q(household__helper_links__helper=user))


def visits_visible_to(user: Any) -> QuerySet[Visit]:
    return _scoped(Visit.objects.all(), user, helper=Q(recorded_by=user))


def households_to_visit(user: Any) -> QuerySet[Household]:
    """Households the user may record a visit to."""
    return _scoped(Household.objects.all(), user, helper=Q(helper_links__helper=user))


def get_task(user: Any, pk: Any) -> Task:
    try:
        return tasks_visible_to(user).select_related("rule", "resident", "household__building").get(pk=pk)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_visit(user: Any, pk: Any) -> Visit:
    try:
        return visits_visible_to(user).select_related("household__building", "resident").get(pk=pk)
    except (Visit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_household(user: Any, pk: Any) -> Household:
    try:
        return households_to_visit(user).select_related("building", "grid", "head").get(pk=pk)
    except (Household.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def visit_recorded(user: Any, client_id: Any) -> bool:
    """Whether the user already recorded the visit with this client id."""
    try:
        return visits_visible_to(user).filter(client_id=client_id, recorded_by=user).exists()
    except (ValueError, TypeError, ValidationError):
        return False


def rules() -> QuerySet[Rule]:
    return Rule.objects.all()


@dataclass
class Stop:
    """One household on the morning's walk and its tasks."""

    household: Household
    tasks: list[Task] = field(default_factory=list)

    @property
    def overdue(self) -> bool:
        return any(t.overdue for t in self.tasks)  # type: ignore[attr-defined]


def worklist(user: Any, *, today: dt.date, days: int = 0) -> list[Stop]:
    """Open tasks due by ``today + days`` in walking order: building, entrance, room."""
    tasks = (
        tasks_visible_to(user)
        .filter(status=Task.Status.OPEN, due__lte=today + dt.timedelta(days=days), household__isnull=False)
        .select_related("rule", "resident", "household__building")
        .only(
            "pk",
            "due",
            "household_id",
            "assignee_id",
            "rule__name",
            "rule__name_en",
            "rule__priority",
            "resident__name",
            "household__entrance",
            "household__room",
            "household__building__name",
        )
        .order_by("household__building__name", "household__entrance", "household__room", "rule__priority", "due")
    )
    stops: dict[int, Stop] = {}
    for task in tasks:
        task.overdue = task.due < today  # type: ignore[attr-defined]
        assert task.household is not None and task.household_id is not None
        stops.setdefault(task.household_id, Stop(household=task.household)).tasks.append(task)
    return list(stops.values())


def open_tasks_of(user: Any, household: Household) -> list[Task]:
    return list(
        tasks_visible_to(user)
        .filter(household=household, status=Task.Status.OPEN)
        .select_related("rule", "resident")
        .order_by("due")
    )


def due_by(tasks: list[Task], *, today: dt.date, days: int) -> list[Task]:
    """The tasks the worklist shows: due by ``today + days``."""
    return [t for t in tasks if t.due <= today + dt.timedelta(days=days)]


@dataclass
class GridCoverage:
    grid: Area
    households: int = 0
    visited: int = 0  # households visited in the last COVERAGE_DAYS
    never: int = 0
    due: int = 0  # tasks due in the last COVERAGE_DAYS
    on_time: int = 0
    escalated: int = 0

    @property
    def visited_share(self) -> float:
        return self.visited / self.households if self.households else 0.0

    @property
    def on_time_share(self) -> float:
        return self.on_time / self.due if self.due else 1.0


def coverage(user: Any, *, today: dt.date) -> list[GridCoverage]:
    """Per grid of the user's areas: households visited lately and ever, checks done on time."""
    if not policy.can_see_coverage(user):
        return []
    grids = {g.pk: GridCoverage(grid=g) for g in areas_within(user).filter(level=Area.Level.GRID).order_by("code")}
    if not grids:
        return []
    since = today - dt.timedelta(days=COVERAGE_DAYS)
    households = Household.objects.filter(grid_id__in=grids)
    for grid_id, n in households.values_list("grid_id").annotate(n=Count("pk")).values_list("grid_id", "n"):
        grids[grid_id].households = n
    visits = Visit.objects.filter(grid_id__in=grids)
    recent = (
        visits.filter(visited_at__date__gte=since).values_list("grid_id").annotate(n=Count("household", distinct=True))
    )
    for grid_id, n in recent.values_list("grid_id", "n"):
        grids[grid_id].visited = n
    never = households.exclude(Exists(Visit.objects.filter(household=OuterRef("pk"))))
    for grid_id, n in never.values_list("grid_id").annotate(n=Count("pk")).values_list("grid_id", "n"):
        grids[grid_id].never = n
    tasks = Task.objects.filter(grid_id__in=grids, due__gte=since, due__lt=today).exclude(status=Task.Status.LAPSED)
    figures = tasks.values("grid_id").annotate(
        due_n=Count("pk"),
        on_time=Count("pk", filter=Q(status=Task.Status.DONE, visit__visited_at__date__lte=F("due"))),
        escalated=Count("pk", filter=Q(escalated_at__isnull=False, status=Task.Status.OPEN)),
    )
    for row in figures:
        entry = grids[row["grid_id"]]
        entry.due, entry.on_time, entry.escalated = row["due_n"], row["on_time"], row["escalated"]
    return list(grids.values())


def coverage_by_month(user: Any, *, today: dt.date, months: int = 6) -> list[tuple[str, int, int]]:
    """(YYYY-MM, tasks due, done on time) for the last months in the user's areas: the figures
    over time."""
    if not policy.can_see_coverage(user):
        return []
    start = (today.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    rows: dict[str, list[int]] = {}
    tasks = Task.objects.filter(area_filter(user), due__gte=start, due__lt=today).exclude(status=Task.Status.LAPSED)
    for due, status, visited in tasks.values_list("due", "status", "visit__visited_at").iterator(chunk_size=5000):
        month = rows.setdefault(due.strftime("%Y-%m"), [0, 0])
        month[0] += 1
        if status == Task.Status.DONE and visited is not None and visited.date() <= due:
            month[1] += 1
    return [(month, due, done) for month, (due, done) in sorted(rows.items())]


def unvisited_households(user: Any, grid: Area, *, today: dt.date, limit: int = 300) -> QuerySet[Household]:
    """ "Know every household": the grid's households not visited in the last 90 days."""
    if not policy.can_see_coverage(user) or not areas_within(user).filter(pk=grid.pk).exists():
        raise Http404
    since = today - dt.timedelta(days=COVERAGE_DAYS)
    recent = Visit.objects.filter(household=OuterRef("pk"), visited_at__date__gte=since)
    return (
        Household.objects.filter(grid=grid)
        .exclude(Exists(recent))
        .select_related("building", "head")
        .order_by("building__name", "entrance", "room")[:limit]
    )


def escalated(user: Any) -> QuerySet[Task]:
    """Overdue tasks shown to the community secretary."""
    if not policy.can_see_coverage(user):
        return Task.objects.none()
    return (
        Task.objects.filter(area_filter(user), status=Task.Status.OPEN, escalated_at__isnull=False)
        .select_related("rule", "resident", "household__building", "grid")
        .order_by("due")
    )
