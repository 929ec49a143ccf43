"""Every scoped read of missing-person protection.

Locations are the most sensitive data Wangge holds, so they have their own, narrower rule than
the registry: only the person's guardians, staff assigned to an open incident for the person, and
district administrators of the person's district may see them, and only while consent stands.
Everyone else gets a 404, exactly as for an enrolment that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from wangge.accounts.models import Role
from wangge.core.scope import NOTHING, area_filter
from wangge.protection.models import Alert, Consent, Enrolment, Incident, Location

# Roles that see enrolments (not locations) of the people in their areas.
AREA_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.GRID_WORKER})


def _active(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def _consented() -> Exists:
    return Exists(Consent.objects.filter(enrolment=OuterRef("pk"), withdrawn_at__isnull=True, covers_tracking=True))


def enrolments_visible_to(user: Any) -> QuerySet[Enrolment]:
    if not _active(user):
        return Enrolment.objects.none()
    query = Q(resident__guardianships__guardian=user)
    query |= Q(incidents__status=Incident.Status.OPEN, incidents__searchers=user)
    if user.role in AREA_ROLES:
        query |= area_filter(user)
    return Enrolment.objects.filter(query).distinct()


def get_enrolment(user: Any, pk: Any) -> Enrolment:
    try:
        return enrolments_visible_to(user).select_related("resident", "grid", "community").get(pk=pk)
    except (Enrolment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _location_filter(user: Any) -> Q:
    if not _active(user):
        return NOTHING
    query = Q(resident__guardianships__guardian=user)
    query |= Q(incidents__status=Incident.Status.OPEN, incidents__searchers=user)
    if user.role == Role.DISTRICT_ADMIN:
        query |= area_filter(user)
    return query


def enrolments_with_locations_visible_to(user: Any) -> QuerySet[Enrolment]:
    """Enrolments whose locations the user may read: consent stands and the user is entitled."""
    return Enrolment.objects.filter(_location_filter(user)).filter(_consented()).distinct()


def get_enrolment_for_locations(user: Any, pk: Any) -> Enrolment:
    try:
        return enrolments_with_locations_visible_to(user).select_related("resident").get(pk=pk)
    except (Enrolment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def trail(enrolment: Enrolment, *, since: Any = None, limit: int = 5000) -> QuerySet[Location]:
    """The person's locations in time order (call only after ``get_enrolment_for_locations``)."""
    rows = Location.objects.filter(enrolment=enrolment)
    if since is not None:
        rows = rows.filter(recorded_at__gte=since)
    return rows.order_by("-recorded_at")[:limit]


def alerts_visible_to(user: Any) -> QuerySet[Alert]:
    """Alerts of the people in the user's areas, or of the people the user is guardian of."""
    if not _active(user):
        return Alert.objects.none()
    query = Q(enrolment__resident__guardianships__guardian=user)
    if user.role in AREA_ROLES:
        query |= area_filter(user)
    return Alert.objects.filter(query).distinct()


def incidents_visible_to(user: Any) -> QuerySet[Incident]:
    if not _active(user):
        return Incident.objects.none()
    query = Q(enrolment__resident__guardianships__guardian=user) | Q(searchers=user)
    if user.role in AREA_ROLES:
        query |= area_filter(user)
    return Incident.objects.filter(query).distinct()
