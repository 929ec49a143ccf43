"""Every scoped read of personal data in the registry.

Views, the API, search and export call these with the acting user and nothing else filters
households or residents by hand. ``get_*`` raise ``Http404`` for objects out of scope, so a
page never confirms that someone exists outside the caller's areas.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from wangge.accounts.models import REGISTRY_ROLES, Role
from wangge.areas.models import Area
from wangge.core.scope import NOTHING, area_filter, assigned_areas, is_active_user
from wangge.registry.models import Household, Resident, SearchKey


def _resident_filter(user: Any) -> Q:
    if not is_active_user(user) or user.role not in REGISTRY_ROLES:
        return NOTHING
    if user.role == Role.GUARDIAN:
        return Q(guardianships__guardian=user)
    return area_filter(user)


def residents_visible_to(user: Any) -> QuerySet[Resident]:
    return Resident.objects.filter(_resident_filter(user))


def households_visible_to(user: Any) -> QuerySet[Household]:
    if not is_active_user(user) or user.role not in REGISTRY_ROLES:
        return Household.objects.none()
    if user.role == Role.GUARDIAN:
        return Household.objects.filter(members__guardianships__guardian=user).distinct()
    return Household.objects.filter(area_filter(user))


def search_keys_visible_to(user: Any) -> QuerySet[SearchKey]:
    if not is_active_user(user) or user.role not in REGISTRY_ROLES:
        return SearchKey.objects.none()
    if user.role == Role.GUARDIAN:
        return SearchKey.objects.filter(resident__guardianships__guardian=user)
    return SearchKey.objects.filter(area_filter(user))


def sees_many_communities(user: Any) -> bool:
    """Whether the user's residents may live in more than one community (lists then name it)."""
    areas = assigned_areas(user)
    if areas.get("district") or areas.get("street"):
        return True
    if getattr(user, "role", None) == Role.GUARDIAN:
        return residents_visible_to(user).values("community_id").distinct().count() > 1
    communities = set(areas.get("community", ()))
    grids = areas.get("grid", ())
    if grids:
        communities |= set(Area.objects.filter(pk__in=grids).values_list("community_id", flat=True))
    return len(communities) > 1


def get_resident(user: Any, pk: Any) -> Resident:
    try:
        return residents_visible_to(user).select_related("household__building", "grid", "community").get(pk=pk)
    except (Resident.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_household(user: Any, pk: Any) -> Household:
    try:
        return households_visible_to(user).select_related("building", "grid", "community").get(pk=pk)
    except (Household.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
