"""Where a missing person was last, and who is nearest to search: the grid workers and
volunteers of the grids around that point and of the person's own grid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from wangge.accounts.models import Role, User
from wangge.areas.geometry import distance_to_area, nearest_areas
from wangge.areas.models import Area, Membership, Organisation
from wangge.protection import queries
from wangge.protection.models import Alert, Device, Enrolment, Location, Responder

# How many grids around the last known location are alerted (the containing one included).
NEAREST_GRIDS = 3


@dataclass(frozen=True)
class LastKnown:
    lat: float
    lon: float
    at: dt.datetime | None
    source: str  # "device", "alert", "sighting" or "home"


def last_known(enrolment: Enrolment, *, alert: Alert | None = None) -> LastKnown | None:
    """The newest position we know for the person: phone, alert, or the home address."""
    candidates: list[LastKnown] = []
    if enrolment.active_consent() is not None:
        device = (
            Device.objects.filter(enrolment=enrolment, last_seen__isnull=False, last_lat__isnull=False)
            .order_by("-last_seen")
            .first()
        )
        if device is not None and device.last_lat is not None and device.last_lon is not None:
            candidates.append(LastKnown(device.last_lat, device.last_lon, device.last_seen, "device"))
        location = Location.objects.filter(enrolment=enrolment).order_by("-recorded_at").first()
        if location is not None:
            candidates.append(LastKnown(location.lat, location.lon, location.recorded_at, "device"))
        if alert is not None and alert.lat is not None and alert.lon is not None:
            candidates.append(LastKnown(alert.lat, alert.lon, alert.fix_at or alert.raised_at, "alert"))
    if candidates:
        return max(candidates, key=lambda c: c.at or dt.datetime.min.replace(tzinfo=dt.UTC))
    household = enrolment.resident.household
    building = household.building if household is not None else None
    if building is not None and building.lat is not None and building.lon is not None:
        return LastKnown(building.lat, building.lon, None, "home")
    return None


@dataclass(frozen=True)
class Candidate:
    user: User
    kind: str
    grid_id: int | None
    distance_m: float | None


def nearest_responders(enrolment: Enrolment, where: LastKnown | None) -> list[Candidate]:
    """Grid workers and volunteers of the grids nearest to ``where`` and of the person's grid.

    Nearest first; a person appears once, under the closest grid they serve.
    """
    grids: dict[int, float | None] = {}
    if where is not None:
        for grid_id, metres in nearest_areas(level=Area.Level.GRID, lat=where.lat, lon=where.lon, count=NEAREST_GRIDS):
            grids[grid_id] = metres
    own = enrolment.grid_id
    if own is not None and own not in grids:
        grids[own] = (
            distance_to_area(level=Area.Level.GRID, area_id=own, lat=where.lat, lon=where.lon)
            if where is not None
            else None
        )

    found: dict[int, Candidate] = {}

    def order(c: Candidate) -> tuple[int, float]:
        return (
            0 if c.kind == Responder.Kind.OWN_GRID_WORKER else 1,
            c.distance_m if c.distance_m is not None else 1e12,
        )

    def offer(candidate: Candidate) -> None:
        current = found.get(candidate.user.pk)
        if current is None or order(candidate) < order(current):
            found[candidate.user.pk] = candidate

    workers = User.objects.filter(role=Role.GRID_WORKER, is_active=True, assignments__area_id__in=list(grids))
    assignments = list(workers.values_list("pk", "assignments__area_id"))
    users = {u.pk: u for u in workers.distinct()}
    for user_id, grid_id in assignments:
        if grid_id not in grids:
            continue
        kind = Responder.Kind.OWN_GRID_WORKER if grid_id == own else Responder.Kind.GRID_WORKER
        offer(Candidate(users[user_id], kind, grid_id, grids[grid_id]))

    memberships = Membership.objects.filter(
        organisation__kind=Organisation.Kind.VOLUNTEERS,
        organisation__area_id__in=list(grids),
        user__isnull=False,
        user__is_active=True,
    ).select_related("user", "organisation")
    for membership in memberships:
        assert membership.user is not None
        grid_id = membership.organisation.area_id
        offer(Candidate(membership.user, Responder.Kind.VOLUNTEER, grid_id, grids[grid_id]))
    return sorted(found.values(), key=order)


def would_notify(enrolment: Enrolment, *, alert: Alert | None = None, by: Any = None) -> list[User]:
    """Who reporting the person missing now would notify (the nearest responders and the
    guardians, not the reporter), for the page that asks before it is done. It reads only."""
    users = {c.user.pk: c.user for c in nearest_responders(enrolment, last_known(enrolment, alert=alert))}
    for guardian in queries.guardians_of(enrolment):
        users[guardian.pk] = guardian
    reporter = getattr(by, "pk", None)
    if reporter is not None:
        users.pop(reporter, None)
    return list(users.values())
