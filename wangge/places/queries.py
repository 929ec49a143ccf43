"""Scoped reads of units, places, inspections and rectifications.

Units and places carry their area columns like rooms, so the scope is the registry's
``area_filter``; a guardian sees none. ``get_*`` raise ``Http404`` out of scope, exactly as for
an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from wangge.accounts import policy
from wangge.core.scope import area_filter
from wangge.places.models import Inspection, Place, Rectification, Unit

#: an inspection due within this many days is shown as due soon
DUE_SOON_DAYS = 14


def _scope(user: Any) -> Q | None:
    if not policy.can_view_registry(user) or policy.sees_only_wards(user):
        return None
    return area_filter(user)


def units_visible_to(user: Any) -> QuerySet[Unit]:
    scope = _scope(user)
    return Unit.objects.none() if scope is None else Unit.objects.filter(scope)


def places_visible_to(user: Any) -> QuerySet[Place]:
    scope = _scope(user)
    return Place.objects.none() if scope is None else Place.objects.filter(scope)


def rectifications_visible_to(user: Any) -> QuerySet[Rectification]:
    scope = _scope(user)
    return Rectification.objects.none() if scope is None else Rectification.objects.filter(scope)


def get_unit(user: Any, pk: Any) -> Unit:
    try:
        return units_visible_to(user).select_related("kind", "building", "room__building").get(pk=pk)
    except (Unit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_place(user: Any, pk: Any) -> Place:
    try:
        return (
            places_visible_to(user)
            .select_related("place_type", "hazard_level", "unit", "building", "room__building")
            .get(pk=pk)
        )
    except (Place.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_rectification(user: Any, pk: Any) -> Rectification:
    try:
        return (
            rectifications_visible_to(user)
            .select_related("place__place_type", "place__building", "inspection")
            .get(pk=pk)
        )
    except (Rectification.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _overdue(today: dt.date) -> Q:
    return Q(rectifications__done__isnull=True, rectifications__deadline__lt=today)


def places_needing_attention(user: Any, *, today: dt.date) -> QuerySet[Place]:
    """Places whose inspection is due (or overdue) within two weeks or which have a rectification
    past its deadline; the overdue rectifications counted on each, most urgent first."""
    return (
        places_visible_to(user)
        .annotate(overdue_rectifications=Count("rectifications", filter=_overdue(today)))
        .filter(Q(inspection_due__lte=today + dt.timedelta(days=DUE_SOON_DAYS)) | Q(overdue_rectifications__gt=0))
        .select_related("place_type", "hazard_level", "building", "room__building")
        .order_by("-overdue_rectifications", "inspection_due", "id")
    )


def rectifications_overdue(user: Any, *, today: dt.date) -> QuerySet[Rectification]:
    return (
        rectifications_visible_to(user)
        .filter(done__isnull=True, deadline__lt=today)
        .select_related("place__place_type")
        .order_by("deadline", "id")
    )


def inspections_of(place: Place) -> QuerySet[Inspection]:
    return place.inspections.select_related("inspector", "hazard_level")


def rectifications_of(place: Place) -> QuerySet[Rectification]:
    return place.rectifications.select_related("inspection", "case").order_by("done", "deadline", "id")


def place_flags(place: Place, *, today: dt.date) -> dict[str, bool]:
    return {
        "overdue": place.inspection_due < today,
        "due_soon": today <= place.inspection_due <= today + dt.timedelta(days=DUE_SOON_DAYS),
    }
