"""Scoped reads of rooms, rentals and their inspections, and the building plan.

Rooms and rentals carry their area columns like households, so the scope is the same
``area_filter``; a guardian sees none (their wards' homes are on the household page). ``get_*``
raise ``Http404`` out of scope, exactly as for an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from wangge.accounts import policy
from wangge.areas.models import Building
from wangge.core.scope import area_filter
from wangge.registry import summary
from wangge.registry.models import Household, Rental, RentalInspection, Resident, Room

#: a lease ending within this many days is shown as expiring
EXPIRING_DAYS = 30
#: an inspection due within this many days is shown as due soon
DUE_SOON_DAYS = 14


def _scope(user: Any) -> Q | None:
    if not policy.can_view_registry(user) or policy.sees_only_wards(user):
        return None
    return area_filter(user)


def rooms_visible_to(user: Any) -> QuerySet[Room]:
    scope = _scope(user)
    return Room.objects.none() if scope is None else Room.objects.filter(scope)


def rentals_visible_to(user: Any) -> QuerySet[Rental]:
    scope = _scope(user)
    return Rental.objects.none() if scope is None else Rental.objects.filter(scope)


def with_owner_shown(user: Any, rooms: QuerySet[Room]) -> QuerySet[Room]:
    """``rooms`` with ``owner_shown``: the owner's name when they are a resident the user may see
    (``None``: an operator sees all), else the owner's name as typed in (``owner_name``)."""
    owners = Resident.objects.filter(pk=OuterRef("owner_id"))
    if user is not None:
        scope = _scope(user)
        if scope is None:
            return rooms.annotate(owner_shown=F("owner_name"))
        owners = owners.filter(scope)
    return rooms.annotate(owner_shown=Coalesce(Subquery(owners.values("name")[:1]), F("owner_name"), Value("")))


def get_room(user: Any, pk: Any) -> Room:
    try:
        return rooms_visible_to(user).select_related("building", "use", "owner", "grid", "community").get(pk=pk)
    except (Room.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_room_with_owner(user: Any, pk: Any) -> Room:
    """``get_room`` with ``owner_shown`` (``with_owner_shown``): for a form that edits the owner."""
    try:
        rooms = with_owner_shown(user, rooms_visible_to(user).select_related("building", "use"))
        return rooms.get(pk=pk)
    except (Room.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_rental(user: Any, pk: Any) -> Rental:
    try:
        return (
            rentals_visible_to(user)
            .select_related("room__building", "landlord", "hazard_level", "grid", "community")
            .get(pk=pk)
        )
    except (Rental.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def current_rentals(user: Any, *, today: dt.date) -> QuerySet[Rental]:
    """Leases in the user's areas that are running (not ended, not past their end)."""
    return rentals_visible_to(user).filter(Q(ended__isnull=True) | Q(ended__gt=today), end__gte=today)


def rentals_needing_attention(user: Any, *, today: dt.date) -> QuerySet[Rental]:
    """Running leases whose inspection is due (or overdue) soon or which end soon, most urgent first."""
    return (
        current_rentals(user, today=today)
        .filter(
            Q(inspection_due__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
            | Q(end__lte=today + dt.timedelta(days=EXPIRING_DAYS))
        )
        .order_by("inspection_due", "end", "id")
    )


def rentals_not_needing_attention(user: Any, *, today: dt.date) -> QuerySet[Rental]:
    """Running leases outside ``rentals_needing_attention`` (the rest of the list), soonest end first."""
    return (
        current_rentals(user, today=today)
        .filter(
            inspection_due__gt=today + dt.timedelta(days=DUE_SOON_DAYS),
            end__gt=today + dt.timedelta(days=EXPIRING_DAYS),
        )
        .order_by("end", "id")
    )


def rental_flags(rental: Rental, *, today: dt.date) -> dict[str, bool]:
    return {
        "overdue": rental.inspection_due < today,
        "due_soon": today <= rental.inspection_due <= today + dt.timedelta(days=DUE_SOON_DAYS),
        "expiring": rental.end <= today + dt.timedelta(days=EXPIRING_DAYS),
    }


def inspections_of(rental: Rental) -> QuerySet[RentalInspection]:
    return rental.inspections.select_related("inspector", "hazard_level")


def tenants_visible_to(user: Any, rental: Rental) -> list[Resident]:
    """The rental's tenants the user may see (a tenant registered in another grid is left out)."""
    # On the tenants' own area columns: a ``pk IN (residents in scope)`` subquery listed every
    # resident of a district (520,000 ids, ~300 ms) to keep one lease's two or three tenants.
    return list(rental.tenants.filter(area_filter(user)).select_related("population_type"))


# --- the building plan -----------------------------------------------------------------------


@dataclass
class PlanRoom:
    room: Room
    households: list[Household] = field(default_factory=list)
    residents: int = 0
    rented: bool = False

    @property
    def empty(self) -> bool:
        return self.residents == 0


@dataclass
class PlanFloor:
    floor: int | None
    rooms: list[PlanRoom]


@dataclass
class PlanEntrance:
    entrance: str
    floors: list[PlanFloor]
    rooms: int = 0
    empty: int = 0


def building_plan(user: Any, building: Building, *, today: dt.date) -> list[PlanEntrance]:
    """The building as entrances × floors (top floor first) × rooms, with who lives where.

    Only the rooms in the user's areas (a building split between grids shows each worker their
    entrances); households living in a room come with their head and living members' count.
    """
    living = Count("members", filter=Q(members__status=Resident.Status.LIVING))
    households = Household.objects.select_related("head").annotate(living=living).order_by("pk")
    rooms = list(
        rooms_visible_to(user)
        .filter(building=building)
        .select_related("use")
        .prefetch_related(Prefetch("households", queryset=households, to_attr="dwellers"))
        .annotate(
            running=Count(
                "rentals",
                filter=Q(rentals__end__gte=today) & (Q(rentals__ended__isnull=True) | Q(rentals__ended__gt=today)),
            )
        )
    )
    by_entrance: dict[str, dict[int | None, list[PlanRoom]]] = {}
    for room in rooms:
        dwellers: list[Any] = room.dwellers  # type: ignore[attr-defined]
        cell = PlanRoom(
            room=room,
            households=dwellers,
            residents=sum(h.living for h in dwellers),  # type: ignore[attr-defined]
            rented=room.running > 0,  # type: ignore[attr-defined]
        )
        by_entrance.setdefault(room.entrance, {}).setdefault(room.floor, []).append(cell)
    plan = []
    # Entrances in natural order (2 before 10), rooms without one last; top floor first, as
    # the building stands, and rooms whose floor is unknown at the bottom.
    for entrance in sorted(by_entrance, key=lambda e: (not e, summary.natural_key(e))):
        floors = by_entrance[entrance]
        ordered = sorted(floors, key=lambda f: (f is None, -(f or 0)))
        rows = [
            PlanFloor(floor, sorted(floors[floor], key=lambda c: summary.natural_key(c.room.number)))
            for floor in ordered
        ]
        cells = [cell for row in rows for cell in row.rooms]
        plan.append(PlanEntrance(entrance, rows, len(cells), sum(cell.empty for cell in cells)))
    return plan
