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
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from wangge.accounts import policy
from wangge.areas.models import Area
from wangge.areas.queries import areas_within
from wangge.core.audit import Action, audit
from wangge.core.scope import NOTHING, area_filter
from wangge.groups import queries as group_queries
from wangge.groups.models import Register
from wangge.registry.models import Household, Rental
from wangge.worklist.models import Rule, Task, Visit
from wangge.worklist.rollups import COVERAGE_DAYS

UPCOMING_DAYS = 7


def _scoped(objects: QuerySet[Any], user: Any, *, helper: Q) -> QuerySet[Any]:
    """Staff see their areas; a party member or volunteer sees what ``helper`` opens to them."""
    if policy.is_worklist_staff(user):
        return objects.filter(area_filter(user))
    if policy.is_helper(user):
        return objects.filter(helper)
    return objects.filter(NOTHING)


def task_policy(user: Any, registers: list[Register] | None = None) -> Q:
    """The tasks of the registers' follow-ups only for those the register's policy lets learn
    who is on it; the rentals' tasks only for those who may read the rentals."""
    visible = group_queries.registers_visible_to(user) if registers is None else registers
    codes = [register.code for register in visible if policy.can_see_register(user, register)]
    allowed = Q(listing__isnull=True)
    if codes and not policy.sees_only_wards(user):
        allowed |= Q(listing__register_id__in=codes)
    if not (policy.can_view_registry(user) and not policy.sees_only_wards(user) and policy.is_worklist_staff(user)):
        allowed &= Q(rental__isnull=True)
    return allowed


def tasks_visible_to(user: Any, *, registers: list[Register] | None = None) -> QuerySet[Task]:
    """``registers``: the user's ``registers_visible_to``, when the caller has them already."""
    tasks = _scoped(Task.objects.all(), user, helper=Q(household__helper_links__helper=user))
    return tasks.filter(task_policy(user, registers))


def read_follow_ups(
    user: Any, tasks: list[Task], *, due_by: dt.date, registers: list[Register] | None = None
) -> list[Task]:
    """``tasks`` less the registers' follow-ups the user may not read now; those kept are read
    through ``groups.queries.listings_due`` (policy-checked, audited with the purpose 工作清单).
    A follow-up recorded on the register since the task was made drops out at once."""
    if not any(task.listing_id is not None for task in tasks):
        return tasks
    purpose = group_queries.Purpose.WORKLIST
    due = {listing.pk for listing in group_queries.listings_due(user, on=due_by, purpose=purpose, registers=registers)}
    return [task for task in tasks if task.listing_id is None or task.listing_id in due]


def visits_visible_to(user: Any) -> QuerySet[Visit]:
    return _scoped(Visit.objects.all(), user, helper=Q(recorded_by=user))


def households_to_visit(user: Any) -> QuerySet[Household]:
    """Households the user may record a visit to."""
    return _scoped(Household.objects.all(), user, helper=Q(helper_links__helper=user))


def tasks_for_api(user: Any, *, today: dt.date, everything: bool = False) -> QuerySet[Task]:
    """The API's task list: open tasks due by today (the registers' follow-ups read through
    ``listings_due``, audited), or every task in scope less the registers' follow-ups, whose
    history is read on the registers' own pages."""
    tasks = tasks_visible_to(user).select_related("rule", "resident")
    if everything:
        return tasks.filter(listing__isnull=True).order_by("-due", "-id")
    tasks = tasks.filter(status=Task.Status.OPEN, due__lte=today).order_by("due", "id")
    if tasks.filter(listing__isnull=False).exists():
        due = [
            listing.pk for listing in group_queries.listings_due(user, on=today, purpose=group_queries.Purpose.WORKLIST)
        ]
        tasks = tasks.filter(Q(listing__isnull=True) | Q(listing__in=due))
    return tasks


def get_task(user: Any, pk: Any) -> Task:
    try:
        task = tasks_visible_to(user).select_related("rule", "resident", "household__building").get(pk=pk)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if task.listing_id is not None:
        # The register's own read: a 404 unless its policy lets the user see the listing; audited.
        group_queries.get_listing(user, task.listing_id, purpose=group_queries.Purpose.WORKLIST)
    return task


def get_visit(user: Any, pk: Any) -> Visit:
    try:
        return visits_visible_to(user).select_related("household__building", "resident").get(pk=pk)
    except (Visit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def visit_read(user: Any, visit: Visit) -> None:
    """Audit a read of a visit's notes or photo (visit notes are sensitive, as the registry is)."""
    audit(
        actor=user,
        action=Action.VIEW,
        obj=visit,
        summary=_("查看走访记录 %(address)s") % {"address": visit.household.address},
    )


def visits_of(user: Any, household: Household, *, limit: int = 5) -> list[Visit]:
    """The household's latest visits the user may read (no notes shown: not audited)."""
    return list(
        visits_visible_to(user)
        .filter(household=household)
        .only("pk", "visited_at", "kind", "photo_thumb", "case_id")
        .order_by("-visited_at", "-id")[:limit]
    )


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
    """One household (or a rented room with no household registered) on the morning's walk."""

    household: Household | None
    tasks: list[Task] = field(default_factory=list)
    rental: Rental | None = None

    @property
    def overdue(self) -> bool:
        return any(t.overdue for t in self.tasks)  # type: ignore[attr-defined]

    @property
    def visit_tasks(self) -> list[Task]:
        """The tasks a visit completes (a rental's are done by its inspection or new lease)."""
        return [t for t in self.tasks if t.rental_id is None]

    def walk_key(self) -> tuple[str, str, str]:
        if self.household is not None:
            return (self.household.building.name, self.household.entrance, self.household.room)
        assert self.rental is not None
        room = self.rental.room
        return (room.building.name, room.entrance, room.number)


def worklist(user: Any, *, today: dt.date, days: int = 0, grid: Area | None = None) -> list[Stop]:
    """Open tasks due by ``today + days`` in walking order: building, entrance, room; only those
    of ``grid`` if given (staff above the grid open one grid's list at a time)."""
    horizon = today + dt.timedelta(days=days)
    registers = group_queries.registers_visible_to(user)  # read once for the policy and the read
    tasks = tasks_visible_to(user, registers=registers)
    if grid is not None:
        tasks = tasks.filter(grid=grid)
    tasks = (
        tasks.filter(Q(household__isnull=False) | Q(rental__isnull=False), status=Task.Status.OPEN, due__lte=horizon)
        .select_related("rule", "resident", "household__building")
        .only(
            "pk",
            "due",
            "household_id",
            "assignee_id",
            "listing_id",
            "rental_id",
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
    shown = read_follow_ups(user, list(tasks), due_by=horizon, registers=registers)
    # A rented room with no household registered is a stop of its own (rare: one query for all).
    rooms = {t.rental_id for t in shown if t.household_id is None}
    rentals = Rental.objects.select_related("room__building").in_bulk(rooms) if rooms else {}
    stops: dict[tuple[str, int], Stop] = {}
    for task in shown:
        task.overdue = task.due < today  # type: ignore[attr-defined]
        if task.household_id is not None:
            stop = stops.setdefault(("h", task.household_id), Stop(household=task.household))
        else:
            assert task.rental_id is not None
            stop = stops.setdefault(("r", task.rental_id), Stop(household=None, rental=rentals[task.rental_id]))
        stop.tasks.append(task)
    if not rooms:
        return list(stops.values())  # in walking order already (the query's)
    return sorted(stops.values(), key=Stop.walk_key)


def open_tasks_of(user: Any, household: Household) -> list[Task]:
    """The household's open tasks a visit may complete; a register's follow-up is read through
    the register (``get_listing``: policy-checked, audited with the purpose 工作清单)."""
    tasks = list(
        tasks_visible_to(user)
        .filter(household=household, status=Task.Status.OPEN, rental__isnull=True)
        .select_related("rule", "resident")
        .order_by("due")
    )
    return readable(user, tasks)


def due_by(tasks: list[Task], *, today: dt.date, days: int) -> list[Task]:
    """The tasks the worklist shows: due by ``today + days``."""
    return [t for t in tasks if t.due <= today + dt.timedelta(days=days)]


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


def escalated_in(user: Any, where: Q) -> QuerySet[Any]:
    """Ids of the overdue tasks escalated to the community secretary, ``where`` (an area's
    filter), that the user may see, oldest first: paginate these, then read one page with
    ``escalated_page`` (sorting the district's 11,000 full rows took ~100 ms; the ids come from
    the summary index)."""
    return (
        tasks_visible_to(user)
        .filter(where, status=Task.Status.OPEN, escalated_at__isnull=False)
        .order_by("due", "id")
        .values_list("pk", flat=True)
    )


def escalated_page(user: Any, ids: list[int]) -> list[Task]:
    """One page of ``escalated_in``, in its order, less the registers' follow-ups the user may
    not read (``readable``)."""
    found = (
        tasks_visible_to(user)
        .filter(pk__in=ids)
        .select_related("rule", "resident", "household__building", "grid")
        .in_bulk()
    )
    return readable(user, [found[pk] for pk in ids if pk in found])


def readable(user: Any, tasks: list[Task]) -> list[Task]:
    """``tasks`` less the registers' follow-ups the user may not read; each one kept is read
    through the register (``get_listing``: policy-checked, audited with the purpose 工作清单)."""
    kept = []
    for task in tasks:
        if task.listing_id is not None:
            try:
                group_queries.get_listing(user, task.listing_id, purpose=group_queries.Purpose.WORKLIST)
            except Http404:
                continue
        kept.append(task)
    return kept
